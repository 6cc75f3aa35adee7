"""The layout's rules, read from the source: which part may import which, and no import cycles.

The parts in the order of the data: ``models`` and ``sources`` import no other part; ``stores`` ->
models; ``index`` -> models, sources, stores; ``answer`` -> those and index; ``evaluation`` -> those and
answer; ``ui`` and ``api`` -> all but evaluation and each other; ``cli`` -> everything; nothing imports
``rag.cli``. Core modules
(``rag.config``, ``rag.errors``, ``rag.types``, ``rag.text``) import none of the parts. Every import
counts, also one inside a function or under ``TYPE_CHECKING``.
"""

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PARTS = ("models", "sources", "stores", "index", "answer", "evaluation", "ui", "api", "cli")
_BELOW_ANSWER = {"models", "sources", "stores", "index"}
ALLOWED = {
    "core": set(),
    "models": set(),
    "sources": set(),
    "stores": {"models"},
    "index": {"models", "sources", "stores"},
    "answer": _BELOW_ANSWER,
    "evaluation": _BELOW_ANSWER | {"answer"},
    "ui": _BELOW_ANSWER | {"answer"},
    "api": _BELOW_ANSWER | {"answer"},
    "cli": _BELOW_ANSWER | {"answer", "evaluation", "ui", "api"},
}
MAX_MODULES = 16  # a folder of more is two concepts


def _modules() -> dict[str, Path]:
    found = {}
    for base, package in ((ROOT / "rag", "rag"), (ROOT / "ui", "rag.ui")):  # ui/ installs as rag.ui
        for path in base.rglob("*.py"):
            parts = path.relative_to(base).with_suffix("").parts
            parts = parts[:-1] if parts[-1] == "__init__" else parts
            name = ".".join((package, *parts))
            if package == "rag" and parts[:1] == ("ui",):
                continue
            found[name] = path
    return found


def _imports(path: Path, name: str, known: set[str]) -> set[str]:
    out = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        targets = []
        if isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            # `from rag.evaluation import metrics` depends on the submodule, not on the package's __init__
            targets = [
                f"{node.module}.{a.name}" if f"{node.module}.{a.name}" in known else node.module for a in node.names
            ]
        for target in targets:
            while target and target not in known:
                target = target.rpartition(".")[0]
            if target and target != name:
                out.add(target)
    return out


def _part(module: str) -> str:
    pieces = module.split(".")
    return pieces[1] if len(pieces) > 1 and pieces[1] in PARTS else "core"


GRAPH = {name: _imports(path, name, set(_modules())) for name, path in _modules().items()}


def test_the_layout_is_the_one_described():
    assert {_part(m) for m in GRAPH} == {"core", *PARTS}
    assert "rag.ui.app" in GRAPH and "rag.cli" in GRAPH


def test_each_part_imports_only_what_it_may():
    entry_points = {"rag", "rag.__main__"}  # the lazy facade and `python -m rag`
    wrong = [
        f"{module} imports {target}"
        for module, targets in GRAPH.items()
        if module not in entry_points
        for target in targets
        if target != "rag"
        and _part(target) != _part(module)
        and _part(target) != "core"
        and _part(target) not in ALLOWED[_part(module)]
    ]
    assert not wrong, "\n".join(wrong)


def test_no_import_cycles():
    graph = {m: {t for t in targets if t not in ("rag", m)} for m, targets in GRAPH.items() if m != "rag"}
    cycles, state = [], {}

    def visit(node, stack):
        state[node] = "open"
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == "open":
                cycles.append(" -> ".join(stack[stack.index(nxt) :] + [nxt]))
            elif nxt not in state:
                visit(nxt, stack + [nxt])
        state[node] = "done"

    for node in sorted(graph):
        if node not in state:
            visit(node, [node])
    assert not cycles, "\n".join(cycles)


def test_the_readme_layout_names_every_module():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    layout = readme[readme.index("## Layout") :]
    layout = layout[: layout.index("\n## ", 5)]
    unnamed = [m for m in GRAPH if m.count(".") >= 1 and f"`{m.rsplit('.', 1)[1]}`" not in layout]
    unnamed = [m for m in unnamed if m.rsplit(".", 1)[1] not in PARTS]  # the parts are named by their folders
    assert not unnamed, f"README's Layout section does not name: {', '.join(sorted(unnamed))}"


def test_no_package_folder_holds_more_than_16_modules():
    folders = {}
    for path in [*(ROOT / "rag").rglob("*.py"), *(ROOT / "ui").glob("*.py")]:
        if path.name != "__init__.py":
            folders.setdefault(path.parent.relative_to(ROOT), []).append(path.name)
    crowded = {str(f): len(m) for f, m in folders.items() if len(m) > MAX_MODULES}
    assert not crowded, f"more than {MAX_MODULES} modules: {crowded}"

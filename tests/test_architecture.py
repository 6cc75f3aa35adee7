"""The layout's rules, read from the source: which part may import which, and no import cycles.

The parts in the order of the data: ``models`` and ``sources`` import no other part; ``stores`` ->
models; ``index`` -> models, sources, stores; ``answer`` -> those and index; ``evaluation`` -> those and
answer; ``ui`` and ``api`` -> all but evaluation and each other; ``cli`` -> everything; nothing imports
``rag.cli``. Core modules
(``rag.config``, ``rag.errors``, ``rag.types``, ``rag.text``) import none of the parts. Every import
counts, also one inside a function or under ``TYPE_CHECKING``.
"""

import ast
import re
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


def test_the_architecture_doc_names_every_module():
    """docs/architecture.md's table of parts names every module of rag/ and ui/ in its own part's row, names no
    module that is not there, and says what each part may import exactly as ``ALLOWED`` does."""
    doc = (ROOT / "docs" / "architecture.md").read_text(encoding="utf-8")
    rows = {}
    for line in doc.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")] if line.startswith("| ") else []
        if len(cells) != 4 or cells[0] == "part":
            continue
        folder = re.search(r"`(?:rag/)?(\w+)/`", cells[0])
        part = "core" if cells[0].startswith("core") else folder and folder.group(1)
        assert part in ALLOWED, f"docs/architecture.md: a row names no part: {line}"
        rows[part] = (set(re.findall(r"`(\w+)`", cells[1])), set(re.findall(r"`(\w+)`", cells[2])))
    assert set(rows) == set(ALLOWED), f"docs/architecture.md: parts without a row: {set(ALLOWED) - set(rows)}"
    wrong = [
        f"{part} may import {named}, the rule says {sorted(ALLOWED[part])}"
        for part, (named, _) in rows.items()
        if named != ALLOWED[part]
    ]
    modules = {}
    for m in GRAPH:
        pieces = m.split(".")
        if len(pieces) > 2 or (len(pieces) == 2 and pieces[1] not in PARTS):  # a part's package is its folder
            modules.setdefault(_part(m), set()).add(pieces[-1])
    for part, (_, named) in rows.items():
        wrong += [f"{part}: {name} is not named" for name in sorted(modules.get(part, set()) - named)]
        wrong += [
            f"{part}: {name} is named but is no module there" for name in sorted(named - modules.get(part, set()))
        ]
    assert not wrong, "docs/architecture.md's table of parts is out of date:\n" + "\n".join(wrong)


def test_no_package_folder_holds_more_than_16_modules():
    folders = {}
    for path in [*(ROOT / "rag").rglob("*.py"), *(ROOT / "ui").glob("*.py")]:
        if path.name != "__init__.py":
            folders.setdefault(path.parent.relative_to(ROOT), []).append(path.name)
    crowded = {str(f): len(m) for f, m in folders.items() if len(m) > MAX_MODULES}
    assert not crowded, f"more than {MAX_MODULES} modules: {crowded}"

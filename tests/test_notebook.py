"""The notebook way in: the example notebook runs end to end on a fresh seeds index (real models), notebooks
are committed without outputs, and the README's notebook snippet runs and points at the notebook."""

from __future__ import annotations

import json
import re

import pytest

from tests.conftest import ROOT, write

NOTEBOOK = ROOT / "eval" / "notebooks" / "quickstart.ipynb"
README = ROOT / "README.md"


def _notebooks() -> list:
    skip = {".venv", ".git", "index", "node_modules"}
    return sorted(p for p in ROOT.rglob("*.ipynb") if not skip & set(p.relative_to(ROOT).parts))


def _readme_section() -> str:
    text = README.read_text(encoding="utf-8")
    match = re.search(r"^## From a notebook\n(.*?)(?=^## )", text, flags=re.M | re.S)
    assert match, "README.md has no '## From a notebook' section"
    return match.group(1)


def _readme_snippet() -> str:
    blocks = re.findall(r"^```python\n(.*?)^```", _readme_section(), flags=re.M | re.S)
    assert len(blocks) == 1, "the README's notebook section should hold one ```python block"
    return blocks[0]


def _kept_outputs(path) -> list[int]:
    """The code cells of a notebook that keep outputs, an execution count or run times (-1: widget state)."""
    nb = json.loads(path.read_text(encoding="utf-8"))
    dirty = [
        i
        for i, cell in enumerate(nb["cells"])
        if cell["cell_type"] == "code"
        and (cell.get("outputs") or cell.get("execution_count") is not None or "execution" in cell["metadata"])
    ]
    return dirty + ([-1] if "widgets" in nb["metadata"] else [])


def test_notebooks_are_committed_without_outputs():
    found = _notebooks()
    assert NOTEBOOK in found
    for path in found:
        dirty = _kept_outputs(path)
        name = path.relative_to(ROOT)
        assert not dirty, f"{name}: cells {dirty} keep outputs; strip them first: .venv/bin/nbstripout {name}"


def test_a_notebook_run_and_saved_is_caught(tmp_path):
    nb = json.loads(NOTEBOOK.read_text(encoding="utf-8"))
    code = [i for i, cell in enumerate(nb["cells"]) if cell["cell_type"] == "code"]
    nb["cells"][code[1]].update(execution_count=2, outputs=[{"output_type": "stream", "name": "stdout", "text": "x"}])
    saved = write(tmp_path / "run.ipynb", json.dumps(nb))
    assert _kept_outputs(saved) == [code[1]]


def test_readme_points_at_the_notebook_and_uses_its_entry_points():
    section = _readme_section()
    assert f"`{NOTEBOOK.relative_to(ROOT)}`" in section
    code = "\n".join(
        "".join(cell["source"])
        for cell in json.loads(NOTEBOOK.read_text(encoding="utf-8"))["cells"]
        if cell["cell_type"] == "code"
    )
    for line in re.findall(r"^from rag import .*$", _readme_snippet(), flags=re.M):
        for name in line.removeprefix("from rag import ").split(", "):
            assert re.search(rf"^from rag import .*\b{name}\b", code, flags=re.M), f"the notebook does not use {name}"


@pytest.mark.llm  # in its own kernel: it loads its own models, the session's are in this process
@pytest.mark.embedder
def test_the_notebook_runs_top_to_bottom_on_a_fresh_seeds_index(tmp_path):
    import nbformat
    from nbclient import NotebookClient

    nb = nbformat.read(NOTEBOOK, as_version=4)
    # the kernel inherits RAG_INDEX_DIR (tests/conftest.py), so the notebook indexes the seeds into tmp_path
    here = {"metadata": {"path": str(NOTEBOOK.parent)}}  # the kernel starts in the notebook's folder, as in Jupyter
    client = NotebookClient(nb, timeout=900, kernel_name="python3", resources=here)
    client.execute()  # raises CellExecutionError, with the cell and its traceback, if any cell fails
    assert (tmp_path / "index" / "seeds" / "meta.json").exists()
    outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs]
    html = [o["data"]["text/html"] for o in outputs if "text/html" in o.get("data", {})]
    assert any("hits</div><table>" in h for h in html)  # search results as a table
    assert any("<mark>" in h and '<span class="src-num">[1]</span>' in h for h in html)  # an answer with a quote
    assert any("Why: weak retrieval." in h for h in html)  # the refusal
    assert any("In sintesi" in h and "Andrii Hnatov" in h and "[3]" in h for h in html)  # a summary, each cited
    digest = [h for h in html if "2 febbraio 2026" in h and "3 dicembre 2025" in h and "[2]" in h]
    assert digest and digest[0].index("2 febbraio 2026") < digest[0].index("3 dicembre 2025")  # newest first
    assert "<b>2 febbraio 2026</b>" in digest[0] and "**" not in digest[0]  # the dates in bold, not in Markdown
    assert sum(h.count("data:image/png;base64,") for h in html) >= 4  # both reports' plots inline


def test_the_readme_notebook_snippet_runs(seeds_index, real_embedder, qwen_15b, monkeypatch, capsys):
    from rag.answer import assistant
    from rag.index import retriever

    # The snippet's Retriever.load and Assistant.load read the index and pick the models as users get them;
    # the loads themselves hand back the session's copies of those same models.
    load_embedder, load_generator, shared = retriever.load_embedder, assistant.load_generator, set()

    def shared_embedder(info):
        if info != real_embedder.info:
            return load_embedder(info)
        shared.add("embedder")
        return real_embedder

    def shared_generator(model, backend="llama-cpp", **settings):
        if (model, backend, settings) != (qwen_15b.name, "llama-cpp", {}):
            return load_generator(model, backend, **settings)
        shared.add("generator")
        return qwen_15b

    monkeypatch.setattr(retriever, "load_embedder", shared_embedder)
    monkeypatch.setattr(assistant, "load_generator", shared_generator)
    monkeypatch.chdir(ROOT)  # the snippet reads eval/seeds.jsonl
    scope: dict = {}
    exec(compile(_readme_snippet(), "README.md (From a notebook)", "exec"), scope)
    assert scope["hits"] and scope["hits"][0].doc_id == "004_bfb007c660085e29.txt"
    assert shared == {"embedder", "generator"}  # what the snippet loaded: the default models
    answer = scope["answer"]
    assert not answer.refused and answer.citations and "<mark>" in answer._repr_html_()
    follow_up = scope["partial"]  # the README's follow-up is one the 1.5B answers from what it found
    assert follow_up.done and not follow_up.refused and follow_up.citations and capsys.readouterr().out.strip()
    assert 0 <= scope["report"].get("retrieval.recall@5") <= 1

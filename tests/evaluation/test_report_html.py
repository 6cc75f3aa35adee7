"""The notebook display of an evaluation report: summary table, latency, plots inline, failures escaped (fast)."""

from __future__ import annotations

import base64
import json
import re

from rag.evaluation.report import by_tag
from rag.evaluation.run import evaluate
from rag.index.indexer import build_index
from rag.index.retriever import Retriever
from rag.sources.ingest import load_documents
from rag.types import Answer

from tests.conftest import RUTTE_DOC, SEEDS, UMEROV_DOC, write

GOLD = [
    {
        "id": "u1",
        "question": "Chi accompagnava Umerov?",
        "answers": ["Andrii Hnatov"],
        "doc_ids": [UMEROV_DOC],
        "tags": ["who"],
    },
    {
        "id": "x<1>",
        "question": "Chi è <Rutte> & co?",
        "answers": ["Mark <Rutte>"],
        "doc_ids": [RUTTE_DOC],
        "tags": ["who"],
    },
    {"id": "n1", "question": "Chi ha vinto Sanremo?", "answers": [], "doc_ids": [], "tags": ["unanswerable"]},
]


class Scripted:
    """Answers the first question right, refuses the others."""

    def __init__(self, retriever):
        self.retriever = retriever

    def ask(self, question: str, history=()) -> Answer:
        if "Umerov" in question:
            return Answer(question, "Andrii Hnatov.", timings={"retrieve": 0.01, "generate": 0.4, "total": 0.5})
        return Answer(question, "Non so.", refused=True, refusal_reasons=["weak <retrieval>"], timings={"total": 0.1})


def _report(tmp_path, fake_embedder, retrieval_only: bool):
    build_index(load_documents([SEEDS]), tmp_path / "index" / "seeds", fake_embedder)
    gold = write(tmp_path / "gold.jsonl", "".join(json.dumps(g) + "\n" for g in GOLD))
    retriever = Retriever.load("seeds", embedder=fake_embedder)
    try:
        return evaluate(
            gold, retrieval_only=retrieval_only, assistant=Scripted(retriever), retriever=retriever, progress=False
        )
    finally:
        retriever.store.close()


def _images(html: str) -> list[bytes]:
    return [base64.b64decode(b) for b in re.findall(r'src="data:image/png;base64,([A-Za-z0-9+/=]+)"', html)]


def test_answers_report_html_has_the_summary_latency_plots_and_escaped_failures(tmp_path, fake_embedder):
    report = _report(tmp_path, fake_embedder, retrieval_only=False)
    html = report._repr_html_()
    assert "gold.jsonl on index seeds: 3 of 3 questions, answers" in html
    for label in ("retrieval (2 q)", "fact answers (2 answerable q)", "fact refusals (1 unanswerable, 2 refused)"):
        assert f"<td>{label}</td>" in html
    # counts per kind: the answer given to u1 cites nothing, so it is not right and cited
    assert "<td>facts, first questions (3 q)</td><td>right and cited 0/2 (0.000) of answerable;" in html
    assert "unanswerable refused 1/1 (1.000)" in html
    assert "<th>refused wrongly</th>" in html and "<tr><td>fact</td><td class=num>2</td>" in html
    assert "<th>latency (ms)</th>" in html and "<td>generate</td>" in html
    images = _images(html)
    assert len(images) == 3 and all(png.startswith(b"\x89PNG\r\n\x1a\n") and len(png) > 2000 for png in images)
    assert 'alt="answers_by_kind.png"' in html
    assert "<Rutte>" not in html and "Chi è &lt;Rutte&gt; &amp; co?" in html and "x&lt;1&gt;" in html
    assert "Mark &lt;Rutte&gt;" in html and "(refused: weak &lt;retrieval&gt;)" in html
    assert "<summary>By tag</summary>" in html and "<th>answerable refused</th>" in html
    who = by_tag(report)["who"]  # one answered right, one refused
    assert (who["questions"], who["exact_match"], who["refused_answerable"], who["refused_unanswerable"]) == (
        2, 1.0 / 2, 1.0 / 2, None,
    )  # fmt: skip
    assert repr(report) == report.table() and "fact answers (2 answerable q)" in repr(report)


def test_retrieval_report_html_has_the_recall_plot_only(tmp_path, fake_embedder):
    html = _report(tmp_path, fake_embedder, retrieval_only=True)._repr_html_()
    assert "retrieval (2 q)" in html and "answers (" not in html and "facts, first" not in html
    assert len(_images(html)) == 2  # recall@k, and search latency: no answers by kind
    assert 'alt="recall_at_k.png"' in html

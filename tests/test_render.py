"""The notebook displays of search results and answers (``_repr_html_``, ``__repr__``): escaped, quote
highlighted, markers and refusal reasons shown; the same cards as the chat page (fast, fake embedder)."""

from __future__ import annotations

import re

import pytest
from rag.ui.strings import STRINGS
from rag.ui.view import sources_html

from rag.index.indexer import build_index
from rag.index.retriever import Hits, Retriever
from rag.render import LABELS, citation_card, highlight
from rag.sources.ingest import load_documents
from rag.types import Answer, Citation, Evidence, Hit

from tests.conftest import SEEDS, UMEROV_DOC

PASSAGE = "Roma – Umerov <b>sarà</b> a Bruxelles & sarà accompagnato da Andrii Hnatov. Poi rientrerà a Kiev."
QUOTE = "sarà accompagnato da Andrii Hnatov."


def _hit(rank: int = 1, text: str = PASSAGE, title: str = "Umerov <a Bruxelles>") -> Hit:
    return Hit(f"{UMEROV_DOC}::{rank}", UMEROV_DOC, title, text, 0.0328, rank, 1000, 1000 + len(text), "2025-12-03")


def _answer(**changes) -> Answer:
    start = PASSAGE.index(QUOTE)
    citation = Citation(
        1, f"{UMEROV_DOC}::1", UMEROV_DOC, "Umerov <a Bruxelles>", "2025-12-03", "Roma", QUOTE,
        1000 + start, 1000 + start + len(QUOTE), PASSAGE, 0.0328,
    )  # fmt: skip
    fields = dict(
        question="Chi accompagnava <Umerov>?",
        text="Lo accompagnava Andrii Hnatov [1].",
        citations=[citation],
        query="Chi accompagnava <Umerov>?",
        passages=[_hit()],
        timings={"retrieve": 0.05, "total": 3.2},
    )
    return Answer(**{**fields, **changes})


def test_answer_html_marks_citations_and_highlights_the_quote_escaped():
    html = _answer()._repr_html_()
    assert '<span class="src-num">[1]</span>' in html  # the marker in the text, set off
    assert "<mark>" + highlight(QUOTE, None) + "</mark>" in html  # the quote highlighted, escaped inside
    assert "Chi accompagnava &lt;Umerov&gt;?" in html and "<Umerov>" not in html
    assert "&lt;b&gt;sarà&lt;/b&gt;" in html and "&amp;" in html and "<b>sarà" not in html
    assert "Umerov &lt;a Bruxelles&gt;" in html  # the title
    assert "3 December 2025" in html and "total 3.20 s" in html
    assert html.count("<mark>") == 1


def test_answer_html_uses_the_chat_page_card():
    answer = _answer()
    hits = {h.chunk_id: h for h in answer.passages}
    card = citation_card(answer.citations[0], hits, "it", STRINGS["it"])
    assert card in sources_html(answer, STRINGS["it"])  # the chat page renders this exact card
    notebook_card = citation_card(answer.citations[0], hits, "en", LABELS)
    assert notebook_card in answer._repr_html_()


def test_refused_answer_html_gives_the_reasons_the_draft_and_the_passages():
    evidence = Evidence(reply="Forse <Tusk>, ma non è certo.")
    reasons = ["answer not grounded", "quoted sentences do not address the question"]
    answer = _answer(
        text="Le fonti disponibili non contengono questa informazione.",
        citations=[],
        refused=True,
        refusal_reasons=reasons,
        evidence=evidence,
    )
    html = answer._repr_html_()
    assert "Refused" in html and "Why: answer not grounded; quoted sentences do not address the question." in html
    assert "Forse &lt;Tusk&gt;, ma non è certo." in html  # the refused draft, escaped
    assert "Passages consulted (1)" in html and "&lt;b&gt;sarà&lt;/b&gt;" in html
    assert "<mark>" not in html
    text = repr(answer)
    assert "refused: answer not grounded, quoted sentences do not address the question" in text


def test_answer_repr_is_readable():
    text = repr(_answer())
    assert text.splitlines() == [
        "Answer to 'Chi accompagnava <Umerov>?':",
        "  Lo accompagnava Andrii Hnatov [1].",
        f"  [1] {UMEROV_DOC} (2025-12-03): 'sarà accompagnato da Andrii Hnatov.'",
    ]


def test_partial_answer_says_it_is_being_written():
    answer = _answer(text="Lo accompagnava", citations=[], done=False)
    assert "still being written" in answer._repr_html_() and "still being written" in repr(answer)
    assert "No source cited" not in answer._repr_html_()


def test_short_answer_is_bold_when_the_pipeline_gives_one():
    answer = _answer()
    answer.short = "Andrii <Hnatov>"  # the field the answer pipeline adds; shown where present
    assert '<div class="rag-short">Andrii &lt;Hnatov&gt;</div>' in answer._repr_html_()
    assert 'class="rag-short"' not in _answer()._repr_html_()


def test_hits_html_is_a_table_escaped():
    hits = Hits([_hit(1), _hit(2, text="Kiev <script>alert(1)</script>", title="Rutte")])
    hits.query, hits.mode = "Umerov & <Hnatov>", "lexical"
    html = hits._repr_html_()
    assert "lexical for <q>Umerov &amp; &lt;Hnatov&gt;</q>: 2 hits" in html
    assert html.count("<tr>") == 3 and "<script>" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert f"{UMEROV_DOC}::2" in html and "0.0328" in html and "2025-12-03" in html
    lines = repr(hits).splitlines()
    assert lines[0] == "lexical 'Umerov & <Hnatov>': 2 hits" and len(lines) == 3
    assert lines[2].split()[:3] == ["2", "0.0328", f"{UMEROV_DOC}::2"]
    assert "0 hits" in Hits()._repr_html_()


@pytest.fixture
def retriever(tmp_path, fake_embedder):
    build_index(load_documents([SEEDS]), tmp_path / "index" / "seeds", fake_embedder)
    retriever = Retriever.load("seeds", embedder=fake_embedder)
    yield retriever
    retriever.store.close()


@pytest.mark.parametrize("mode", ["hybrid", "dense", "lexical"])
def test_search_results_know_their_query_and_mode(retriever, mode):
    hits = retriever.search("Chi accompagnava Umerov a Bruxelles?", k=3, mode=mode)
    assert (hits.query, hits.mode) == ("Chi accompagnava Umerov a Bruxelles?", mode)
    html = hits._repr_html_()
    assert f"{mode} for <q>Chi accompagnava Umerov a Bruxelles?</q>: 3 hits" in html
    assert [int(n) for n in re.findall(r'<tr><td class="num">(\d+)</td>', html)] == [1, 2, 3]
    assert len(repr(hits).splitlines()) == 4 and hits[0].chunk_id in repr(hits)

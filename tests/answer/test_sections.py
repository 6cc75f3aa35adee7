"""The news of a field ("lo sport", "il mondo della cultura"): articles that never write the field's name are
found by the real embedder's closeness to each section's description."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from rag.answer.kinds import read_question
from rag.answer.news import answer_news
from rag.answer.sections import SECTIONS, section_asked

ARTICLES = Path(__file__).resolve().parents[2] / "eval" / "dev" / "articles"
FIELDS = {  # one or two articles of six fields; none writes the field's name
    "volley-conegliano.txt": "sport",
    "basket-ravenna-pescara.txt": "sport",
    "mostra-crivelli-ascoli.md": "cultura",
    "morbillo-verona.txt": "salute",
    "ceramiche-valdera-esuberi.txt": "lavoro",
    "bce-tassi.txt": "economia",
    "satellite-sentinella.txt": "scienza",
}
TODAY = date(2026, 4, 15)


@pytest.fixture(scope="module")
def fields_retriever(real_embedder, tmp_path_factory):
    from rag.index.indexer import build_index
    from rag.index.retriever import Retriever
    from rag.sources.ingest import load_documents

    folder = tmp_path_factory.mktemp("sections") / "index" / "fields"
    build_index(load_documents([ARTICLES / name for name in FIELDS]), folder, real_embedder)
    return Retriever.load(str(folder), embedder=real_embedder)


@pytest.mark.parametrize(
    ("question", "articles"),
    [
        ("Che cosa è successo nello sport?", {"volley-conegliano.txt", "basket-ravenna-pescara.txt"}),
        ("Ci sono novità dal mondo della cultura?", {"mostra-crivelli-ascoli.md"}),
        ("Quali sono le ultime notizie di sanità?", {"morbillo-verona.txt"}),
        ("Che cosa è successo nel mondo del lavoro?", {"ceramiche-valdera-esuberi.txt"}),
        ("Novità dall'economia?", {"bce-tassi.txt", "ceramiche-valdera-esuberi.txt"}),  # labour is economy news too
        ("What's new in science and technology?", {"satellite-sentinella.txt"}),
        ("Quali notizie di sport ci sono state a gennaio 2026?", set()),  # none of those days is of sport
    ],
)
def test_the_news_of_a_field_are_its_articles_only(fields_retriever, question, articles):
    asked = read_question(question, TODAY)
    assert section_asked(asked.topic) is not None, asked.topic
    reply = answer_news(asked, question, "it", fields_retriever, TODAY)
    assert {c.doc_id for c in reply.citations} == articles, reply.text
    assert len(reply.citations) == len(articles)  # each its lead: no sentence added for the field's name
    assert bool(reply.reason) == (not articles)


def test_every_section_is_named_by_its_own_words_only():
    words = [w for s in SECTIONS for w in s.words]
    assert len(words) == len(set(words))
    assert all(section_asked(s.name) is s for s in SECTIONS)
    assert section_asked("Murgia Matera") is None and section_asked("sport Matera") is None

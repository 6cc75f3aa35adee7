"""Real models on the seed articles: the default embedder + Qwen2.5-1.5B through llama.cpp (shared by the
session, tests/conftest.py), replies capped at 60 tokens: the answers asked for are short."""

from __future__ import annotations

import pytest

from rag.answer.refusal import REFUSAL
from rag.text import detect_language, words

from tests.conftest import RUTTE_DOC, UMEROV_DOC, seeds_assistant

pytestmark = [pytest.mark.llm, pytest.mark.embedder]


@pytest.fixture
def assistant(seeds_index, real_embedder, qwen_15b):
    assistant = seeds_assistant(seeds_index, real_embedder, qwen_15b, max_tokens=60)
    yield assistant
    assistant.retriever.store.close()


def cited(answer):
    return {c.doc_id for c in answer.citations}


def test_umerov_answer_names_hnatov_and_cites_its_article(assistant):
    answer = assistant.ask("Chi accompagnava Umerov a Bruxelles?")
    assert not answer.refused, answer.evidence
    assert "Hnatov" in answer.text and UMEROV_DOC in cited(answer)
    assert "[1]" in answer.text and all(c.quote in c.passage for c in answer.citations)


@pytest.mark.parametrize(
    "question, expected",
    [
        ("Chi si recherà a Kiev su invito di Zelensky nei prossimi giorni?", "Tusk"),
        ("Quale paese ha ritirato il veto sulle sanzioni contro Mosca?", "Slovacchia"),
        ("Quando sarà Mark Rutte a Kiev?", "3 febbraio"),
    ],
)
def test_rutte_article_questions_are_answered_and_cited(assistant, question, expected):
    answer = assistant.ask(question)
    assert not answer.refused, answer.evidence
    assert expected in answer.text and RUTTE_DOC in cited(answer)


def test_english_question_gets_an_english_answer(assistant):
    answer = assistant.ask("Who accompanied Umerov to Brussels?")
    assert not answer.refused, answer.evidence
    # judged on the words the answer wrote itself: a title it quotes ("the Capo di Stato Maggiore
    # Generale") is the source's Italian, and outweighs a short English sentence for the detector
    quoted = {w for c in answer.citations for w in words(c.passage)}
    own = " ".join(w for w in words(answer.text) if w not in quoted)
    assert "Hnatov" in answer.text and detect_language(own) == "en", (answer.text, own)


@pytest.mark.parametrize(
    "question", ["Chi ha vinto il Festival di Sanremo 2026?", "Quanti soldati ucraini sono morti nel 2025?"]
)
def test_question_the_seeds_do_not_answer_is_refused(assistant, question):
    answer = assistant.ask(question)
    assert answer.refused, answer
    assert answer.text == REFUSAL["it"] and answer.citations == []


def test_streaming_ends_with_one_final_answer(assistant):
    answers = list(assistant.ask_stream("E chi lo accompagnava?", history=[("Chi è andato a Bruxelles?", "Umerov.")]))
    assert answers[-1].done and not any(a.done for a in answers[:-1])
    assert "Umerov" in answers[-1].query

"""Sentence selection for the prompt: shared words, semantic closeness, the budget."""

from __future__ import annotations

import pytest

from rag.answer.prompt import _closeness, build_prompt, select_sentences
from rag.types import Hit

SENTENCES = [
    "La presenza di Umerov e Hnatov a Bruxelles è un chiaro segnale dell’impegno dell’Ucraina.",
    "Dopo gli incontri a Bruxelles, Umerov e Hnatov si prepareranno a un incontro negli Stati Uniti.",
    "Umerov sarà accompagnato dal Capo di Stato Maggiore Generale, Andrii Hnatov.",
]
QUESTION = "Quale incarico militare ricopre Hnatov?"


def _hits() -> list[Hit]:
    return [
        Hit(f"d::{i}", "d", "Umerov a Bruxelles", text, 0.0, i + 1, 0, len(text), "2025-12-03")
        for i, text in enumerate(SENTENCES)
    ]


def _words(text: str) -> int:
    return len(text.split())


def _kept(chosen) -> list[str]:
    return [hit.text[a:b] for hit, spans in chosen for a, b in spans]


def test_words_alone_keep_the_best_ranked_of_equal_matches():
    chosen = select_sentences(QUESTION, _hits(), budget=30, count_tokens=_words)
    assert _kept(chosen) == [SENTENCES[0]]


def test_similarity_picks_the_sentence_closest_in_meaning():
    def similarity(question, texts):
        assert question == QUESTION and list(texts) == SENTENCES
        return [0.84, 0.83, 0.90]

    chosen = select_sentences(QUESTION, _hits(), budget=30, count_tokens=_words, similarity=similarity)
    assert _kept(chosen) == [SENTENCES[2]]
    prompt = build_prompt(QUESTION, _hits(), _words, budget=30, similarity=similarity)
    assert [p.hit.chunk_id for p in prompt.passages] == ["d::2"] and "Capo di Stato Maggiore" in prompt.messages[-1][
        "content"
    ]


def test_similarity_finds_a_sentence_that_shares_no_word():
    hits = [
        Hit("d::0", "d", "t", "Il tempo oggi è bello.", 0.0, 1, 0, 22),
        Hit("e::0", "e", "t", "Piove a Roma.", 0.0, 2, 0, 13),
    ]
    chosen = select_sentences("Che clima fa nella capitale?", hits, 6, _words, similarity=lambda q, t: [0.1, 0.9])
    assert _kept(chosen) == ["Piove a Roma."]


def test_closeness_is_zero_without_similarity_or_spread():
    hits, spans = _hits(), [[(0, len(s))] for s in SENTENCES]
    assert _closeness(QUESTION, hits, spans, None) == [0.0, 0.0, 0.0]
    assert _closeness(QUESTION, hits, spans, lambda q, t: [0.5, 0.5, 0.5]) == [0.0, 0.0, 0.0]
    above = _closeness(QUESTION, hits, spans, lambda q, t: [0.1, 0.2, 0.9])
    assert above[0] == above[1] == 0.0 and above[2] > 1.0


@pytest.mark.embedder
def test_real_embedder_ranks_the_post_sentence_first(real_embedder):
    cosines = real_embedder.similarities(QUESTION, SENTENCES)
    assert cosines.shape == (3,) and max(range(3), key=lambda i: cosines[i]) == 2
    assert real_embedder.similarities(QUESTION, []).shape == (0,)


def test_the_reply_instruction_is_read_with_the_sources_in_their_language_and_last_in_another():
    italian = build_prompt(QUESTION, _hits(), _words, budget=200, language="it")
    english = build_prompt("Which military role does Hnatov hold?", _hits(), _words, budget=200, language="en")
    user_it, user_en = italian.messages[1]["content"], english.messages[1]["content"]
    assert user_it.endswith(f"(Rispondi in italiano: risposta breve, poi una frase.)\nDomanda: {QUESTION}")
    assert user_en.endswith(
        "Question: Which military role does Hnatov hold?\n(Reply in English: short answer, then one sentence.)"
    )

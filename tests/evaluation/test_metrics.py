"""Metrics on hand-computed cases: every expected value below is worked out in the comment beside it."""

from __future__ import annotations

import pytest

from rag.evaluation.metrics import (
    answer_contains,
    citation_accuracy,
    citations_correct,
    exact_match,
    first_relevant_rank,
    mean,
    mrr_at,
    normalize_answer,
    percentile,
    recall_at,
    refusal_precision_recall,
    token_f1,
)

# ---- retrieval ---------------------------------------------------------------------------------


def test_first_relevant_rank_counts_any_chunk_of_a_gold_document():
    ranked = ["x.txt", "y.txt", "y.txt", "gold.txt", "gold.txt"]
    assert first_relevant_rank(ranked, ["gold.txt"]) == 4
    assert first_relevant_rank(ranked, ["other.txt", "y.txt"]) == 2  # any gold document counts
    assert first_relevant_rank(ranked, ["missing.txt"]) is None
    assert first_relevant_rank([], ["gold.txt"]) is None


def test_recall_at_k_on_hand_computed_ranks():
    ranks = [1, 3, None, 7]
    assert recall_at(ranks, 1) == 0.25  # only the rank-1 question
    assert recall_at(ranks, 3) == 0.5  # ranks 1 and 3
    assert recall_at(ranks, 5) == 0.5
    assert recall_at(ranks, 10) == 0.75  # 1, 3, 7; the miss never counts
    assert recall_at([], 5) == 0.0


def test_mrr_at_10_on_hand_computed_ranks():
    # (1/1 + 1/3 + 0 + 1/7) / 4 = (21/21 + 7/21 + 3/21) / 4 = 31/84
    assert mrr_at([1, 3, None, 7], 10) == pytest.approx(31 / 84)
    # rank 20 is beyond the cut-off: (1 + 1/2) / 4
    assert mrr_at([1, 2, None, 20], 10) == pytest.approx(0.375)
    assert mrr_at([11], 10) == 0.0


def test_percentile_interpolates_linearly():
    assert percentile([10, 20, 30, 40], 50) == 25.0  # halfway between 20 and 30
    assert percentile([10, 20, 30, 40], 95) == pytest.approx(38.5)  # 30 + 0.85 * 10
    assert percentile([], 50) == 0.0


# ---- normalisation ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Il Parlamento ucraino", "parlamento ucraino"),
        ("Gli inviati del presidente", "inviati del presidente"),  # "del" is a preposition: kept
        ("L’Alleanza Atlantica", "alleanza atlantica"),  # typographic apostrophe
        ("dell'Ucraina, all'Europa e nell'UE", "ucraina europa e ue"),
        ("un'ora, uno studio, una guerra", "ora studio guerra"),
        ("Perché È così?", "perché è così"),  # accents kept, case folded
        ("Mark Rutte [1][2].", "mark rutte"),  # citation markers dropped
        ("The Slovakia", "slovakia"),  # English articles too
        ("d'Italia", "d italia"),  # other apostrophes split words
        ("«3 febbraio 2026» – martedì", "3 febbraio 2026 martedì"),
        ("  lo   la  ", ""),
    ],
)
def test_normalize_answer(text, expected):
    assert normalize_answer(text) == expected


def test_accents_are_not_stripped():
    assert exact_match("citta", ["città"]) == 0.0
    assert exact_match("Città", ["città"]) == 1.0


def test_strip_markers_keeps_other_brackets():
    from rag.answer.citations import strip_markers

    assert strip_markers("Rutte [1, 3] e Tusk [2-4] [nota]") == "Rutte e Tusk [nota]"


# ---- answers ---------------------------------------------------------------------------------


def test_exact_match_after_normalisation():
    assert exact_match("il Parlamento ucraino.", ["Parlamento ucraino"]) == 1.0
    assert exact_match("Parlamento", ["Parlamento ucraino"]) == 0.0
    assert exact_match("Slovacchia", ["Slovakia", "la Slovacchia"]) == 1.0  # any alternative
    assert exact_match("qualcosa", []) == 0.0
    assert exact_match("", ["Rutte"]) == 0.0


def test_token_f1_hand_computed():
    # pred tokens: mark rutte segretario della nato (5); gold: mark rutte (2); common 2
    # P = 2/5, R = 2/2 -> F1 = 2 * 0.4 * 1 / 1.4 = 4/7
    assert token_f1("Mark Rutte, segretario della NATO", ["Mark Rutte"]) == pytest.approx(4 / 7)
    # bags, not sets: pred x x y, gold x y y -> common min counts 1 + 1 = 2; P = R = 2/3 -> F1 = 2/3
    assert token_f1("x x y", ["x y y"]) == pytest.approx(2 / 3)
    # best alternative wins: vs "Tusk" F1 = 2*(1/2*1)/(1/2+1) = 2/3; vs "Donald Tusk" F1 = 1
    assert token_f1("Donald Tusk", ["Tusk", "Donald Tusk"]) == 1.0
    assert token_f1("Donald Tusk", ["Tusk"]) == pytest.approx(2 / 3)
    assert token_f1("Zelensky", ["Rutte"]) == 0.0
    assert token_f1("Rutte", []) == 0.0


def test_token_f1_when_a_side_normalises_to_nothing():
    assert token_f1("il", ["la"]) == 1.0  # both empty after removing articles
    assert token_f1("", ["Rutte"]) == 0.0
    assert token_f1("Rutte", ["il"]) == 0.0


def test_answer_contains_whole_words_only():
    assert answer_contains("Sarà a Kiev il 3 febbraio 2026 [1].", ["3 febbraio 2026"]) == 1.0
    assert answer_contains("Nel 2026", ["20"]) == 0.0  # not inside a word
    assert answer_contains("Ruttenberg", ["Rutte"]) == 0.0
    assert answer_contains("Lo ha detto dell'Alleanza Atlantica", ["l'Alleanza atlantica"]) == 1.0
    assert answer_contains("qualcosa", ["il"]) == 0.0  # an answer that normalises to nothing never matches
    assert answer_contains("", ["Rutte"]) == 0.0


# ---- refusals and citations ----------------------------------------------------------------------


def test_refusal_precision_recall_hand_computed():
    refused = [True, True, False, False, True]
    unanswerable = [True, False, True, False, True]
    # refused and unanswerable: questions 0 and 4 -> 2; refused 3; unanswerable 3
    assert refusal_precision_recall(refused, unanswerable) == (pytest.approx(2 / 3), pytest.approx(2 / 3))
    # refuses everything: precision = 1/3 (one of three is unanswerable), recall = 1
    assert refusal_precision_recall([True] * 3, [True, False, False]) == (pytest.approx(1 / 3), 1.0)


def test_refusal_undefined_ratios_are_none():
    assert refusal_precision_recall([False, False], [True, False]) == (None, 0.0)  # never refused
    assert refusal_precision_recall([True, False], [False, False]) == (0.0, None)  # nothing unanswerable
    with pytest.raises(ValueError):
        refusal_precision_recall([True], [True, False])


def test_citations_correct_requires_a_citation_and_only_gold():
    assert citations_correct(["a", "a"], ["a", "b"]) is True
    assert citations_correct(["b"], ["a", "b"]) is True
    assert citations_correct(["a", "c"], ["a"]) is False  # one wrong source spoils it
    assert citations_correct([], ["a"]) is False  # an uncited answer is not correctly cited


def test_citation_accuracy_hand_computed():
    cited = [["a"], ["a", "b"], [], ["b"]]
    gold = [["a"], ["a"], ["a"], ["a", "b"]]
    # correct: answers 0 and 3 -> 2 / 4
    assert citation_accuracy(cited, gold) == 0.5
    assert citation_accuracy([], []) is None
    with pytest.raises(ValueError):
        citation_accuracy([["a"]], [])


def test_mean():
    assert mean([1.0, 0.0, 0.5]) == 0.5
    assert mean([]) is None

"""Refusal calibration helpers on hand-made measurements (no model needed)."""

from __future__ import annotations

from rag.answer.verify import Thresholds
from rag.evaluation.calibrate import choose_thresholds, dense_floor, hiding_article, refusal_scores
from rag.types import Chunk


def _row(answerable: bool, dense: float, coverage: float = 0.2, **extra) -> dict:
    row = {
        "answerable": answerable,
        "coverage": coverage,
        "dense": dense,
        "support": None,
        "focus": None,
        "model_refused": False,
        "correct": answerable,
    }
    return row | extra


def test_dense_floor_is_the_highest_with_precise_refusals_on_the_models_own_scale():
    # e5-like cosines: answerable near 0.88, unanswerable near 0.80
    rows = [_row(True, d) for d in (0.84, 0.87, 0.88, 0.90)] + [_row(False, d) for d in (0.78, 0.80, 0.81, 0.87)]
    floor = dense_floor(rows)
    assert floor == 0.84  # a floor of 0.85 would also refuse the answerable 0.84
    scores = refusal_scores(rows, Thresholds(min_dense=floor))
    assert scores["refused_answerable"] == 0 and scores["recall"] == 0.75
    # asking for less precision allows a higher floor, which catches the off-topic 0.87 too
    assert dense_floor(rows, precision=0.6) == 0.88


def test_no_precise_floor_means_no_cosine_check():
    rows = [_row(True, 0.5), _row(False, 0.9)]
    assert dense_floor(rows) == -1.0


def test_high_coverage_keeps_an_answer_whatever_the_cosine():
    rows = [_row(True, 0.1, coverage=0.9), _row(False, 0.1, coverage=0.1)]
    scores = refusal_scores(rows, Thresholds(min_dense=0.5))
    assert (scores["precision"], scores["recall"], scores["refused_answerable"]) == (1.0, 1.0, 0)


def test_no_floor_means_coverage_alone_decides():
    rows = [_row(True, 0.99, coverage=0.2), _row(False, 0.2, coverage=0.9)]
    assert refusal_scores(rows, Thresholds(min_dense=None))["refused_answerable"] == 1


def test_choose_thresholds_tries_floors_around_the_models_floor():
    rows = [_row(True, 0.88), _row(True, 0.9), _row(False, 0.8), _row(False, 0.79)]
    chosen = choose_thresholds(rows, floor=0.85)
    scores = refusal_scores(rows, chosen)
    assert (scores["precision"], scores["recall"]) == (1.0, 1.0)
    assert chosen.min_dense is not None and 0.8 <= chosen.min_dense <= 0.88


def test_hiding_an_article_excludes_every_paragraph_of_it_and_nothing_else():
    filters = hiding_article("A#2", ["A#0", "B#1", "A#2", "C#0", "AB#0"])
    assert filters.exclude_doc_ids == {"A#0", "A#2"}
    kept = [d for d in ("A#0", "B#1", "A#2", "C#0", "AB#0") if filters.accepts(_chunk(d))]
    assert kept == ["B#1", "C#0", "AB#0"]


def _chunk(doc_id: str) -> Chunk:
    return Chunk(f"{doc_id}::0", doc_id, 0, "testo", 0, 5, "titolo")


def test_hiding_a_paragraph_keeps_the_rest_of_its_article():
    from rag.evaluation.calibrate import hiding_paragraph

    assert hiding_paragraph("Roma#2").exclude_doc_ids == frozenset({"Roma#2"})


def test_doubt_refuses_near_misses_and_the_sweep_reports_both_halves():
    from rag.evaluation.calibrate import Calibration, refusal_scores

    def row(answerable, doubt, half):
        return {
            "answerable": answerable,
            "coverage": 0.9,
            "dense": 0.6,
            "support": 1.0,
            "focus": 0.5,
            "model_refused": False,
            "cited": True,
            "doubt": doubt,
            "half": half,
            "correct": answerable,
        }

    rows = [row(True, 0.01, "tune"), row(False, 0.3, "tune"), row(True, 0.02, "test"), row(False, 0.12, "test")]
    assert refusal_scores(rows, Thresholds(max_doubt=0.1))["recall"] == 1.0
    assert refusal_scores(rows, Thresholds(max_doubt=0.2))["recall"] == 0.5
    assert refusal_scores(rows, Thresholds())["refused_answerable"] == 0
    calibration = Calibration("embeddinggemma-300m", [], -1.0, rows)
    calibration.best = Thresholds(max_doubt=0.1)
    sweep = [line for line in calibration.lines() if line.startswith("  max_doubt 0.2:")]
    assert sweep == [
        "  max_doubt 0.2: P 1.00 R 1.00, answerable refused 0/1, answered right 1 | "
        "P nan R 0.00, answerable refused 0/1, answered right 1"
    ]

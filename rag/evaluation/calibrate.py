"""Refusal calibration on SQuAD-it: refusal precision/recall, and the thresholds that give the best.

Each question is asked twice: against the full index (answerable) and with every paragraph of its
article hidden (unanswerable; ``Filters.exclude_doc_ids``). The retrieval-only check needs no
generation and gives the embedding model's cosine floor; the whole-pipeline check then picks all
thresholds on one half of the questions and reports them on the other. ``rag bench refusal`` runs it;
figures and the command: ``eval/answer-calibration.md``.
"""

from __future__ import annotations

import dataclasses
import itertools
import logging
import random
from collections.abc import Sequence
from dataclasses import dataclass, field

from rag.answer.refusal import DENSE_FLOORS
from rag.answer.verify import Thresholds
from rag.evaluation.gold import HALVES, GoldQuestion, half_of
from rag.evaluation.metrics import answer_contains, refusal_precision_recall
from rag.types import Evidence, Filters

log = logging.getLogger(__name__)


DOUBTS = (0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.4, 0.5, 1.0)  # max_doubt values tried


def hiding_article(doc_id: str, doc_ids: Sequence[str]) -> Filters:
    """Filters that hide every paragraph of the SQuAD article of ``doc_id`` (ids ``<title>#<n>``).

    >>> sorted(hiding_article("Roma#2", ["Roma#0", "Roma#2", "Parigi#0"]).exclude_doc_ids)
    ['Roma#0', 'Roma#2']
    """
    prefix = doc_id.rsplit("#", 1)[0] + "#"
    return Filters(exclude_doc_ids=frozenset(d for d in doc_ids if d.startswith(prefix)))


@dataclass
class Calibration:
    """What ``calibrate_refusal`` measured; ``lines()`` is the printed summary."""

    model_id: str
    retrieval_rows: list[dict]
    floor: float
    rows: list[dict] = field(default_factory=list)
    best: Thresholds | None = None

    def lines(self) -> list[str]:
        shipped = Thresholds(min_dense=DENSE_FLOORS.get(self.model_id))
        out = [
            f"retrieval-only check on {len(self.retrieval_rows)} questions, default thresholds for {self.model_id} "
            f"(cosine floor {shipped.min_dense}): " + describe(refusal_scores(self.retrieval_rows, shipped)),
            f"cosine floor for {self.model_id} (most off-topic caught at refusal precision >= {GATE_PRECISION}): "
            f"{self.floor} ({describe(refusal_scores(self.retrieval_rows, Thresholds(min_dense=self.floor)))})",
        ]
        if self.rows and self.best is not None:
            out.append(f"chosen on the tune half: {self.best}")
            for half in ("tune", "test"):
                out.append(
                    f"{half}: " + describe(refusal_scores([r for r in self.rows if r["half"] == half], self.best))
                )
            out.append(f"default {shipped}: " + describe(refusal_scores(self.rows, shipped)))
            out.append("the default thresholds with max_doubt (refuse when P('Non lo so') >= it), tune | test:")
            for doubt in DOUBTS:
                t = dataclasses.replace(shipped, max_doubt=doubt)
                halves = [_brief(refusal_scores([r for r in self.rows if r["half"] == h], t)) for h in HALVES]
                out.append(f"  max_doubt {doubt}: " + " | ".join(halves))
        return out


def hiding_paragraph(doc_id: str) -> Filters:
    """Filters that hide only the paragraph that answers: the rest of its article stays, so the question
    becomes a near miss (same topic, same names, the detail asked for is gone) rather than off-topic."""
    return Filters(exclude_doc_ids=frozenset({doc_id}))


def calibrate_refusal(
    assistant,
    gold: Sequence[GoldQuestion],
    limit: int = 40,
    retrieval_limit: int = 200,
    max_tokens: int = 48,
    near_miss: bool = False,
) -> Calibration:
    """Measure the refusal evidence of ``gold`` questions with and without their article (``near_miss``:
    without only their paragraph, the rest of the article still found).

    ``assistant`` should be loaded with every threshold off (``min_coverage=-1, min_dense=-1,
    min_support=-1``) so that every question is answered and measured.
    """
    doc_ids = assistant.retriever.store.doc_ids()
    present = set(doc_ids)
    gold = [g for g in gold if g.doc_ids and g.doc_ids[0] in present]
    random.Random(0).shuffle(gold)
    retrieval_rows = []
    for g in gold[:retrieval_limit]:  # retrieval evidence only: the check made before any generation
        for answerable in (True, False):
            filters = None if answerable else hiding_article(g.doc_ids[0], doc_ids)
            hits = assistant.retriever.search(g.question, k=assistant.settings.k, filters=filters)
            e = assistant.retrieval_evidence(g.question, hits)
            retrieval_rows.append({"answerable": answerable, "coverage": e.coverage, "dense": e.dense})
    model_id = assistant.retriever.embedder.info.model_id
    result = Calibration(model_id, retrieval_rows, dense_floor(retrieval_rows))
    gold = gold[:limit]
    for g in gold:
        for answerable in (True, False):
            hide = hiding_paragraph(g.doc_ids[0]) if near_miss else hiding_article(g.doc_ids[0], doc_ids)
            filters = None if answerable else hide
            answer = assistant.ask(g.question, max_tokens=max_tokens, filters=filters)
            e = answer.evidence
            result.rows.append(
                {
                    "id": g.id,
                    "question": g.question,
                    "answerable": answerable,
                    "coverage": e.coverage,
                    "dense": e.dense,
                    "support": e.support,
                    "model_refused": e.model_refused,
                    "wrong_type": e.wrong_type,
                    "doubt": e.doubt,
                    "cited": e.cited,
                    "correct": answerable and bool(answer_contains(e.reply, g.answers)),
                    "reply": e.reply,
                    "half": half_of(g),
                    "total_s": answer.timings["total"],
                }
            )
            log.info("%s", result.rows[-1])
    if result.rows:
        result.best = choose_thresholds([r for r in result.rows if r["half"] == "tune"], result.floor)
    return result


def _refuses(row: dict, t: Thresholds) -> bool:
    e = Evidence(
        coverage=row["coverage"],
        dense=row["dense"],
        support=row.get("support"),
        model_refused=row.get("model_refused", False),
        wrong_type=row.get("wrong_type", False),
        doubt=row.get("doubt"),
        cited=row.get("cited"),  # absent from rows written before this check existed
    )
    return t.refuse(e)


def refusal_scores(rows: list[dict], t: Thresholds) -> dict:
    """Refusal precision/recall (positive = unanswerable; NaN where undefined), and answerable questions
    answered correctly."""
    refused = [_refuses(r, t) for r in rows]
    precision, recall = refusal_precision_recall(refused, [not r["answerable"] for r in rows])
    fp = sum(1 for r, x in zip(rows, refused, strict=True) if x and r["answerable"])
    answerable = [r for r in rows if r["answerable"]]
    kept_correct = sum(
        1 for r, x in zip(rows, refused, strict=True) if r["answerable"] and not x and r.get("correct", True)
    )
    return {
        "precision": float("nan") if precision is None else precision,
        "recall": float("nan") if recall is None else recall,
        "refused_answerable": fp,
        "answerable": len(answerable),
        "answered_correctly": kept_correct,
        "correct_before_refusal": sum(r.get("correct", True) for r in answerable),
    }


def describe(s: dict) -> str:
    return (
        f"refusal precision {s['precision']:.2f}, recall {s['recall']:.2f}; "
        f"answerable refused {s['refused_answerable']}/{s['answerable']}; "
        f"answered correctly {s['answered_correctly']} (model right before refusal: {s['correct_before_refusal']})"
    )


def _brief(s: dict) -> str:
    return (
        f"P {s['precision']:.2f} R {s['recall']:.2f}, answerable refused {s['refused_answerable']}/{s['answerable']}, "
        f"answered right {s['answered_correctly']}"
    )


def _f1(s: dict) -> float:
    p, r = s["precision"], s["recall"]
    return 0.0 if not (p == p and r == r) or p + r == 0 else 2 * p * r / (p + r)


# The retrieval check refuses without reading a passage, so an answerable question it refuses is lost,
# while an off-topic one it lets through is still checked after generation. Its floor is therefore
# chosen for precision: at most 1 refusal in 50 may hit an answerable question.
GATE_PRECISION = 0.98


def dense_floor(rows: list[dict], precision: float = GATE_PRECISION) -> float:
    """The cosine floor that refuses the most unanswerable questions among those whose refusals on
    retrieval-only rows are at least ``precision`` right (coverage floor at its default; ties: the
    lower floor); -1.0 (no cosine check) if none is.

    Each embedding model has its own cosine scale, so the floor is found per model (``DENSE_FLOORS``).
    """
    candidates = sorted({round(r["dense"], 2) for r in rows if r["dense"] is not None})
    scores = {d: refusal_scores(rows, Thresholds(min_dense=d)) for d in candidates}
    good = [d for d in candidates if scores[d]["precision"] >= precision]
    return max(good, key=lambda d: (scores[d]["recall"], -d), default=-1.0)


def choose_thresholds(rows: list[dict], floor: float):
    """The thresholds with the best refusal F1 on ``rows`` (ties: fewer answerable questions refused);
    cosine floors are tried around ``floor``, the model's best floor on the retrieval-only check."""
    best, best_key = Thresholds(), None
    grid = itertools.product(
        (0.0, 0.3, 0.4, 0.5, 0.6, 0.7),
        (-1.0, *(round(floor + step, 2) for step in (-0.1, -0.05, 0.0, 0.05, 0.1))),
        (0.0, 0.25, 0.5, 0.67, 0.75),
        DOUBTS,
    )
    for cov, dense, sup, doubt in grid:
        t = Thresholds(min_coverage=cov, min_dense=dense, min_support=sup, max_doubt=doubt)
        s = refusal_scores(rows, t)
        key = (round(_f1(s), 4), -s["refused_answerable"])
        if best_key is None or key > best_key:
            best, best_key = t, key
    return best

"""``rag calibrate-refusal``: refusal precision/recall on SQuAD-it, and the thresholds that give the best.

Each question is asked twice: against the full index (answerable) and with every paragraph of its
article hidden (unanswerable). The retrieval-only check needs no generation and gives the embedding
model's cosine floor; the whole-pipeline check then picks all thresholds on one half of the questions
and reports them on the other. Figures and the command: ``eval/answer-calibration.md``.
"""

from __future__ import annotations

import click


class _Excluding:
    """A retriever that hides the documents of one SQuAD article (ids ``<title>#<n>``)."""

    def __init__(self, inner, title: str):
        self.inner, self.prefix = inner, title + "#"

    def search(self, query, k=5, filters=None, mode=None):
        import dataclasses

        hits = [
            h
            for h in self.inner.search(query, k=k + 60, filters=filters, mode=mode)
            if not h.doc_id.startswith(self.prefix)
        ]
        return [dataclasses.replace(h, rank=i) for i, h in enumerate(hits[:k], 1)]

    def __getattr__(self, name):
        return getattr(self.inner, name)


@click.command("calibrate-refusal")
@click.option(
    "--dataset",
    type=click.Path(dir_okay=False),
    default=None,
    help="SQuAD v1.1 JSON(.gz). Default: ../shared/datasets/squad-it/squad_it-dev.json.gz",
)
@click.option("--index", "-i", default="squad-it-dev", show_default=True, help="Index built from that dataset.")
@click.option("--model", "-m", default=None, help="LLM (default: the default model).")
@click.option(
    "--limit", default=40, show_default=True, help="Questions (each asked twice: with and without its article)."
)
@click.option(
    "--out", type=click.Path(dir_okay=False), default=None, help="Write the per-question measurements (JSONL)."
)
@click.option(
    "--retrieval-limit", default=200, show_default=True, help="Questions for the retrieval-only check (fast)."
)
@click.option("--max-tokens", default=48, show_default=True, help="Answer length cap during calibration.")
def calibrate_refusal(dataset, index, model, limit, out, retrieval_limit, max_tokens) -> None:
    """Measure the refusal features on answerable questions and on the same questions asked with their
    article hidden, pick thresholds on the first half and report refusal precision/recall on the second."""
    import json
    import random

    from rag.config import DEFAULT_LLM
    from rag.gold import load_gold
    from rag.grounding import DENSE_FLOORS, Thresholds, coverage
    from rag.metrics import answer_contains
    from rag.pipeline import Assistant
    from rag.squad import default_dataset

    gold = load_gold(dataset or default_dataset())
    assistant = Assistant.load(index, model=model or DEFAULT_LLM, min_coverage=-1, min_dense=-1, min_support=-1)
    present = set(assistant.retriever.store.doc_ids())
    gold = [g for g in gold if g.doc_ids and g.doc_ids[0] in present]
    random.Random(0).shuffle(gold)
    full = assistant.retriever
    retrieval_rows = []
    for g in gold[:retrieval_limit]:  # retrieval evidence only: the check made before any generation
        for answerable in (True, False):
            retriever = full if answerable else _Excluding(full, g.doc_ids[0].rsplit("#", 1)[0])
            hits = retriever.search(g.question, k=assistant.settings.k)
            retrieval_rows.append(
                {
                    "answerable": answerable,
                    "coverage": coverage(g.question, [h.text for h in hits]),
                    "dense": assistant._dense(g.question, hits),
                    "support": None,
                    "focus": None,
                    "model_refused": False,
                    "correct": answerable,
                }
            )
    model_id = assistant.retriever.embedder.info.model_id
    floor = dense_floor(retrieval_rows)
    click.echo(
        f"retrieval-only check on {len(retrieval_rows)} questions, default thresholds for {model_id} "
        f"(cosine floor {DENSE_FLOORS.get(model_id)}): "
        + describe(refusal_scores(retrieval_rows, Thresholds(min_dense=DENSE_FLOORS.get(model_id))))
    )
    click.echo(
        f"cosine floor for {model_id} (most off-topic caught at refusal precision >= {GATE_PRECISION}): {floor} "
        f"({describe(refusal_scores(retrieval_rows, Thresholds(min_dense=floor)))})"
    )
    gold = gold[:limit]
    rows = []
    for i, g in enumerate(gold):
        for answerable in (True, False):
            assistant.retriever = full if answerable else _Excluding(full, g.doc_ids[0].rsplit("#", 1)[0])
            answer = assistant.ask(g.question, max_tokens=max_tokens)
            e = assistant.last_evidence
            rows.append(
                {
                    "id": g.id,
                    "question": g.question,
                    "answerable": answerable,
                    "coverage": e.coverage,
                    "dense": e.dense,
                    "support": e.support,
                    "focus": e.focus,
                    "model_refused": e.model_refused,
                    "cited": e.cited,
                    "correct": answerable and bool(answer_contains(e.reply, g.answers)),
                    "reply": e.reply,
                    "half": "tune" if i < len(gold) // 2 else "test",
                    "total_s": answer.timings["total"],
                }
            )
            click.echo(json.dumps(rows[-1], ensure_ascii=False), err=True)
    assistant.retriever = full
    if out:
        with open(out, "w", encoding="utf-8") as handle:
            handle.writelines(json.dumps(r, ensure_ascii=False) + "\n" for r in rows)
    best = choose_thresholds([r for r in rows if r["half"] == "tune"], floor)
    click.echo(f"chosen on the tune half: {best}")
    for half in ("tune", "test"):
        click.echo(f"{half}: " + describe(refusal_scores([r for r in rows if r["half"] == half], best)))
    shipped = Thresholds(min_dense=DENSE_FLOORS.get(model_id))
    click.echo("default " + str(shipped) + ": " + describe(refusal_scores(rows, shipped)))


def _refuses(row: dict, t) -> bool:
    from rag.grounding import Evidence

    e = Evidence(
        coverage=row["coverage"],
        dense=row["dense"],
        support=row["support"],
        focus=row["focus"],
        model_refused=row["model_refused"],
        cited=row.get("cited"),  # absent from rows written before this check existed
    )
    return t.refuse(e)


def refusal_scores(rows: list[dict], t) -> dict:
    """Refusal precision/recall (positive = unanswerable), and answerable questions answered correctly."""
    refused = [_refuses(r, t) for r in rows]
    tp = sum(1 for r, x in zip(rows, refused, strict=True) if x and not r["answerable"])
    fp = sum(1 for r, x in zip(rows, refused, strict=True) if x and r["answerable"])
    fn = sum(1 for r, x in zip(rows, refused, strict=True) if not x and not r["answerable"])
    answerable = [r for r in rows if r["answerable"]]
    kept_correct = sum(1 for r, x in zip(rows, refused, strict=True) if r["answerable"] and not x and r["correct"])
    return {
        "precision": tp / (tp + fp) if tp + fp else float("nan"),
        "recall": tp / (tp + fn) if tp + fn else float("nan"),
        "refused_answerable": fp,
        "answerable": len(answerable),
        "answered_correctly": kept_correct,
        "correct_before_refusal": sum(r["correct"] for r in answerable),
    }


def describe(s: dict) -> str:
    return (
        f"refusal precision {s['precision']:.2f}, recall {s['recall']:.2f}; "
        f"answerable refused {s['refused_answerable']}/{s['answerable']}; "
        f"answered correctly {s['answered_correctly']} (model right before refusal: {s['correct_before_refusal']})"
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
    from rag.grounding import Thresholds

    candidates = sorted({round(r["dense"], 2) for r in rows if r["dense"] is not None})
    scores = {d: refusal_scores(rows, Thresholds(min_dense=d)) for d in candidates}
    good = [d for d in candidates if scores[d]["precision"] >= precision]
    return max(good, key=lambda d: (scores[d]["recall"], -d), default=-1.0)


def choose_thresholds(rows: list[dict], floor: float):
    """The thresholds with the best refusal F1 on ``rows`` (ties: fewer answerable questions refused);
    cosine floors are tried around ``floor``, the model's best floor on the retrieval-only check."""
    import itertools

    from rag.grounding import Thresholds

    best, best_key = Thresholds(), None
    grid = itertools.product(
        (0.0, 0.3, 0.4, 0.5, 0.6, 0.7),
        (-1.0, *(round(floor + step, 2) for step in (-0.1, -0.05, 0.0, 0.05, 0.1))),
        (0.0, 0.25, 0.5, 0.67, 0.75),
        (0.0, 0.2, 0.3, 0.4, 0.5),
    )
    for cov, dense, sup, focus in grid:
        t = Thresholds(min_coverage=cov, min_dense=dense, min_support=sup, min_focus=focus)
        s = refusal_scores(rows, t)
        key = (round(_f1(s), 4), -s["refused_answerable"])
        if best_key is None or key > best_key:
            best, best_key = t, key
    return best

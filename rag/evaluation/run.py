"""Batch evaluation against a gold set: retrieval, answers, refusals, citations and latency.

>>> from rag.evaluation.run import evaluate
>>> report = evaluate("eval/seeds.jsonl", index="seeds")                 # doctest: +SKIP
>>> report.get("retrieval.recall@5"), report.get("answer.f1")           # doctest: +SKIP
>>> report.to_frame()                           # one row per question    # doctest: +SKIP
>>> report.write("eval/runs/seeds")             # report.json, .md, plots # doctest: +SKIP

Every question is searched once with ``k=10`` (retrieval metrics); unless ``retrieval_only``, it is
also asked to the assistant (``rag.answer.assistant.Assistant``), whose answer is scored. Metric definitions
are in ``eval/README.md`` and in ``rag.evaluation.metrics``. Ctrl-C stops the run and keeps what was measured.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import platform
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

from rag.config import DEFAULT_LLM
from rag.errors import InputError, RagError, check_counts
from rag.evaluation import metrics as m
from rag.evaluation.gold import GoldQuestion, conversation, is_squad, load_gold
from rag.evaluation.records import EvalReport, QuestionRow
from rag.evaluation.squad import ensure_squad_index

log = logging.getLogger(__name__)

K = 10  # retrieval depth: recall@1/5/10 and MRR@10
SQUAD_IT_CREDIT = (
    "SQuAD-it (CC BY-SA 4.0): D. Croce, A. Zelenanska, R. Basili, "
    '"Neural Learning for Question Answering in Italian", AI*IA 2018'
)


class AssistantLike(Protocol):
    """What ``evaluate`` needs from an assistant: ``ask(question, history) -> rag.types.Answer`` (``history``,
    earlier (question, answer) pairs, is given only to the follow-ups of a gold set)."""

    def ask(self, question: str, history: Sequence[tuple[str, str]] = ()) -> Any: ...


# ---- scoring -----------------------------------------------------------------------------------


def score_answer(row: QuestionRow, answer: Any) -> None:
    """Fill the answer fields of ``row`` from a ``rag.types.Answer`` (or anything shaped like one)."""
    row.refused = bool(answer.refused)
    row.refusal_reasons = list(getattr(answer, "refusal_reasons", None) or [])
    row.answer = answer.text or ""
    row.short = getattr(answer, "short", "") or ""
    row.cited_doc_ids = [c.doc_id for c in (answer.citations or [])]
    row.source_doc_ids = list(dict.fromkeys(h.doc_id for h in (answer.passages or [])))
    evidence = getattr(answer, "evidence", None)
    if dataclasses.is_dataclass(evidence):
        row.evidence = {k: v for k, v in dataclasses.asdict(evidence).items() if k != "reasons"}
    for stage, seconds in (answer.timings or {}).items():
        if isinstance(seconds, int | float):
            row.timings_ms[stage] = 1000.0 * float(seconds)
    said = f"{row.short} {row.answer}"  # the short answer and the sentence
    row.right = m.answer_right(row.refused, said, row.cited_doc_ids, row.gold_answers, row.gold_doc_ids)
    if row.answerable:
        short = "" if row.refused else (row.short or row.answer)  # EM/F1 score the short answer, if any
        row.exact_match = m.exact_match(short, row.gold_answers)
        row.f1 = m.token_f1(short, row.gold_answers)
        row.contains = m.answer_contains("" if row.refused else said, row.gold_answers)
        if not row.refused:
            row.citations_ok = m.citations_correct(row.cited_doc_ids, row.gold_doc_ids)


def summarize(rows: list[QuestionRow], answers: bool) -> dict:
    """The metric sections of a report from its rows (``answers``: whether answers were asked for)."""
    ranked = [r for r in rows if r.gold_doc_ids]
    ranks = [r.rank for r in ranked]
    retrieval = {
        "questions": len(ranked),
        "recall@1": m.recall_at(ranks, 1) if ranks else None,
        "recall@5": m.recall_at(ranks, 5) if ranks else None,
        "recall@10": m.recall_at(ranks, 10) if ranks else None,
        "mrr@10": m.mrr_at(ranks, 10) if ranks else None,
        "curve": [m.recall_at(ranks, k) for k in range(1, K + 1)] if ranks else [],
    }
    asked = [r for r in rows if r.refused is not None] if answers else []
    answerable = [r for r in asked if r.answerable]
    unanswerable = [r for r in asked if not r.answerable]
    answer = {
        "questions": len(answerable),
        "exact_match": m.mean([r.exact_match for r in answerable]),
        "f1": m.mean([r.f1 for r in answerable]),
        "contains": m.mean([r.contains for r in answerable]),
        "right": m.mean([float(r.right) for r in asked]),  # answered right and cited, or rightly refused
    }
    precision, recall = (None, None)
    if asked:
        precision, recall = m.refusal_precision_recall([r.refused for r in asked], [not r.answerable for r in asked])
    refusal = {
        "questions": len(asked),
        "unanswerable": len(unanswerable),
        "refused": sum(1 for r in asked if r.refused),
        "precision": precision,
        "recall": recall,
    }
    cited = [r for r in answerable if not r.refused]
    citations = {
        "answers": len(cited),
        "accuracy": m.citation_accuracy([r.cited_doc_ids for r in cited], [r.gold_doc_ids for r in cited]),
    }
    stages: dict[str, list[float]] = {}
    for r in rows:
        for stage, ms in r.timings_ms.items():
            stages.setdefault(stage, []).append(ms)
    latency = {
        stage: {
            "n": len(values),
            "p50_ms": m.percentile(values, 50),
            "p95_ms": m.percentile(values, 95),
            "mean_ms": sum(values) / len(values),
            "max_ms": max(values),
        }
        for stage, values in stages.items()
    }
    return {
        "retrieval": retrieval,
        "answer": answer,
        "refusal": refusal,
        "citations": citations,
        "latency": latency,
    }


def _check_gold_in_index(questions: list[GoldQuestion], retriever, index) -> None:
    known = set(retriever.store.doc_ids())
    gold = {d for q in questions for d in q.doc_ids}
    missing = sorted(gold - known)
    if gold and len(missing) == len(gold):
        raise InputError(
            f"none of the gold documents (e.g. {missing[0]!r}) are in index {index}; "
            "pass --index NAME of the index built from those documents"
        )
    if missing:
        log.warning("%d of %d gold documents are not in index %s (e.g. %r)", len(missing), len(gold), index, missing[0])


# ---- the run -------------------------------------------------------------------------------------


def evaluate(
    gold: str | os.PathLike,
    index: str | os.PathLike | None = None,
    limit: int | None = None,
    retrieval_only: bool = False,
    model: str | None = None,
    assistant: AssistantLike | None = None,
    retriever=None,
    out: str | os.PathLike | None = None,
    progress: bool | None = None,
    sample: int | None = None,
    half: str | None = None,
) -> EvalReport:
    """Evaluate retrieval (and, unless ``retrieval_only``, answers) on the gold set at ``gold``.

    ``gold``: our JSONL gold set or a SQuAD v1.1 JSON(.gz). ``index``: an index name or path; by default
    ``seeds`` for JSONL, and for SQuAD an index built from the same file (cached, see
    ``ensure_squad_index``). ``limit``: only the first N questions; ``sample``: N questions drawn at random
    (seed 0) across the file instead; ``half``: only the ``tune`` or ``test`` half of the articles
    (``rag.evaluation.gold.half_of``). ``model``: the LLM to load when no
    ``assistant`` is given. ``assistant``/``retriever``: ready objects to use instead of loading them.
    ``out``: also write the report files there (also after Ctrl-C or an error). ``progress``: show a
    progress bar (default: when the ``rag`` logger is at INFO or lower).

    Returns the report; after Ctrl-C, the partial report of the questions done (``meta["interrupted"]``).
    """
    check_counts(*[(name, value) for name, value in (("limit", limit), ("sample", sample)) if value is not None])
    if not isinstance(gold, str | os.PathLike):
        raise InputError(f"gold must be the path of a gold file, got {type(gold).__name__}")
    if isinstance(retriever, str | os.PathLike):  # an index name given as the retriever
        from rag.index.retriever import Retriever

        retriever = Retriever.load(retriever)
    gold_path = Path(gold)
    questions = load_gold(gold_path, limit=limit, sample=sample, half=half)
    if index is None:
        index = ensure_squad_index(gold_path) if is_squad(gold_path) else "seeds"
    if retriever is None:
        retriever = getattr(assistant, "retriever", None)
    if retriever is None:
        from rag.index.retriever import Retriever

        retriever = Retriever.load(index)
    _check_gold_in_index(questions, retriever, index)
    llm = None
    if not retrieval_only:
        if assistant is None:
            assistant = _load_assistant(index, model)
            llm = model or DEFAULT_LLM
        else:
            llm = model or getattr(assistant, "model_name", None) or type(assistant).__name__

    meta = {
        "gold": str(gold_path),
        "index": str(index),
        "mode": "retrieval" if retrieval_only else "answers",
        "questions": len(questions),
        "evaluated": 0,
        "limit": limit,
        "sample": sample,
        "half": half,
        "k": K,
        "embedder": retriever.embedder.info.model_id,
        "llm": llm,
        "started": datetime.now(UTC).isoformat(timespec="seconds"),
        "seconds": 0.0,
        "interrupted": False,
        "error": None,
        "host": {
            "cpus": os.cpu_count(),
            "load_average_1m": round(os.getloadavg()[0], 2) if hasattr(os, "getloadavg") else None,
            "platform": platform.platform(),
            "python": platform.python_version(),
        },
        "credit": SQUAD_IT_CREDIT if is_squad(gold_path) else None,
    }
    if progress is None:
        progress = log.isEnabledFor(logging.INFO)
    rows: list[QuestionRow] = []
    started = time.perf_counter()
    failure: BaseException | None = None
    try:
        _run(questions, retriever, None if retrieval_only else assistant, rows, progress)
    except KeyboardInterrupt:
        meta["interrupted"] = True
        log.warning("interrupted after %d of %d questions; the report covers those", len(rows), len(questions))
    except Exception as e:  # write what was measured, then let the error through
        meta["error"] = f"{type(e).__name__}: {e}"
        failure = e
    meta["seconds"] = round(time.perf_counter() - started, 3)
    meta["evaluated"] = len(rows)
    report = EvalReport(meta, summarize(rows, answers=not retrieval_only), rows)
    if out is not None:
        report.write(out)
    if failure is not None:
        raise failure
    return report


def _load_assistant(index, model: str | None):
    try:
        from rag.answer.assistant import Assistant
    except ImportError as e:
        raise RagError(
            f"answers need the assistant (rag.answer.assistant), which cannot be imported ({e}); use --retrieval-only"
        ) from e
    return Assistant.load(index=str(index), model=model) if model else Assistant.load(index=str(index))


def _run(questions, retriever, assistant, rows: list[QuestionRow], progress: bool) -> None:
    from tqdm.auto import tqdm

    bar = tqdm(questions, desc="eval", unit="q", disable=not progress, dynamic_ncols=True)
    try:
        _loop(bar, {q.id: q for q in questions}, retriever, assistant, rows, progress)
    finally:
        bar.close()


def _loop(bar, by_id, retriever, assistant, rows: list[QuestionRow], progress: bool) -> None:
    hits_at_5 = ranked = 0
    said: dict[str, tuple[str, str]] = {}  # id -> (question, the answer given): a follow-up's history
    for q in bar:
        history = conversation(q, said, by_id)
        row = QuestionRow(q.id, q.question, q.answerable, list(q.answers), list(q.doc_ids), list(q.tags))
        t0 = time.perf_counter()
        # a follow-up is searched with the questions before it (the assistant also adds names from answers)
        hits = retriever.search(" ".join([*(asked for asked, _ in history), q.question]), k=K)
        row.timings_ms["search"] = 1000.0 * (time.perf_counter() - t0)
        for stage, seconds in getattr(retriever, "last_timings", {}).items():
            row.timings_ms[f"search_{stage}"] = 1000.0 * seconds
        row.retrieved_doc_ids = [h.doc_id for h in hits]
        if q.doc_ids:
            row.rank = m.first_relevant_rank(row.retrieved_doc_ids, q.doc_ids)
            hits_at_5 += row.rank is not None and row.rank <= 5
            ranked += 1
        if assistant is not None:
            answer = assistant.ask(q.question, history=history) if history else assistant.ask(q.question)
            said[q.id] = (q.question, answer.text)
            score_answer(row, answer)
        rows.append(row)
        if progress and ranked:
            bar.set_postfix_str(f"R@5 {hits_at_5 / ranked:.2f}", refresh=False)

"""Batch evaluation against a gold set: retrieval, answers, refusals, citations and latency.

>>> from rag.evaluation.run import evaluate
>>> report = evaluate("eval/seeds.jsonl", index="seeds")                 # doctest: +SKIP
>>> report.get("retrieval.recall@5"), report.get("answer.f1")           # doctest: +SKIP
>>> report.to_frame()                           # one row per question    # doctest: +SKIP
>>> report.write("eval/runs/seeds")             # report.json, .md, plots # doctest: +SKIP

Every question is searched once with ``k=10`` (retrieval metrics); unless ``retrieval_only``, it is
also asked to the assistant (``rag.answer.assistant.Assistant``), whose answer is scored by its kind: a
fact (``answer_right``), a summary, digest or list (``news_verdict``). Each question is asked on its gold
``today``, else on the day after the newest article of the index. Metric definitions are in
``eval/README.md`` and in ``rag.evaluation.metrics``. Ctrl-C stops the run and keeps what was measured.
"""

from __future__ import annotations

import dataclasses
import inspect
import logging
import os
import platform
import time
from collections import Counter
from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any, Protocol

from rag.config import DEFAULT_LLM
from rag.errors import InputError, RagError, check_counts
from rag.evaluation import metrics as m
from rag.evaluation.gold import NEWS_KINDS, GoldQuestion, conversation, is_squad, load_gold
from rag.evaluation.records import EvalReport, QuestionRow
from rag.evaluation.squad import ensure_squad_index
from rag.index.catalog import documents

log = logging.getLogger(__name__)

K = 10  # retrieval depth: recall@1/5/10 and MRR@10
SQUAD_IT_CREDIT = (
    "SQuAD-it (CC BY-SA 4.0): D. Croce, A. Zelenanska, R. Basili, "
    '"Neural Learning for Question Answering in Italian", AI*IA 2018'
)


class AssistantLike(Protocol):
    """What ``evaluate`` needs from an assistant: ``ask(question, history) -> rag.types.Answer`` (``history``,
    earlier (question, answer) pairs, is given only to the follow-ups of a gold set). An assistant whose
    ``ask`` also takes ``today`` (a ``datetime.date``) is given the day each question is asked."""

    def ask(self, question: str, history: Sequence[tuple[str, str]] = ()) -> Any: ...


def takes_today(assistant) -> bool:
    """Whether ``assistant.ask`` accepts ``today=`` (by name, or through ``**kwargs``)."""
    try:
        parameters = inspect.signature(assistant.ask).parameters.values()
    except (TypeError, ValueError):
        return False
    return any(p.name == "today" or p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters)


def day_after_newest(store) -> str | None:
    """The day after the newest dated article of ``store`` (YYYY-MM-DD): when a question is asked by default."""
    days = []
    for info in documents(store):
        try:
            days.append(date.fromisoformat((info.date or "")[:10]))
        except ValueError:  # undated, or a date that is not a day
            continue
    return (max(days) + timedelta(days=1)).isoformat() if days else None


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
    if row.kind in NEWS_KINDS:
        year = int(row.today[:4]) if row.today else None
        verdict = m.news_verdict(row.kind, row.refused, said, row.cited_doc_ids, row.gold_docs, row.key_facts, year)
        row.right = verdict.acceptable
        row.problems = [str(p) for p in verdict.problems]
        row.missing_key_facts = list(verdict.missing_key_facts)
        return
    row.right = m.answer_right(row.refused, said, row.cited_doc_ids, row.gold_answers, row.gold_doc_ids)
    if row.answerable:
        short = "" if row.refused else (row.short or row.answer)  # EM/F1 score the short answer, if any
        row.exact_match = m.exact_match(short, row.gold_answers)
        row.f1 = m.token_f1(short, row.gold_answers)
        row.contains = m.answer_contains("" if row.refused else said, row.gold_answers)
        if not row.refused:
            row.citations_ok = m.citations_correct(row.cited_doc_ids, row.gold_doc_ids)


def outcomes(rows: list[QuestionRow]) -> dict[str, dict[str, int]]:
    """How each group of questions (``QuestionRow.group``: kind, near miss, follow-up) went, as counts:
    answered right (a fact right and cited, a news question acceptable), answered wrong, refused rightly (the
    articles do not answer it), refused wrongly (they do)."""
    out: dict[str, Counter] = {}
    for r in rows:
        if r.refused is None:
            continue
        if r.refused:
            key = "refused_wrongly" if r.answerable else "refused_rightly"
        else:
            key = "answered_right" if r.right else "answered_wrong"
        out.setdefault(r.group, Counter())[key] += 1
    keys = ("answered_right", "answered_wrong", "refused_rightly", "refused_wrongly")
    return {group: {"questions": sum(c.values()), **{k: c[k] for k in keys}} for group, c in out.items()}


def kind_scores(rows: list[QuestionRow]) -> tuple[dict, dict]:
    """The ``facts`` section (``fact_scores`` of first questions and of follow-ups, apart) and the ``news``
    section (per kind, follow-ups apart: acceptable as counts, and how many had each ``NewsProblem``)."""
    asked = [r for r in rows if r.refused is not None]
    facts = {}
    for label, follow in (("first", False), ("follow-up", True)):
        part = [r for r in asked if r.kind == "fact" and r.follow_up is follow]
        if part:
            facts[label] = {
                "questions": len(part),
                **m.fact_scores(
                    [r.answerable for r in part], [r.refused for r in part], [r.right for r in part],
                    [r.near_miss for r in part],
                ),
            }  # fmt: skip
    news = {}
    for kind in NEWS_KINDS:
        for follow in (False, True):
            part = [r for r in asked if r.kind == kind and r.follow_up is follow]
            if part:
                problems = Counter(p for r in part for p in r.problems)
                news[f"{kind}, follow-up" if follow else kind] = {
                    "questions": len(part),
                    "acceptable": m.count(sum(bool(r.right) for r in part), len(part)),
                    "problems": dict(sorted(problems.items())),
                }
    return facts, news


def summarize(rows: list[QuestionRow], answers: bool) -> dict:
    """The metric sections of a report from its rows (``answers``: whether answers were asked for).

    ``answer``, ``refusal`` and ``citations`` are over fact questions (first questions and follow-ups
    together, as before the kinds); ``facts``, ``news`` and ``outcomes`` give each kind its own counts."""
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
    every = [r for r in rows if r.refused is not None] if answers else []
    asked = [r for r in every if r.kind == "fact"]
    answerable = [r for r in asked if r.answerable]
    unanswerable = [r for r in asked if not r.answerable]
    answer = {
        "questions": len(answerable),
        "exact_match": m.mean([r.exact_match for r in answerable]),
        "f1": m.mean([r.f1 for r in answerable]),
        "contains": m.mean([r.contains for r in answerable]),
        # answered right and cited, or rightly refused, over facts: first questions and follow-ups together
        # (read facts.first / facts.follow-up for figures that do not mix them)
        "right": m.mean([float(r.right) for r in asked]),
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
    facts, news = kind_scores(every)
    return {
        "retrieval": retrieval,
        "answer": answer,
        "refusal": refusal,
        "citations": citations,
        "facts": facts,
        "news": news,
        "outcomes": outcomes(every),
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
    if retriever is None:
        retriever = getattr(assistant, "retriever", None)
    if index is None:
        if is_squad(gold_path):
            index = ensure_squad_index(gold_path)
        else:  # the index searched, when given ready (it was labelled "seeds" whatever it was)
            folder = getattr(getattr(retriever, "store", None), "path", None)
            index = Path(folder).name if folder else "seeds"
    if retriever is None:
        from rag.index.retriever import Retriever

        retriever = Retriever.load(index)
    _check_gold_in_index(questions, retriever, index)
    llm = None
    asked_on: str | None = None  # the day a question without its own ``today`` is asked
    dated = False
    if not retrieval_only:
        if assistant is None:
            assistant = _load_assistant(index, model)
            llm = model or DEFAULT_LLM
        else:
            llm = model or getattr(assistant, "model_name", None) or type(assistant).__name__
        dated = takes_today(assistant)
        if not dated:
            log.warning("the assistant's ask() takes no today=: questions are asked as of the machine's date")
        if not is_squad(gold_path):
            asked_on = day_after_newest(retriever.store)

    meta = {
        "gold": str(gold_path),
        "index": str(index),
        "mode": "retrieval" if retrieval_only else "answers",
        "questions": len(questions),
        "evaluated": 0,
        "limit": limit,
        "sample": sample,
        "half": half,
        "today": asked_on,  # the day questions without their own gold ``today`` are asked
        "today_passed": dated if not retrieval_only else None,  # whether the assistant takes today=
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
        _run(questions, retriever, None if retrieval_only else assistant, rows, progress, asked_on, dated)
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


def _run(questions, retriever, assistant, rows: list[QuestionRow], progress: bool, asked_on, dated: bool) -> None:
    from tqdm.auto import tqdm

    bar = tqdm(questions, desc="eval", unit="q", disable=not progress, dynamic_ncols=True)
    try:
        _loop(bar, {q.id: q for q in questions}, retriever, assistant, rows, progress, asked_on, dated)
    finally:
        bar.close()


def question_row(q: GoldQuestion, today: str | None = None) -> QuestionRow:
    """The row of a gold question before it is asked: what is expected of it."""
    return QuestionRow(
        q.id,
        q.question,
        q.answerable,
        list(q.answers),
        list(q.doc_ids),
        list(q.tags),
        kind=q.kind,
        near_miss=q.near_miss,
        follow_up=q.follows is not None,
        gold_docs=list(q.docs),
        key_facts=[list(alternatives) for alternatives in q.key_facts],
        today=q.today or today,
    )


def _loop(bar, by_id, retriever, assistant, rows: list[QuestionRow], progress: bool, asked_on, dated) -> None:
    hits_at_5 = ranked = 0
    said: dict[str, tuple[str, str]] = {}  # id -> (question, the answer given): a follow-up's history
    for q in bar:
        history = conversation(q, said, by_id)
        row = question_row(q, asked_on)
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
            options: dict[str, Any] = {"history": history} if history else {}
            if dated and row.today:
                options["today"] = date.fromisoformat(row.today)
            answer = assistant.ask(q.question, **options)
            said[q.id] = (q.question, answer.text)
            score_answer(row, answer)
        rows.append(row)
        if progress and ranked:
            bar.set_postfix_str(f"R@5 {hits_at_5 / ranked:.2f}", refresh=False)

"""Present an ``EvalReport``: a terminal table, ``report.json``, ``report.md`` with PNG plots.

Files written by ``write_report(report, out_dir)``:

- ``report.json``: ``report.to_dict()`` (keys documented in ``eval/README.md``)
- ``report.md``: summary, plots, per-tag figures, the worst failures with retrieved sources
- ``recall_at_k.png`` (recall@k for k = 1..10) and ``latency.png`` (histogram per stage)
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any, Protocol

from rag.evaluation import metrics as m


class EvalReport(Protocol):
    """What is rendered here: ``rag.evaluation.records.EvalReport`` (which imports this module, not the reverse)."""

    meta: dict
    metrics: dict
    rows: list


QuestionRow = Any  # a rag.evaluation.records.QuestionRow

log = logging.getLogger(__name__)

WORST = 15  # failures listed in report.md
MAIN_STAGES = ("search", "retrieve", "first_token", "generate", "total")


def _f(value, digits: int = 3) -> str:
    return "n/a" if value is None else f"{value:.{digits}f}"


def summary_lines(report: EvalReport) -> list[tuple[str, str]]:
    """(label, figures) pairs shared by the terminal table and report.md."""
    r = report.metrics
    ret, ans, ref, cit = r["retrieval"], r["answer"], r["refusal"], r["citations"]
    lines = [
        (
            f"retrieval ({ret['questions']} q)",
            f"R@1 {_f(ret['recall@1'])}  R@5 {_f(ret['recall@5'])}  R@10 {_f(ret['recall@10'])}  "
            f"MRR@10 {_f(ret['mrr@10'])}",
        )
    ]
    if report.meta["mode"] == "answers":
        lines += [
            (
                f"answers ({ans['questions']} q)",
                f"EM {_f(ans['exact_match'])}  F1 {_f(ans['f1'])}  contains {_f(ans['contains'])}  "
                f"right and cited (or rightly refused) {_f(ans.get('right'))}",
            ),
            (
                f"refusal ({ref['unanswerable']} unanswerable, {ref['refused']} refused)",
                f"precision {_f(ref['precision'])}  recall {_f(ref['recall'])}",
            ),
            (f"citations ({cit['answers']} answers)", f"accuracy {_f(cit['accuracy'])}"),
        ]
    return lines


def format_table(report: EvalReport) -> str:
    """The summary printed by ``rag eval``."""
    meta = report.meta
    head = (
        f"{meta['gold']} on index {meta['index']}: {meta['evaluated']} of {meta['questions']} questions, "
        f"{meta['mode']}" + (f" ({meta['llm']})" if meta.get("llm") else "") + f", {meta['seconds']:.1f}s"
    )
    if meta.get("interrupted"):
        head += "  [INTERRUPTED: partial report]"
    if meta.get("error"):
        head += f"  [STOPPED BY ERROR: {meta['error']}]"
    lines = [head, ""]
    summary = summary_lines(report)
    width = max(len(label) for label, _ in summary)
    lines += [f"{label:<{width}}  {figures}" for label, figures in summary]
    if report.metrics["latency"]:
        lines += ["", f"{'latency (ms)':<{width}}  {'p50':>9} {'p95':>9} {'n':>6}"]
        for stage, s in report.metrics["latency"].items():
            lines.append(f"  {stage:<{width - 2}}  {s['p50_ms']:9.1f} {s['p95_ms']:9.1f} {s['n']:6d}")
    return "\n".join(lines)


# ---- failures and breakdowns --------------------------------------------------------------------


def success(row: QuestionRow, answers: bool) -> float:
    """How well a question went, 1.0 = fully right; used only to order the failures list.

    Answers mode: answerable -> max(F1, contains) (0 if refused); unanswerable -> 1 if refused else 0.
    Retrieval mode: 1 / rank of the first gold chunk (0 if none in the top 10).
    """
    if answers and row.refused is not None:
        if not row.answerable:
            return 1.0 if row.refused else 0.0
        return max(row.f1 or 0.0, row.contains or 0.0)
    if not row.gold_doc_ids:
        return 1.0
    return 1.0 / row.rank if row.rank else 0.0


def worst_failures(report: EvalReport, n: int = WORST) -> list[QuestionRow]:
    """The ``n`` least successful questions (ties: retrieval miss first), excluding full successes."""
    answers = report.meta["mode"] == "answers"
    scored = [(success(r, answers), r) for r in report.rows]
    failed = [(s, r) for s, r in scored if s < 1.0]
    failed.sort(key=lambda pair: (pair[0], -(pair[1].rank or 10**6)))
    return [r for _, r in failed[:n]]


# by_tag's figures and their column titles
TAG_COLUMNS = {
    "recall@5": "R@5",
    "exact_match": "EM",
    "f1": "F1",
    "contains": "contains",
    "refused_answerable": "answerable refused",
    "refused_unanswerable": "unanswerable refused",
}


def by_tag(report: EvalReport) -> dict[str, dict]:
    """Per-tag figures: questions, R@5 (over questions with gold documents), EM, F1, contains and the share
    refused (answerable), and the share refused of the unanswerable ones."""
    tags: dict[str, list[QuestionRow]] = {}
    for row in report.rows:
        for tag in row.tags:
            tags.setdefault(tag, []).append(row)
    out = {}
    for tag, rows in sorted(tags.items()):
        ranks = [r.rank for r in rows if r.gold_doc_ids]
        scored = [r for r in rows if r.answerable and r.f1 is not None]
        unanswerable = [r for r in rows if not r.answerable and r.refused is not None]
        out[tag] = {
            "questions": len(rows),
            "recall@5": m.recall_at(ranks, 5) if ranks else None,
            "exact_match": m.mean([r.exact_match for r in scored]),
            "f1": m.mean([r.f1 for r in scored]),
            "contains": m.mean([r.contains for r in scored]),
            "refused_answerable": m.mean([float(bool(r.refused)) for r in scored]),
            "refused_unanswerable": m.mean([float(r.refused) for r in unanswerable]),
        }
    return out


# ---- files ---------------------------------------------------------------------------------------


def write_report(report: EvalReport, out_dir: Path) -> list[Path]:
    """Write report.json, the plots and report.md into ``out_dir``; return the paths written."""
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = [out_dir / "report.json"]
    paths[0].write_text(json.dumps(report.to_dict(), indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    plots = plot_recall_curve(report, out_dir / "recall_at_k.png"), plot_latency(report, out_dir / "latency.png")
    paths += [p for p in plots if p]
    md = out_dir / "report.md"
    md.write_text(render_markdown(report, [p.name for p in plots if p]), encoding="utf-8")
    paths.append(md)
    log.info("report written to %s", out_dir)
    return paths


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def plot_recall_curve(report: EvalReport, path: Path) -> Path | None:
    curve = report.metrics["retrieval"]["curve"]
    if not curve:
        return None
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(5, 3.2), dpi=100)
    ks = list(range(1, len(curve) + 1))
    ax.plot(ks, curve, marker="o")
    for k in (1, 5, 10):
        if k <= len(curve):
            ax.annotate(
                f"{curve[k - 1]:.2f}", (k, curve[k - 1]), textcoords="offset points", xytext=(0, -14), ha="center"
            )
    ax.set_xlabel("k (chunks retrieved)")
    ax.set_ylabel("recall@k")
    ax.set_ylim(0, 1.02)
    ax.set_xticks(ks)
    ax.grid(alpha=0.3)
    ax.set_title(f"Recall@k, {report.metrics['retrieval']['questions']} questions")
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return path


def plot_latency(report: EvalReport, path: Path) -> Path | None:
    stages = {}
    for stage in MAIN_STAGES:
        values = [r.timings_ms[stage] for r in report.rows if stage in r.timings_ms]
        if values:
            stages[stage] = values
    if not stages:
        return None
    plt = _pyplot()
    fig, axes = plt.subplots(1, len(stages), figsize=(3.2 * len(stages), 3), dpi=100, squeeze=False)
    for ax, (stage, values) in zip(axes[0], stages.items(), strict=True):
        ax.hist(values, bins=min(30, max(5, len(values) // 3)))
        ax.axvline(m.percentile(values, 50), color="k", linestyle="--", linewidth=1, label="p50")
        ax.axvline(m.percentile(values, 95), color="r", linestyle=":", linewidth=1, label="p95")
        ax.set_title(stage)
        ax.set_xlabel("ms")
        ax.legend(fontsize=7)
    axes[0][0].set_ylabel("questions")
    fig.suptitle("Latency per stage (shared CPU; see meta.host)", fontsize=9)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return path


def _one_line(text: str | None, limit: int = 400) -> str:
    text = " ".join((text or "").split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def render_markdown(report: EvalReport, images: list[str]) -> str:
    meta = report.meta
    answers = meta["mode"] == "answers"
    out = [
        f"# Evaluation: {Path(meta['gold']).name}",
        "",
        f"- gold: `{meta['gold']}`; index: `{meta['index']}`; embedder: `{meta['embedder']}`"
        + (f"; LLM: `{meta['llm']}`" if meta.get("llm") else ""),
        f"- mode: {meta['mode']}; {meta['evaluated']} of {meta['questions']} questions"
        + (f" (limit {meta['limit']})" if meta.get("limit") else "")
        + (f" (random sample of {meta['sample']}, seed 0)" if meta.get("sample") else "")
        + f"; started {meta['started']}; {meta['seconds']:.1f}s",
        f"- host: {meta['host']['cpus']} CPUs, 1-min load average {meta['host']['load_average_1m']} at start "
        "(latencies are measured on this machine as loaded, not on an idle one)",
    ]
    if meta.get("interrupted"):
        out.append("- **interrupted**: this is a partial report of the questions done")
    if meta.get("error"):
        out.append(f"- **stopped by an error**: `{meta['error']}`")
    if meta.get("credit"):
        out.append(f"- questions and answers from {meta['credit']}; shared under the same licence")
    out += ["", "## Summary", "", "| | figures |", "|---|---|"]
    out += [f"| {label} | {figures} |" for label, figures in summary_lines(report)]
    if report.metrics["latency"]:
        out += ["", "| latency (ms) | p50 | p95 | mean | max | n |", "|---|---:|---:|---:|---:|---:|"]
        for stage, s in report.metrics["latency"].items():
            figures = " | ".join(f"{s[key]:.1f}" for key in ("p50_ms", "p95_ms", "mean_ms", "max_ms"))
            out.append(f"| {stage} | {figures} | {s['n']} |")
    if images:
        out += ["", "## Plots", ""] + [f"![{name}]({name})" for name in images]
    tags = by_tag(report)
    if tags:
        out += ["", "## By tag", "", f"| tag | questions | {' | '.join(TAG_COLUMNS.values())} |"]
        out.append("|---|---:|" + "---:|" * len(TAG_COLUMNS))
        for tag, t in tags.items():
            out.append(f"| {tag} | {t['questions']} | " + " | ".join(_f(t[k]) for k in TAG_COLUMNS) + " |")
    worst = worst_failures(report)
    out += ["", f"## Worst failures ({len(worst)} shown)", ""]
    if not worst:
        out.append("None: every question succeeded.")
    for row in worst:
        gold_docs = set(row.gold_doc_ids)
        sources = list(dict.fromkeys(row.retrieved_doc_ids))[:5]
        marked = ", ".join(f"**{d}** (gold)" if d in gold_docs else d for d in sources) or "none"
        out += [
            f"### `{row.id}`: {_one_line(row.question, 200)}",
            "",
            f"- expected: {' | '.join(_one_line(a, 120) for a in row.gold_answers) or '(unanswerable: should refuse)'}"
            + (f" in {', '.join(row.gold_doc_ids)}" if row.gold_doc_ids else ""),
        ]
        if answers and row.refused is not None:
            why = f": {', '.join(row.refusal_reasons)}" if row.refusal_reasons else ""
            got = f"(refused{why})" if row.refused else _one_line(row.answer)
            out.append(
                f"- got: {got}  (F1 {_f(row.f1, 2)}, contains {_f(row.contains, 0)}, "
                f"cited {', '.join(row.cited_doc_ids) or 'nothing'})"
            )
        rank = f"first gold chunk at rank {row.rank or 'none in top 10'}" if row.gold_doc_ids else "no gold document"
        out += [f"- retrieved sources (top 5 documents): {marked}; {rank}", ""]
    return "\n".join(out).rstrip() + "\n"

"""Present an ``EvalReport``: a terminal table, ``report.json``, ``report.md`` with PNG plots.

Files written by ``write_report(report, out_dir)``:

- ``report.json``: ``report.to_dict()`` (keys documented in ``eval/README.md``)
- ``report.md``: summary (counts per question kind), plots, figures by kind and by tag, the worst failures
  with retrieved sources
- ``answers_by_kind.png`` (answered right / wrong / refused rightly / wrongly, a stacked bar per kind; answers
  mode), ``recall_at_k.png`` (recall@k for k = 1..10) and ``latency.png`` (histogram per stage)
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


def _n(figure: dict | None) -> str:
    """A ``metrics.count`` as "36/49 (0.735)"; "0/0" when there is nothing to count."""
    if not figure:
        return "n/a"
    rate = f" ({figure['rate']:.3f})" if figure["rate"] is not None else ""
    return f"{figure['right']}/{figure['of']}{rate}"


def kind_lines(report: EvalReport) -> list[tuple[str, str]]:
    """(label, figures) per question kind, counts first: facts (first questions, follow-ups apart), then each
    news kind. Empty in retrieval mode or for a report written before the kinds."""
    lines = []
    for part, f in (report.metrics.get("facts") or {}).items():
        label = "facts, first questions" if part == "first" else "facts, follow-ups"
        lines.append(
            (
                f"{label} ({f['questions']} q)",
                f"right and cited {_n(f['coverage'])} of answerable; of the answers shown right {_n(f['precision'])}; "
                f"near misses refused {_n(f['near_misses_refused'])}; "
                f"unanswerable refused {_n(f['unanswerable_refused'])}",
            )
        )
    for kind, f in (report.metrics.get("news") or {}).items():
        problems = ", ".join(f"{name} {n}" for name, n in f["problems"].items())
        lines.append(
            (
                f"{kind} ({f['questions']} q)",
                f"acceptable {_n(f['acceptable'])}" + (f"; {problems}" if problems else ""),
            )
        )
    return lines


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
        lines += kind_lines(report)
        lines += [
            (
                f"fact answers ({ans['questions']} answerable q)",
                f"EM {_f(ans['exact_match'])}  F1 {_f(ans['f1'])}  contains {_f(ans['contains'])}",
            ),
            (
                f"fact refusals ({ref['unanswerable']} unanswerable, {ref['refused']} refused)",
                f"precision {_f(ref['precision'])}  recall {_f(ref['recall'])}",
            ),
            (f"fact citations ({cit['answers']} answers)", f"accuracy {_f(cit['accuracy'])}"),
        ]
        if not report.metrics.get("facts") and ans.get("right") is not None:  # a report written before the kinds
            lines.append(("right and cited (or rightly refused)", _f(ans["right"])))
    return lines


def format_table(report: EvalReport) -> str:
    """The summary printed by ``rag eval``."""
    meta = report.meta
    head = (
        f"{meta['gold']} on index {meta['index']}: {meta['evaluated']} of {meta['questions']} questions"
        + (f" ({meta['half']} half)" if meta.get("half") else "")
        + f", {meta['mode']}"
        + (f" ({meta['llm']})" if meta.get("llm") else "")
        + f", {meta['seconds']:.1f}s"
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

    Answers mode: answerable fact -> max(F1, contains) (0 if refused); unanswerable -> 1 if refused else 0;
    summary, digest, list -> 1 if acceptable, else the share of key facts held (0 if refused).
    Retrieval mode: 1 / rank of the first gold chunk (0 if none in the top 10).
    """
    if answers and row.refused is not None:
        if row.kind != "fact" and row.answerable:
            if row.right or row.refused:
                return float(bool(row.right))
            return 0.99 * (1 - len(row.missing_key_facts) / max(1, len(row.key_facts)))
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


# by_kind's columns: outcome key -> title (and the colour of its part of the stacked bar)
OUTCOMES = {
    "answered_right": ("answered right", "#2e7d32"),
    "answered_wrong": ("answered wrong", "#c62828"),
    "refused_rightly": ("refused rightly", "#90caf9"),
    "refused_wrongly": ("refused wrongly", "#f9a825"),
}
GROUP_ORDER = ("fact", "near miss", "unanswerable", "summary", "digest", "list")


def _group_key(group: str) -> tuple[int, str]:
    base, _, follow = group.partition(", ")
    return (GROUP_ORDER.index(base) if base in GROUP_ORDER else len(GROUP_ORDER), follow)


def by_kind(report: EvalReport) -> list[tuple[str, dict]]:
    """(group, outcome counts) per kind of question, in a fixed order (facts, near misses, …, follow-ups after
    their kind); see ``rag.evaluation.run.outcomes``."""
    return sorted((report.metrics.get("outcomes") or {}).items(), key=lambda pair: _group_key(pair[0]))


# ---- files ---------------------------------------------------------------------------------------


def plot_paths(report: EvalReport, folder: Path) -> list[Path]:
    """Draw the report's plots into ``folder``; the paths of those drawn (a plot with nothing to show is not)."""
    made = (
        plot_outcomes(report, folder / "answers_by_kind.png"),
        plot_recall_curve(report, folder / "recall_at_k.png"),
        plot_latency(report, folder / "latency.png"),
    )
    return [p for p in made if p]


def write_report(report: EvalReport, out_dir: Path) -> list[Path]:
    """Write report.json, the plots and report.md into ``out_dir``; return the paths written."""
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = [out_dir / "report.json"]
    paths[0].write_text(json.dumps(report.to_dict(), indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    plots = plot_paths(report, out_dir)
    paths += plots
    md = out_dir / "report.md"
    md.write_text(render_markdown(report, [p.name for p in plots]), encoding="utf-8")
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


def plot_outcomes(report: EvalReport, path: Path) -> Path | None:
    """A stacked bar per kind of question: answered right, answered wrong, refused rightly, refused wrongly,
    each bar labelled with its counts."""
    from matplotlib.ticker import MaxNLocator

    groups = by_kind(report)
    if not groups:
        return None
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(max(5.0, 1.1 * len(groups) + 2.5), 3.6), dpi=100)
    names = [group.replace(", ", "\n") for group, _ in groups]
    bottom = [0] * len(groups)
    for key, (label, colour) in OUTCOMES.items():
        heights = [counts[key] for _, counts in groups]
        ax.bar(names, heights, bottom=bottom, color=colour, label=label, width=0.6)
        bottom = [b + h for b, h in zip(bottom, heights, strict=True)]
    for x, (_, counts) in enumerate(groups):
        right = counts["answered_right"] + counts["refused_rightly"]
        ax.annotate(f"{right}/{counts['questions']}", (x, counts["questions"]), ha="center", va="bottom", fontsize=8)
    ax.set_ylabel("questions")
    ax.set_ylim(0, max(bottom) * 1.15 + 1)
    ax.yaxis.set_major_locator(MaxNLocator(nbins=6, integer=True))  # whole questions
    ax.tick_params(axis="x", labelsize=8)
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    ax.set_title("Answers by kind of question (right = right and cited, or acceptable)", fontsize=9)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return path


def plot_latency(report: EvalReport, path: Path) -> Path | None:
    """``latency_figure`` saved to ``path``; ``None`` (nothing written) when no stage was timed."""
    fig = latency_figure(report)
    if fig is None:
        return None
    fig.savefig(path)
    _pyplot().close(fig)
    return path


def latency_figure(report: EvalReport):
    """A histogram per stage, one above the other so the time axes have room; seconds from 10 s up; a few
    round ticks per axis so their labels never run together. ``None`` when no stage was timed."""
    from matplotlib.ticker import MaxNLocator

    stages = {}
    for stage in MAIN_STAGES:
        values = [r.timings_ms[stage] for r in report.rows if stage in r.timings_ms]
        if values:
            stages[stage] = values
    if not stages:
        return None
    plt = _pyplot()
    fig, axes = plt.subplots(len(stages), 1, figsize=(6, 1.7 * len(stages) + 0.6), dpi=100, squeeze=False)
    for ax, (stage, values) in zip(axes[:, 0], stages.items(), strict=True):
        unit, scale = ("s", 1000.0) if max(values) >= 10_000 else ("ms", 1.0)
        shown = [v / scale for v in values]
        ax.hist(shown, bins=min(30, max(5, len(shown) // 3)))
        ax.axvline(m.percentile(shown, 50), color="k", linestyle="--", linewidth=1, label="p50")
        ax.axvline(m.percentile(shown, 95), color="r", linestyle=":", linewidth=1, label="p95")
        ax.set_xlim(left=0)  # no negative times
        ax.xaxis.set_major_locator(MaxNLocator(nbins=6))  # a few round ticks, never run together
        ax.yaxis.set_major_locator(MaxNLocator(nbins=3, integer=True))
        ax.tick_params(labelsize=8)
        ax.set_title(f"{stage} ({unit})", fontsize=9, loc="left")
        ax.legend(fontsize=7)
    axes[len(stages) // 2][0].set_ylabel("questions")
    fig.suptitle("Latency per stage (shared CPU; see meta.host)", fontsize=9)
    fig.tight_layout()
    return fig


def expected(row: QuestionRow) -> str:
    """What a question expected, in one line: its answers and articles, or (news) its articles and key facts."""
    if not row.answerable:
        return "(unanswerable: should refuse)"
    if row.kind != "fact":
        facts = "; ".join(" | ".join(alternatives) for alternatives in row.key_facts)
        return f"cite {', '.join(row.gold_docs)} and no other; key facts: {facts}"
    answers = " | ".join(_one_line(a, 120) for a in row.gold_answers)
    return answers + (f" in {', '.join(row.gold_doc_ids)}" if row.gold_doc_ids else "")


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
        + (f" of the {meta['half']} half" if meta.get("half") else "")
        + (f" (limit {meta['limit']})" if meta.get("limit") else "")
        + (f" (random sample of {meta['sample']}, seed 0)" if meta.get("sample") else "")
        + f"; started {meta['started']}; {meta['seconds']:.1f}s",
        f"- host: {meta['host']['cpus']} CPUs, 1-min load average {meta['host']['load_average_1m']} at start "
        "(latencies are measured on this machine as loaded, not on an idle one)",
    ]
    if meta.get("today"):
        passed = "" if meta.get("today_passed") is not False else " (not passed: the assistant's ask() takes no today)"
        out.append(f"- questions without their own `today` asked on {meta['today']}, the day after the newest article"
                   + passed)  # fmt: skip
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
    kinds = by_kind(report)
    if kinds:
        titles = [title for title, _ in OUTCOMES.values()]
        out += ["", "## By kind", "", f"| kind | questions | {' | '.join(titles)} |", "|---|---:|" + "---:|" * 4]
        for group, counts in kinds:
            out.append(f"| {group} | {counts['questions']} | " + " | ".join(str(counts[k]) for k in OUTCOMES) + " |")
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
        out += [f"### `{row.id}` ({row.group}): {_one_line(row.question, 200)}", "", f"- expected: {expected(row)}"]
        if answers and row.refused is not None:
            why = f": {', '.join(row.refusal_reasons)}" if row.refusal_reasons else ""
            got = f"(refused{why})" if row.refused else _one_line(row.answer)
            if row.kind == "fact":
                scores = f"F1 {_f(row.f1, 2)}, contains {_f(row.contains, 0)}"
            else:
                scores = ", ".join(row.problems) + (
                    f" ({', '.join(row.missing_key_facts)})" if row.missing_key_facts else ""
                )
            out.append(f"- got: {got}  ({scores}; cited {', '.join(row.cited_doc_ids) or 'nothing'})")
        rank = f"first gold chunk at rank {row.rank or 'none in top 10'}" if row.gold_doc_ids else "no gold document"
        out += [f"- retrieved sources (top 5 documents): {marked}; {rank}", ""]
    return "\n".join(out).rstrip() + "\n"

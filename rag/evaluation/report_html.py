"""An ``EvalReport`` as HTML for notebooks (``EvalReport._repr_html_``): the run, the summary table,
latency, the plots inline, per-tag figures and the worst failures, escaped by ``rag.render.esc``."""

from __future__ import annotations

import base64
import tempfile
from pathlib import Path

from rag.evaluation.report import (
    TAG_COLUMNS,
    EvalReport,
    _f,
    by_tag,
    plot_latency,
    plot_recall_curve,
    summary_lines,
    worst_failures,
)
from rag.render import clip, esc, notebook


def plots_png(report: EvalReport) -> dict[str, bytes]:
    """The report's plots (recall@k, latency per stage) as PNG bytes, by file name."""
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        made = plot_recall_curve(report, folder / "recall_at_k.png"), plot_latency(report, folder / "latency.png")
        return {p.name: p.read_bytes() for p in made if p}


def _table(header: list[str], rows: list[list[str]], numeric_from: int = 1) -> str:
    """A table of already-escaped cells; columns from ``numeric_from`` on are right-aligned."""
    head = "".join(f"<th>{h}</th>" for h in header)
    body = "".join(
        "<tr>" + "".join(f"<td{' class=num' if i >= numeric_from else ''}>{c}</td>" for i, c in enumerate(r)) + "</tr>"
        for r in rows
    )
    return f"<table><tr>{head}</tr>{body}</table>"


def _failures(report: EvalReport) -> str:
    worst = worst_failures(report, n=10)
    if not worst:
        return "<p>Every question succeeded.</p>"
    rows = []
    for row in worst:
        expected = " | ".join(row.gold_answers) or "(unanswerable: should refuse)"
        got = row.answer or ""
        if row.refused:
            got = f"(refused: {', '.join(row.refusal_reasons)})"
        rank = str(row.rank) if row.rank else ("none" if row.gold_doc_ids else "–")
        rows.append([esc(row.id), esc(clip(row.question, 120)), esc(clip(expected)), esc(clip(got)), rank])
    return _table(["id", "question", "expected", "got", "gold rank"], rows, numeric_from=4)


def report_html(report: EvalReport) -> str:
    meta = report.meta
    head = (
        f"{esc(Path(meta['gold']).name)} on index {esc(meta['index'])}: {meta['evaluated']} of {meta['questions']} "
        f"questions, {esc(meta['mode'])}"
        + (f" ({esc(meta['llm'])})" if meta.get("llm") else "")
        + f", {meta['seconds']:.1f} s"
    )
    if meta.get("interrupted"):
        head += " <b>(interrupted: partial report)</b>"
    if meta.get("error"):
        head += f" <b>(stopped by an error: {esc(meta['error'])})</b>"
    out = f'<div class="rag-head">{head}</div>'
    out += _table(["", "figures"], [[esc(label), esc(figures)] for label, figures in summary_lines(report)], 9)
    latency = report.metrics.get("latency") or {}
    if latency:
        rows = [[esc(stage), f"{s['p50_ms']:.1f}", f"{s['p95_ms']:.1f}", str(s["n"])] for stage, s in latency.items()]
        out += "<br>" + _table(["latency (ms)", "p50", "p95", "n"], rows)
    images = "".join(
        f'<img alt="{esc(name)}" src="data:image/png;base64,{base64.b64encode(png).decode()}" style="max-width:100%">'
        for name, png in plots_png(report).items()
    )
    out += f'<div style="display:flex;flex-wrap:wrap;gap:1rem">{images}</div>' if images else ""
    tags = by_tag(report)
    if tags:
        rows = [[esc(tag), str(t["questions"])] + [_f(t[k]) for k in TAG_COLUMNS] for tag, t in tags.items()]
        out += "<details><summary>By tag</summary>"
        out += _table(["tag", "questions", *TAG_COLUMNS.values()], rows) + "</details>"
    out += f"<details><summary>Worst failures</summary>{_failures(report)}</details>"
    return notebook(out)

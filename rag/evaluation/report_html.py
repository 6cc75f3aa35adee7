"""An ``EvalReport`` as HTML for notebooks (``EvalReport._repr_html_``): the run, the summary table (counts per
question kind), latency, the plots inline, figures by kind and by tag and the worst failures, escaped by
``rag.render.esc``."""

from __future__ import annotations

import base64
import tempfile
from pathlib import Path

from rag.evaluation.report import (
    OUTCOMES,
    TAG_COLUMNS,
    EvalReport,
    _f,
    by_kind,
    by_tag,
    expected,
    plot_paths,
    summary_lines,
    worst_failures,
)
from rag.render import clip, esc, notebook


def plots_png(report: EvalReport) -> dict[str, bytes]:
    """The report's plots (answers by kind, recall@k, latency per stage) as PNG bytes, by file name."""
    with tempfile.TemporaryDirectory() as tmp:
        return {p.name: p.read_bytes() for p in plot_paths(report, Path(tmp))}


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
        got = row.answer or ""
        if row.refused:
            got = f"(refused: {', '.join(row.refusal_reasons)})"
        elif row.problems:
            got += f" ({', '.join(row.problems)})"
        rank = str(row.rank) if row.rank else ("none" if row.gold_doc_ids else "–")
        rows.append(
            [esc(row.id), esc(row.group), esc(clip(row.question, 120)), esc(clip(expected(row))), esc(clip(got)), rank]
        )
    return _table(["id", "kind", "question", "expected", "got", "gold rank"], rows, numeric_from=5)


def report_html(report: EvalReport) -> str:
    meta = report.meta
    head = (
        f"{esc(Path(meta['gold']).name)} on index {esc(meta['index'])}: {meta['evaluated']} of {meta['questions']} "
        f"questions"
        + (f" ({esc(meta['half'])} half)" if meta.get("half") else "")
        + f", {esc(meta['mode'])}"
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
    kinds = by_kind(report)
    if kinds:
        rows = [[esc(group), str(c["questions"])] + [str(c[k]) for k in OUTCOMES] for group, c in kinds]
        out += "<br>" + _table(["kind", "questions", *(title for title, _ in OUTCOMES.values())], rows)
    tags = by_tag(report)
    if tags:
        rows = [[esc(tag), str(t["questions"])] + [_f(t[k]) for k in TAG_COLUMNS] for tag, t in tags.items()]
        out += "<details><summary>By tag</summary>"
        out += _table(["tag", "questions", *TAG_COLUMNS.values()], rows) + "</details>"
    out += f"<details><summary>Worst failures</summary>{_failures(report)}</details>"
    return notebook(out)

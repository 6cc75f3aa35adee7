"""HTML pieces shared by the chat page (``rag.ui.view``) and the notebook displays (``_repr_html_``):
one escaping rule, one way to find and highlight a quote, one card per source.

Pure functions over the records of ``rag.types`` (taken by their attributes: this core module imports
no other part, and ``rag.types`` imports it lazily for its displays).

>>> highlight("Umerov <a Bruxelles> con Hnatov.", quote_span("Umerov <a Bruxelles> con Hnatov.", "con Hnatov"))
'Umerov &lt;a Bruxelles&gt; <mark>con Hnatov</mark>.'
"""

from __future__ import annotations

import html
import re
from collections.abc import Mapping
from typing import Any

from rag.text import counted, format_date


def esc(value: object) -> str:
    """The one escaping rule: text (or anything, via ``str``) made safe inside HTML elements and attributes."""
    return html.escape("" if value is None else str(value), quote=True)


def quote_span(passage: str, quote: str, quote_start: int | None = None, passage_start: int | None = None):
    """Where ``quote`` lies in ``passage`` as ``(start, end)``, or None.

    Uses the document offsets when the passage's own offset is known and they agree with the text;
    otherwise finds the quote in the passage, ignoring differences in whitespace.

    >>> quote_span("Roma – Umerov è a Bruxelles con Hnatov.", "con Hnatov")
    (28, 38)
    >>> quote_span("Umerov  con\\nHnatov.", "con Hnatov")
    (8, 18)
    """
    quote = (quote or "").strip()
    if not quote:
        return None
    if quote_start is not None and passage_start is not None:
        s = quote_start - passage_start
        if 0 <= s and passage[s : s + len(quote)] == quote:
            return s, s + len(quote)
    i = passage.find(quote)
    if i >= 0:
        return i, i + len(quote)
    pattern = r"\s+".join(re.escape(w) for w in quote.split())
    m = re.search(pattern, passage, flags=re.IGNORECASE)
    return m.span() if m else None


def highlight(passage: str, span: tuple[int, int] | None) -> str:
    """The passage as HTML-escaped text with ``span`` wrapped in ``<mark>``."""
    if not span:
        return esc(passage)
    s, e = span
    return esc(passage[:s]) + "<mark>" + esc(passage[s:e]) + "</mark>" + esc(passage[e:])


def excerpt(passage: str, span: tuple[int, int] | None, context: int = 160) -> str:
    """HTML of the passage around the highlighted span (``…`` where cut); the whole passage if short.

    >>> excerpt("a " * 200 + "QUI" + " b" * 200, (400, 403), context=6)
    '… a a <mark>QUI</mark> b b …'
    """
    if not span or len(passage) <= 2 * context + (span[1] - span[0]) + 40:
        return highlight(passage, span)
    s, e = span
    left, right = max(0, s - context), min(len(passage), e + context)
    if left > 0:  # start and end on whole words
        left = passage.find(" ", left, s) + 1 if passage.find(" ", left, s) >= 0 else left
    if right < len(passage):
        cut = passage.rfind(" ", e, right)
        right = cut if cut > e else right
    piece = passage[left:right]
    html_text = highlight(piece, (s - left, e - left)).strip()
    return ("… " if left > 0 else "") + html_text + (" …" if right < len(passage) else "")


def meta_line(date: str | None, place: str | None, rank: int | None, lang: str, t: Mapping[str, str]) -> str:
    """``3 dicembre 2025 · Roma · 1° per pertinenza`` (escaped): date, place and how the passage ranked among
    those retrieved (a fusion score means nothing to a reader); ``t["relevance"]`` words the rank."""
    parts = [p for p in (format_date(date, lang), place) if p]
    if rank:
        parts.append(t["relevance"].format(rank=rank))
    return " · ".join(esc(p) for p in parts)


def citation_card(c: Any, hits_by_chunk: Mapping[str, Any], lang: str, t: Mapping[str, str]) -> str:
    """One numbered source (a ``Citation``) as a list item, its quote highlighted; ``hits_by_chunk``
    (chunk id -> ``Hit``) gives the passage's document offset to place the quote exactly."""
    hit = hits_by_chunk.get(c.chunk_id)
    span = quote_span(c.passage, c.quote, c.quote_start, hit.start if hit else None)
    return (
        f'<li class="src-card" id="src-{c.number}" data-doc="{esc(c.doc_id)}">'
        f'<div class="src-head"><span class="src-num">[{c.number}]</span> '
        f'<span class="src-title">{esc(c.title or c.doc_id)}</span></div>'
        f'<div class="src-meta">{meta_line(c.date, c.place, hit.rank if hit else None, lang, t)}</div>'
        f'<p class="src-passage">{excerpt(c.passage, span)}</p>{_whole(c.passage, span, t)}</li>'
    )


def _whole(passage: str, span: tuple[int, int] | None, t: Mapping[str, str]) -> str:
    """The whole passage, folded, when the card shows only an excerpt."""
    if excerpt(passage, span) == highlight(passage, span):
        return ""
    return (
        f'<details class="src-whole"><summary>{t["show_passage"]}</summary>'
        f'<p class="src-passage">{highlight(passage, span)}</p></details>'
    )


def hit_card(h: Any, lang: str, t: Mapping[str, str]) -> str:
    """One passage (a ``Hit``) as a list item: title, date, place, rank, text."""
    return (
        f'<li class="src-card src-plain" data-doc="{esc(h.doc_id)}">'
        f'<div class="src-head"><span class="src-title">{esc(h.title or h.doc_id)}</span></div>'
        f'<div class="src-meta">{meta_line(h.date, h.place, h.rank, lang, t)}</div>'
        f'<p class="src-passage">{esc(h.text)}</p></li>'
    )


def query_line(question: str, query: str, t: Mapping[str, str]) -> str:
    """What was searched, noting when it is a rewrite of the question with the conversation."""
    if not query:
        return ""
    note = f' <span class="src-note">({t["rewritten"]})</span>' if query.strip() != question.strip() else ""
    return f'<div class="src-query">{t["searched"]}: <q>{esc(query)}</q>{note}</div>'


def sources_body(answer: Any, t: Mapping[str, str], lang: str = "it") -> str:
    """An ``Answer``'s sources: one card per citation with the quoted span highlighted; for a refusal,
    why (``t["why:<reason>"]``, else the reason as it is) and the passages that were consulted."""
    if answer.refused or not answer.citations:
        body = f'<div class="src-refused">{t["refused_panel"] if answer.refused else t["no_passages"]}</div>'
        if answer.refused and answer.refusal_reasons:
            why = "; ".join(esc(t.get(f"why:{r}", r)) for r in answer.refusal_reasons)
            body += f'<div class="src-why">{t["why"]}: {why}.</div>'
        if answer.passages:
            cards = "".join(hit_card(h, lang, t) for h in answer.passages)
            body += f'<details class="src-consulted"><summary>{t["consulted"]} ({len(answer.passages)})</summary>'
            body += f'<ol class="src-list">{cards}</ol></details>'
        return body
    hits = {h.chunk_id: h for h in answer.passages}
    cards = "".join(citation_card(c, hits, lang, t) for c in sorted(answer.citations, key=lambda c: c.number))
    return f'<ol class="src-list">{cards}</ol>'


# ---- notebook displays: ``_repr_html_`` and ``__repr__`` of Hits, Answer (and EvalReport, in rag.evaluation) ----

LABELS = {  # the notebook displays' words: the library's own language, refusal reasons as the library names them
    "relevance": "#{rank} by relevance",
    "show_passage": "whole passage",
    "refused_panel": "Refused: the passages found do not support an answer.",
    "no_passages": "No source cited.",
    "why": "Why",
    "consulted": "Passages consulted",
    "searched": "Searched",
    "rewritten": "rewritten with the conversation",
}

STYLE = """<style>
.rag-nb { font-size: 0.92rem; line-height: 1.45; max-width: 60rem; }
.rag-nb .rag-head { font-weight: 600; margin-bottom: 0.3rem; }
.rag-nb .rag-short { font-weight: 700; font-size: 1.05rem; }
.rag-nb .rag-text { white-space: pre-line; margin: 0.2rem 0 0.5rem; }
.rag-nb .src-num { font-weight: 700; color: #2563eb; }
.rag-nb .src-list { list-style: none; padding: 0; margin: 0; }
.rag-nb .src-card { border: 1px solid #d1d5db; border-radius: 8px; padding: 0.45rem 0.65rem; margin: 0 0 0.45rem; }
.rag-nb .src-title { font-weight: 600; }
.rag-nb .src-meta, .rag-nb .src-query, .rag-nb .src-why, .rag-nb .rag-foot { font-size: 0.85em; opacity: 0.75; }
.rag-nb .src-refused { font-weight: 600; }
.rag-nb .src-passage { margin: 0.2rem 0 0; white-space: pre-line; }
.rag-nb mark { background: #fde68a; color: #1f2937; padding: 0 2px; border-radius: 3px; }
.rag-nb table { border-collapse: collapse; }
.rag-nb th, .rag-nb td { text-align: left; vertical-align: top; padding: 0.25rem 0.5rem;
                         border-bottom: 1px solid #e5e7eb; }
.rag-nb td.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
.rag-nb .rag-scroll { max-height: 7.5em; overflow-y: auto; white-space: pre-line; }
</style>"""

_MARKER = re.compile(r"\[(\d+)\]")
# A digest line starts with its date in bold, as the chat page's Markdown has it: "**3 febbraio 2026** — «…»".
_DIGEST_DAY = re.compile(r"^\*\*([^*\n]+)\*\*(?= — )", re.M)


def bold_days(text: str, bold) -> str:
    """A digest's line-leading ``**date**`` written with ``bold`` (HTML's or the terminal's); other asterisks,
    the articles' own, are left as they are.

    >>> bold_days("**3 febbraio 2026** — «Titolo»: un **vero** asterisco.", lambda d: f"<b>{d}</b>")
    '<b>3 febbraio 2026</b> — «Titolo»: un **vero** asterisco.'
    """
    return _DIGEST_DAY.sub(lambda m: bold(m.group(1)), text)


def notebook(body: str) -> str:
    """``body`` wrapped for a notebook output cell, with its style."""
    return f'{STYLE}<div class="rag-nb">{body}</div>'


def marked(text: str) -> str:
    """Answer text, escaped, with its ``[n]`` markers set off as the chat page's source numbers and a digest's
    dates in bold."""
    return _MARKER.sub(r'<span class="src-num">[\1]</span>', bold_days(esc(text), lambda day: f"<b>{day}</b>"))


def clip(text: str, limit: int = 90) -> str:
    text = " ".join((text or "").split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def hits_html(hits: Any, query: str = "", mode: str = "") -> str:
    """Search results as a table: rank, score, document (title, id, date, place) and the passage."""
    head = f"{esc(mode or 'search')} for <q>{esc(query)}</q>: " if query else ""
    head = f'<div class="rag-head">{head}{counted(len(hits), "hit")}</div>'
    rows = "".join(
        f'<tr><td class="num">{h.rank}</td><td class="num">{h.score:.4f}</td>'
        f'<td><span class="src-title">{esc(h.title or h.doc_id)}</span><br>'
        f'<span class="src-meta">{esc(h.chunk_id)} · {esc(" · ".join(p for p in (h.date, h.place) if p))}</span></td>'
        f'<td><div class="rag-scroll">{esc(h.text)}</div></td></tr>'
        for h in hits
    )
    table = f"<table><tr><th>#</th><th>score</th><th>document</th><th>passage</th></tr>{rows}</table>" if rows else ""
    return notebook(head + table)


def hits_text(hits: Any, query: str = "", mode: str = "") -> str:
    """Search results as lines of text: rank, score, chunk id, date, the passage's start."""
    head = f"{mode or 'search'} {query!r}: " if query else ""
    lines = [f"{head}{counted(len(hits), 'hit')}"]
    lines += [f"{h.rank:>3}  {h.score:.4f}  {h.chunk_id}  {h.date or '-'}  {clip(h.text, 70)!r}" for h in hits]
    return "\n".join(lines)


def answer_html(answer: Any) -> str:
    """An ``Answer``: the question, the text with [n] markers, then its sources as the chat page shows them
    (quotes highlighted); a refusal shows its reasons, the refused draft and the passages consulted."""
    out = f'<div class="rag-head">{esc(answer.question)}</div>'
    short = getattr(answer, "short", "")  # a short answer phrase, where the pipeline gives one
    if short and not answer.refused:
        out += f'<div class="rag-short">{esc(short)}</div>'
    out += f'<div class="rag-text">{marked(answer.text)}</div>'
    if not answer.done:
        return notebook(out + '<div class="rag-foot">(still being written)</div>')
    out += query_line(answer.question, answer.query, LABELS)
    out += sources_body(answer, LABELS, "en")
    draft = answer.evidence.reply.strip() if answer.refused and answer.evidence else ""
    if draft:
        out += f'<details><summary class="rag-foot">the refused draft</summary><p>{esc(draft)}</p></details>'
    if answer.timings:
        out += '<div class="rag-foot">' + esc(" · ".join(f"{k} {v:.2f} s" for k, v in answer.timings.items()))
        out += "</div>"
    return notebook(out)


def answer_text(answer: Any) -> str:
    """An ``Answer`` as text: question, answer, and one line per citation (or why it was refused)."""
    lines = [f"Answer to {answer.question!r}" + ("" if answer.done else " (still being written)") + ":"]
    short = getattr(answer, "short", "")
    if short and not answer.refused:
        lines.append(f"  {short}")
    lines.append(f"  {answer.text}")
    if answer.refused:
        lines.append(f"  refused: {', '.join(answer.refusal_reasons) or 'no reason given'}")
    for c in sorted(answer.citations, key=lambda c: c.number):
        lines.append(f"  [{c.number}] {c.doc_id}" + (f" ({c.date})" if c.date else "") + f": {clip(c.quote)!r}")
    return "\n".join(lines)

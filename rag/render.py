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

from rag.text import format_date


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


def meta_line(date: str | None, place: str | None, score: float, lang: str, t: Mapping[str, str]) -> str:
    """``3 dicembre 2025 · Roma · punteggio 0.031`` (escaped); ``t["score"]`` names the score."""
    parts = [p for p in (format_date(date, lang), place) if p]
    parts.append(f"{t['score']} {score:.3f}")
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
        f'<div class="src-meta">{meta_line(c.date, c.place, c.score, lang, t)}</div>'
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
    """One passage (a ``Hit``) as a list item: title, date, place, score, text."""
    return (
        f'<li class="src-card src-plain" data-doc="{esc(h.doc_id)}">'
        f'<div class="src-head"><span class="src-title">{esc(h.title or h.doc_id)}</span></div>'
        f'<div class="src-meta">{meta_line(h.date, h.place, h.score, lang, t)}</div>'
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

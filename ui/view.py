"""What the chat page shows, as pure functions: chat messages, the sources panel, upload reports.

The words themselves (it/en) are in ``rag.ui.strings``.

Nothing here imports gradio, so tests and notebooks can render an ``Answer`` exactly as the page does:

>>> from rag.types import Answer, Citation
>>> from rag.ui.strings import STRINGS
>>> c = Citation(1, "d::0", "d", "Umerov a Bruxelles", "2025-12-03", "Roma", "accompagnato da Hnatov",
...              40, 62, "Umerov sarà a Bruxelles, accompagnato da Hnatov.", 0.03)
>>> html = sources_html(Answer("Chi?", "Hnatov [1].", citations=[c], query="Chi?"), STRINGS["it"])
>>> "<mark>accompagnato da Hnatov</mark>" in html and "3 dicembre 2025" in html
True
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from rag.text import format_date
from rag.types import Answer, Citation, Hit


@dataclass
class Turn:
    """One question and what the page shows for it (the answer text, its sources panel)."""

    question: str
    answer: str = ""
    status: str = "pending"  # pending | answered | refused | error
    sources: str = ""  # HTML of the sources panel for this answer
    query: str = ""
    citations: list[int] = field(default_factory=list)
    refs: list[dict] = field(default_factory=list)  # the cited sources, for export (see ``source_refs``)

    @classmethod
    def from_dict(cls, raw: Mapping) -> Turn:
        """A turn saved in the browser (``dataclasses.asdict``); unknown keys are ignored."""
        return cls(**{k: v for k, v in raw.items() if k in cls.__dataclass_fields__})


def history_pairs(turns: Iterable[Turn]) -> list[tuple[str, str]]:
    """The finished (question, answer) pairs to give the pipeline for rewriting a follow-up question."""
    return [(t.question, t.answer) for t in turns if t.status in ("answered", "refused")]


def chat_messages(turns: Sequence[Turn], t: Mapping[str, str]) -> list[dict]:
    """Chatbot messages (``{"role", "content"}``), two per turn; a refusal is shown as one, not as an error."""
    out: list[dict] = []
    for turn in turns:
        out.append({"role": "user", "content": turn.question})
        if turn.status == "refused":
            content = f"ℹ _{t['refused']}_"  # the page's own wording, in the page's language
        elif turn.status == "error":
            content = f"⚠ **{t['error']}:** {turn.answer}"
        elif turn.status == "pending":
            content = turn.answer + " ▍" if turn.answer else f"_{t['searching']}_"
        else:
            content = link_markers(turn.answer)
        out.append({"role": "assistant", "content": content})
    return out


def link_markers(text: str) -> str:
    """``[1]`` -> a Markdown link to the source card ``#src-1`` (the page scrolls to it when clicked).

    >>> print(link_markers("Hnatov [1][2]."))
    Hnatov [\\[1\\]](#src-1)[\\[2\\]](#src-2).
    """
    return re.sub(r"\[(\d+)\]", r"[\\[\1\\]](#src-\1)", text)


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
        return html.escape(passage)
    s, e = span
    return html.escape(passage[:s]) + "<mark>" + html.escape(passage[s:e]) + "</mark>" + html.escape(passage[e:])


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


def _meta_line(date: str | None, place: str | None, rank: int | None, lang: str, t: Mapping[str, str]) -> str:
    """Date, place and how the passage ranked among those retrieved (the fusion score means nothing to a reader)."""
    parts = [p for p in (format_date(date, lang), place) if p]
    if rank:
        parts.append(t["relevance"].format(rank=rank))
    return " · ".join(html.escape(p) for p in parts)


def _citation_card(c: Citation, hits_by_chunk: Mapping[str, Hit], lang: str, t: Mapping[str, str]) -> str:
    hit = hits_by_chunk.get(c.chunk_id)
    span = quote_span(c.passage, c.quote, c.quote_start, hit.start if hit else None)
    return (
        f'<li class="src-card" id="src-{c.number}" data-doc="{html.escape(c.doc_id)}">'
        f'<div class="src-head"><span class="src-num">[{c.number}]</span> '
        f'<span class="src-title">{html.escape(c.title or c.doc_id)}</span></div>'
        f'<div class="src-meta">{_meta_line(c.date, c.place, hit.rank if hit else None, lang, t)}</div>'
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


def _hit_card(h: Hit, lang: str, t: Mapping[str, str]) -> str:
    return (
        f'<li class="src-card src-plain" data-doc="{html.escape(h.doc_id)}">'
        f'<div class="src-head"><span class="src-title">{html.escape(h.title or h.doc_id)}</span></div>'
        f'<div class="src-meta">{_meta_line(h.date, h.place, h.rank, lang, t)}</div>'
        f'<p class="src-passage">{html.escape(h.text)}</p></li>'
    )


def query_line(question: str, query: str, t: Mapping[str, str]) -> str:
    if not query:
        return ""
    note = f' <span class="src-note">({t["rewritten"]})</span>' if query.strip() != question.strip() else ""
    return f'<div class="src-query">{t["searched"]}: <q>{html.escape(query)}</q>{note}</div>'


def sources_html(answer: Answer, t: Mapping[str, str], lang: str = "it") -> str:
    """The sources panel for a finished answer: what was searched, then one card per citation with the
    quoted span highlighted; for a refusal, the passages that were consulted."""
    head = f'<div class="src-question">{t["sources_of"]} <q>{html.escape(answer.question)}</q></div>' + query_line(
        answer.question, answer.query, t
    )
    hits = {h.chunk_id: h for h in answer.passages}
    if answer.refused or not answer.citations:
        body = f'<div class="src-refused">{t["refused_panel"] if answer.refused else t["no_passages"]}</div>'
        if answer.refused and answer.refusal_reasons:
            why = "; ".join(html.escape(t.get(f"why:{r}", r)) for r in answer.refusal_reasons)
            body += f'<div class="src-why">{t["why"]}: {why}.</div>'
        if answer.passages:
            cards = "".join(_hit_card(h, lang, t) for h in answer.passages)
            body += f'<details class="src-consulted"><summary>{t["consulted"]} ({len(answer.passages)})</summary>'
            body += f'<ol class="src-list">{cards}</ol></details>'
        return f'<div class="src-panel">{head}{body}</div>'
    cards = "".join(_citation_card(c, hits, lang, t) for c in sorted(answer.citations, key=lambda c: c.number))
    return f'<div class="src-panel">{head}<ol class="src-list">{cards}</ol></div>'


def pending_html(question: str, query: str, t: Mapping[str, str], note: str) -> str:
    """The sources panel while an answer is being written."""
    return (
        f'<div class="src-panel"><div class="src-question">{t["sources_of"]} <q>{html.escape(question)}</q></div>'
        f'{query_line(question, query, t)}<div class="src-wait">{html.escape(note)}</div></div>'
    )


def empty_html(t: Mapping[str, str]) -> str:
    return f'<div class="src-panel src-empty">{t["sources_empty"]}</div>'


def source_refs(answer: Answer) -> list[dict]:
    """The cited sources of an answer as plain data (kept with the turn, written into an export)."""
    hits = {h.chunk_id: h for h in answer.passages}
    refs = []
    for c in sorted(answer.citations, key=lambda c: c.number):
        hit = hits.get(c.chunk_id)
        source, url = (hit.source, hit.url) if hit else (None, None)
        refs.append(
            {
                "number": c.number,
                "doc_id": c.doc_id,
                "title": c.title,
                "date": c.date,
                "source": source,
                "url": url,
                "quote": c.quote,
            }
        )
    return refs


def conversation_markdown(turns: Sequence[Turn], t: Mapping[str, str], lang: str = "it") -> str:
    """A conversation as Markdown: each question, its answer with [n] markers, then the sources it cites."""
    out = [f"# {t['export_title']}", ""]
    for turn in turns:
        if turn.status == "pending":
            continue
        answer = t["refused"] if turn.status == "refused" else turn.answer
        out += [f"## {turn.question}", "", answer, ""]
        for ref in turn.refs:
            what = ", ".join(p for p in (ref.get("source"), format_date(ref.get("date"), lang)) if p)
            title = (
                f"[{ref['title'] or ref['doc_id']}]({ref['url']})" if ref.get("url") else ref["title"] or ref["doc_id"]
            )
            out.append(f"{ref['number']}. {title}" + (f" ({what})" if what else "") + f" — «{ref['quote']}»")
        if turn.refs:
            out.append("")
    return "\n".join(out).rstrip() + "\n"


def add_report_text(report, index: str, t: Mapping[str, str]) -> str:
    return t["add_done"].format(
        index=index,
        added=len(report.added),
        replaced=len(report.replaced),
        skipped=len(report.skipped),
        chunks=report.chunks_embedded,
        seconds=report.seconds,
    )


def friendly_error(message: str, paths: Iterable[str | Path] = ()) -> str:
    """Replace upload temp paths in a library message by the bare file names the user knows."""
    for p in paths:
        message = message.replace(str(p), Path(p).name)
    return message

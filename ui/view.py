"""What the chat page shows, as pure functions: chat messages, the sources panel, upload reports.

The words themselves (it/en) are in ``rag.ui.strings``; the HTML pieces shared with the notebook displays
(escaping, quote highlighting, source cards) are in ``rag.render``.

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

from rag.render import esc, query_line, sources_body
from rag.text import format_date
from rag.types import Answer


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
    short: str = ""  # the words that answer, shown in bold
    note: str = ""  # while pending and nothing checked is shown yet: what is being done ("Leggo 3 articoli…")

    @classmethod
    def from_dict(cls, raw: Mapping) -> Turn:
        """A turn saved in the browser (``dataclasses.asdict``); unknown keys are ignored."""
        return cls(**{k: v for k, v in raw.items() if k in cls.__dataclass_fields__})


def with_short(text: str, short: str) -> str:
    """The answer as Markdown with its short answer in bold: in place where the sentence says it, else first.

    >>> with_short("Umerov era con Andrii Hnatov [1].", "Andrii Hnatov")
    'Umerov era con **Andrii Hnatov** [1].'
    >>> with_short("Il 3 febbraio [1].", "martedì 3 febbraio")
    '**martedì 3 febbraio** — Il 3 febbraio [1].'
    """
    short = short.strip()
    if not short:
        return text
    at = text.find(short)
    if at >= 0:
        return f"{text[:at]}**{short}**{text[at + len(short) :]}"
    return f"**{short}** — {text}"


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
        elif turn.status == "pending":  # only checked text is ever in ``answer``; else what is being done
            content = turn.answer + " ▍" if turn.answer else f"_{turn.note or t['searching']}_"
        else:
            content = link_markers(with_short(turn.answer, turn.short))
        out.append({"role": "assistant", "content": content})
    return out


def link_markers(text: str) -> str:
    """``[1]`` -> a Markdown link to the source card ``#src-1`` (the page scrolls to it when clicked).

    >>> print(link_markers("Hnatov [1][2]."))
    Hnatov [\\[1\\]](#src-1)[\\[2\\]](#src-2).
    """
    return re.sub(r"\[(\d+)\]", r"[\\[\1\\]](#src-\1)", text)


def sources_html(answer: Answer, t: Mapping[str, str], lang: str = "it") -> str:
    """The sources panel for a finished answer: what was searched, then one card per citation with the
    quoted span highlighted; for a refusal, why, and the passages that were consulted."""
    head = f'<div class="src-question">{t["sources_of"]} <q>{esc(answer.question)}</q></div>'
    head += query_line(answer.question, answer.query, t)
    return f'<div class="src-panel">{head}{sources_body(answer, t, lang)}</div>'


def pending_html(question: str, query: str, t: Mapping[str, str], note: str) -> str:
    """The sources panel while an answer is being written."""
    return (
        f'<div class="src-panel"><div class="src-question">{t["sources_of"]} <q>{esc(question)}</q></div>'
        f'{query_line(question, query, t)}<div class="src-wait">{esc(note)}</div></div>'
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
    """A conversation as Markdown: each question, its answer with [n] markers, then the sources it cites.

    A question that failed is written as such (a quoted error line), never as if the message were its answer.

    >>> print(conversation_markdown([Turn("Chi?", "model file damaged", "error")], {"export_title": "Chat",
    ...                                                                          "export_error": "No answer:"}))
    # Chat
    <BLANKLINE>
    ## Chi?
    <BLANKLINE>
    > ⚠ **No answer:** model file damaged
    <BLANKLINE>
    """
    out = [f"# {t['export_title']}", ""]
    for turn in turns:
        if turn.status == "pending":
            continue
        if turn.status == "error":
            out += [f"## {turn.question}", "", f"> ⚠ **{t['export_error']}** {' '.join(turn.answer.split())}", ""]
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


def status_line(index: str, model: str, host: str, articles: int | None, t: Mapping[str, str]) -> str:
    """The line under the page's title: the index, how many articles it holds, the model (and the host of a
    served one), as Markdown with the names escaped.

    >>> from rag.ui.strings import STRINGS
    >>> status_line("seeds", "Qwen2.5 1.5B", "", 8, STRINGS["it"])
    'Indice **seeds** · 8 articoli · modello **Qwen2.5 1.5B**'
    >>> status_line("notizie", "qwen2.5-7b", "gpu.lan:8080", 1, STRINGS["en"])
    'Index **notizie** · 1 article · model **qwen2.5\\\\-7b** served by **gpu.lan:8080**'
    """
    parts = [t["status_index"].format(index=md_escape(index))]
    if articles is not None:
        parts.append((t["status_one"] if articles == 1 else t["status_many"]).format(count=articles))
    where = t["status_host"].format(host=md_escape(host)) if host else ""
    parts.append(t["status_model"].format(model=md_escape(model)) + where)
    return " · ".join(parts)


def md_escape(text: str) -> str:
    """``text`` shown as it is in Markdown: no emphasis, links or HTML of its own.

    >>> print(md_escape("a_b*<c> [x](y)"))
    a\\_b\\*&lt;c&gt; \\[x\\]\\(y\\)
    """
    return re.sub(r"([\\`*_{}\[\]()#+!|~-])", r"\\\1", html.escape(text, quote=False))


def documents_html(rows: Sequence[Sequence[str]], t: Mapping[str, str], limit: int = 500) -> str:
    """The index's documents as a compact list that reads at any width: the title, then date · source · id.

    ``rows`` are (title, date, source, id), latest first (``rag.ui.tools.documents_rows``); past ``limit``
    the list says how many older ones are not shown (the delete picker still has them all).
    """
    if not rows:
        return f'<div class="doc-empty">{esc(t["docs_empty"])}</div>'
    items = []
    for title, day, source, doc_id in rows[:limit]:
        when = (
            f'<span class="doc-date">{esc(day)}</span>'
            if day
            else f'<span class="doc-undated">{esc(t["docs_no_date"])}</span>'
        )
        meta = [when] + ([f'<span class="doc-source">{esc(source)}</span>'] if source else [])
        meta.append(f'<code class="doc-id">{esc(doc_id)}</code>')
        items.append(
            f'<li class="doc" data-doc="{esc(doc_id)}"><div class="doc-title">{esc(title)}</div>'
            f'<div class="doc-meta">{" · ".join(meta)}</div></li>'
        )
    more = len(rows) - limit
    said = t["docs_more_one" if more == 1 else "docs_more"].format(count=more)
    tail = f'<div class="doc-more">{esc(said)}</div>' if more > 0 else ""
    return f'<ol class="doc-list">{"".join(items)}</ol>{tail}'


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

"""The chat page's everyday tools, as plain functions: filters, the documents of the index (list and
delete), the conversation kept in the browser and its export. ``rag.ui.app`` wires them to the page.

Nothing here imports gradio.
"""

from __future__ import annotations

import dataclasses
import re
import tempfile
from collections.abc import Iterable, Mapping, Sequence
from datetime import date
from pathlib import Path

from rag.ui.view import Turn, conversation_markdown

from rag.errors import InputError
from rag.index import catalog
from rag.index.indexer import remove_from_index
from rag.stores.folder import Store
from rag.types import Filters

# Clicking an [n] marker in the chat scrolls the sources panel to card n and flashes it (the links point
# at #src-n; the page must not navigate).
SCROLL_JS = """
() => {
  document.addEventListener('click', (event) => {
    const link = event.target.closest && event.target.closest('a[href^="#src-"]');
    if (!link) return;
    event.preventDefault();
    event.stopPropagation();
    const card = document.getElementById(link.getAttribute('href').slice(1));
    if (!card) return;
    card.scrollIntoView({behavior: 'smooth', block: 'center'});
    card.classList.add('src-flash');
    setTimeout(() => card.classList.remove('src-flash'), 1600);
  }, true);
}
"""


def parse_filters(date_from: str | None, date_to: str | None, sources: Iterable[str] | None, t: Mapping) -> Filters:
    """The page's filter boxes as ``Filters``; a date that is not YYYY-MM-DD, or a "from" after the "to", is an
    ``InputError`` in the page's words."""
    days = []
    for value in (date_from, date_to):
        value = (value or "").strip()
        if value:
            try:
                date.fromisoformat(value)
            except ValueError:
                raise InputError(t["bad_date"].format(value=value)) from None
        days.append(value or None)
    if days[0] and days[1] and days[0] > days[1]:
        raise InputError(t["reversed_dates"].format(date_from=days[0], date_to=days[1]))
    return Filters(days[0], days[1], sources=frozenset(sources or ()))


def documents_rows(store: Store, lang: str = "it") -> list[list[str]]:
    """The table of the index's documents: title, date, source, id (latest first)."""
    from rag.text import format_date

    return [[d.title or d.id, format_date(d.date, lang), d.source or "", d.id] for d in catalog.documents(store)]


def document_choices(store: Store) -> list[tuple[str, str]]:
    """(label, id) pairs for the delete picker: the title, and the id when titles repeat."""
    docs = catalog.documents(store)
    titles = [d.title or d.id for d in docs]
    return [(f"{t} — {d.id}" if titles.count(t) > 1 else t, d.id) for t, d in zip(titles, docs, strict=True)]


def delete_documents(path: Path, doc_ids: Sequence[str], index: str, t: Mapping) -> str:
    """Remove ``doc_ids`` from the index at ``path`` (atomic); the status line for the page."""
    if not doc_ids:
        raise InputError(t["docs_none"])
    report = remove_from_index(list(doc_ids), path)
    return t["docs_deleted"].format(index=index, count=len(report.removed))


def saved(turns: Sequence[Turn]) -> list[dict]:
    """The finished turns as JSON for the browser's storage (a pending one is not kept)."""
    return [dataclasses.asdict(turn) for turn in turns if turn.status != "pending"]


def restored(raw) -> list[Turn]:
    """Turns back from the browser's storage; anything unreadable is dropped, never an error."""
    if not isinstance(raw, list):
        return []
    turns = []
    for item in raw:
        if isinstance(item, Mapping) and isinstance(item.get("question"), str):
            try:
                turns.append(Turn.from_dict(item))
            except TypeError:
                continue
    return turns


def export_file(turns: Sequence[Turn], t: Mapping, lang: str = "it") -> Path:
    """Write the conversation as Markdown into a new temporary file named after its first question."""
    first = next((turn.question for turn in turns), "conversazione")
    slug = re.sub(r"[^\w]+", "-", first.lower()).strip("-")[:40] or "conversazione"
    folder = Path(tempfile.mkdtemp(prefix="rag-export-"))
    path = folder / f"{slug}.md"
    path.write_text(conversation_markdown(turns, t, lang), encoding="utf-8")
    return path

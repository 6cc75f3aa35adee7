"""What an index holds, for people: its documents (title, date, source), its sources, and example
questions that fit it (those written in the index folder's ``examples.txt`` by ``rag index examples``,
else made from the titles of its latest articles; a title cut from the first sentence makes no question).

>>> example_questions(["Pavia, inaugurato il nuovo ponte"], "it")
['Che cosa sappiamo di «Pavia, inaugurato il nuovo ponte»?']
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from rag.stores.registry import ChunkStore
from rag.text import valid_text

EXAMPLES_FILE = "examples.txt"  # in the index folder, one question a line; kept by every edit and rebuild
_ASK_ABOUT = {"it": "Che cosa sappiamo di «{title}»?", "en": "What do we know about “{title}”?"}


@dataclass(frozen=True)
class DocInfo:
    id: str
    title: str
    date: str | None
    source: str | None
    url: str | None


def documents(store: ChunkStore) -> list[DocInfo]:
    """Every document of the index, the latest first (undated ones last), then by title."""
    found = (store.document(doc_id) for doc_id in store.doc_ids())  # any store backend
    docs = [DocInfo(d.id, d.title, d.date, d.source, d.url) for d in found if d is not None]
    docs.sort(key=lambda d: d.title or d.id)
    docs.sort(key=lambda d: d.date or "", reverse=True)
    return docs


def sources(store: ChunkStore) -> list[str]:
    """The distinct sources of the index's documents, sorted."""
    return sorted({d.source for d in documents(store) if d.source})


def examples_for(store: ChunkStore, language: str = "it", count: int = 3) -> list[str]:
    """The index's own example questions (``examples.txt``), else questions about its latest articles."""
    written = _written(store.path)
    if written:
        return written[:count]
    titles = [d.title for d in documents(store) if d.title and not d.title.endswith("…")]
    return example_questions(titles[:count], language)


def write_examples(folder: Path, questions: Sequence[str]) -> None:
    """Set the index's example questions (none: remove them, so they are made from titles again)."""
    path = Path(folder) / EXAMPLES_FILE
    lines = [" ".join(valid_text(q).split()) for q in questions if valid_text(q).strip()]
    if not lines:
        path.unlink(missing_ok=True)
        return
    temporary = path.with_name(f".{EXAMPLES_FILE}.tmp")
    temporary.write_text("\n".join(lines) + "\n", encoding="utf-8")
    os.replace(temporary, path)


def example_questions(titles: Sequence[str], language: str = "it") -> list[str]:
    template = _ASK_ABOUT.get(language, _ASK_ABOUT["en"])
    return [template.format(title=" ".join(t.split()).rstrip(".?!")) for t in titles]


def _written(folder: Path) -> list[str]:
    path = Path(folder) / EXAMPLES_FILE
    if not path.exists():
        return []
    lines = path.read_text(encoding="utf-8").splitlines()
    return [q.strip() for q in lines if q.strip() and not q.startswith("#")]

"""Changing an index folder (``rag.stores.folder``) atomically: ``edit`` opens a working copy beside it,
writes it and swaps it in by rename (``rag.stores.atomic``).

Every change is made in a temporary copy beside the index and swapped in by rename, so a build
that fails or is killed leaves the previous index as it was. The files other modules keep in the
folder (``index_meta.KEPT_FILES``) are carried over by every edit, rebuilds too.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

from rag.errors import StoreError
from rag.stores.atomic import locked, recover_unlocked, remove_stale_temps, swap, working_copy
from rag.stores.folder import Store, fit_vectors, new_vectors
from rag.stores.lexical import LexicalIndex
from rag.stores.meta import KEPT_FILES, IndexMeta

# Files other modules keep in the index folder: every edit carries them over, rebuilds too.

_SCHEMA = """
CREATE TABLE IF NOT EXISTS documents (
    id TEXT PRIMARY KEY, content_hash TEXT NOT NULL, title TEXT, date TEXT, place TEXT,
    source TEXT, url TEXT, text TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS chunks (
    row INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT UNIQUE NOT NULL, doc_id TEXT NOT NULL, ordinal INTEGER,
    text TEXT NOT NULL, start INTEGER, "end" INTEGER, title TEXT, date TEXT, place TEXT, source TEXT, url TEXT,
    text_hash TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS chunks_doc ON chunks(doc_id);
"""


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


@contextmanager
def edit(path: str | os.PathLike, meta: IndexMeta | None = None, fresh: bool = False) -> Iterator[Store]:
    """Open a working copy of the index at ``path`` (or a new empty one) and swap it in on success.

    ``fresh=True`` starts from an empty index even if one exists (a rebuild); ``meta`` is required then.
    On any exception the working copy is deleted and the index on disk is untouched.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with locked(path):
        recover_unlocked(path)
        remove_stale_temps(path)
        yield from _edit_in(working_copy(path, KEPT_FILES), path, meta, fresh)


def _edit_in(work: Path, path: Path, meta: IndexMeta | None, fresh: bool) -> Iterator[Store]:

    try:
        if path.exists() and not fresh:
            current = Store.open(path, lexical=True)  # refuse to build on a damaged index
            current.close()
            for name in ("meta.json", "vectors.faiss", "chunks.sqlite"):
                shutil.copy2(path / name, work / name)
            if (path / "lexical").exists():
                shutil.copytree(path / "lexical", work / "lexical")
            store = Store.open(work, lexical=False)  # rebuilt by _save
        else:
            if meta is None:
                raise StoreError(f"no index at {path} to update; build it first with `rag index build`")
            db = sqlite3.connect(work / "chunks.sqlite", check_same_thread=False)
            db.executescript(_SCHEMA)
            vectors = new_vectors(meta.embedder.dim)
            store = Store(work, meta, vectors, db)
        yield store
        if not (fresh or store.changed):  # nothing added or removed: the index on disk stays as it is,
            store.close()
            _keep_side_files(work, path)  # but a feed sync's record of its visit is kept
            shutil.rmtree(work, ignore_errors=True)
            return
        _save(store)
        store.close()
        swap(work, path)
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise


def _save(store: Store) -> None:
    """Write the working copy's files: commit SQLite, count, write the vectors (``fit_vectors``), rebuild BM25,
    meta.json last."""
    import faiss

    store.db.commit()
    before = store.meta.chunks  # when last written (0 for a new index)
    counts = store.db.execute("SELECT (SELECT COUNT(*) FROM documents), (SELECT COUNT(*) FROM chunks)").fetchone()
    store.meta = replace(
        store.meta, documents=counts[0], chunks=counts[1], created=store.meta.created or _now(), updated=_now()
    )
    store.vectors = fit_vectors(store.vectors, before)  # exact or approximate, by the number of chunks
    faiss.write_index(store.vectors, str(store.path / "vectors.faiss"))
    shutil.rmtree(store.path / "lexical", ignore_errors=True)
    pairs = [(row, chunk.title + "\n" + chunk.text) for row, chunk in store.all_chunks()]
    LexicalIndex.build([r for r, _ in pairs], [t for _, t in pairs], store.meta.chunking.language).save(
        store.path / "lexical"
    )
    (store.path / "meta.json").write_text(store.meta.to_json())


def _keep_side_files(work: Path, path: Path) -> None:
    """Move the working copy's ``KEPT_FILES`` that differ from the index's into it, each by one atomic rename
    (the working copy sits beside the index, on the same file system; the caller holds the index's lock)."""
    for name in KEPT_FILES:
        new, current = work / name, path / name
        if new.is_file() and (not current.is_file() or new.read_bytes() != current.read_bytes()):
            os.replace(new, current)

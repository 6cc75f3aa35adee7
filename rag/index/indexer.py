"""Build, update and prune indexes: ingest -> chunk -> embed (cached) -> store, atomically."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from rag.errors import InputError, RagError
from rag.index.chunk import DEFAULT_CHUNKING, chunk_document
from rag.models.embed import Embedder, load_embedder
from rag.models.embed_cache import EmbeddingCache
from rag.sources.ingest import keep_unique, load_documents
from rag.stores.meta import IndexMeta, content_hash
from rag.stores.registry import ChunkStore, edit_store, parse_store
from rag.text import counted, valid_text
from rag.types import ChunkSettings, Document

log = logging.getLogger(__name__)

EMBED_BATCH = 64  # chunks embedded between two progress reports / cancel checks
UNDATED_SHOWN = 10  # ids of undated articles a report names; the rest are counted


class Cancelled(RagError):
    """The caller asked an add to stop (``cancel`` was set); the index on disk is unchanged."""


def _no_progress(fraction: float, desc: str = "") -> None:
    pass


@dataclass
class IndexReport:
    """What a build/add/remove changed."""

    path: Path
    added: list[str] = field(default_factory=list)
    replaced: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    undated: list[str] = field(default_factory=list)  # articles written without a date (see ``undated``)
    chunks_embedded: int = 0
    seconds: float = 0.0

    def summary(self) -> str:
        """One line of counts; a second naming the articles without a date, when there are some."""
        counts = (
            f"{self.path}: {len(self.added)} added, {len(self.replaced)} replaced, "
            f"{len(self.skipped)} unchanged, {len(self.removed)} removed; "
            f"{counted(self.chunks_embedded, 'chunk')} embedded in {self.seconds:.1f}s"
        )
        return counts + ("\n" + self.undated_line() if self.undated else "")

    def undated_line(self) -> str:
        """``3 articles without a date (...): a.txt, b.md, c.txt``; at most ``UNDATED_SHOWN`` ids, the rest counted."""
        shown = ", ".join(self.undated[:UNDATED_SHOWN])
        more = len(self.undated) - UNDATED_SHOWN
        return (
            f"{len(self.undated)} article(s) without a date, which date filters leave out (no dateline such as "
            f"'Roma, 3 marzo 2026 –' near the top, no date in the page or the JSONL 'date'): "
            f"{shown}{f' and {more} more' if more > 0 else ''}"
        )


def undated(docs: Iterable[Document]) -> list[str]:
    """The ids of the documents without a date."""
    return [doc.id for doc in docs if not doc.date]


def _upsert(
    store: ChunkStore,
    docs: Iterable[Document],
    embedder: Embedder | None,
    cache: EmbeddingCache | None,
    report,
    progress=_no_progress,
    cancel: threading.Event | None = None,
) -> None:
    """Add or replace ``docs``. Given ``progress`` or ``cancel``, embeds in batches, reporting
    ``progress(fraction, desc="embedding")`` between them and raising ``Cancelled`` there once ``cancel``
    is set; otherwise in one call (one progress bar on the command line). Without ``embedder``, the model
    that built the index is loaded at the first new or changed document (none loaded if there is none)."""
    todo = []
    for doc in docs:
        old = store.stored_hash(doc.id)
        if old == content_hash(doc):
            report.skipped.append(doc.id)
            continue
        if old is not None:
            store.remove_document(doc.id)
            report.replaced.append(doc.id)
        else:
            report.added.append(doc.id)
        if embedder is None:
            embedder = load_embedder(store.meta.embedder)
        todo.append((doc, chunk_document(doc, embedder.count_tokens, store.meta.chunking)))
    report.undated += undated(doc for doc, _ in todo)
    all_chunks = [c for _, chunks in todo for c in chunks]
    batch = EMBED_BATCH if cancel is not None or progress is not _no_progress else max(len(all_chunks), 1)
    parts = []
    for start in range(0, len(all_chunks), batch):
        if cancel is not None and cancel.is_set():
            raise Cancelled(f"stopped after {start} of {len(all_chunks)} chunks; the index is unchanged")
        parts.append(embedder.embed_chunks(all_chunks[start : start + batch], cache))
        progress(min(start + batch, len(all_chunks)) / len(all_chunks), desc="embedding")
    vectors = np.concatenate(parts) if parts else None
    report.chunks_embedded = len(all_chunks)
    offset = 0
    for doc, chunks in todo:
        store.add_document(doc, chunks, vectors[offset : offset + len(chunks)] if chunks else None)
        offset += len(chunks)


def build_index(
    docs: list[Document],
    path: Path,
    embedder: Embedder,
    settings: ChunkSettings = DEFAULT_CHUNKING,
    cache: EmbeddingCache | None = None,
    store: str | None = None,
) -> IndexReport:
    """(Re)build the index at ``path`` from documents (see ``rag.sources.ingest.load_documents``); the report
    names those without a date (``IndexReport.undated``).

    The old index stays in place, untouched, until the new one is complete. ``store`` says where the
    chunks go (``rag.stores.registry.parse_store``: ``faiss``, the default, or a Milvus URI).
    """
    started = time.perf_counter()
    if not docs:
        raise InputError("no documents to index; give .txt/.md/.html/.pdf/.docx/.jsonl/SQuAD files that are not empty")
    report = IndexReport(path)
    meta = IndexMeta(embedder=embedder.info, chunking=settings, store=parse_store(store))
    with edit_store(path, meta=meta, fresh=True) as target:
        _upsert(target, docs, embedder, cache, report)
        prune(target, docs)
    report.undated = undated(docs)  # the whole index, also what a resumed build found in place
    report.seconds = time.perf_counter() - started
    return report


def prune(store: ChunkStore, docs: list[Document]) -> None:
    """Remove documents that are not in ``docs`` (a resumed rebuild may hold some from its first run)."""
    for doc_id in set(store.doc_ids()) - {d.id for d in docs}:
        store.remove_document(doc_id)


def add_to_index(
    docs: list[Document],
    path: Path,
    embedder: Embedder | None = None,
    cache: EmbeddingCache | None = None,
    remove: Iterable[str] = (),
    also: Callable[[Path], None] | None = None,
    progress=_no_progress,
    cancel: threading.Event | None = None,
) -> IndexReport:
    """Add new documents, replace changed ones (same id, other content), skip identical ones. The report
    names the added or replaced ones that have no date (``IndexReport.undated``).

    In the same atomic edit, ``remove`` drops those documents (ids not in the index are ignored) and
    ``also(folder)`` may write its own files into the new index folder before it is swapped in. If
    nothing is new, changed or removed, the index on disk is not rewritten, but the kept files ``also``
    changed (``index_meta.KEPT_FILES``: a feed sync's record) are still put in place. ``progress``
    and ``cancel`` as in ``_upsert``: a cancelled add leaves the index unchanged. Without ``embedder``, the
    model that built the index is loaded only if a document is new or changed (a sync with nothing new
    loads none).
    """
    remove = list(remove)
    if not docs and not remove and also is None:  # a feed sync with nothing new still records its visit
        raise InputError(
            "no articles to add: the files given are empty or of types that are skipped (see the warnings); "
            "give .txt/.md/.html/.pdf/.docx/.jsonl/SQuAD files with text"
        )
    started = time.perf_counter()
    report = IndexReport(path)
    with edit_store(path) as store:
        if embedder is not None:  # one loaded for the index's own model (in _upsert) matches it
            store.check_embedder(embedder)
        for doc_id in remove:
            if store.stored_hash(doc_id) is not None:
                store.remove_document(doc_id)
                report.removed.append(doc_id)
        _upsert(store, docs, embedder, cache, report, progress, cancel)
        if also is not None:
            also(store.path)
    report.seconds = time.perf_counter() - started
    return report


def remove_from_index(doc_ids: Iterable[str], path: Path) -> IndexReport:
    started = time.perf_counter()
    report = IndexReport(path)
    doc_ids = list(dict.fromkeys(doc_ids))  # "A A" removes A once
    for doc_id in doc_ids:
        if valid_text(doc_id) != doc_id:  # not valid UTF-8 (a name in another encoding): no stored id is
            raise InputError(f"no document {doc_id!r} in {path}: that id is not valid UTF-8; `rag index info --docs`")
    with edit_store(path) as store:
        for doc_id in doc_ids:
            if store.stored_hash(doc_id) is None:
                known = ", ".join(store.doc_ids()[:5])
                raise InputError(f"no document {doc_id!r} in {path}; `rag index info` lists them (e.g. {known})")
            store.remove_document(doc_id)
            report.removed.append(doc_id)
    report.seconds = time.perf_counter() - started
    return report


def add_files(
    paths: Sequence[str | Path],
    path: Path,
    embedder: Embedder | None = None,
    progress=None,
    cancel: threading.Event | None = None,
) -> IndexReport:
    """Read ``paths`` and add their articles to the index at ``path`` (as ``add_to_index``).

    Every file is read and checked first, so a file that cannot be used, or that holds no article,
    raises ``InputError`` naming it before the index is touched. ``progress(fraction, desc=...)`` is
    called between the steps when given (``desc``: reading, embedding, done); setting ``cancel``
    stops the add between two batches of chunks (``Cancelled``), leaving the index unchanged.
    """
    step = progress or _no_progress
    step(0.02, desc="reading")
    docs: dict[str, Document] = {}
    for p in map(Path, paths):
        found = load_documents([p])
        if not found:
            raise InputError(f"{p.name}: no article text found in it (an empty file, or a page with no article)")
        for doc in found:  # two uploads named alike ("same.txt" from two folders) must not collide in the index
            keep_unique(docs, doc, p.name)
    step(0.05, desc="embedding")
    report = add_to_index(
        list(docs.values()),
        path,
        embedder=embedder,
        cache=EmbeddingCache(),
        progress=lambda fraction, desc: step(0.05 + 0.9 * fraction, desc=desc),
        cancel=cancel,
    )
    step(1.0, desc="done")
    return report

"""An index on disk, opened: FAISS vectors, a SQLite chunk store and ``meta.json`` (``Store``).

Layout of ``index/<name>/``::

    meta.json        what built it: embedder, chunking, counts, format version, times (``rag.stores.meta``)
    vectors.faiss    unit vectors by chunk row id (stable): exact (IndexIDMap2 over IndexFlatIP) below
                     ``APPROXIMATE_FROM`` chunks, approximate (IndexIVFFlat) from there (``fit_vectors``)
    chunks.sqlite    documents (with content hash) and chunks (text, offsets, metadata)
    lexical/         BM25 index over the same chunks (see ``rag.stores.lexical``)
    feeds.json       the feeds the index follows (``rag.index.feeds``), if any
    examples.txt     example questions shown on the chat page (``rag.index.catalog``), if any

Reading opens the files of one version of the folder; every change is made in a working copy and
swapped in by rename (``rag.stores.folder_edit.edit``), so a build that fails or is killed leaves the
previous index as it was.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import os
import sqlite3
import threading
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from rag.errors import StoreError
from rag.models.embed import Embedder
from rag.stores.atomic import recover
from rag.stores.atomic import version as folder_version
from rag.stores.lexical import LexicalIndex
from rag.stores.meta import IndexMeta, content_hash, damaged
from rag.types import Chunk, Document

log = logging.getLogger(__name__)

# One open at a time: numpy reads .npy headers with ``ast``, whose parser is not thread-safe in
# Python 3.11 (CPython gh-106905: "AST constructor recursion depth mismatch" under concurrent reloads).
_OPENING = threading.Lock()
_CHUNK_COLUMNS = ("id", "doc_id", "ordinal", "text", "start", "end", "title", "date", "place", "source", "url")


# ---- the vectors ---------------------------------------------------------------------------
# A flat index reads every vector for each query: its time grows with the chunks and passes a few ms near 50k
# 384-d vectors on one core (`rag bench retrieval --scale 20000,50000,100000 --store-only`). From there the
# folder holds an inverted file instead: the vectors, exact and unchanged, sorted into 4·sqrt(n) lists by their
# nearest k-means centre; a query reads the lists of its ``nprobe`` nearest centres, with exact inner products.
# ``nprobe`` is measured when the lists are made: the fewest that find RECALL_TARGET of the exact 10 nearest
# for queries made from the index's own vectors; if a quarter of the lists is not enough (vectors without
# clusters), the index stays exact. Unlike HNSW (no removal in FAISS) or IVF-PQ re-ranked by IndexRefineFlat
# (neither given ids nor removal), it keeps chunk row ids, adds and removes in place, and gives back a stored
# vector (a hash table of ids): no rebuild on change, and the same memory as the flat index.
APPROXIMATE_FROM = 50_000
RECALL_TARGET = 0.97


def new_vectors(dim: int):
    """An empty vector index (exact; ``fit_vectors`` makes it approximate when it grows)."""
    import faiss

    return faiss.IndexIDMap2(faiss.IndexFlatIP(dim))


def is_approximate(index) -> bool:
    import faiss

    return isinstance(index, faiss.IndexIVF)


def _lists(n: int) -> int:
    return max(1, int(4 * math.sqrt(n)))


def stored_vectors(index) -> tuple[np.ndarray, np.ndarray]:
    """(ids, vectors) of every vector ``index`` holds (either kind), ids ascending."""
    import faiss

    if not is_approximate(index):
        ids = faiss.vector_to_array(index.id_map).astype(np.int64)
        vectors = faiss.downcast_index(index.index).reconstruct_n(0, index.ntotal) if index.ntotal else None
    else:
        lists, dim = index.invlists, index.d
        parts_ids, parts = [], []
        for i in range(index.nlist):
            size = lists.list_size(i)
            if size:
                parts_ids.append(faiss.rev_swig_ptr(lists.get_ids(i), size).copy())
                codes = faiss.rev_swig_ptr(lists.get_codes(i), size * dim * 4)
                parts.append(np.frombuffer(codes, dtype=np.float32).reshape(size, dim).copy())
        ids = np.concatenate(parts_ids) if parts_ids else np.zeros(0, dtype=np.int64)
        vectors = np.concatenate(parts) if parts else None
    if vectors is None:
        return ids, np.zeros((0, index.d), dtype=np.float32)
    order = np.argsort(ids, kind="stable")
    return ids[order], vectors[order]


def vector_ids(index) -> np.ndarray:
    """The chunk row ids ``index`` holds (either kind)."""
    import faiss

    if not is_approximate(index):
        return faiss.vector_to_array(index.id_map).astype(np.int64)
    lists = index.invlists
    parts = [faiss.rev_swig_ptr(lists.get_ids(i), lists.list_size(i)).copy() for i in range(index.nlist)]
    return np.concatenate([p for p in parts if len(p)] or [np.zeros(0, dtype=np.int64)])


def fit_vectors(index, before: int = 0, approximate_from: int | None = None):
    """The vector index to write for what ``index`` holds now, ``before`` being the chunks it held when last
    written (0: a new index): from ``approximate_from`` chunks (default ``APPROXIMATE_FROM``) an inverted file,
    tried when the index first reaches it and again each time it doubles (``_approximate`` may find the vectors
    better searched exactly). An inverted file is trained again when its chunks are 4 times those it was trained
    for (its lists would be twice as long) and becomes exact below half the threshold; otherwise ``index`` is
    kept as it is (adds and removes were made in it in place).

    >>> fit_vectors(new_vectors(8)).ntotal
    0
    """
    threshold = APPROXIMATE_FROM if approximate_from is None else approximate_from
    n = index.ntotal
    if is_approximate(index):
        if n < threshold // 2:
            return _rebuilt(index, approximate=False)
        if _lists(n) >= 2 * index.nlist:
            return _rebuilt(index, approximate=True)
        return index

    def step(count: int) -> int:  # -1 below the threshold, then 0, 1, 2… at each doubling
        return -1 if count < threshold else int(math.log2(count / threshold))

    return _rebuilt(index, approximate=True) if step(n) > step(before) else index


def _rebuilt(index, approximate: bool):
    import faiss

    ids, vectors = stored_vectors(index)
    if approximate:
        lists = _lists(len(ids))
        out = faiss.index_factory(index.d, f"IVF{lists},Flat", faiss.METRIC_INNER_PRODUCT)
        sample = np.random.default_rng(0).choice(len(ids), min(len(ids), 40 * lists), replace=False)
        out.train(vectors[np.sort(sample)])
        out.set_direct_map_type(faiss.DirectMap.Hashtable)  # reconstruct and remove_ids by chunk row
        _add(out, ids, vectors)
        if _calibrate(out, ids, vectors):
            return out
        del out
    out = new_vectors(index.d)
    _add(out, ids, vectors)
    return out


def _add(index, ids: np.ndarray, vectors: np.ndarray) -> None:
    for start in range(0, len(ids), 100_000):
        index.add_with_ids(vectors[start : start + 100_000], ids[start : start + 100_000])


def _calibrate(index, ids: np.ndarray, vectors: np.ndarray, queries: int = 200) -> bool:
    """Set ``index.nprobe`` to the fewest lists (from nlist/64, at least 8, doubling) whose search finds
    ``RECALL_TARGET`` of the exact 10 nearest stored vectors for two kinds of queries: stored vectors (a question
    close to one chunk) and the normalised sum of two drawn at random (a question between subjects). ``False``
    if a quarter of the lists is not enough: the vectors have too little cluster structure for lists to pay."""
    import faiss

    rng = np.random.default_rng(1)
    m = min(queries, len(vectors))
    pairs = rng.integers(0, len(vectors), (m, 2))
    between = vectors[pairs[:, 0]] + vectors[pairs[:, 1]]
    between /= np.maximum(np.linalg.norm(between, axis=1, keepdims=True), 1e-9)
    probes = np.ascontiguousarray(np.concatenate([vectors[rng.integers(0, len(vectors), m)], between]))
    exact = ids[faiss.knn(probes, vectors, 10, faiss.METRIC_INNER_PRODUCT)[1]]
    most, nprobe = max(1, index.nlist // 4), max(8, index.nlist // 64)
    while True:
        nprobe = min(nprobe, most)
        found = index.search(probes, 10, params=faiss.SearchParametersIVF(nprobe=nprobe))[1]
        hits = [len(set(f) & set(e)) / 10 for f, e in zip(found.tolist(), exact.tolist(), strict=True)]
        recall = min(float(np.mean(hits[:m])), float(np.mean(hits[m:])))
        if recall >= RECALL_TARGET:
            index.nprobe = nprobe
            log.info("vectors: IVF%d, %d lists read per query (recall@10 %.3f)", index.nlist, nprobe, recall)
            return True
        if nprobe >= most:
            log.info("vectors: kept exact (IVF%d reads a quarter of its lists for recall@10 %.3f)", index.nlist, recall)
            return False
        nprobe *= 2


def search_vectors(index, queries: np.ndarray, k: int, widen: float = 1.0) -> tuple[np.ndarray, np.ndarray]:
    """FAISS's search of ``index``; an inverted file reads ``widen`` times as many lists as it was given
    (all of them for ``math.inf``): a search whose hits are filtered out asks again, deeper and wider."""
    import faiss

    if not is_approximate(index) or widen == 1.0:
        return index.search(queries, k)
    probes = index.nlist if math.isinf(widen) else min(index.nlist, math.ceil(index.nprobe * widen))
    return index.search(queries, k, params=faiss.SearchParametersIVF(nprobe=probes))


def describe_vectors(index) -> str:
    """What ``rag index info`` says of the vector index."""
    if not is_approximate(index):
        return "FAISS IndexFlatIP (exact)"
    return (
        f"FAISS IndexIVFFlat (approximate: {index.nprobe} of {index.nlist} lists read per query, exact scores; "
        f"from {APPROXIMATE_FROM:,} chunks)"
    )


def lexical_rows(folder: Path) -> np.ndarray:
    """The chunk rows of the BM25 index in ``folder`` (memory-mapped); a missing or unreadable file is damage."""
    index = folder.parent
    for name in ("lexical.json", "rows.npy"):
        if not (folder / name).is_file():
            raise damaged(index, f"{folder.name}/{name}", "the file is missing")
    try:
        return np.load(folder / "rows.npy", mmap_mode="r")
    except (OSError, ValueError) as e:
        raise damaged(index, f"{folder.name}/rows.npy", e) from e


def _broken_file(folder: Path) -> str:
    """Which file of the BM25 folder cannot be read (``lexical`` if each can be, alone)."""
    try:
        files = sorted(folder.iterdir())
    except OSError:  # gone meanwhile (a write swapped the index) or unreadable: name the folder
        return folder.name
    for file in files:
        try:
            if file.suffix == ".json":
                json.loads(file.read_text())
            elif file.suffix == ".npy":
                np.load(file, mmap_mode="r")
        except (OSError, ValueError):  # JSONDecodeError and numpy's format errors are ValueErrors
            return f"{folder.name}/{file.name}"
    return folder.name


class Store:
    """An opened index folder. Read it with ``Store.open``; change it inside ``rag.stores.folder_edit.edit``.

    Safe to share between threads: every SQLite call holds the store's lock, so ``close`` waits for a
    query in progress instead of pulling the connection from under it (a query after ``close`` raises
    ``StoreError``), and a damaged file raises ``StoreError`` naming it.
    """

    def __init__(self, path: Path, meta: IndexMeta, vectors, db: sqlite3.Connection):
        self.path = path
        self.meta = meta
        self.vectors = vectors  # new_vectors() or fit_vectors()'s inverted file
        self.db = db
        self.changed = False  # set by the writing methods; an edit that changed nothing is not swapped in
        self._lock = threading.RLock()
        self._closed = False
        self._lexical: LexicalIndex | None = None

    def query(self, sql: str, params=()) -> list[tuple]:
        """All rows of one SQLite statement, under the lock (any thread); damage becomes a ``StoreError``."""
        with self._lock:
            if self._closed:
                raise StoreError(f"index {self.path.name!r} was closed; open it again (Retriever.reload)")
            try:
                return self.db.execute(sql, params).fetchall()
            except sqlite3.DatabaseError as e:
                raise damaged(self.path, "chunks.sqlite", e) from e

    # ---- reading -------------------------------------------------------------------------
    @classmethod
    def open(cls, path: str | os.PathLike, lexical: bool = True) -> Store:
        """Open the index at ``path`` and its BM25 index (unless ``lexical=False``), checking that the parts agree.

        Readers take no lock: if a write swaps a new version in while the files are being opened, the
        open starts again, so the parts always come from one version.
        """
        path = Path(path)
        for _ in range(50):
            recover(path)
            version = folder_version(path)
            try:
                with _OPENING:
                    store = cls._open_once(path, lexical)
            except (StoreError, OSError, sqlite3.Error) as e:  # a file gone in the middle of a swap: reopen
                if folder_version(path) != version or (path.parent / f".{path.name}.old").exists():
                    continue
                if isinstance(e, sqlite3.Error):
                    raise damaged(path, "chunks.sqlite", e) from e
                if isinstance(e, OSError):
                    raise StoreError(f"cannot read the index at {path}: {e}") from e
                raise
            if folder_version(path) == version:
                return store
            store.close()
        raise StoreError(f"index {path} changed 50 times while being opened; try again")

    @classmethod
    def _open_once(cls, path: Path, lexical: bool) -> Store:
        import faiss

        if not (path / "meta.json").exists():
            raise StoreError(f"no index at {path}; build one with `rag index build PATH --name {path.name}`")
        try:
            meta = IndexMeta.from_json((path / "meta.json").read_text())
        except (OSError, UnicodeDecodeError, KeyError, TypeError, AttributeError, json.JSONDecodeError) as e:
            raise damaged(path, "meta.json", e) from e
        for name in ("vectors.faiss", "chunks.sqlite"):
            if not (path / name).is_file():
                raise damaged(path, name, "the file is missing")
        try:
            vectors = faiss.read_index(str(path / "vectors.faiss"))
        except (OSError, RuntimeError) as e:
            raise damaged(path, "vectors.faiss", " ".join(str(e).split())[:200]) from e
        db = sqlite3.connect(path / "chunks.sqlite", check_same_thread=False)
        store = cls(path, meta, vectors, db)
        try:
            store._check_counts()
            if lexical:
                store._lexical = store.lexical()
        except BaseException:
            store.close()
            raise
        return store

    def lexical(self) -> LexicalIndex:
        """The BM25 index saved beside the chunks; an unreadable one raises ``StoreError`` naming it."""
        if self._lexical is not None:
            return self._lexical
        lexical_rows(self.path / "lexical")
        try:
            return LexicalIndex.load(self.path / "lexical")
        except Exception as e:  # bm25s reads several files with numpy, json and scipy: any failure is damage
            raise damaged(self.path, _broken_file(self.path / "lexical"), f"{type(e).__name__}: {e}") from e

    def _check_counts(self) -> None:
        """The cheap part of ``rag index check``, run at every open: the parts hold as many chunks as
        meta.json says (a truncated or swapped file fails here, not in the middle of a search)."""
        documents, chunks = self.query("SELECT (SELECT COUNT(*) FROM documents), (SELECT COUNT(*) FROM chunks)")[0]
        if (documents, chunks) != (self.meta.documents, self.meta.chunks):
            meta = self.meta
            why = f"holds {documents} documents and {chunks} chunks, meta.json says {meta.documents} and {meta.chunks}"
            raise damaged(self.path, "chunks.sqlite", why)
        if self.vectors.ntotal != chunks:
            raise damaged(self.path, "vectors.faiss", f"holds {self.vectors.ntotal} vectors for {chunks} chunks")
        rows = lexical_rows(self.path / "lexical")
        if len(rows) != chunks:
            raise damaged(self.path, "lexical/rows.npy", f"lists {len(rows)} chunks, the index holds {chunks}")
        if len(rows) > 1 and not np.all(rows[1:] > rows[:-1]):  # written sorted: a permuted file maps BM25 hits
            why = "the rows are not in the order of the chunks (permuted or from another index)"  # to other chunks
            raise damaged(self.path, "lexical/rows.npy", why)

    def chunks_by_rows(self, rows: list[int]) -> dict[int, Chunk]:
        if not rows:
            return {}
        marks = ",".join("?" * len(rows))
        cols = ", ".join(f'"{c}"' for c in _CHUNK_COLUMNS)
        query = f"SELECT row, {cols} FROM chunks WHERE row IN ({marks})"
        return {r[0]: Chunk(*r[1:]) for r in self.query(query, [int(x) for x in rows])}

    def all_chunks(self) -> Iterator[tuple[int, Chunk]]:
        cols = ", ".join(f'"{c}"' for c in _CHUNK_COLUMNS)
        for r in self.query(f"SELECT row, {cols} FROM chunks ORDER BY row"):
            yield r[0], Chunk(*r[1:])

    def document(self, doc_id: str) -> Document | None:
        rows = self.query("SELECT id, text, title, date, place, source, url FROM documents WHERE id = ?", (doc_id,))
        return Document(*rows[0]) if rows else None

    def doc_ids(self) -> list[str]:
        return [r[0] for r in self.query("SELECT id FROM documents ORDER BY id")]

    def vectors_of(self, chunk_ids: list[str]) -> np.ndarray:
        """The stored unit vectors of ``chunk_ids`` (those found), as an (n, dim) array in the order asked."""
        if not chunk_ids:
            return np.zeros((0, self.meta.embedder.dim), dtype=np.float32)
        marks = ",".join("?" * len(chunk_ids))
        row_of = dict(self.query(f"SELECT id, row FROM chunks WHERE id IN ({marks})", list(chunk_ids)))
        rows = [row_of[c] for c in chunk_ids if c in row_of]  # SQLite gives them in its own order
        if not rows:
            return np.zeros((0, self.meta.embedder.dim), dtype=np.float32)
        return np.stack([self.vectors.reconstruct(int(r)) for r in rows])

    def check_embedder(self, embedder: Embedder) -> None:
        """Raise ``StoreError`` unless ``embedder`` built this index (same model, dim, backend, precision)."""
        if embedder.info != self.meta.embedder:
            built, given = self.meta.embedder, embedder.info
            raise StoreError(
                f"index {self.path} was built with {built.model_id} (dim {built.dim}, {built.backend} "
                f"{built.precision}), not {given.model_id} (dim {given.dim}, {given.backend} {given.precision}); "
                "use that model or rebuild the index"
            )

    def row_text_hashes(self) -> dict[int, str]:
        return dict(self.query("SELECT row, text_hash FROM chunks"))

    def close(self) -> None:
        """Close the SQLite connection, after any query in progress (idempotent)."""
        with self._lock:
            if not self._closed:
                self._closed = True
                self.db.close()

    # ---- writing (only inside ``edit``) -------------------------------------------------
    def stored_hash(self, doc_id: str) -> str | None:
        rows = self.query("SELECT content_hash FROM documents WHERE id = ?", (doc_id,))
        return rows[0][0] if rows else None

    def remove_document(self, doc_id: str) -> int:
        self.changed = True
        rows = [r[0] for r in self.query("SELECT row FROM chunks WHERE doc_id = ?", (doc_id,))]
        if rows:
            self.vectors.remove_ids(np.asarray(rows, dtype=np.int64))
        self.db.execute("DELETE FROM chunks WHERE doc_id = ?", (doc_id,))
        self.db.execute("DELETE FROM documents WHERE id = ?", (doc_id,))
        return len(rows)

    def add_document(self, doc: Document, chunks: list[Chunk], vectors: np.ndarray) -> None:
        self.changed = True
        self.db.execute(
            "INSERT INTO documents VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (doc.id, content_hash(doc), doc.title, doc.date, doc.place, doc.source, doc.url, doc.text),
        )
        rows = []
        for c in chunks:
            cur = self.db.execute(
                'INSERT INTO chunks (id, doc_id, ordinal, text, start, "end", title, date, place, source, url,'
                " text_hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (*(getattr(c, k) for k in _CHUNK_COLUMNS), hashlib.sha256(c.text.encode()).hexdigest()),
            )
            rows.append(cur.lastrowid)
        if rows:
            self.vectors.add_with_ids(np.ascontiguousarray(vectors, dtype=np.float32), np.asarray(rows, dtype=np.int64))

"""The default backend: ``rag.stores.folder.Store`` (FAISS vectors, exact or approximate by size, and SQLite;
atomic folder swaps by ``rag.stores.folder_edit``) and its BM25 index (``rag.stores.lexical``), behind the
``ChunkStore`` interface."""

from __future__ import annotations

import math
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np

from rag.models.embed import Embedder
from rag.stores.folder import Store, describe_vectors, search_vectors
from rag.stores.folder_edit import edit
from rag.stores.lexical import LexicalIndex
from rag.stores.meta import IndexMeta
from rag.types import Chunk, Document, Filters, Ranked


class FaissStore:
    """An index folder opened through ``Store``; dense and lexical search filter after ranking, widening the
    candidate list until enough pass."""

    def __init__(self, store: Store, lexical: LexicalIndex | None = None):
        self.store = store
        self._lexical = lexical

    @classmethod
    def open(cls, path: Path, meta: IndexMeta | None = None) -> FaissStore:
        store = Store.open(path)
        return cls(store, store.lexical())

    @classmethod
    @contextmanager
    def edit(cls, path: Path, meta: IndexMeta | None, fresh: bool) -> Iterator[FaissStore]:
        with edit(path, meta=meta, fresh=fresh) as store:
            yield cls(store)

    # ---- the interface -------------------------------------------------------------------
    @property
    def path(self) -> Path:
        return self.store.path

    @property
    def meta(self) -> IndexMeta:
        return self.store.meta

    @property
    def vectors(self):  # the faiss index, for code that reads it directly
        return self.store.vectors

    @property
    def lexical(self) -> LexicalIndex:
        if self._lexical is None:  # inside an edit the BM25 index is rebuilt only on save
            self._lexical = LexicalIndex.load(self.store.path / "lexical")
        return self._lexical

    def stored_hash(self, doc_id: str) -> str | None:
        return self.store.stored_hash(doc_id)

    def stored_hashes(self, doc_ids: list[str]) -> dict[str, str]:
        out = {}
        for start in range(0, len(doc_ids), 500):
            batch = doc_ids[start : start + 500]
            marks = ",".join("?" * len(batch))
            out.update(self.store.query(f"SELECT id, content_hash FROM documents WHERE id IN ({marks})", batch))
        return out

    def add_document(self, doc: Document, chunks: list[Chunk], vectors: np.ndarray | None) -> None:
        self.store.add_document(doc, chunks, vectors)

    def remove_document(self, doc_id: str) -> int:
        return self.store.remove_document(doc_id)

    def dense_search(self, vector: np.ndarray, k: int, filters: Filters) -> Ranked:
        index = self.store.vectors
        total = index.ntotal
        if not total:
            return []
        query = np.ascontiguousarray(vector, dtype=np.float32)[None, :]
        depth = k
        while True:  # an approximate index reads as many more of its lists as hits are asked for, all at the end
            widen = math.inf if depth >= total else depth / k
            scores, rows = search_vectors(index, query, min(depth, total), widen)
            ranked = self._filtered(
                [(int(r), float(s)) for r, s in zip(rows[0], scores[0], strict=True) if r >= 0], filters
            )
            if len(ranked) >= depth // 4 or depth >= total:
                return ranked
            depth *= 4

    def lexical_search(self, query: str, k: int, filters: Filters) -> Ranked:
        return self._filtered(self.lexical.search(query, k if not filters else len(self.lexical.rows)), filters)

    def _filtered(self, ranked: Ranked, filters: Filters) -> Ranked:
        if not filters:
            return ranked
        chunks = self.store.chunks_by_rows([r for r, _ in ranked])
        return [(r, s) for r, s in ranked if r in chunks and filters.accepts(chunks[r])]

    def chunks_by_rows(self, rows: list[int]) -> dict[int, Chunk]:
        return self.store.chunks_by_rows(rows)

    def document(self, doc_id: str) -> Document | None:
        return self.store.document(doc_id)

    def doc_ids(self) -> list[str]:
        return self.store.doc_ids()

    def vectors_of(self, chunk_ids: list[str]) -> np.ndarray:
        return self.store.vectors_of(chunk_ids)

    def count(self) -> tuple[int, int]:
        counts = "SELECT (SELECT COUNT(*) FROM documents), (SELECT COUNT(*) FROM chunks)"
        return self.store.query(counts)[0]

    def info(self) -> dict:
        return {"backend": "faiss", "where": str(self.store.path), "vectors": describe_vectors(self.store.vectors)}

    def check_embedder(self, embedder: Embedder) -> None:
        self.store.check_embedder(embedder)

    def close(self) -> None:
        self.store.close()

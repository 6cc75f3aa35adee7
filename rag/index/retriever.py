"""Search an index: dense (FAISS), lexical (BM25) or both fused by reciprocal rank (the default).

>>> from rag import Retriever
>>> hits = Retriever.load("seeds").search("Chi accompagnava Umerov a Bruxelles?", k=3)  # doctest: +SKIP
>>> hits[0].doc_id, hits.to_frame()                                                     # doctest: +SKIP
"""

from __future__ import annotations

import hashlib
import os
import time
from dataclasses import dataclass

import numpy as np

from rag.config import index_path
from rag.errors import InputError
from rag.index.embed import Embedder, load_embedder
from rag.index.fusion import rrf
from rag.index.lexical import LexicalIndex
from rag.index.store import Store
from rag.types import MODES, Chunk, Filters, Hit, Mode


class Hits(list[Hit]):
    """A list of ``Hit`` with a DataFrame view for notebooks."""

    def to_frame(self):
        import pandas as pd

        return pd.DataFrame([h.to_dict() for h in self])


@dataclass(frozen=True)
class SearchSettings:
    mode: Mode = "hybrid"
    dense_weight: float = 1.0
    lexical_weight: float = 1.0
    rrf_k: int = 60
    depth: int = 50  # candidates taken from each ranker before fusion


class Retriever:
    def __init__(
        self, store: Store, embedder: Embedder, lexical: LexicalIndex, settings: SearchSettings = SearchSettings()
    ):
        self._parts = (store, lexical)  # swapped whole by ``reload``: a search sees the old pair or the new one
        self.embedder = embedder
        self.settings = settings
        self.last_timings: dict[str, float] = {}

    @property
    def store(self) -> Store:
        return self._parts[0]

    @property
    def lexical(self) -> LexicalIndex:
        return self._parts[1]

    @classmethod
    def load(
        cls,
        index: str | os.PathLike = "seeds",
        embedder: Embedder | None = None,
        settings: SearchSettings = SearchSettings(),
    ) -> Retriever:
        """Open ``index/<name>`` (or a path). The embedder that built it is loaded unless one is given,
        in which case it must match the index's model and dimension."""
        path = index_path(index)
        store = Store.open(path, lexical=True)
        if embedder is None:
            embedder = load_embedder(store.meta.embedder)
        store.check_embedder(embedder)
        return cls(store, embedder, store.lexical(), settings)

    def reload(self) -> None:
        """Pick up changes written to the index on disk (after ``add_to_index``/``remove_from_index``).

        Safe while other threads search: searches already running finish on the index they started
        with, whose connection closes when the last of them is done (it is not closed under them).
        """
        store = Store.open(self.store.path, lexical=True)
        store.check_embedder(self.embedder)
        self._parts = (store, store.lexical())

    def search(self, query: str, k: int = 5, filters: Filters | None = None, mode: Mode | None = None) -> Hits:
        """The ``k`` best distinct chunks for ``query``; ``score`` is cosine (dense), BM25 (lexical) or RRF (hybrid)."""
        if not isinstance(query, str) or not query.strip():
            raise InputError("the query is empty; type a question or some keywords")
        if k < 1:
            raise InputError(f"k must be at least 1, got {k}")
        mode = mode or self.settings.mode
        if mode not in MODES:
            raise InputError(f"unknown search mode {mode!r}; use one of {', '.join(MODES)}")
        filters = filters or Filters()
        store, lexical = self._parts  # one consistent view of the index for the whole search
        depth = max(self.settings.depth, 4 * k)
        timings: dict[str, float] = {}
        rankings: list[list[tuple[int, float]]] = []
        if mode in ("dense", "hybrid"):
            started = time.perf_counter()
            rankings.append(self._dense(store, query, depth, filters))
            timings["dense"] = time.perf_counter() - started
        if mode in ("lexical", "hybrid"):
            started = time.perf_counter()
            rankings.append(
                self._filtered(store, lexical.search(query, depth if not filters else len(lexical.rows)), filters)
            )
            timings["lexical"] = time.perf_counter() - started
        if mode == "hybrid":
            fused = rrf(
                [[row for row, _ in r] for r in rankings],
                [self.settings.dense_weight, self.settings.lexical_weight],
                self.settings.rrf_k,
            )
        else:
            fused = rankings[0]
        self.last_timings = timings
        return self._hits(store, fused, k)

    def _dense(self, store: Store, query: str, depth: int, filters: Filters) -> list[tuple[int, float]]:
        vector = self.embedder.embed_query(query.strip())[None, :].astype(np.float32)
        total = store.vectors.ntotal
        while True:
            scores, rows = store.vectors.search(vector, min(depth, total))
            ranked = self._filtered(
                store, [(int(r), float(s)) for r, s in zip(rows[0], scores[0], strict=True) if r >= 0], filters
            )
            if len(ranked) >= depth // 4 or depth >= total:
                return ranked
            depth *= 4

    def _filtered(self, store: Store, ranked: list[tuple[int, float]], filters: Filters) -> list[tuple[int, float]]:
        if not filters:
            return ranked
        chunks = store.chunks_by_rows([r for r, _ in ranked])
        return [(r, s) for r, s in ranked if r in chunks and filters.accepts(chunks[r])]

    def _hits(self, store: Store, ranked, k: int) -> Hits:
        chunks = store.chunks_by_rows([row for row, _ in ranked[: 4 * k]])
        hits, seen = Hits(), set()
        for row, score in ranked:
            chunk: Chunk | None = chunks.get(row)
            if chunk is None:
                continue
            fingerprint = hashlib.sha1(" ".join(chunk.text.split()).lower().encode()).hexdigest()
            if fingerprint in seen:  # the same passage stored under two document ids
                continue
            seen.add(fingerprint)
            hits.append(Hit.from_chunk(chunk, score, len(hits) + 1))
            if len(hits) == k:
                break
        return hits

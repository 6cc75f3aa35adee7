"""Search an index: dense, lexical (BM25) or both fused by reciprocal rank (the default), on any store backend.

>>> from rag import Retriever
>>> hits = Retriever.load("seeds").search("Chi accompagnava Umerov a Bruxelles?", k=3)  # doctest: +SKIP
>>> hits[0].doc_id, hits.to_frame()                                                     # doctest: +SKIP
"""

from __future__ import annotations

import hashlib
import os
import threading
import time
from dataclasses import dataclass

import numpy as np

from rag.config import index_path
from rag.errors import InputError, check_counts
from rag.index.fusion import rrf
from rag.models.embed import Embedder, load_embedder
from rag.stores.atomic import version
from rag.stores.registry import ChunkStore, open_store
from rag.text import valid_text
from rag.types import MODES, Chunk, Filters, Hit, Mode


class Hits(list[Hit]):
    """A list of ``Hit`` that shows as a table in notebooks, with a DataFrame view; ``query`` and ``mode``
    say which search it answers."""

    query: str = ""
    mode: str = ""

    def to_frame(self):
        import pandas as pd

        return pd.DataFrame([h.to_dict() for h in self])

    def __repr__(self) -> str:
        from rag.render import hits_text

        return hits_text(self, self.query, self.mode)

    def _repr_html_(self) -> str:
        from rag.render import hits_html

        return hits_html(self, self.query, self.mode)


@dataclass(frozen=True)
class SearchSettings:
    mode: Mode = "hybrid"
    dense_weight: float = 1.0
    lexical_weight: float = 1.0
    rrf_k: int = 60
    depth: int = 50  # candidates taken from each ranker before fusion


class Retriever:
    """Searches one index; every search first checks (two ``stat`` calls) whether the index on disk changed
    since it was opened, by this process or another (``rag index add``, ``sync``, ``remove``, a rebuild),
    and reopens it if so: a server answers from the index as it is now, without a restart."""

    def __init__(self, store: ChunkStore, embedder: Embedder, settings: SearchSettings = SearchSettings()):
        self.store = store
        self.embedder = embedder
        self.settings = settings
        self.last_timings: dict[str, float] = {}
        self._version = version(store.path)
        self._reloading = threading.Lock()

    @classmethod
    def load(
        cls,
        index: str | os.PathLike = "seeds",
        embedder: Embedder | str | os.PathLike | None = None,
        settings: SearchSettings = SearchSettings(),
    ) -> Retriever:
        """Open ``index/<name>`` (or a path). The embedder that built it is loaded unless one is given (an
        ``Embedder``, or a model name or folder to load), which must match the index's model and dimension."""
        store = open_store(index_path(index))
        if embedder is None:
            embedder = load_embedder(store.meta.embedder)
        elif isinstance(embedder, str | os.PathLike):
            embedder = load_embedder(str(embedder))
        store.check_embedder(embedder)
        return cls(store, embedder, settings)

    def reload(self) -> None:
        """Open the index on disk again (``follow`` does it when the index changed; this does it always).

        Safe while other threads search: each search works on the store it started with, and the old one
        is not closed under them (its connection closes when the last of them lets it go).
        """
        with self._reloading:
            self._reload()

    def follow(self) -> ChunkStore:
        """The store of the index as it is on disk now: reopened if it changed since it was opened.

        An index that was deleted, damaged or rebuilt with another embedder meanwhile raises ``StoreError``
        saying so, rather than answering from a version that is gone."""
        if version(self.store.path) == self._version:
            return self.store
        with self._reloading:  # one thread reopens; the others wait for it and use the new store
            if version(self.store.path) != self._version:
                self._reload()
        return self.store

    def _reload(self) -> None:
        seen = version(self.store.path)  # before opening: a write landing meanwhile is picked up next time
        store = open_store(self.store.path)
        store.check_embedder(self.embedder)
        self.store, self._version = store, seen

    def search(self, query: str, k: int = 5, filters: Filters | dict | None = None, mode: Mode | None = None) -> Hits:
        """The ``k`` best distinct chunks for ``query``; ``score`` is cosine (dense), BM25 (lexical) or RRF (hybrid).

        ``filters``: a ``Filters``, or a dict of its fields (``{"date_from": "2026-01-01"}``)."""
        if query is not None and not isinstance(query, str):
            raise InputError(f"the query must be text (str), got {type(query).__name__}")
        query = valid_text(query or "")
        if not query.strip():
            raise InputError("the query is empty; type a question or some keywords")
        check_counts(("k", k), kinds=(int, np.integer))
        mode = mode or self.settings.mode
        if mode not in MODES:
            raise InputError(f"unknown search mode {mode!r}; use one of {', '.join(MODES)}")
        filters = Filters.of(filters)
        store = self.follow()  # one version of the index for the whole search, whatever reload does meanwhile
        depth = max(self.settings.depth, 4 * k)
        timings: dict[str, float] = {}
        rankings: list[list[tuple[int, float]]] = []
        if mode in ("dense", "hybrid"):
            started = time.perf_counter()
            vector = self.embedder.embed_query(query.strip()).astype(np.float32)
            rankings.append(store.dense_search(vector, depth, filters))
            timings["dense"] = time.perf_counter() - started
        if mode in ("lexical", "hybrid"):
            started = time.perf_counter()
            rankings.append(store.lexical_search(query, depth, filters))
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
        hits = self._hits(store, fused, k)
        hits.query, hits.mode = query, mode
        return hits

    def _hits(self, store: ChunkStore, ranked, k: int) -> Hits:
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

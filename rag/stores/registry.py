"""Where an index's chunks live, behind one small interface, chosen from one name -> class registry.

- ``faiss`` (default): this machine's folder ``index/<name>/`` — FAISS vectors, bm25s, SQLite
  (``rag.stores.faiss_store``, wrapping ``rag.stores.folder.Store``).
- ``milvus``: a Milvus collection — an embedded milvus-lite file (``milvus://path/to/file.db``) or a
  Milvus server or cluster (``http://host:19530``, ``https://…``) (``rag.stores.milvus_store``).

Either way ``index/<name>/meta.json`` says what built the index and where its chunks are
(``IndexMeta.store``), so ``Retriever.load(name)``, ``rag ask --index name`` and the chat page open
any backend the same way. Credentials never go into ``meta.json``: they come from the environment
(``RAG_MILVUS_TOKEN``, or ``RAG_MILVUS_USER`` + ``RAG_MILVUS_PASSWORD``).

>>> parse_store("faiss")
{'backend': 'faiss'}
>>> parse_store("http://milvus.example:19530")
{'backend': 'milvus', 'uri': 'http://milvus.example:19530'}
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Protocol, runtime_checkable
from urllib.parse import urlsplit

import numpy as np

from rag.backends import REGISTRY, backend_class
from rag.errors import InputError, StoreError
from rag.models.embed import Embedder
from rag.stores.atomic import check_replaceable, recover
from rag.stores.meta import IndexMeta, damaged
from rag.types import Chunk, Document, Filters, Ranked


@runtime_checkable
class ChunkStore(Protocol):
    """What the indexer, the retriever and the assistant need from a backend.

    Rows are stable integer chunk ids. Writes happen only inside the backend's ``edit``; a reader sees
    a backend's writes once ``edit`` has returned (read-after-write).
    """

    path: Path  # the index folder (holds meta.json)
    meta: IndexMeta

    # writing (inside ``edit``): one document at a time, its chunks and vectors together
    def stored_hash(self, doc_id: str) -> str | None: ...
    def stored_hashes(self, doc_ids: list[str]) -> dict[str, str]: ...
    def add_document(self, doc: Document, chunks: list[Chunk], vectors: np.ndarray | None) -> None: ...
    def remove_document(self, doc_id: str) -> int: ...

    # searching: candidates that pass ``filters``, best first
    def dense_search(self, vector: np.ndarray, k: int, filters: Filters) -> Ranked: ...
    def lexical_search(self, query: str, k: int, filters: Filters) -> Ranked: ...

    # reading
    def chunks_by_rows(self, rows: list[int]) -> dict[int, Chunk]: ...
    def document(self, doc_id: str) -> Document | None: ...
    def doc_ids(self) -> list[str]: ...
    def vectors_of(self, chunk_ids: list[str]) -> np.ndarray: ...  # those found, in the order asked
    def count(self) -> tuple[int, int]: ...  # (documents, chunks)
    def info(self) -> dict: ...
    def check_embedder(self, embedder: Embedder) -> None: ...
    def close(self) -> None: ...


class StoreBackend(Protocol):
    """A backend class: opens an index for reading, or for changing it atomically."""

    @classmethod
    def open(cls, path: Path, meta: IndexMeta) -> ChunkStore: ...

    @classmethod
    def edit(cls, path: Path, meta: IndexMeta | None, fresh: bool) -> AbstractContextManager[ChunkStore]: ...


STORE_NAMES = tuple(REGISTRY["store"])  # in order; the first is the default


def backend(name: str) -> type:
    """The store class registered as ``name`` (``rag.backends``; pymilvus loads only for a Milvus index)."""
    return backend_class("store", name)


def parse_store(spec: str | None) -> dict:
    """``--store`` text -> ``IndexMeta.store``: ``faiss``, ``milvus://file.db`` (milvus-lite), ``http(s)://host:port``.

    A relative milvus-lite path is made absolute, so the index opens from any folder. A URI with a user or
    password in it is refused: credentials come from the environment only.
    """
    spec = (spec or "faiss").strip()
    if spec == "faiss":
        return {"backend": "faiss"}
    if spec.startswith("milvus://"):
        file = spec.removeprefix("milvus://")
        if not file or not file.endswith(".db"):
            raise InputError(f"--store {spec}: give a milvus-lite file ending in .db, like milvus://index/news.db")
        return {"backend": "milvus", "uri": str(Path(file).expanduser().resolve())}
    parts = urlsplit(spec)
    if parts.scheme in ("http", "https", "tcp", "grpc") and parts.hostname:
        if parts.username or parts.password:
            raise InputError(
                f"--store: the URI holds credentials; give {parts.scheme}://{parts.hostname}:{parts.port or 19530} and "
                "put them in RAG_MILVUS_TOKEN (or RAG_MILVUS_USER and RAG_MILVUS_PASSWORD) instead"
            )
        return {"backend": "milvus", "uri": f"{parts.scheme}://{parts.hostname}:{parts.port or 19530}"}
    raise InputError(
        f"--store {spec!r} is not a store; use faiss (default), milvus://path/to/file.db or http://host:19530"
    )


def _read_meta(path: Path) -> IndexMeta:
    """``meta.json`` of the index at ``path``. A write swaps whole folders by rename; a read that lands in
    that moment (the folder or its meta.json briefly absent) waits for the swap and reads the new one."""
    for _ in range(100):
        recover(path)
        swapping = (path.parent / f".{path.name}.old").exists()
        try:
            return IndexMeta.from_json((path / "meta.json").read_text())
        except FileNotFoundError as e:
            if swapping or (path.parent / f".{path.name}.old").exists():
                time.sleep(0.01)
                continue
            if not path.exists() or not (path / "meta.json").exists():
                raise StoreError(f"no index at {path}; build one with `rag index build PATH --name {path.name}`") from e
            raise damaged(path, "meta.json", e) from e
        except (OSError, UnicodeDecodeError, KeyError, TypeError, AttributeError, json.JSONDecodeError) as e:
            if swapping:
                time.sleep(0.01)
                continue
            raise damaged(path, "meta.json", e) from e
    raise StoreError(f"index {path} kept changing while being opened; try again")


def open_store(path: str | os.PathLike) -> ChunkStore:
    """Open the index at ``path`` for reading, whatever its backend."""
    path = Path(path)
    meta = _read_meta(path)
    return backend(meta.store.get("backend", "faiss")).open(path, meta)


def edit_store(
    path: str | os.PathLike, meta: IndexMeta | None = None, fresh: bool = False
) -> AbstractContextManager[ChunkStore]:
    """Change the index at ``path`` (``fresh``: rebuild it from ``meta``); on failure it stays as it was.
    The backend's ``edit`` gets the new meta for a rebuild, else the index's current one."""
    path = Path(path)
    if fresh:
        if meta is None:
            raise StoreError("a rebuild needs the new index's meta")
        check_replaceable(path)  # now, not after the build's minutes of work (the swap checks again)
        name = meta.store.get("backend", "faiss")
    else:
        meta = _read_meta(path)
        name = meta.store.get("backend", "faiss")
    return backend(name).edit(path, meta, fresh)


def iter_batches(items: list, size: int) -> Iterator[list]:
    for start in range(0, len(items), size):
        yield items[start : start + size]

"""The Milvus backend: chunks, vectors and BM25 in a Milvus collection (milvus-lite file, server or cluster).

Two collections per index: ``<c>`` holds one row per chunk (dense vector, chunk fields, and the chunk's
text *already analysed by the project*: lower-cased, stopwords out, Snowball-stemmed with PyStemmer,
as ``rag.index.lexical.tokenize`` does for bm25s), and ``<c>_docs`` holds each document's content hash
and text (split in parts: a Milvus string is at most 64 KiB). Milvus's BM25 function indexes the
analysed text with its plain ``standard`` tokenizer, so Italian matching ("ministro" finds "ministri")
does not depend on whether the engine can stem Italian (milvus-lite accepts an Italian stemmer but does
not apply it). A server older than 2.5 has no BM25 function: there the same analysed text is ranked
by bm25s on the client, loaded from the collection once and again after each write of this process.

Every request is made at ``Strong`` consistency, so a search sees the writes made before it.
A rebuild writes a new collection, recorded in ``.<name>.pending.json`` beside the index folder, and
switches ``meta.json`` to it only when complete (then the old one is dropped): until then searches use
the previous collection, and a build that was stopped is resumed by running it again (documents whose
content hash is already stored are skipped). ``add`` and ``remove`` change the collection in place,
one document at a time (chunks first, its hash last), so rerunning a stopped ``add`` completes it.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, replace
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from rag.errors import StoreError
from rag.index.atomic import locked, swap
from rag.index.lexical import LexicalIndex, tokenize
from rag.index.store import IndexMeta, Store, content_hash
from rag.types import Chunk, Document, Filters

log = logging.getLogger(__name__)

Ranked = list[tuple[int, float]]
STRONG = "Strong"
PART_CHARS = 16_000  # of a document's text per row: at most 64,000 bytes of UTF-8, under Milvus's 65,535
_CHUNK_FIELDS = ("chunk_id", "doc_id", "ordinal", "text", "start", "end", "title", "date", "place", "source", "url")
_OPTIONAL = ("date", "place", "source", "url")  # None is stored as ""
_clients: dict[tuple[str, int], object] = {}
_clients_lock = threading.Lock()


def client(uri: str):
    """One ``MilvusClient`` per URI and process; credentials from ``RAG_MILVUS_TOKEN`` or
    ``RAG_MILVUS_USER``/``RAG_MILVUS_PASSWORD``, database from ``RAG_MILVUS_DB``."""
    key = (uri, os.getpid())
    with _clients_lock:
        if key not in _clients:
            try:
                from pymilvus import MilvusClient
            except ImportError as e:
                hint = "pip install 'rag-news[milvus]'"
                raise StoreError(f"the Milvus store needs pymilvus and milvus-lite: {hint}") from e
            options = {}
            if os.environ.get("RAG_MILVUS_TOKEN"):
                options["token"] = os.environ["RAG_MILVUS_TOKEN"]
            elif os.environ.get("RAG_MILVUS_USER"):
                options["user"] = os.environ["RAG_MILVUS_USER"]
                options["password"] = os.environ.get("RAG_MILVUS_PASSWORD", "")
            if os.environ.get("RAG_MILVUS_DB"):
                options["db_name"] = os.environ["RAG_MILVUS_DB"]
            if not uri.endswith(".db"):
                options["timeout"] = 30
            else:
                Path(uri).parent.mkdir(parents=True, exist_ok=True)
                # milvus-lite has no AllocTimestamp: query_iterator falls back to a client timestamp (fine under
                # Strong consistency) but logs an error and a warning on every scan
                logging.getLogger("grpc._server").setLevel(logging.CRITICAL)
                logging.getLogger("pymilvus.client.iterator.query_iterator").setLevel(logging.ERROR)
            try:
                _clients[key] = MilvusClient(uri=uri, **options)
            except Exception as e:  # pymilvus raises several kinds: all mean "cannot reach it"
                raise StoreError(f"cannot connect to Milvus at {uri}: {e}") from e
        return _clients[key]


def has_bm25(milvus) -> bool:
    """Whether the engine has the BM25 function (milvus-lite 3, Milvus 2.5 and later)."""
    version = str(milvus.get_server_version())
    if version.startswith("milvus_lite"):
        return True
    found = re.search(r"(\d+)\.(\d+)", version)
    return bool(found) and (int(found[1]), int(found[2])) >= (2, 5)


def row_id(chunk_id: str) -> int:
    """A stable positive int64 for a chunk id (primary key; the same chunk always gets the same row)."""
    return int.from_bytes(hashlib.sha256(chunk_id.encode()).digest()[:8], "big") >> 1


def filter_expression(filters: Filters) -> str:
    """``Filters`` as a Milvus boolean expression ("" for none).

    >>> filter_expression(Filters(date_from="2026-01-01", doc_ids=["a"]))
    'doc_id in ["a"] and date != "" and date >= "2026-01-01"'
    """
    q = json.dumps
    parts = []
    if filters.doc_ids:
        parts.append(f"doc_id in {q(sorted(filters.doc_ids), ensure_ascii=False)}")
    if filters.exclude_doc_ids:
        parts.append(f"doc_id not in {q(sorted(filters.exclude_doc_ids), ensure_ascii=False)}")
    if filters.sources:
        parts.append(f"source in {q(sorted(filters.sources), ensure_ascii=False)}")
    if filters.date_from or filters.date_to:
        parts.append('date != ""')
    if filters.date_from:
        parts.append(f"date >= {q(filters.date_from)}")
    if filters.date_to:
        parts.append(f"date <= {q(filters.date_to)}")
    return " and ".join(parts)


def _schemas(milvus, dim: int, bm25: bool):
    from pymilvus import DataType, Function, FunctionType

    chunks = milvus.create_schema(auto_id=False)
    chunks.add_field("row", DataType.INT64, is_primary=True)
    for name, length in (("chunk_id", 1024), ("doc_id", 1024), ("text", 65535), ("title", 4096), ("date", 16)):
        chunks.add_field(name, DataType.VARCHAR, max_length=length)
    for name in ("place", "source", "url"):
        chunks.add_field(name, DataType.VARCHAR, max_length=4096)
    for name in ("ordinal", "start", "end"):
        chunks.add_field(name, DataType.INT64)
    chunks.add_field("text_hash", DataType.VARCHAR, max_length=64)
    if bm25:
        params = {"tokenizer": "standard"}
        chunks.add_field("lexical", DataType.VARCHAR, max_length=65535, enable_analyzer=True, analyzer_params=params)
        chunks.add_field("sparse", DataType.SPARSE_FLOAT_VECTOR)
        chunks.add_function(
            Function(
                name="bm25",
                function_type=FunctionType.BM25,
                input_field_names=["lexical"],
                output_field_names=["sparse"],
            )
        )
    else:
        chunks.add_field("lexical", DataType.VARCHAR, max_length=65535)
    chunks.add_field("vector", DataType.FLOAT_VECTOR, dim=dim)
    chunk_index = milvus.prepare_index_params()
    chunk_index.add_index("vector", index_type="AUTOINDEX", metric_type="IP")
    if bm25:
        chunk_index.add_index("sparse", index_type="SPARSE_INVERTED_INDEX", metric_type="BM25")

    docs = milvus.create_schema(auto_id=False)
    docs.add_field("key", DataType.VARCHAR, max_length=1100, is_primary=True)
    docs.add_field("doc_id", DataType.VARCHAR, max_length=1024)
    docs.add_field("part", DataType.INT64)
    docs.add_field("content_hash", DataType.VARCHAR, max_length=64)
    for name in ("title", "place", "source", "url"):
        docs.add_field(name, DataType.VARCHAR, max_length=4096)
    docs.add_field("date", DataType.VARCHAR, max_length=16)
    docs.add_field("text", DataType.VARCHAR, max_length=65535)
    docs.add_field("unused", DataType.FLOAT_VECTOR, dim=2)  # Milvus wants a vector field in every collection
    doc_index = milvus.prepare_index_params()
    doc_index.add_index("unused", index_type="AUTOINDEX", metric_type="L2")
    return (chunks, chunk_index), (docs, doc_index)


class MilvusStore:
    """An index whose chunks live in Milvus; ``meta.json`` in ``path`` points at the collection."""

    def __init__(self, path: Path, meta: IndexMeta):
        self.path = Path(path)
        self.meta = meta
        self.uri = meta.store["uri"]
        self.collection = meta.store["collection"]
        self.docs = self.collection + "_docs"
        self.milvus = client(self.uri)
        self._client_lexical: LexicalIndex | None = None

    # ---- opening ---------------------------------------------------------------------------
    @classmethod
    def open(cls, path: Path, meta: IndexMeta) -> MilvusStore:
        store = cls(path, meta)
        for name in (store.collection, store.docs):
            if not store.milvus.has_collection(name):
                raise StoreError(
                    f"index {path}: collection {name!r} is not in Milvus at {store.uri}; "
                    f"rebuild it with `rag index build … --store …`"
                )
            store.milvus.load_collection(name)
        return store

    @classmethod
    def _create(cls, path: Path, meta: IndexMeta) -> MilvusStore:
        milvus = client(meta.store["uri"])
        stamp = datetime.now(UTC).strftime("%Y%m%d%H%M%S%f")
        name = "rag_" + re.sub(r"\W", "_", path.name.lower())[:100] + "_" + stamp
        bm25 = has_bm25(milvus)
        (chunks, chunk_index), (docs, doc_index) = _schemas(milvus, meta.embedder.dim, bm25)
        milvus.create_collection(name, schema=chunks, index_params=chunk_index, consistency_level=STRONG)
        milvus.create_collection(name + "_docs", schema=docs, index_params=doc_index, consistency_level=STRONG)
        if not bm25:
            log.warning(
                "Milvus at %s has no BM25 function (server %s, before 2.5): lexical search ranks on this client",
                meta.store["uri"],
                milvus.get_server_version(),
            )
        store = {**meta.store, "collection": name, "lexical": "milvus-bm25" if bm25 else "client-bm25"}
        return cls(path, replace(meta, store=store))

    @classmethod
    @contextmanager
    def edit(cls, path: Path, meta: IndexMeta | None, fresh: bool) -> Iterator[MilvusStore]:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        with locked(path):
            if not fresh:
                store = cls.open(path, meta)
                try:
                    yield store
                finally:  # writes made are kept (whole documents); the counts follow them
                    store._write_meta(path / "meta.json")
                return
            pending = path.parent / f".{path.name}.pending.json"
            store = cls._resume(path, meta, pending) or cls._create(path, meta)
            pending.write_text(store.meta.to_json())
            yield store  # on failure the new collection stays, recorded in `pending`, for the next run to resume
            old = _current_store(path)
            store._swap_in(path)
            pending.unlink(missing_ok=True)
            if old.get("backend") == "milvus" and old.get("collection") != store.collection:
                store._drop(old)

    @classmethod
    def _resume(cls, path: Path, meta: IndexMeta, pending: Path) -> MilvusStore | None:
        if not pending.exists():
            return None
        try:
            before = IndexMeta.from_json(pending.read_text())
        except (StoreError, KeyError, TypeError, ValueError):
            return None
        same = (before.embedder, before.chunking, before.store.get("uri")) == (
            meta.embedder,
            meta.chunking,
            meta.store.get("uri"),
        )
        if not same:
            cls._drop_quietly(before.store)
            return None
        try:
            store = cls.open(path, replace(meta, store=before.store, created=before.created))
        except StoreError:
            return None
        log.info("resuming the build of %s in collection %s", path.name, store.collection)
        return store

    @staticmethod
    def _drop_quietly(spec: dict) -> None:
        try:
            milvus = client(spec["uri"])
            for name in (spec["collection"], spec["collection"] + "_docs"):
                if milvus.has_collection(name):
                    milvus.drop_collection(name)
        except Exception as e:  # an old build that cannot be dropped is only wasted space
            log.warning("could not drop the abandoned collection %s: %s", spec.get("collection"), e)

    def _drop(self, spec: dict) -> None:
        if spec.get("uri") == self.uri:
            self._drop_quietly(spec)

    def _counted_meta(self) -> IndexMeta:
        documents, chunks = self.count()
        now = datetime.now(UTC).isoformat(timespec="seconds")
        return replace(self.meta, documents=documents, chunks=chunks, created=self.meta.created or now, updated=now)

    def _write_meta(self, target: Path) -> None:
        self.meta = self._counted_meta()
        tmp = target.with_name(target.name + ".tmp")
        tmp.write_text(self.meta.to_json())
        tmp.replace(target)

    def _swap_in(self, path: Path) -> None:
        import tempfile

        work = Path(tempfile.mkdtemp(prefix=f".{path.name}.tmp-", dir=path.parent))
        work.chmod(0o755)
        self._write_meta(work / "meta.json")
        swap(work, path)

    # ---- writing ---------------------------------------------------------------------------
    def stored_hash(self, doc_id: str) -> str | None:
        return self.stored_hashes([doc_id]).get(doc_id)

    def stored_hashes(self, doc_ids: list[str]) -> dict[str, str]:
        out = {}
        for start in range(0, len(doc_ids), 500):
            keys = [_doc_key(d, 0) for d in doc_ids[start : start + 500]]
            for row in self.milvus.query(
                self.docs, ids=keys, output_fields=["doc_id", "content_hash"], consistency_level=STRONG
            ):
                out[row["doc_id"]] = row["content_hash"]
        return out

    def add_document(self, doc: Document, chunks: list[Chunk], vectors: np.ndarray | None) -> None:
        if chunks:
            analysed = tokenize([c.title + "\n" + c.text for c in chunks], self.meta.chunking.language)
            rows = [
                {
                    "row": row_id(c.id),
                    **{f: _put(getattr(c, "id" if f == "chunk_id" else f)) for f in _CHUNK_FIELDS},
                    "text_hash": hashlib.sha256(c.text.encode()).hexdigest(),
                    "lexical": " ".join(tokens),
                    "vector": np.asarray(vector, dtype=np.float32).tolist(),
                }
                for c, tokens, vector in zip(chunks, analysed, vectors, strict=True)
            ]
            self.milvus.upsert(self.collection, rows)
        text = doc.text or ""
        parts = [text[i : i + PART_CHARS] for i in range(0, len(text), PART_CHARS)] or [""]
        fields = {k: _put(v) for k, v in asdict(doc).items() if k not in ("id", "text")}
        # part 0 (which holds the content hash) is written last: a document whose hash is stored is complete
        records = [
            {"key": _doc_key(doc.id, i), "doc_id": doc.id, "part": i, "text": part, "unused": [0.0, 0.0], **fields}
            for i, part in enumerate(parts)
        ]
        for record in records:
            record["content_hash"] = content_hash(doc) if record["part"] == 0 else ""
        if len(records) > 1:
            self.milvus.upsert(self.docs, records[1:])
        self.milvus.upsert(self.docs, records[:1])
        self._client_lexical = None

    def remove_document(self, doc_id: str) -> int:
        found = self.milvus.query(
            self.collection, filter=f"doc_id == {json.dumps(doc_id)}", output_fields=["row"], consistency_level=STRONG
        )
        self.milvus.delete(self.docs, filter=f"doc_id == {json.dumps(doc_id)}")
        if found:
            self.milvus.delete(self.collection, ids=[r["row"] for r in found])
        self._client_lexical = None
        return len(found)

    # ---- searching -------------------------------------------------------------------------
    def dense_search(self, vector: np.ndarray, k: int, filters: Filters) -> Ranked:
        return self._search(np.asarray(vector, dtype=np.float32).tolist(), "vector", "IP", k, filters)

    def lexical_search(self, query: str, k: int, filters: Filters) -> Ranked:
        if self.meta.store.get("lexical") == "client-bm25":
            return self._client_lexical_search(query, k, filters)
        terms = tokenize([query], self.meta.chunking.language)[0]
        if not terms:
            return []
        # milvus-lite reports BM25 negated as a distance, a server as a positive score; both best first
        return [(row, abs(score)) for row, score in self._search(" ".join(terms), "sparse", "BM25", k, filters)]

    def _search(self, data, field: str, metric: str, k: int, filters: Filters) -> Ranked:
        found = self.milvus.search(
            self.collection,
            data=[data],
            anns_field=field,
            limit=min(k, 16384),
            filter=filter_expression(filters),
            search_params={"metric_type": metric},
            output_fields=["row"],
            consistency_level=STRONG,
        )
        return [(int(h["row"]), float(h["distance"])) for h in found[0]]

    def _client_lexical_search(self, query: str, k: int, filters: Filters) -> Ranked:
        if self._client_lexical is None:
            rows, tokens = [], []
            for batch in self._scan(self.collection, ["row", "lexical"]):
                rows.extend(r["row"] for r in batch)
                tokens.extend(r["lexical"].split() for r in batch)
            self._client_lexical = LexicalIndex.from_tokens(rows, tokens, self.meta.chunking.language)
        ranked = self._client_lexical.search(query, len(self._client_lexical.rows) if filters else k)
        if filters:
            chunks = self.chunks_by_rows([r for r, _ in ranked])
            ranked = [(r, s) for r, s in ranked if r in chunks and filters.accepts(chunks[r])]
        return ranked[:k]

    # ---- reading ---------------------------------------------------------------------------
    def _scan(self, collection: str, fields: list[str], expression: str = "") -> Iterator[list[dict]]:
        pk = "row" if collection == self.collection else "key"
        iterator = self.milvus.query_iterator(
            collection,
            batch_size=1000,
            filter=expression or (f"{pk} >= 0" if pk == "row" else 'key != ""'),
            output_fields=fields,
            consistency_level=STRONG,
        )
        try:
            while batch := iterator.next():
                yield batch
        finally:
            iterator.close()

    def chunks_by_rows(self, rows: list[int]) -> dict[int, Chunk]:
        out = {}
        for start in range(0, len(rows), 1000):
            batch = [int(r) for r in rows[start : start + 1000]]
            found = self.milvus.query(
                self.collection, ids=batch, output_fields=["row", *_CHUNK_FIELDS], consistency_level=STRONG
            )
            for r in found:
                out[int(r["row"])] = Chunk(*(_get(f, r[f]) for f in _CHUNK_FIELDS))
        return out

    def document(self, doc_id: str) -> Document | None:
        found = self.milvus.query(
            self.docs,
            filter=f"doc_id == {json.dumps(doc_id)}",
            output_fields=["part", "text", "title", "date", "place", "source", "url", "content_hash"],
            consistency_level=STRONG,
        )
        parts = sorted(found, key=lambda r: r["part"])
        if not parts or parts[0]["part"] != 0 or not parts[0]["content_hash"]:
            return None
        first = parts[0]
        fields = {k: _get(k, first[k]) for k in ("title", "date", "place", "source", "url")}
        return Document(doc_id, "".join(p["text"] for p in parts), **fields)

    def doc_ids(self) -> list[str]:
        ids = []
        for batch in self._scan(self.docs, ["doc_id", "content_hash"], 'part == 0 and content_hash != ""'):
            ids.extend(r["doc_id"] for r in batch)
        return sorted(ids)

    def vectors_of(self, chunk_ids: list[str]) -> np.ndarray:
        if not chunk_ids:
            return np.zeros((0, self.meta.embedder.dim), dtype=np.float32)
        found = self.milvus.query(
            self.collection, ids=[row_id(c) for c in chunk_ids], output_fields=["vector"], consistency_level=STRONG
        )
        if not found:
            return np.zeros((0, self.meta.embedder.dim), dtype=np.float32)
        return np.asarray([r["vector"] for r in found], dtype=np.float32)

    def count(self) -> tuple[int, int]:
        def counted(collection: str, expression: str) -> int:
            rows = self.milvus.query(
                collection, filter=expression, output_fields=["count(*)"], consistency_level=STRONG
            )
            return int(rows[0]["count(*)"])

        return counted(self.docs, 'part == 0 and content_hash != ""'), counted(self.collection, "")

    def info(self) -> dict:
        lexical = (
            "BM25 in Milvus over text stemmed by the project"
            if self.meta.store.get("lexical") != "client-bm25"
            else "BM25 on this client (the server has no BM25 function)"
        )
        return {
            "backend": "milvus",
            "where": f"{self.uri} collection {self.collection}",
            "server": str(self.milvus.get_server_version()),
            "vectors": "AUTOINDEX, inner product",
            "lexical": lexical,
        }

    check_embedder = Store.check_embedder  # the same check and message as the default store

    def close(self) -> None:
        """The client is shared by the indexes on the same URI in this process and stays open."""


def _current_store(path: Path) -> dict:
    try:
        return IndexMeta.from_json((path / "meta.json").read_text()).store
    except (OSError, StoreError, KeyError, TypeError, ValueError):
        return {}


def _doc_key(doc_id: str, part: int) -> str:
    return f"{part}\t{doc_id}"


def _put(value):
    return "" if value is None else value


def _get(field: str, value):
    if field in _OPTIONAL and value == "":
        return None
    return value

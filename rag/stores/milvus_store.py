"""The Milvus backend: chunks, vectors and BM25 in a Milvus collection (milvus-lite file, server or cluster).

Two collections per index (``rag.stores.milvus_schema``): one row per chunk, whose text is stored *already
analysed by the project* (lower-cased, stopwords out, Snowball-stemmed with PyStemmer, as
``rag.text.tokenize`` does for bm25s), and each document's content hash and text. Milvus's BM25
function indexes the analysed text with its plain ``standard`` tokenizer, so Italian matching ("ministro"
finds "ministri") does not depend on whether the engine can stem Italian (milvus-lite accepts an Italian
stemmer but does not apply it). A server older than 2.5 has no BM25 function: there the same analysed text
is ranked by bm25s on the client, loaded from the collection once and again after each write of this process.

Every request is made at ``Strong`` consistency, so a search sees the writes made before it. A failure of
Milvus or of its files is one ``StoreError`` line naming the index, the file or server, and the fix; opening
for reading compares the collections' counts with ``meta.json`` (a lost manifest leaves a collection empty),
and never creates a milvus-lite file that is gone.
A rebuild writes new collections and switches ``meta.json`` to them only when complete; a stopped one is
resumed by running it again (``rag.stores.milvus_rebuild``). ``add`` and ``remove`` change the collection
in place, one document at a time (chunks first, its hash last), so rerunning a stopped ``add`` completes it.
"""

from __future__ import annotations

import functools
import hashlib
import json
import logging
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import asdict, replace
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from rag.errors import StoreError
from rag.stores.atomic import is_locked, locked
from rag.stores.folder import Store
from rag.stores.lexical import LexicalIndex, tokenize
from rag.stores.meta import IndexMeta, content_hash, rebuild_hint
from rag.stores.milvus_rebuild import create_collections, current_store, drop_quietly, pending_meta, swap_in, write_meta
from rag.stores.milvus_schema import (
    CHUNK_FIELDS,
    PART_CHARS,
    STRONG,
    client,
    doc_key,
    failure_text,
    filter_expression,
    get_value,
    is_lite,
    load,
    milvus_errors,
    put_value,
    row_id,
    store_spec,
)
from rag.types import Chunk, Document, Filters, Ranked

log = logging.getLogger(__name__)


def _guarded(method):
    """Turn a Milvus failure inside ``method`` into one ``StoreError`` line (``MilvusStore.failure``)."""

    @functools.wraps(method)
    def call(self, *args, **kwargs):
        try:
            return method(self, *args, **kwargs)
        except milvus_errors() as e:
            log.debug("Milvus failed in %s", method.__name__, exc_info=True)
            raise self.failure(e) from e

    return call


class MilvusStore:
    """An index whose chunks live in Milvus; ``meta.json`` in ``path`` points at the collection."""

    def __init__(self, path: Path, meta: IndexMeta, create: bool = False):
        self.path = Path(path)
        self.meta = meta
        self.uri = meta.store["uri"]
        self.collection = meta.store["collection"]
        self.docs = self.collection + "_docs"
        if is_lite(self.uri) and not create and not Path(self.uri).exists():
            raise self.damaged(f"its milvus-lite file {self.uri}", "missing (deleted or moved)")
        self.milvus = client(self.uri, create=create)
        self._client_lexical: LexicalIndex | None = None

    # ---- failures ---------------------------------------------------------------------------
    def damaged(self, what: str, why: str) -> StoreError:
        """The one line for a damaged part of the index: what, why, and the rebuild that fixes it."""
        return StoreError(
            f"index {self.path.name!r} is damaged: {what}: {why}; {rebuild_hint(self.path, store_spec(self.uri))}"
        )

    def failure(self, e: BaseException) -> StoreError:
        """The one line for an exception Milvus raised: in a milvus-lite file it is damage (its files cannot be
        read); from a server it may be the server (down, out of memory), so both fixes are named."""
        if is_lite(self.uri):
            return self.damaged(f"milvus-lite file {self.uri}, collection {self.collection}", failure_text(e))
        return StoreError(
            f"index {self.path.name!r}: Milvus at {self.uri} failed on collection {self.collection}: "
            f"{failure_text(e)}; check that the server is up (`rag index check --name {self.path.name}`), "
            f"else {rebuild_hint(self.path, self.uri)}"
        )

    # ---- opening ---------------------------------------------------------------------------
    @classmethod
    def open(cls, path: Path, meta: IndexMeta, check: bool = True) -> MilvusStore:
        """Open the index's collections; with ``check`` (reading), their counts must be meta.json's."""
        store = cls(path, meta)
        store._load()
        if check:
            store._check_counts()
        return store

    @_guarded
    def _load(self) -> None:
        for name in (self.collection, self.docs):
            if not self.milvus.has_collection(name):
                where = f"Milvus at {self.uri}" if not is_lite(self.uri) else f"the milvus-lite file {self.uri}"
                raise self.damaged(f"collection {name!r}", f"not in {where}")
        load(self.milvus, [self.collection, self.docs])

    def _editing(self) -> Path:
        """The mark an add or remove leaves beside the index while it changes the collections in place: a count
        that differs from meta.json's is a write under way or stopped (finished by running it again), not damage."""
        return self.path.parent / f".{self.path.name}.milvus-edit"

    def _check_counts(self, writer: bool = True) -> None:
        """The collections hold what meta.json says, unless a write is under way or was stopped (``writer``:
        accept that). A milvus-lite file whose manifest was lost reads as empty: searches found nothing."""
        documents, chunks = self.count()
        meta = self.meta
        if (documents, chunks) == (meta.documents, meta.chunks):
            return
        if writer and (self._editing().exists() or is_locked(self.path)):
            return
        raise self.damaged(
            f"collection {self.collection} in {self.uri}",
            f"holds {documents} documents and {chunks} chunks, meta.json says {meta.documents} and {meta.chunks}",
        )

    @classmethod
    @contextmanager
    def edit(cls, path: Path, meta: IndexMeta | None, fresh: bool) -> Iterator[MilvusStore]:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        with locked(path):
            if not fresh:
                store = cls.open(path, meta, check=False)
                if not store._editing().exists():  # else an add stopped midway, finished by this one
                    store._check_counts(writer=False)  # never write over damage (a recount would hide it)
                store._editing().touch()
                done = False
                try:
                    yield store
                    done = True
                finally:  # writes made are kept (whole documents); the counts follow them
                    if done:
                        write_meta(store._recount(), path / "meta.json")
                        store._editing().unlink(missing_ok=True)
                    else:  # the failure is what the caller must see, not a second one counting
                        with suppress(StoreError):
                            write_meta(store._recount(), path / "meta.json")
                            store._editing().unlink(missing_ok=True)
                return
            pending = path.parent / f".{path.name}.pending.json"
            store = cls._resume(path, meta, pending) or cls(path, create_collections(path, meta), create=True)
            pending.write_text(store.meta.to_json())
            yield store  # on failure the new collection stays, recorded in `pending`, for the next run to resume
            old = current_store(path)
            swap_in(store._recount(), path)
            pending.unlink(missing_ok=True)
            previous = old.get("backend") == "milvus" and old.get("uri") == store.uri  # its collections: drop them
            if previous and old.get("collection") != store.collection:
                drop_quietly(old)

    @classmethod
    def _resume(cls, path: Path, meta: IndexMeta, pending: Path) -> MilvusStore | None:
        resumed = pending_meta(meta, pending)
        if resumed is None:
            return None
        try:
            store = cls.open(path, resumed, check=False)
        except StoreError:
            return None
        log.info("resuming the build of %s in collection %s", path.name, store.collection)
        return store

    def _recount(self) -> IndexMeta:
        """``meta`` with the collections' counts and the time now, kept as ``self.meta`` (for meta.json)."""
        documents, chunks = self.count()
        now = datetime.now(UTC).isoformat(timespec="seconds")
        self.meta = replace(
            self.meta, documents=documents, chunks=chunks, created=self.meta.created or now, updated=now
        )
        return self.meta

    # ---- writing ---------------------------------------------------------------------------
    def stored_hash(self, doc_id: str) -> str | None:
        return self.stored_hashes([doc_id]).get(doc_id)

    @_guarded
    def stored_hashes(self, doc_ids: list[str]) -> dict[str, str]:
        out = {}
        for start in range(0, len(doc_ids), 500):
            keys = [doc_key(d, 0) for d in doc_ids[start : start + 500]]
            for row in self.milvus.query(
                self.docs, ids=keys, output_fields=["doc_id", "content_hash"], consistency_level=STRONG
            ):
                out[row["doc_id"]] = row["content_hash"]
        return out

    @_guarded
    def add_document(self, doc: Document, chunks: list[Chunk], vectors: np.ndarray | None) -> None:
        if chunks:
            analysed = tokenize([c.title + "\n" + c.text for c in chunks], self.meta.chunking.language)
            rows = [
                {
                    "row": row_id(c.id),
                    **{f: put_value(getattr(c, "id" if f == "chunk_id" else f)) for f in CHUNK_FIELDS},
                    "text_hash": hashlib.sha256(c.text.encode()).hexdigest(),
                    "lexical": " ".join(tokens),
                    "vector": np.asarray(vector, dtype=np.float32).tolist(),
                }
                for c, tokens, vector in zip(chunks, analysed, vectors, strict=True)
            ]
            self.milvus.upsert(self.collection, rows)
        text = doc.text or ""
        parts = [text[i : i + PART_CHARS] for i in range(0, len(text), PART_CHARS)] or [""]
        fields = {k: put_value(v) for k, v in asdict(doc).items() if k not in ("id", "text")}
        # part 0 (which holds the content hash) is written last: a document whose hash is stored is complete
        records = [
            {"key": doc_key(doc.id, i), "doc_id": doc.id, "part": i, "text": part, "unused": [0.0, 0.0], **fields}
            for i, part in enumerate(parts)
        ]
        for record in records:
            record["content_hash"] = content_hash(doc) if record["part"] == 0 else ""
        if len(records) > 1:
            self.milvus.upsert(self.docs, records[1:])
        self.milvus.upsert(self.docs, records[:1])
        self._client_lexical = None

    @_guarded
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
    @_guarded
    def dense_search(self, vector: np.ndarray, k: int, filters: Filters) -> Ranked:
        return self._search(np.asarray(vector, dtype=np.float32).tolist(), "vector", "IP", k, filters)

    @_guarded
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

    @_guarded
    def chunks_by_rows(self, rows: list[int]) -> dict[int, Chunk]:
        out = {}
        for start in range(0, len(rows), 1000):
            batch = [int(r) for r in rows[start : start + 1000]]
            found = self.milvus.query(
                self.collection, ids=batch, output_fields=["row", *CHUNK_FIELDS], consistency_level=STRONG
            )
            for r in found:
                out[int(r["row"])] = Chunk(*(get_value(f, r[f]) for f in CHUNK_FIELDS))
        return out

    @_guarded
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
        fields = {k: get_value(k, first[k]) for k in ("title", "date", "place", "source", "url")}
        return Document(doc_id, "".join(p["text"] for p in parts), **fields)

    @_guarded
    def doc_ids(self) -> list[str]:
        ids = []
        for batch in self._scan(self.docs, ["doc_id", "content_hash"], 'part == 0 and content_hash != ""'):
            ids.extend(r["doc_id"] for r in batch)
        return sorted(ids)

    @_guarded
    def vectors_of(self, chunk_ids: list[str]) -> np.ndarray:
        if not chunk_ids:
            return np.zeros((0, self.meta.embedder.dim), dtype=np.float32)
        rows = [row_id(c) for c in chunk_ids]
        found = self.milvus.query(self.collection, ids=rows, output_fields=["row", "vector"], consistency_level=STRONG)
        vector_of = {r["row"]: r["vector"] for r in found}  # Milvus gives them in its own order
        if not vector_of:
            return np.zeros((0, self.meta.embedder.dim), dtype=np.float32)
        return np.asarray([vector_of[r] for r in rows if r in vector_of], dtype=np.float32)

    @_guarded
    def count(self) -> tuple[int, int]:
        def counted(collection: str, expression: str) -> int:
            rows = self.milvus.query(
                collection, filter=expression, output_fields=["count(*)"], consistency_level=STRONG
            )
            return int(rows[0]["count(*)"])

        return counted(self.docs, 'part == 0 and content_hash != ""'), counted(self.collection, "")

    @_guarded
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

    def verify(self) -> list[str]:
        """``rag index check`` of this index (call with the write lock held): the counts are meta.json's, every
        chunk belongs to a stored document, and a stored chunk is found by its own vector and its own words."""
        try:
            return self._verify()
        except StoreError as e:
            return [str(e)]
        except milvus_errors() as e:
            return [str(self.failure(e))]

    def _verify(self) -> list[str]:
        problems = []
        documents, chunks = self.count()
        meta = self.meta
        if (documents, chunks) != (meta.documents, meta.chunks):
            stopped = f" ({self._editing().name} is there: an add or remove was stopped; running it again finishes it)"
            problems.append(
                f"collection {self.collection}: holds {documents} documents and {chunks} chunks, meta.json says "
                f"{meta.documents} and {meta.chunks}{stopped if self._editing().exists() else ''}"
            )
        owners = set()
        for batch in self._scan(self.collection, ["row", "doc_id"]):
            owners.update(r["doc_id"] for r in batch)
        orphans = sorted(owners - set(self.doc_ids()))
        if orphans:
            problems.append(
                f"collection {self.collection}: chunks of {len(orphans)} document(s) not stored: {orphans[:5]}"
            )
        probe = self.milvus.query(
            self.collection,
            filter="row >= 0",
            limit=1,
            output_fields=["row", "vector", "lexical"],
            consistency_level=STRONG,
        )
        if probe:
            row, vector, words = probe[0]["row"], probe[0]["vector"], probe[0]["lexical"]
            if row not in [r for r, _ in self.dense_search(np.asarray(vector), 10, Filters())]:
                problems.append(
                    f"collection {self.collection}: the vector search does not find chunk row {row} by its own vector"
                )
            if words.strip() and self.meta.store.get("lexical") != "client-bm25":
                found = self._search(words, "sparse", "BM25", 10, Filters())
                if row not in [r for r, _ in found]:
                    problems.append(
                        f"collection {self.collection}: BM25 does not find chunk row {row} by its own words"
                    )
        return problems

    check_embedder = Store.check_embedder  # the same check and message as the default store

    def close(self) -> None:
        """The client is shared by the indexes on the same URI in this process and stays open."""

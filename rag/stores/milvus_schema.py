"""The Milvus side of the Milvus backend (``rag.stores.milvus_store``): one client per URI, the two
collections' schemas, row keys, field values and filter expressions.

Two collections per index: ``<c>`` holds one row per chunk (dense vector, chunk fields, and the chunk's
text *already analysed by the project*, in ``lexical``; with the engine's BM25 function also its sparse
vector), and ``<c>_docs`` holds each document's content hash and text (split in parts of ``PART_CHARS``:
a Milvus string is at most 64 KiB), keyed by ``doc_key``. Every request is made at ``STRONG`` consistency.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import threading
from pathlib import Path

from rag.errors import StoreError
from rag.types import Filters

STRONG = "Strong"
PART_CHARS = 16_000  # of a document's text per row: at most 64,000 bytes of UTF-8, under Milvus's 65,535
CHUNK_FIELDS = ("chunk_id", "doc_id", "ordinal", "text", "start", "end", "title", "date", "place", "source", "url")
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


def schemas(milvus, dim: int, bm25: bool):
    """The schema and index parameters of the chunk collection and of the document collection (in that order).

    ``bm25``: the engine has the BM25 function, so ``lexical`` is analysed and indexed as a sparse vector.
    """
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


def doc_key(doc_id: str, part: int) -> str:
    """The primary key of part ``part`` of a document in the document collection."""
    return f"{part}\t{doc_id}"


def put_value(value):
    """A chunk or document field as stored: ``None`` becomes ""."""
    return "" if value is None else value


def get_value(field: str, value):
    """A stored field as read back: "" in an optional field becomes ``None``."""
    if field in _OPTIONAL and value == "":
        return None
    return value

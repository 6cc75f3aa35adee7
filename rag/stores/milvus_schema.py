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


def is_lite(uri: str) -> bool:
    """Whether ``uri`` names a milvus-lite file (a path ending in .db) rather than a server."""
    return uri.endswith(".db") and "://" not in uri


def store_spec(uri: str) -> str:
    """The ``--store`` text that names ``uri`` (for the rebuild command in a message)."""
    return f"milvus://{uri}" if is_lite(uri) else uri


def client(uri: str, create: bool = False):
    """One ``MilvusClient`` per URI and process; credentials from ``RAG_MILVUS_TOKEN`` or
    ``RAG_MILVUS_USER``/``RAG_MILVUS_PASSWORD``, database from ``RAG_MILVUS_DB``.

    A milvus-lite file is made only with ``create=True`` (a build): reading or changing an index whose file
    is gone says so instead of making an empty one. A file another process has open says which one.
    """
    key = (uri, os.getpid())
    with _clients_lock:
        if key not in _clients:
            try:
                from pymilvus import MilvusClient
            except ImportError as e:
                hint = "pip install 'rag-news[milvus]'"
                raise StoreError(f"the Milvus store needs pymilvus and milvus-lite: {hint}") from e
            quiet_milvus_logs()
            options = {}
            if os.environ.get("RAG_MILVUS_TOKEN"):
                options["token"] = os.environ["RAG_MILVUS_TOKEN"]
            elif os.environ.get("RAG_MILVUS_USER"):
                options["user"] = os.environ["RAG_MILVUS_USER"]
                options["password"] = os.environ.get("RAG_MILVUS_PASSWORD", "")
            if os.environ.get("RAG_MILVUS_DB"):
                options["db_name"] = os.environ["RAG_MILVUS_DB"]
            if not is_lite(uri):
                options["timeout"] = 30
            elif not create and not Path(uri).exists():
                raise StoreError(f"the milvus-lite file {uri} is missing (deleted or moved)")
            else:
                Path(uri).parent.mkdir(parents=True, exist_ok=True)
            try:
                _clients[key] = MilvusClient(uri=uri, **options)
            except Exception as e:  # pymilvus raises several kinds: all mean "cannot reach it"
                holder = lock_holder(Path(uri)) if is_lite(uri) else None
                if holder is not None:
                    raise StoreError(
                        f"the milvus-lite file {uri} is in use by another process ({holder}); milvus-lite lets one "
                        "process open a file at a time: stop that one, or keep the index on a Milvus server "
                        "(`--store http://host:19530`) to share it"
                    ) from e
                raise StoreError(f"cannot connect to Milvus at {uri}: {failure_text(e)}") from e
        return _clients[key]


def quiet_milvus_logs() -> None:
    """pymilvus and milvus-lite log each failure with its traceback before raising it; the caller turns the
    exception into one line, so their logs are shown only with ``rag -v``."""
    if logging.getLogger("rag").isEnabledFor(logging.DEBUG):
        return
    for name in ("pymilvus.decorators", "milvus_lite", "grpc._server"):
        logging.getLogger(name).setLevel(logging.CRITICAL)
    # milvus-lite has no AllocTimestamp: query_iterator falls back to a client timestamp (fine under
    # Strong consistency) but logs an error and a warning on every scan
    logging.getLogger("pymilvus.client.iterator.query_iterator").setLevel(logging.CRITICAL)


def lock_holder(file: Path) -> str | None:
    """Which process holds milvus-lite's lock on ``file`` ("pid 123: rag serve …"), from /proc/locks (Linux);
    "another process" if the lock is held but its owner cannot be known; ``None`` if it is not held."""
    import fcntl

    lock = file / "LOCK" if file.is_dir() else file.with_name(file.name + ".lock")
    try:
        inode = lock.stat().st_ino
        with open(lock, "rb") as handle:
            fcntl.flock(handle, fcntl.LOCK_SH | fcntl.LOCK_NB)
            fcntl.flock(handle, fcntl.LOCK_UN)
        return None  # free: the failure was something else
    except BlockingIOError:
        pass
    except OSError:
        return None
    try:
        for line in Path("/proc/locks").read_text().splitlines():
            fields = line.split()
            if len(fields) > 5 and fields[1] == "FLOCK" and fields[5].rsplit(":", 1)[-1] == str(inode):
                pid = int(fields[4])
                try:
                    argv = Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace")
                    command = " ".join(argv.replace("\0", " ").split())
                except OSError:
                    command = ""
                return f"pid {pid}: {command[:80]}" if command else f"pid {pid}"
    except (OSError, ValueError):
        pass
    return "another process"


def milvus_errors() -> tuple[type[BaseException], ...]:
    """The exceptions a Milvus call raises when the engine or its files fail."""
    from pymilvus.exceptions import MilvusException

    kinds: list[type[BaseException]] = [MilvusException]
    try:
        import grpc

        kinds.append(grpc.RpcError)
    except ImportError:  # pragma: no cover - pymilvus depends on grpcio
        pass
    return tuple(kinds)


def failure_text(e: BaseException) -> str:
    """A Milvus exception's message, on one line ("Unexpected end of stream", not the class's repr)."""
    text = getattr(e, "message", None) or str(e)
    return " ".join(str(text).split())[:200]


def has_bm25(milvus) -> bool:
    """Whether the engine has the BM25 function (milvus-lite 3, Milvus 2.5 and later)."""
    version = str(milvus.get_server_version())
    if version.startswith("milvus_lite"):
        return True
    found = re.search(r"(\d+)\.(\d+)", version)
    return bool(found) and (int(found[1]), int(found[2])) >= (2, 5)


def load(milvus, names: list[str]) -> None:
    """Load the collections ``names`` for searching, and return once all are loaded. The loads are asked for
    together and then waited for: a server takes a second or two to load even an empty collection."""
    for name in names:
        milvus.load_collection(name, _async=True)
    for name in names:
        milvus.load_collection(name)  # loading or loaded already: waits until it is


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

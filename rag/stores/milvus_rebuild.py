"""The collections of a Milvus index's rebuild (``rag.stores.milvus_store``): made new, resumed, switched in, dropped.

A rebuild writes a new pair of collections, recorded in ``.<name>.pending.json`` beside the index folder,
and switches ``meta.json`` to it only when complete (then the old pair is dropped): until then searches use
the previous collections, and a build that was stopped is resumed by running it again (documents whose
content hash is already stored are skipped).
"""

from __future__ import annotations

import logging
import re
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

from rag.errors import StoreError
from rag.stores.atomic import swap, working_copy
from rag.stores.meta import KEPT_FILES, IndexMeta
from rag.stores.milvus_schema import STRONG, client, has_bm25, load, schemas

log = logging.getLogger(__name__)


def create_collections(path: Path, meta: IndexMeta) -> IndexMeta:
    """A new, empty pair of collections for a rebuild of the index at ``path``; ``meta`` pointing at them."""
    milvus = client(meta.store["uri"], create=True)
    stamp = datetime.now(UTC).strftime("%Y%m%d%H%M%S%f")
    name = "rag_" + re.sub(r"\W", "_", path.name.lower())[:100] + "_" + stamp
    bm25 = has_bm25(milvus)
    (chunks, chunk_index), (docs, doc_index) = schemas(milvus, meta.embedder.dim, bm25)
    for collection, schema, index in ((name, chunks, chunk_index), (name + "_docs", docs, doc_index)):
        milvus.create_collection(collection, schema=schema, consistency_level=STRONG)
        # an empty collection's index is complete once made: no waiting for a build (pymilvus sleeps 0.5 s)
        milvus.create_index(collection, index, sync=False)
    load(milvus, [name, name + "_docs"])
    if not bm25:
        log.warning(
            "Milvus at %s has no BM25 function (server %s, before 2.5): lexical search ranks on this client",
            meta.store["uri"],
            milvus.get_server_version(),
        )
    store = {**meta.store, "collection": name, "lexical": "milvus-bm25" if bm25 else "client-bm25"}
    return replace(meta, store=store)


def pending_meta(meta: IndexMeta, pending: Path) -> IndexMeta | None:
    """``meta`` pointing at the stopped rebuild recorded in ``pending``, if it was made with the same embedder,
    chunking and URI; ``None`` if there is none (one made differently is dropped)."""
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
        drop_quietly(before.store)
        return None
    return replace(meta, store=before.store, created=before.created)


def drop_quietly(spec: dict) -> None:
    """Drop the collections ``spec`` (an ``IndexMeta.store``) names; a failure is only logged."""
    try:
        milvus = client(spec["uri"])
        for name in (spec["collection"], spec["collection"] + "_docs"):
            if milvus.has_collection(name):
                milvus.drop_collection(name)
    except Exception as e:  # an old build that cannot be dropped is only wasted space
        log.warning("could not drop the abandoned collection %s: %s", spec.get("collection"), e)


def current_store(path: Path) -> dict:
    """Where the index at ``path`` keeps its chunks now (``{}`` if its meta.json cannot be read)."""
    try:
        return IndexMeta.from_json((path / "meta.json").read_text()).store
    except (OSError, StoreError, KeyError, TypeError, ValueError):
        return {}


def write_meta(meta: IndexMeta, target: Path) -> None:
    """Write ``meta`` to ``target`` by rename, so a reader sees the old file or the new one."""
    tmp = target.with_name(target.name + ".tmp")
    tmp.write_text(meta.to_json())
    tmp.replace(target)


def swap_in(meta: IndexMeta, path: Path) -> None:
    """Make ``meta`` the index at ``path``: a new folder holding it, swapped in (call with the write lock held)."""
    work = working_copy(path, KEPT_FILES)  # the feed list and example questions belong to the index
    write_meta(meta, work / "meta.json")
    swap(work, path)

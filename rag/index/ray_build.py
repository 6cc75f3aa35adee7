"""``rag index build --workers N``: embed on Ray (a Ray Data actor pool, the model loaded once per actor)
and write to the chosen store. Used only when asked for: the default build never imports Ray.

The driver reads and chunks the articles, skips what is already stored (a rebuild that was stopped, in a
Milvus store: same content hash) or already embedded (the embedding cache, by content hash), and sends
the rest to the actors; it writes each document as soon as all its chunk vectors are back, and puts every
vector in the embedding cache as it arrives. So a killed build, run again, embeds only what it had not
finished. Ray is started locally (``ray.init(num_cpus=…, _node_ip_address="127.0.0.1")``) unless
``RAY_ADDRESS`` names a cluster; there every node needs the project installed and the model set up
(``rag setup``, same ``RAG_MODEL_DIR``).
"""

from __future__ import annotations

import logging
import os
import time
from pathlib import Path

import numpy as np

from rag.errors import RagError
from rag.index.chunk import DEFAULT_CHUNKING, chunk_document
from rag.index.indexer import IndexReport, prune
from rag.models.embed import Embedder, load_embedder
from rag.models.embed_cache import EmbeddingCache, cache_key
from rag.models.embed_info import EmbedderInfo
from rag.stores.meta import IndexMeta, content_hash
from rag.stores.registry import edit_store, parse_store
from rag.types import ChunkSettings, Document

log = logging.getLogger(__name__)


class EmbedActor:
    """One Ray actor: loads the embedder once, then embeds batches of prompted texts."""

    def __init__(self, info: EmbedderInfo, threads: int):
        import torch

        torch.set_num_threads(max(1, threads))
        self.embedder = load_embedder(info)

    def __call__(self, batch: dict) -> dict:
        return {"key": batch["key"], "vector": self.embedder.encode(list(batch["text"]))}


def start_ray(workers: int) -> None:
    import ray

    if ray.is_initialized():
        return
    env = {k: v for k, v in os.environ.items() if k.startswith(("RAG_", "HF_", "TOKENIZERS_", "OMP_"))}
    if os.environ.get("RAY_ADDRESS"):
        ray.init(runtime_env={"env_vars": env}, logging_level=logging.WARNING)
        return
    ray.init(
        num_cpus=max(workers, os.cpu_count() or 2),
        _node_ip_address="127.0.0.1",
        include_dashboard=False,
        runtime_env={"env_vars": env},
        logging_level=logging.WARNING,
        log_to_driver=False,
    )


def build_index_ray(
    docs: list[Document],
    path: Path,
    embedder: Embedder,
    settings: ChunkSettings = DEFAULT_CHUNKING,
    store: str | None = None,
    workers: int = 2,
    cache: EmbeddingCache | None = None,
    batch_size: int = 32,
) -> IndexReport:
    """As ``rag.index.indexer.build_index``, the embedding spread over ``workers`` Ray actors."""
    started = time.perf_counter()
    if not docs:
        raise RagError("no documents to index; give .txt/.md/.jsonl/SQuAD files that are not empty")
    cache = cache if cache is not None else EmbeddingCache()
    report = IndexReport(path)
    meta = IndexMeta(embedder=embedder.info, chunking=settings, store=parse_store(store))
    with edit_store(path, meta=meta, fresh=True) as target:
        stored = target.stored_hashes([d.id for d in docs])
        todo, inputs = [], {}
        for doc in docs:
            if stored.get(doc.id) == content_hash(doc):
                report.skipped.append(doc.id)
                continue
            if doc.id in stored:
                target.remove_document(doc.id)
            report.added.append(doc.id)
            chunks = chunk_document(doc, embedder.count_tokens, settings)
            texts = [embedder.document_input(c) for c in chunks]
            keys = [cache_key(embedder.info, t) for t in texts]
            inputs.update(zip(keys, texts, strict=True))
            todo.append((doc, chunks, keys))
        vectors = cache.get_many(list(inputs))
        missing = [{"key": k, "text": t} for k, t in inputs.items() if k not in vectors]
        report.chunks_embedded = len(missing)
        log.info("%d documents to write, %d chunks to embed on Ray (%d cached)", len(todo), len(missing), len(vectors))
        waiting = _write_ready(target, todo, vectors)
        if missing:
            for batch in _embed_on_ray(missing, embedder.info, workers, batch_size):
                fresh = dict(zip(batch["key"].tolist(), batch["vector"], strict=True))
                cache.put_many(fresh)
                vectors.update(fresh)
                waiting = _write_ready(target, waiting, vectors)
        if waiting:
            raise RagError(f"Ray returned no vectors for {len(waiting)} documents (e.g. {waiting[0][0].id})")
        prune(target, docs)
    report.seconds = time.perf_counter() - started
    return report


def _embed_on_ray(rows: list[dict], info: EmbedderInfo, workers: int, batch_size: int):
    import ray

    start_ray(workers)
    context = ray.data.DataContext.get_current()
    context.enable_progress_bars = False
    context.print_on_execution_start = False
    logging.getLogger("ray.data").setLevel(max(logging.WARNING, log.getEffectiveLevel()))
    cpus = float(ray.available_resources().get("CPU", workers)) / workers
    dataset = ray.data.from_items(rows).map_batches(
        EmbedActor,
        fn_constructor_args=(info, int(cpus) or 1),
        batch_size=batch_size,
        compute=ray.data.ActorPoolStrategy(size=workers),
        num_cpus=min(1.0, cpus),
        batch_format="numpy",
    )
    yield from dataset.iter_batches(batch_size=batch_size, batch_format="numpy")


def _write_ready(target, waiting: list, vectors: dict) -> list:
    """Write every document whose chunk vectors are all known; return the others."""
    left = []
    for doc, chunks, keys in waiting:
        if all(k in vectors for k in keys):
            target.add_document(doc, chunks, np.stack([vectors[k] for k in keys]) if keys else None)
        else:
            left.append((doc, chunks, keys))
    return left

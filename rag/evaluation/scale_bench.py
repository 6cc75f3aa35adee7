"""``rag bench retrieval --scale N[,N…]``: the vector and BM25 indexes at archive sizes.

Dense side, on synthetic vectors (384 dims, unit length, drawn around 2,000 random centres so that they
cluster as sentence embeddings do; queries are stored vectors plus noise): FAISS flat (exact), FAISS's
approximate index (``choose_ann``: HNSW up to 500k vectors, IVF-PQ re-ranked with the exact vectors
above; ``--ann`` forces one) and Milvus (milvus-lite, AUTOINDEX). For each: build time, memory added
to the process, size on disk, single-query p50/p95 and recall@10 against exact search. And the product's
own store (``bench_store``): an index folder of N synthetic chunks written as ``rag index build`` writes it
(exact below ``rag.stores.folder.APPROXIMATE_FROM`` chunks, approximate from there), opened and searched as
``Retriever`` does; ``--store-only`` measures it alone.

Lexical side, on real Italian text: BM25 (bm25s, Italian stemmer) over N passages made of 3 sentences
drawn from SQuAD-it dev, queried with its real questions.
"""

from __future__ import annotations

import gc
import os
import random
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from rag.evaluation.metrics import percentile

ANN = ("auto", "flat", "hnsw", "ivfpq")
BM25_MAX = 100_000  # BM25 over real text is measured up to this size (its build time grows with the text)


@dataclass
class ScaleRow:
    engine: str
    index: str
    n: int
    build_s: float
    ram_mb: float
    disk_mb: float
    p50_ms: float
    p95_ms: float
    recall_10: float | None  # None for BM25 (no exact reference)


def choose_ann(n: int, ann: str = "auto") -> str:
    """The approximate index for ``n`` vectors: HNSW (fast to build, no training) up to 500k, else IVF-PQ.

    >>> choose_ann(100_000), choose_ann(1_000_000), choose_ann(10, "ivfpq")
    ('hnsw', 'ivfpq', 'ivfpq')
    """
    if ann != "auto":
        return ann
    return "hnsw" if n <= 500_000 else "ivfpq"


def synthetic(n: int, dim: int = 384, queries: int = 200, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((2000, dim)).astype(np.float32)
    data = np.empty((n, dim), dtype=np.float32)
    for start in range(0, n, 100_000):
        end = min(n, start + 100_000)
        data[start:end] = centres[rng.integers(0, len(centres), end - start)]
        data[start:end] += 0.6 * rng.standard_normal((end - start, dim)).astype(np.float32)
    data /= np.linalg.norm(data, axis=1, keepdims=True)
    picked = data[rng.integers(0, n, queries)] + 0.3 * rng.standard_normal((queries, dim)).astype(np.float32) / 19.6
    picked /= np.linalg.norm(picked, axis=1, keepdims=True)
    return data, picked.astype(np.float32)


def _rss_mb() -> float:
    import psutil

    return psutil.Process().memory_info().rss / 2**20


def _faiss_index(kind: str, data: np.ndarray):
    import faiss

    dim = data.shape[1]
    if kind == "flat":
        index = faiss.IndexFlatIP(dim)
    elif kind == "hnsw":
        index = faiss.IndexHNSWFlat(dim, 32, faiss.METRIC_INNER_PRODUCT)
        index.hnsw.efConstruction = 80
        index.hnsw.efSearch = 96
    elif kind == "ivfpq":
        nlist = int(4 * np.sqrt(len(data)))
        base = faiss.index_factory(dim, f"IVF{nlist},PQ{dim // 8}x8", faiss.METRIC_INNER_PRODUCT)
        index = faiss.IndexRefineFlat(base)
        index.k_factor = 32  # 1M clustered vectors: recall@10 0.772 with 8, 0.995 with 32 (+0.1 ms)
        faiss.extract_index_ivf(base).nprobe = 24
        train = data[np.random.default_rng(1).choice(len(data), min(len(data), 40 * nlist), replace=False)]
        index.train(train)
    else:
        raise ValueError(f"unknown index {kind!r}; use one of {', '.join(ANN)}")
    for start in range(0, len(data), 100_000):
        index.add(data[start : start + 100_000])
    return index


def _latencies(search, queries: np.ndarray) -> list[float]:
    out = []
    for q in queries:
        started = time.perf_counter()
        search(q)
        out.append((time.perf_counter() - started) * 1000)
    return out


def _recall(found: list[list[int]], exact: np.ndarray) -> float:
    return float(np.mean([len(set(f[:10]) & set(e[:10].tolist())) / 10 for f, e in zip(found, exact, strict=True)]))


def bench_faiss(kind: str, data: np.ndarray, queries: np.ndarray, exact: np.ndarray | None):
    """The figures of one FAISS index, and the index (the flat one gives the exact neighbours)."""
    import faiss

    gc.collect()
    before, started = _rss_mb(), time.perf_counter()
    index = _faiss_index(kind, data)
    build = time.perf_counter() - started
    ram = _rss_mb() - before
    with tempfile.TemporaryDirectory() as folder:
        faiss.write_index(index, f"{folder}/v.faiss")
        disk = os.path.getsize(f"{folder}/v.faiss") / 2**20
    latencies = _latencies(lambda q: index.search(q[None, :], 10), queries)
    found = index.search(queries, 10)[1].tolist()
    recall = 1.0 if exact is None else _recall(found, exact)
    return ScaleRow("FAISS", kind, len(data), build, ram, disk, *_p(latencies), recall), index


def bench_milvus(data: np.ndarray, queries: np.ndarray, exact: np.ndarray, folder: Path) -> ScaleRow:
    from pymilvus import DataType

    from rag.stores.milvus_schema import client as connect

    gc.collect()
    before, started = _rss_mb(), time.perf_counter()
    client = connect(str(folder / "scale.db"), create=True)
    schema = client.create_schema(auto_id=False)
    schema.add_field("id", DataType.INT64, is_primary=True)
    schema.add_field("vector", DataType.FLOAT_VECTOR, dim=data.shape[1])
    params = client.prepare_index_params()
    params.add_index("vector", index_type="AUTOINDEX", metric_type="IP")
    client.create_collection("scale", schema=schema, index_params=params, consistency_level="Strong")
    for start in range(0, len(data), 5000):
        block = data[start : start + 5000]
        client.insert("scale", [{"id": start + i, "vector": v} for i, v in enumerate(block.tolist())])
    client.flush("scale")
    build = time.perf_counter() - started
    ram = _rss_mb() - before

    def search(q):
        return client.search("scale", data=[q.tolist()], limit=10, search_params={"metric_type": "IP"})

    search(queries[0])
    latencies = _latencies(search, queries)
    found = [[h["id"] for h in search(q)[0]] for q in queries]
    disk = sum(f.stat().st_size for f in folder.rglob("*") if f.is_file()) / 2**20
    client.drop_collection("scale")
    row = ScaleRow("Milvus (milvus-lite)", "AUTOINDEX", len(data), build, ram, disk, 0, 0, _recall(found, exact))
    row.p50_ms, row.p95_ms = percentile(latencies, 50), percentile(latencies, 95)
    return row


def bench_bm25(n: int, dataset: Path) -> ScaleRow:
    from rag.evaluation.gold import load_gold
    from rag.sources.ingest import read_squad
    from rag.stores.lexical import LexicalIndex
    from rag.text import sentence_spans

    sentences = [d.text[s.start : s.end] for d in read_squad(dataset) for s in sentence_spans(d.text)]
    rng = random.Random(0)
    texts = [" ".join(rng.sample(sentences, 3)) for _ in range(n)]
    questions = [q.question for q in load_gold(dataset)][:200]
    gc.collect()
    before, started = _rss_mb(), time.perf_counter()
    index = LexicalIndex.build(list(range(n)), texts)
    build = time.perf_counter() - started
    ram = _rss_mb() - before
    with tempfile.TemporaryDirectory() as folder:
        index.save(Path(folder))
        disk = sum(f.stat().st_size for f in Path(folder).rglob("*") if f.is_file()) / 2**20
    latencies = _latencies(lambda q: index.search(q, 10), questions)
    return ScaleRow("bm25s", "BM25, Italian stemmer", n, build, ram, disk, *_p(latencies), None)


def _p(latencies: list[float]) -> tuple[float, float]:
    return percentile(latencies, 50), percentile(latencies, 95)


def bench_store(data: np.ndarray, queries: np.ndarray, exact: np.ndarray, folder: Path, depth: int = 50) -> ScaleRow:
    """The product's store at ``len(data)`` chunks: written through ``FaissStore.edit`` as ``rag index build``
    writes an index (SQLite, BM25, the vector index ``fit_vectors`` picks), opened as ``rag serve`` opens it,
    and searched as ``Retriever`` searches (``dense_search`` at its depth, 50); recall@10 of that ranking's top
    10 against exact search. Chunk i of the data is row i + 1 (a new index numbers its rows from 1)."""
    from rag.models.embed_info import EmbedderInfo
    from rag.stores.faiss_store import FaissStore
    from rag.stores.folder import is_approximate
    from rag.stores.meta import IndexMeta
    from rag.types import Chunk, ChunkSettings, Document, Filters

    n, dim = data.shape
    path = folder / "index" / "synthetic"
    meta = IndexMeta(EmbedderInfo("synthetic", dim, "", "", 512), ChunkSettings())
    gc.collect()
    started = time.perf_counter()
    with FaissStore.edit(path, meta, fresh=True) as store:
        for d, start in enumerate(range(0, n, 10)):  # documents of 10 chunks
            doc_id, end = f"doc-{d}", min(n, start + 10)
            chunks = [
                Chunk(f"{doc_id}::{j}", doc_id, j, f"Notizia sintetica {d}, parte {j}.", 0, 0, f"Notizia {d}")
                for j in range(end - start)
            ]
            store.add_document(
                Document(doc_id, " ".join(c.text for c in chunks), f"Notizia {d}"), chunks, data[start:end]
            )
    build = time.perf_counter() - started
    disk = sum(f.stat().st_size for f in path.rglob("*") if f.is_file()) / 2**20
    gc.collect()
    before = _rss_mb()
    store = FaissStore.open(path)
    ram = _rss_mb() - before
    try:
        vectors = store.vectors
        kind = f"IVF{vectors.nlist},Flat nprobe {vectors.nprobe}" if is_approximate(vectors) else "flat (exact)"
        none = Filters()
        store.dense_search(queries[0], depth, none)
        latencies = _latencies(lambda q: store.dense_search(q, depth, none), queries)
        found = [[row - 1 for row, _ in store.dense_search(q, depth, none)] for q in queries]
    finally:
        store.close()
    return ScaleRow("rag store (FAISS folder)", kind, n, build, ram, disk, *_p(latencies), _recall(found, exact))


def exact_neighbours(data: np.ndarray, queries: np.ndarray, k: int = 10) -> np.ndarray:
    import faiss

    index = faiss.IndexFlatIP(data.shape[1])
    for start in range(0, len(data), 100_000):
        index.add(data[start : start + 100_000])
    return index.search(queries, k)[1]


def run_scale(
    sizes: list[int],
    ann: str = "auto",
    milvus: bool = True,
    dataset: Path | None = None,
    queries: int = 200,
    store_only: bool = False,
) -> list[ScaleRow]:
    """The rows of ``scale_table`` for each size; ``store_only``: only the product's store (``bench_store``)."""
    rows = []
    for n in sizes:
        data, probes = synthetic(n, queries=queries)
        if store_only:
            exact = exact_neighbours(data, probes)
        else:
            flat, exact_index = bench_faiss("flat", data, probes, None)
            exact = exact_index.search(probes, 10)[1]
            del exact_index
            rows.append(flat)
            kind = choose_ann(n, ann)
            if kind != "flat":
                rows.append(bench_faiss(kind, data, probes, exact)[0])
            if milvus:
                with tempfile.TemporaryDirectory() as folder:
                    rows.append(bench_milvus(data, probes, exact, Path(folder)))
        with tempfile.TemporaryDirectory() as folder:
            rows.append(bench_store(data, probes, exact, Path(folder)))
        del data
        if dataset is not None and n <= BM25_MAX and not store_only:
            rows.append(bench_bm25(n, dataset))
    return rows


def scale_table(rows: list[ScaleRow]) -> str:
    head = "| chunks | engine | index | build s | RAM MB | disk MB | query p50 ms | p95 ms | recall@10 |\n"
    head += "|---|---|---|---|---|---|---|---|---|\n"
    return head + "".join(
        f"| {r.n:,} | {r.engine} | {r.index} | {r.build_s:.1f} | {r.ram_mb:.0f} | {r.disk_mb:.0f} | {r.p50_ms:.1f} "
        f"| {r.p95_ms:.1f} | {'–' if r.recall_10 is None else f'{r.recall_10:.3f}'} |\n"
        for r in rows
    )

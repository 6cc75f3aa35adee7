"""Issue 31, item 9: from ``APPROXIMATE_FROM`` chunks the folder's vectors are an inverted file (IVF, exact scores
within the lists read), written by the same build, add and remove as the exact index: ids stay the chunk rows,
adds and removes are made in place, and a filtered search still finds what an exact one finds. The threshold is
lowered here so that a few hundred chunks cross it; ``rag bench retrieval --scale N --store-only`` measures the
product's store at archive sizes."""

from __future__ import annotations

import hashlib
import re

import faiss
import numpy as np
import pytest

import rag.stores.folder as folder
from rag.evaluation.scale_bench import bench_store, exact_neighbours, synthetic
from rag.index.indexer import add_to_index, build_index, remove_from_index
from rag.stores.check import check_index
from rag.stores.faiss_store import FaissStore
from rag.stores.folder import fit_vectors, is_approximate, new_vectors, search_vectors, stored_vectors, vector_ids
from rag.types import Document, Filters

from tests.conftest import FakeEmbedder

TOPICS = [[f"tema{t}parola{w}" for w in range(8)] for t in range(10)]


def article(i: int) -> Document:
    """Ten topics of eight words each (so that the vectors cluster, as articles do by subject), three words of
    its own and a date."""
    words = " ".join(TOPICS[i % 10] + [f"proprio{i}x{j}" for j in range(3)])
    return Document(f"a{i:04d}.txt", f"Roma – {words}.", f"Articolo {i}", date=f"2026-01-{1 + i % 28:02d}")


class WordVectors(FakeEmbedder):
    """Each word a random direction of its own (seeded by the word), a text the sum: texts sharing most words
    are close, and no two articles tie (the hashed bag of words puts a topic's articles on almost one point)."""

    def encode(self, texts):
        self.calls += len(texts)
        out = np.zeros((len(texts), self.info.dim), dtype=np.float32)
        for i, text in enumerate(texts):
            for word in re.findall(r"\w+", text.lower()):
                seed = int(hashlib.md5(word.encode()).hexdigest()[:8], 16)
                out[i] += np.random.default_rng(seed).standard_normal(self.info.dim)
            out[i] /= max(np.linalg.norm(out[i]), 1e-9)
        return out


def clustered(n: int, dim: int = 32, centres: int = 20, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    data = rng.standard_normal((centres, dim))[rng.integers(0, centres, n)] + 0.15 * rng.standard_normal((n, dim))
    return (data / np.linalg.norm(data, axis=1, keepdims=True)).astype(np.float32)


@pytest.fixture
def threshold(monkeypatch):
    monkeypatch.setattr(folder, "APPROXIMATE_FROM", 200)
    return 200


def vectors_on_disk(path) -> faiss.Index:
    return faiss.read_index(str(path / "vectors.faiss"))


def test_a_build_above_the_threshold_writes_an_approximate_index(tmp_path, threshold):
    path, embedder = tmp_path / "index" / "big", WordVectors()
    build_index([article(i) for i in range(300)], path, embedder)
    index = vectors_on_disk(path)
    assert is_approximate(index) and index.ntotal == 300 and index.nlist == int(4 * np.sqrt(300))
    assert check_index(path).ok, check_index(path).problems
    store = FaissStore.open(path)
    try:
        assert "IndexIVFFlat (approximate" in store.info()["vectors"]
        rows = {c.doc_id: r for r, c in store.store.all_chunks()}
        for i in (0, 17, 299):  # each article is its own nearest neighbour, with its exact cosine
            query = embedder.encode([f"Articolo {i}\n{article(i).text}"])[0]
            ranked = store.dense_search(query, 10, Filters())
            assert ranked[0][0] == rows[article(i).id]
        stored = store.vectors_of([f"{article(5).id}::0"])
        assert stored.shape == (1, embedder.info.dim) and np.isclose(np.linalg.norm(stored[0]), 1.0, atol=1e-5)
    finally:
        store.close()


def test_below_the_threshold_the_index_stays_exact(tmp_path, threshold):
    path = tmp_path / "index" / "small"
    build_index([article(i) for i in range(150)], path, WordVectors())
    assert not is_approximate(vectors_on_disk(path))


def test_adds_and_removes_are_made_in_place_with_stable_ids(tmp_path, threshold):
    path, embedder = tmp_path / "index" / "big", WordVectors()
    build_index([article(i) for i in range(300)], path, embedder)
    before = vectors_on_disk(path)
    ids_before = set(vector_ids(before).tolist())
    add_to_index([article(i) for i in range(300, 320)], path, embedder=embedder)
    remove_from_index([article(3).id, article(4).id], path)
    after = vectors_on_disk(path)
    assert is_approximate(after) and after.nlist == before.nlist  # not retrained: added to its lists
    kept = set(vector_ids(after).tolist())
    assert len(kept) == 318 and len(ids_before - kept) == 2 and len(kept - ids_before) == 20
    store = FaissStore.open(path)
    try:
        gone = [r for r, c in store.store.all_chunks() if c.doc_id in (article(3).id, article(4).id)]
        assert gone == []
        ids_of, vectors_of = stored_vectors(after)
        assert set(ids_of.tolist()) == kept and vectors_of.shape == (318, embedder.info.dim)
        for row in list(kept)[:5]:  # every kept chunk is still found by its own vector, under its own row
            assert store.dense_search(vectors_of[list(ids_of).index(row)], 5, Filters())[0][0] == row
    finally:
        store.close()
    assert check_index(path).ok, check_index(path).problems


def test_a_filtered_search_reads_more_lists_until_it_finds(tmp_path, threshold):
    """A date that one article in 300 has: the approximate index reads more of its lists, finally all, as the
    exact one reads more vectors, so the filtered search finds the article whatever the query."""
    path, embedder = tmp_path / "index" / "big", WordVectors()
    docs = [article(i) for i in range(300)]
    docs[123] = Document(docs[123].id, docs[123].text, docs[123].title, date="2025-06-30")
    build_index(docs, path, embedder)
    store = FaissStore.open(path)
    try:
        query = embedder.encode([" ".join(TOPICS[7])])[0]  # close to topic 7, far from article 123 (topic 3)
        found = store.dense_search(query, 10, Filters(date_from="2025-06-30", date_to="2025-06-30"))
        assert [store.chunks_by_rows([r])[r].doc_id for r, _ in found] == [docs[123].id]
    finally:
        store.close()


def test_the_index_follows_its_size():
    """Exact below the threshold, IVF from it; retrained when it holds 4 times what it was trained for;
    exact again below half; otherwise kept as it is (adds and removes in place)."""
    data = clustered(3200)
    exact = new_vectors(32)
    exact.add_with_ids(data[:1000], np.arange(1000, dtype=np.int64) + 1)
    assert fit_vectors(exact, approximate_from=2000) is exact
    ivf = fit_vectors(exact, approximate_from=800)
    assert is_approximate(ivf) and ivf.nlist == int(4 * np.sqrt(1000)) and ivf.ntotal == 1000
    assert np.allclose(ivf.reconstruct(501), data[500])
    ivf.add_with_ids(data[1000:3200], np.arange(1000, 3200, dtype=np.int64) + 1)
    assert fit_vectors(ivf, approximate_from=800) is ivf  # 3.2 times: lists 1.8 times as long, kept
    ivf.add_with_ids(data[:900], np.arange(900, dtype=np.int64) + 10_000)
    grown = fit_vectors(ivf, approximate_from=800)
    assert grown is not ivf and grown.nlist == int(4 * np.sqrt(4100))
    assert np.allclose(grown.reconstruct(10_005), data[5])
    grown.remove_ids(np.concatenate([np.arange(1, 3201), np.arange(10_000, 10_600)]).astype(np.int64))
    small = fit_vectors(grown, approximate_from=800)  # 300 left, below half of 800
    assert not is_approximate(small) and vector_ids(small).tolist() == list(range(10_600, 10_900))
    assert np.allclose(small.reconstruct(10_650), data[650])


def test_search_widens_to_every_list():
    data, queries = clustered(2000), clustered(20, seed=1)
    exact = new_vectors(32)
    exact.add_with_ids(data, np.arange(2000, dtype=np.int64))
    ivf = fit_vectors(exact, approximate_from=1000)
    everything = search_vectors(ivf, queries, 10, np.inf)[1]
    assert (everything == exact.search(queries, 10)[1]).all()


def test_the_benchmark_measures_the_products_store(tmp_path, threshold):
    data, queries = synthetic(20_000, queries=30)
    row = bench_store(data, queries, exact_neighbours(data, queries), tmp_path)
    assert row.engine == "rag store (FAISS folder)" and row.index.startswith("IVF565,Flat nprobe ")
    assert row.n == 20_000 and row.recall_10 >= 0.95 and row.p50_ms > 0


def test_vectors_without_clusters_stay_exact(tmp_path, threshold):
    """3,000 vectors drawn around 2,000 centres are almost uniform: reading a quarter of the lists finds 0.8
    of the 10 nearest, so the index is written exact (and the benchmark says so)."""
    data, queries = synthetic(3000, queries=30)
    row = bench_store(data, queries, exact_neighbours(data, queries), tmp_path)
    assert row.index == "flat (exact)" and row.recall_10 == 1.0


def test_rag_bench_retrieval_measures_the_store_alone():
    from click.testing import CliRunner

    from rag.cli import cli

    result = CliRunner().invoke(cli, ["bench", "retrieval", "--scale", "2000,3000", "--store-only"], prog_name="rag")
    assert result.exit_code == 0, result.output
    lines = [line for line in result.output.splitlines() if line.startswith(("| 2,000 |", "| 3,000 |"))]
    assert len(lines) == 2 and all("| rag store (FAISS folder) | flat (exact) |" in line for line in lines)
    assert all(line.rstrip().endswith("| 1.000 |") for line in lines), result.output

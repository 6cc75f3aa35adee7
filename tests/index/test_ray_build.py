"""Indexing on Ray (a local Ray started on 127.0.0.1, 2 actors, the real default embedder): the index it
writes searches like the plain build's, and a build stopped half-way resumes without redoing stored work."""

from __future__ import annotations

import sys

import pytest

from rag.index.indexer import build_index
from rag.index.retriever import Retriever
from rag.models.embed_cache import EmbeddingCache
from rag.sources.ingest import load_documents

from tests.conftest import SEEDS, SQUAD_DEV


@pytest.fixture(scope="module")
def ray_session():
    ray = pytest.importorskip("ray", reason="Ray is not installed (pip install -e '.[ray]')")
    yield
    ray.shutdown()


def _docs():
    from rag.sources.ingest import read_squad

    return load_documents([SEEDS]) + list(read_squad(SQUAD_DEV))[:10]


@pytest.mark.ray
def test_ray_build_resumes_and_matches_the_plain_build(ray_session, real_embedder, tmp_path, monkeypatch):
    pytest.importorskip("milvus_lite")
    from rag.index.ray_build import build_index_ray
    from rag.stores import milvus_store

    docs = _docs()
    path, store = tmp_path / "index" / "ray", f"milvus://{tmp_path}/ray.db"
    original = milvus_store.MilvusStore.add_document
    written = []

    def killed_after_five(self, doc, chunks, vectors):
        if len(written) == 5:
            raise KeyboardInterrupt("stopped")  # as Ctrl-C or a kill between two documents
        original(self, doc, chunks, vectors)
        written.append(doc.id)

    monkeypatch.setattr(milvus_store.MilvusStore, "add_document", killed_after_five)
    with pytest.raises(KeyboardInterrupt):
        build_index_ray(docs, path, real_embedder, store=store, workers=2, cache=EmbeddingCache(tmp_path / "c.db"))
    assert not (path / "meta.json").exists()  # nothing half-built is visible
    monkeypatch.setattr(milvus_store.MilvusStore, "add_document", original)

    report = build_index_ray(docs, path, real_embedder, store=store, workers=2, cache=EmbeddingCache(tmp_path / "c.db"))
    assert sorted(report.skipped) == sorted(written) and len(report.added) == len(docs) - 5
    assert report.chunks_embedded == 0  # every vector was kept from the first run, by content hash
    assert "ray" in sys.modules

    plain = tmp_path / "index" / "plain"
    build_index(docs, plain, real_embedder)
    ours, theirs = Retriever.load(path, embedder=real_embedder), Retriever.load(plain, embedder=real_embedder)
    assert ours.store.count() == theirs.store.count()
    for question in ("Chi accompagnava Umerov a Bruxelles?", docs[3].text[:80]):
        assert [h.chunk_id for h in ours.search(question, k=3, mode="dense")] == [
            h.chunk_id for h in theirs.search(question, k=3, mode="dense")
        ]
        assert ours.search(question, k=1)[0].chunk_id == theirs.search(question, k=1)[0].chunk_id


def test_plain_build_does_not_import_ray(tmp_path):
    import subprocess

    code = (
        "import sys; from tests.conftest import FakeEmbedder, SEEDS; from rag.index.indexer import build_index;"
        "from rag.sources.ingest import load_documents; import rag.cli.index;"
        f"build_index(load_documents([SEEDS]), __import__('pathlib').Path('{tmp_path}/i'), FakeEmbedder());"
        "print(' '.join(m for m in ('ray', 'pymilvus') if m in sys.modules))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-2000:]
    assert (tmp_path / "i" / "meta.json").exists() and done.stdout.split() == []  # built, and no module imported

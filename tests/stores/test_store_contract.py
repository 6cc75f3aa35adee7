"""The store contract: every backend behaves the same through the indexer and the retriever.

Runs on FAISS (default) and milvus-lite here; ``RAG_TEST_MILVUS_URI`` adds a Milvus server (set by
``test_milvus_server.py``, which starts one from the ``milvus`` wheel and runs this file against it).
"""

from __future__ import annotations

import os

import numpy as np
import pytest

from rag.errors import InputError
from rag.index.indexer import add_to_index, build_index, remove_from_index
from rag.index.retriever import Retriever
from rag.stores.registry import ChunkStore, open_store
from rag.types import Document, Filters

from tests.conftest import FakeEmbedder

BACKENDS = ["faiss", "milvus-lite"] + (["milvus-server"] if os.environ.get("RAG_TEST_MILVUS_URI") else [])

DOCS = [
    Document(
        "ministri.txt",
        "Roma, 3 marzo 2026 – I ministri degli esteri si sono riuniti a Roma per discutere di energia. "
        "La riunione è durata tutta la mattina e si è chiusa con un comunicato.",
        "Riunione a Roma",
        date="2026-03-03",
        source="ansa",
    ),
    Document(
        "umerov.txt",
        "Bruxelles, 2 febbraio 2026 – Umerov è arrivato a Bruxelles accompagnato dal generale Hnatov "
        "per incontrare i vertici della NATO.",
        "Umerov a Bruxelles",
        date="2026-02-02",
        source="reuters",
    ),
    Document(
        "pioggia.txt",
        "Milano – Forti piogge hanno allagato le strade del centro; la protezione civile invita alla prudenza.",
        "Maltempo a Milano",
        source="ansa",
    ),
]


def _spec(backend: str, folder) -> str:
    if backend == "faiss":
        return "faiss"
    if backend == "milvus-lite":
        pytest.importorskip("milvus_lite", reason="milvus-lite is not installed (pip install -e '.[milvus]')")
        return f"milvus://{folder}/store.db"
    return os.environ["RAG_TEST_MILVUS_URI"]


@pytest.fixture(params=BACKENDS)
def store_spec(request, tmp_path):
    return _spec(request.param, tmp_path)


@pytest.fixture
def built(store_spec, tmp_path, fake_embedder):
    """An index of DOCS that the test may change."""
    path = tmp_path / "index" / "contract"
    build_index(DOCS, path, fake_embedder, store=store_spec)
    return path


@pytest.fixture(scope="module", params=BACKENDS)
def shared(request, tmp_path_factory):
    """An index of DOCS built once per backend, for the tests that only read (a server build takes seconds)."""
    folder = tmp_path_factory.mktemp(request.param)
    spec = _spec(request.param, folder)
    build_index(DOCS, folder / "index" / "contract", FakeEmbedder(), store=spec)
    return folder / "index" / "contract", spec


def _search(path, embedder, query, **kwargs) -> list[str]:
    retriever = Retriever.load(path, embedder=embedder)
    try:
        return [h.doc_id for h in retriever.search(query, **kwargs)]
    finally:
        retriever.store.close()


def test_build_counts_and_reads(shared, fake_embedder):
    built, store_spec = shared
    store = open_store(built)
    assert isinstance(store, ChunkStore)
    assert store.count() == (3, store.meta.chunks) and store.meta.documents == 3
    assert store.doc_ids() == sorted(d.id for d in DOCS)
    assert store.document("umerov.txt") == DOCS[1]
    assert store.document("missing.txt") is None
    assert store.info()["backend"] == ("faiss" if store_spec == "faiss" else "milvus")
    hits = Retriever(store, fake_embedder).search("Umerov Bruxelles Hnatov", k=2)
    vectors = store.vectors_of([h.chunk_id for h in hits])
    assert vectors.shape == (len(hits), fake_embedder.info.dim)
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-4)
    store.close()


def test_vectors_come_back_in_the_order_asked(shared, fake_embedder):
    """Each vector is its chunk's: its cosine to the query is the dense search's score, whatever the order."""
    store = open_store(shared[0])
    query = "Umerov Bruxelles Hnatov Rutte"
    hits = Retriever(store, fake_embedder).search(query, k=6, mode="dense")
    assert len(hits) >= 3
    for ordered in (list(hits), list(reversed(hits))):
        cosines = store.vectors_of([h.chunk_id for h in ordered]) @ fake_embedder.embed_query(query)
        assert np.allclose(cosines, [h.score for h in ordered], atol=1e-4)
    store.close()


@pytest.mark.parametrize("mode", ["dense", "lexical", "hybrid"])
def test_each_mode_finds_the_article(shared, fake_embedder, mode):
    assert _search(shared[0], fake_embedder, "Chi accompagnava Umerov a Bruxelles?", k=1, mode=mode) == ["umerov.txt"]


def test_italian_stemming_ministro_finds_ministri(shared, fake_embedder):
    """The word itself is not in the text: only the stemmer makes "ministro" match "ministri"."""
    built = shared[0]
    assert _search(built, fake_embedder, "ministro", k=3, mode="lexical") == ["ministri.txt"]
    assert _search(built, fake_embedder, "il ministro riunito", k=1, mode="hybrid") == ["ministri.txt"]


def test_filters(shared, fake_embedder):
    built = shared[0]

    def found(query, **filters):
        return sorted(set(_search(built, fake_embedder, query, k=5, filters=Filters(**filters))))

    assert found("Roma Bruxelles Milano", date_from="2026-03-01") == ["ministri.txt"]
    assert found("Roma Bruxelles Milano", date_to="2026-02-28") == ["umerov.txt"]
    assert found("Roma Bruxelles Milano", sources=["ansa"]) == ["ministri.txt", "pioggia.txt"]
    assert found("Roma Bruxelles Milano", doc_ids=["pioggia.txt"]) == ["pioggia.txt"]
    assert found("Roma Bruxelles Milano", exclude_doc_ids=["pioggia.txt", "umerov.txt"]) == ["ministri.txt"]
    for mode in ("dense", "lexical"):
        hits = _search(built, fake_embedder, "Umerov", k=5, mode=mode, filters=Filters(sources=["ansa"]))
        assert "umerov.txt" not in hits


def test_delete_is_seen_at_once(built, fake_embedder):
    remove_from_index(["umerov.txt"], built)
    for mode in ("dense", "lexical", "hybrid"):
        assert "umerov.txt" not in _search(built, fake_embedder, "Umerov Bruxelles Hnatov", k=5, mode=mode)
    store = open_store(built)
    assert store.count()[0] == 2 and store.document("umerov.txt") is None and store.meta.documents == 2
    with pytest.raises(InputError, match="no document 'umerov.txt'"):
        remove_from_index(["umerov.txt"], built)


def test_incremental_add_replace_skip(built, fake_embedder):
    new = Document("ponte.txt", "Genova – Il nuovo ponte sul Polcevera è stato inaugurato dal sindaco.", "Ponte")
    changed = Document("pioggia.txt", "Milano – Torna il sole dopo la grandine di ieri sera.", "Sole a Milano")
    report = add_to_index([new, changed, DOCS[0]], built, embedder=fake_embedder)
    assert (report.added, report.replaced, report.skipped) == (["ponte.txt"], ["pioggia.txt"], ["ministri.txt"])
    assert _search(built, fake_embedder, "ponte Polcevera", k=1) == ["ponte.txt"]
    assert _search(built, fake_embedder, "grandine sole", k=1, mode="lexical") == ["pioggia.txt"]
    assert "pioggia.txt" not in _search(built, fake_embedder, "allagato protezione civile", k=5, mode="lexical")
    store = open_store(built)
    assert store.count()[0] == 4 and store.document("pioggia.txt") == changed


def test_failed_rebuild_keeps_the_previous_index(built, fake_embedder, store_spec):
    class Broken(type(fake_embedder)):
        def encode(self, texts):
            raise RuntimeError("embedding failed")

    with pytest.raises(RuntimeError):
        build_index([DOCS[2]], built, Broken(), store=store_spec)
    assert _search(built, fake_embedder, "Umerov", k=1, mode="lexical") == ["umerov.txt"]
    assert open_store(built).count()[0] == 3


def test_a_rebuild_keeps_the_files_kept_beside_the_index(built, fake_embedder, store_spec):
    """The feed list and the example questions are the index's, not the build's: a rebuild keeps them."""
    (built / "examples.txt").write_text("Chi accompagnava Umerov?\n")
    (built / "feeds.json").write_text("[]")
    build_index(DOCS[:2], built, fake_embedder, store=store_spec)
    assert (built / "examples.txt").read_text() == "Chi accompagnava Umerov?\n"
    assert (built / "feeds.json").read_text() == "[]"
    assert open_store(built).count()[0] == 2


def test_same_ranking_as_the_default_store(shared, fake_embedder, tmp_path):
    """Dense search is exact on both at this size; fused rankings agree on the first hit."""
    built, store_spec = shared
    if store_spec == "faiss":
        pytest.skip("the default store is the reference the others are compared with")
    reference = tmp_path / "index" / "reference"
    build_index(DOCS, reference, fake_embedder)
    for query in ("Umerov a Bruxelles", "ministro degli esteri", "strade allagate a Milano"):
        for mode in ("dense", "hybrid"):
            ours = _search(built, fake_embedder, query, k=3, mode=mode)
            theirs = _search(reference, fake_embedder, query, k=3, mode=mode)
            assert ours[0] == theirs[0], (query, mode)
        assert set(_search(built, fake_embedder, query, k=3, mode="lexical")) == set(
            _search(reference, fake_embedder, query, k=3, mode="lexical")
        )


def test_store_uri_checks(tmp_path):
    from rag.stores.registry import parse_store

    assert parse_store(None) == {"backend": "faiss"}
    assert parse_store(f"milvus://{tmp_path}/a.db") == {"backend": "milvus", "uri": f"{tmp_path}/a.db"}
    assert parse_store("http://127.0.0.1") == {"backend": "milvus", "uri": "http://127.0.0.1:19530"}
    with pytest.raises(InputError, match="RAG_MILVUS_TOKEN"):
        parse_store("http://root:secret@milvus.example:19530")
    with pytest.raises(InputError, match="ending in .db"):
        parse_store("milvus://index/news")
    with pytest.raises(InputError, match="is not a store"):
        parse_store("qdrant://x")


def test_meta_json_holds_no_credentials(tmp_path, fake_embedder, monkeypatch):
    pytest.importorskip("milvus_lite")
    monkeypatch.setenv("RAG_MILVUS_TOKEN", "s3cret-token")
    path = tmp_path / "index" / "creds"
    build_index(DOCS[:1], path, fake_embedder, store=f"milvus://{tmp_path}/c.db")
    meta = (path / "meta.json").read_text()
    assert '"backend": "milvus"' in meta and "s3cret" not in meta

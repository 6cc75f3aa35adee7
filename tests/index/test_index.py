"""Index build/update/remove, atomic writes, filters and the lexical side, with a fake embedder."""

import os
import shutil

import pytest

from rag.errors import InputError, StoreError
from rag.index.indexer import add_to_index, build_index, remove_from_index
from rag.index.retriever import Retriever
from rag.sources.ingest import load_documents, text_document
from rag.types import Filters

from tests.conftest import RUTTE_DOC, SEEDS, UMEROV_DOC, FakeEmbedder


@pytest.fixture
def seed_index(tmp_path, fake_embedder):
    path = tmp_path / "index" / "seeds"
    build_index(load_documents([SEEDS]), path, fake_embedder)
    return path


def test_build_and_search_every_mode(seed_index, fake_embedder):
    retriever = Retriever.load(seed_index, embedder=fake_embedder)
    assert retriever.store.meta.documents == 2 and retriever.store.meta.chunks >= 4
    for mode in ("dense", "lexical", "hybrid"):
        hits = retriever.search("Hnatov Umerov Bruxelles", k=3, mode=mode)
        assert hits[0].doc_id == UMEROV_DOC, mode
        assert [h.rank for h in hits] == [1, 2, 3]
        assert len({h.chunk_id for h in hits}) == 3


def test_index_name_resolves_under_index_dir(seed_index, fake_embedder):
    assert Retriever.load("seeds", embedder=fake_embedder).store.path == seed_index


def test_failed_build_leaves_previous_index_loadable(seed_index, fake_embedder):
    class Exploding(FakeEmbedder):
        def encode(self, texts):
            raise RuntimeError("killed mid-build")

    before = Retriever.load(seed_index, embedder=fake_embedder).search("Rutte Kiev", k=2)
    with pytest.raises(RuntimeError, match="killed mid-build"):
        build_index([text_document("new.txt", "Un testo nuovo.")], seed_index, Exploding())
    after = Retriever.load(seed_index, embedder=fake_embedder)
    assert after.store.doc_ids() == [RUTTE_DOC, UMEROV_DOC]
    assert after.search("Rutte Kiev", k=2) == before
    assert sorted(p.name for p in seed_index.parent.iterdir()) == [".seeds.lock", "seeds"]  # no temporary folders left


def test_identical_document_is_skipped_changed_replaced(seed_index, fake_embedder):
    docs = load_documents([SEEDS])
    report = add_to_index(docs, seed_index, embedder=fake_embedder)
    assert sorted(report.skipped) == [RUTTE_DOC, UMEROV_DOC] and report.chunks_embedded == 0
    changed = text_document(UMEROV_DOC, "Roma, 4 dicembre 2025 – Umerov torna a Kiev con Zaluzhny.")
    report = add_to_index([changed], seed_index, embedder=fake_embedder)
    assert report.replaced == [UMEROV_DOC]
    retriever = Retriever.load(seed_index, embedder=fake_embedder)
    texts = [h.text for h in retriever.search("Umerov", k=10)]
    assert not any("Hnatov" in t for t in texts) and any("Zaluzhny" in t for t in texts)


def test_the_model_is_loaded_only_when_something_is_to_be_embedded(seed_index, fake_embedder, monkeypatch):
    from rag.index import indexer

    loads = []
    monkeypatch.setattr(indexer, "load_embedder", lambda info: loads.append(info) or fake_embedder)
    report = add_to_index(load_documents([SEEDS]), seed_index)  # nothing new (a sync with nothing new)
    assert sorted(report.skipped) == [RUTTE_DOC, UMEROV_DOC] and loads == []
    report = add_to_index([text_document("nuovo.txt", "Roma, 5 dicembre 2025 – Un fatto nuovo.")], seed_index)
    assert report.added == ["nuovo.txt"] and loads == [fake_embedder.info]  # the model that built the index


def test_same_text_under_two_ids_is_returned_once(seed_index, fake_embedder):
    text = "Roma, 3 dicembre 2025 – Una notizia copiata da due agenzie su Hnatov."
    add_to_index([text_document("a.txt", text), text_document("b.txt", text)], seed_index, embedder=fake_embedder)
    hits = Retriever.load(seed_index, embedder=fake_embedder).search("notizia copiata agenzie Hnatov", k=10)
    assert sum("copiata" in h.text for h in hits) == 1


def test_remove_by_id_and_lexical_survives_reload(seed_index, fake_embedder):
    remove_from_index([UMEROV_DOC], seed_index)
    retriever = Retriever.load(seed_index, embedder=fake_embedder)
    assert retriever.store.doc_ids() == [RUTTE_DOC]
    for mode in ("dense", "lexical", "hybrid"):
        assert all(h.doc_id == RUTTE_DOC for h in retriever.search("Hnatov Umerov", k=5, mode=mode))
    assert retriever.search("Hnatov", k=5, mode="lexical") == []
    add_to_index(load_documents([SEEDS / UMEROV_DOC]), seed_index, embedder=fake_embedder)
    retriever.reload()
    assert retriever.search("Hnatov", k=1, mode="lexical")[0].doc_id == UMEROV_DOC


def test_remove_unknown_id_is_a_clear_error(seed_index):
    with pytest.raises(InputError, match="no document 'nope.txt'"):
        remove_from_index(["nope.txt"], seed_index)


def test_names_in_another_encoding_are_refused_and_an_id_given_twice_is_removed_once(seed_index, tmp_path):
    # an audit: a file named b"caf\xe9.txt" (Latin-1) and such an id to remove were tracebacks in SQLite;
    # "remove A A" said "no document A" after removing it
    folder = tmp_path / "latin1"
    folder.mkdir()
    (folder / os.fsdecode(b"caf\xe9.txt")).write_text("Roma, 3 dicembre 2025 – Il bar ha riaperto.", encoding="utf-8")
    with pytest.raises(InputError, match="is not valid UTF-8 .* rename it"):
        load_documents([folder])
    with pytest.raises(InputError, match="not valid UTF-8"):
        remove_from_index([os.fsdecode(b"caf\xe9.txt")], seed_index)
    assert remove_from_index([UMEROV_DOC, UMEROV_DOC], seed_index).removed == [UMEROV_DOC]


@pytest.mark.parametrize(
    ("call", "message"),
    [
        ({"query": b"NATO"}, "the query must be text"),
        ({"query": 123}, "the query must be text"),
        ({"k": "5"}, "k must be a whole number"),
        ({"k": 2.5}, "k must be a whole number"),
        ({"k": None}, "k must be a whole number"),
        ({"filters": {"date": "2026-01-01"}}, "unknown filter"),
        ({"filters": ["x"]}, "filters must be a Filters or a dict"),
        ({"filters": {"doc_ids": 5}}, "doc_ids must be a list of strings"),
    ],
)
def test_a_notebook_call_of_the_wrong_kind_is_said_plainly(seed_index, fake_embedder, call, message):
    # an audit: these were TypeErrors and AttributeErrors from deep inside the store
    retriever = Retriever.load(seed_index, embedder=fake_embedder)
    with pytest.raises(InputError, match=message):
        retriever.search(**{"query": "Rutte", **call})


def test_filters_as_a_dict_one_id_as_a_string_and_a_date_object(seed_index, fake_embedder):
    import datetime

    retriever = Retriever.load(seed_index, embedder=fake_embedder)
    late = retriever.search("Umerov Rutte Kiev", k=10, filters={"date_from": datetime.date(2026, 1, 1)})
    assert {h.doc_id for h in late} == {RUTTE_DOC}
    only = retriever.search("Umerov Rutte Kiev", k=10, filters=Filters(doc_ids=UMEROV_DOC))  # not its characters
    assert {h.doc_id for h in only} == {UMEROV_DOC}
    assert Filters(doc_ids=None) == Filters()


def test_filters_exclude_what_they_should(seed_index, fake_embedder):
    retriever = Retriever.load(seed_index, embedder=fake_embedder)
    for mode in ("dense", "lexical", "hybrid"):
        late = retriever.search("Umerov Rutte Kiev", k=10, mode=mode, filters=Filters(date_from="2026-01-01"))
        assert late and {h.doc_id for h in late} == {RUTTE_DOC}, mode
        early = retriever.search("Umerov Rutte Kiev", k=10, mode=mode, filters=Filters(date_to="2025-12-31"))
        assert early and {h.doc_id for h in early} == {UMEROV_DOC}, mode
        only = retriever.search("Rutte", k=10, mode=mode, filters=Filters(doc_ids=frozenset({UMEROV_DOC})))
        assert {h.doc_id for h in only} <= {UMEROV_DOC}
    assert retriever.search("Rutte", k=5, filters=Filters(sources=frozenset({"Reuters"}))) == []


def test_mismatched_model_is_refused(seed_index):
    with pytest.raises(StoreError, match=r"was built with fake-bow \(dim 64, .*\), not other \(dim 32, "):
        Retriever.load(seed_index, embedder=FakeEmbedder(dim=32, model_id="other"))
    with pytest.raises(StoreError, match="built with fake-bow"):
        add_to_index([text_document("x.txt", "testo")], seed_index, embedder=FakeEmbedder(dim=32, model_id="other"))


def test_missing_or_damaged_index(tmp_path, seed_index, fake_embedder):
    with pytest.raises(StoreError, match="no index at .*nope; build one"):
        Retriever.load(tmp_path / "nope", embedder=fake_embedder)
    (seed_index / "vectors.faiss").write_bytes(b"garbage")
    with pytest.raises(StoreError, match="is damaged"):
        Retriever.load(seed_index, embedder=fake_embedder)


def test_interrupted_swap_is_recovered(seed_index, fake_embedder):
    shutil.move(seed_index, seed_index.parent / ".seeds.old")  # killed between the two renames
    assert Retriever.load(seed_index, embedder=fake_embedder).store.meta.documents == 2


def test_embedding_cache_skips_unchanged_text(tmp_path):
    from rag.models.embed_cache import EmbeddingCache

    cache, embedder = EmbeddingCache(tmp_path / "cache.sqlite"), FakeEmbedder()
    docs = load_documents([SEEDS])
    build_index(docs, tmp_path / "a", embedder, cache=cache)
    first = embedder.calls
    build_index(docs, tmp_path / "b", embedder, cache=cache)
    assert first > 0 and embedder.calls == first


def test_bad_queries(seed_index, fake_embedder):
    retriever = Retriever.load(seed_index, embedder=fake_embedder)
    with pytest.raises(InputError, match="query is empty"):
        retriever.search("   ")
    with pytest.raises(InputError, match="k must be a whole number of at least 1"):
        retriever.search("Rutte", k=0)
    with pytest.raises(InputError, match="unknown search mode"):
        retriever.search("Rutte", mode="magic")


def test_a_build_never_replaces_a_folder_that_is_not_an_index(tmp_path, seed_index, fake_embedder):
    # an audit found `rag index build … --name ./notes` (or --name "") deleting the folder it named
    docs = load_documents([SEEDS])
    notes = tmp_path / "notes"
    notes.mkdir()
    (notes / "todo.md").write_text("mine")
    with pytest.raises(StoreError, match="no index"):
        build_index(docs, notes, fake_embedder)
    assert (notes / "todo.md").read_text() == "mine" and not (notes / "meta.json").exists()
    with pytest.raises(StoreError, match="no index"):
        build_index(docs, seed_index.parent, fake_embedder)  # the folder holding the indexes
    assert (seed_index / "meta.json").exists()
    (tmp_path / "afile").write_text("x")
    with pytest.raises(StoreError, match="is a file"):
        build_index(docs, tmp_path / "afile", fake_embedder)
    build_index(docs, seed_index, fake_embedder)  # an index, and an empty folder, may be rebuilt
    (tmp_path / "empty").mkdir()
    build_index(docs, tmp_path / "empty", fake_embedder)
    assert (tmp_path / "empty" / "meta.json").exists()


@pytest.mark.parametrize("name", ["", " ", ".", "..", "/", "./sub/.."])
def test_names_that_are_not_an_index_are_refused(name):
    from rag.config import index_path

    with pytest.raises(InputError, match="not an index name"):
        index_path(name)


def test_two_uploads_named_alike_are_one_clear_error(tmp_path, seed_index, fake_embedder):
    # an audit: the page puts each upload in its own folder, so "same.txt" twice reached SQLite's UNIQUE constraint
    from rag.index.indexer import add_files

    first, second = tmp_path / "d1" / "same.txt", tmp_path / "d2" / "same.txt"
    for path, text in ((first, "Roma, 3 dicembre 2025 – Primo testo."), (second, "Kiev, 2 febbraio 2026 – Altro.")):
        path.parent.mkdir()
        path.write_text(text)
    before = Retriever.load(seed_index, embedder=fake_embedder).store.meta.documents
    with pytest.raises(InputError, match="'same.txt' appears twice with different content"):
        add_files([first, second], seed_index, embedder=fake_embedder)
    assert Retriever.load(seed_index, embedder=fake_embedder).store.meta.documents == before
    (tmp_path / "page.html").write_text("<html><script>x()</script></html>")
    with pytest.raises(InputError, match="no article text found"):
        add_files([tmp_path / "page.html"], seed_index, embedder=fake_embedder)

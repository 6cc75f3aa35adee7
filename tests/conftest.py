"""Shared fixtures: paths point at tmp folders; real models and the seed index are made once per session.

Resource markers (``pyproject.toml``): a test that loads a real model or starts a real server carries the
marker of what it needs (``llm``, ``embedder``, ``browser``, ``server``, ``ray``, ``soak``) and is then
``slow`` too, so ``pytest -m "not slow"`` skips it and ``pytest -m "llm and not browser"`` picks it. A test
using one of the shared model fixtures below is given that fixture's resource marker here as well.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
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
QWEN_15B = "qwen2.5-1.5b-instruct"
QWEN_05B = "qwen2.5-0.5b-instruct"

RESOURCES = ("llm", "embedder", "browser", "server", "ray", "soak")
FIXTURE_RESOURCES = {  # the shared fixtures below, and what a test using one needs
    "real_embedder": "embedder",
    "gemma_embedder": "embedder",
    "seeds_built": "embedder",
    "seeds_index": "embedder",
    "qwen_15b": "llm",
    "qwen_05b": "llm",
    "assistant_15b": "llm",
    "assistant_05b": "llm",
}


@pytest.hookimpl(tryfirst=True)  # before `-m` deselects, so the markers added here count
def pytest_collection_modifyitems(config, items):
    """Tests using a shared model fixture get its resource marker; every resource-marked test is ``slow``."""
    for item in items:
        used = set(getattr(item, "fixturenames", ()))
        for fixture, resource in FIXTURE_RESOURCES.items():
            if fixture in used and item.get_closest_marker(resource) is None:
                item.add_marker(resource)
        if item.get_closest_marker("slow") is None and any(item.get_closest_marker(r) for r in RESOURCES):
            item.add_marker("slow")
    if hasattr(config, "workerinput"):  # a pytest-xdist worker, whose order the scheduler follows; a plain run
        items[:] = heaviest_files_first(items)  # keeps the files' order, quick unit tests first


# A rough cost of a test by what it needs: a server, a Ray cluster or a soak costs most, then a model; any
# other slow test (a wheel built) a little.
RESOURCE_COST = {"server": 3, "ray": 3, "soak": 3, "browser": 2, "llm": 2, "embedder": 1, "slow": 1}


def heaviest_files_first(items: list) -> list:
    """The tests grouped by file, the files with the most costly tests first (stable otherwise).

    ``make test`` hands whole files to its workers in this order (``--dist loadfile --no-loadscope-reorder``):
    a long file handed out last keeps one worker busy while the other has nothing left to do. (Costs are read
    before ``-m`` deselects; ``make test-fast`` keeps xdist's own order.)
    """
    files: dict[str, list] = {}
    for item in items:
        files.setdefault(item.nodeid.split("::")[0], []).append(item)

    def cost(tests: list) -> int:
        return sum(max((c for r, c in RESOURCE_COST.items() if t.get_closest_marker(r)), default=0) for t in tests)

    return [item for tests in sorted(files.values(), key=cost, reverse=True) for item in tests]


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


# ---- the answer models, loaded once per session -------------------------------------------------------
def _built_in_generator(name: str):
    from rag.models.generate import load_generator
    from rag.models.provision import MODELS, is_ready

    os.environ.setdefault("RAG_MODEL_DIR", str(REAL_MODEL_DIR))
    if not is_ready(MODELS[name]):
        pytest.fail(f"{name} is not set up: run `make setup` (or `rag setup`)")
    return load_generator(name)


@pytest.fixture(scope="session")
def qwen_15b():
    """Qwen2.5-1.5B-Instruct (the default answer model) on llama.cpp with the default settings, loaded once.

    Shared by every test that uses it, prompt cache included: a test needing other settings (context size,
    drafts, backend) loads its own and says why.
    """
    return _built_in_generator(QWEN_15B)


@pytest.fixture(scope="session")
def qwen_05b():
    """Qwen2.5-0.5B-Instruct (the fast answer model) on llama.cpp with the default settings, loaded once."""
    return _built_in_generator(QWEN_05B)


# ---- the seed index, built once per session; each test gets its own copy ------------------------------
def _digest(folder: Path) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


@pytest.fixture(scope="session")
def seeds_built(real_embedder, tmp_path_factory):
    """The seed articles indexed once with the default embedder. Never hand this folder to a test: copy it
    (``copy_seeds``). At the end of the session it is checked unchanged, so a test that wrote to it fails."""
    from rag.index.indexer import build_index
    from rag.sources.ingest import load_documents

    path = tmp_path_factory.mktemp("seeds-built") / "seeds"
    build_index(load_documents([SEEDS]), path, real_embedder)
    before = _digest(path)
    yield path
    assert _digest(path) == before, f"a test changed the shared seed index at {path}; tests must use a copy"


def copy_seeds(built: Path, index_dir: Path) -> Path:
    """A copy of the shared seed index at ``index_dir/seeds`` (an index folder holds a few small files)."""
    target = index_dir / "seeds"
    shutil.copytree(built, target)
    return target


@pytest.fixture
def seeds_index(seeds_built, tmp_path):
    """This test's own copy of the seed index (default embedder) at ``$RAG_INDEX_DIR/seeds``."""
    return copy_seeds(seeds_built, tmp_path / "index")


def seeds_assistant(index: Path, embedder, generator, **settings):
    """What ``Assistant.load(index, **settings)`` builds, from models already loaded."""
    from rag.answer.assistant import Assistant
    from rag.answer.settings import make_settings
    from rag.index.retriever import Retriever

    return Assistant(Retriever.load(index, embedder=embedder), generator, make_settings(**settings))


@pytest.fixture
def assistant_15b(seeds_index, real_embedder, qwen_15b):
    """``Assistant.load("seeds")`` as users get it (default settings, the 1.5B) over this test's seed index."""
    assistant = seeds_assistant(seeds_index, real_embedder, qwen_15b)
    yield assistant
    assistant.retriever.store.close()


@pytest.fixture
def assistant_05b(seeds_index, real_embedder, qwen_05b):
    """``Assistant.load("seeds", model="qwen2.5-0.5b-instruct")`` over this test's seed index."""
    assistant = seeds_assistant(seeds_index, real_embedder, qwen_05b)
    yield assistant
    assistant.retriever.store.close()

"""Fixtures of the reliability suite."""

from __future__ import annotations

import pytest

from rag.index.indexer import build_index
from rag.sources.ingest import load_documents

from tests.conftest import SEEDS


@pytest.fixture
def seeds(tmp_path, fake_embedder):
    """The seed articles indexed with ``fake_embedder`` at ``$RAG_INDEX_DIR/seeds``."""
    path = tmp_path / "index" / "seeds"
    build_index(load_documents([SEEDS]), path, fake_embedder)
    return path

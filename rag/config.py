"""Where things live and which models are used by default. Every path can be overridden by env var.

- ``RAG_CACHE_DIR``: downloads, assembled models, the embedding cache (default ``~/.cache/rag-news``)
- ``RAG_MODEL_DIR``: assembled models (default ``$RAG_CACHE_DIR/models``)
- ``RAG_INDEX_DIR``: where ``--name NAME`` indexes live (default ``./index``)
- ``RAG_THREADS``: CPU threads for the answer model (default: the cores, at most 4)
"""

from __future__ import annotations

import os
from pathlib import Path

from rag.errors import InputError

DEFAULT_EMBEDDER = "multilingual-e5-small"  # the speed/accuracy trade-off is measured in eval/retrieval-figures.md
DEFAULT_LLM = "qwen2.5-1.5b-instruct"
FAST_LLM = "qwen2.5-0.5b-instruct"


def cache_dir() -> Path:
    return Path(os.environ.get("RAG_CACHE_DIR", Path.home() / ".cache" / "rag-news")).expanduser()


def model_dir() -> Path:
    return Path(os.environ.get("RAG_MODEL_DIR", cache_dir() / "models")).expanduser()


def index_root() -> Path:
    return Path(os.environ.get("RAG_INDEX_DIR", "index")).expanduser()


def index_path(name_or_path: str | os.PathLike) -> Path:
    """``seeds`` -> ``index/seeds``; anything that looks like a path is used as it is."""
    text = str(name_or_path)
    if Path(text.strip()).name in ("", ".", ".."):  # "", ".", "..", "/": a folder holding indexes, not one
        raise InputError(
            f"{text!r} is not an index name; give a name such as seeds (stored in ./index/seeds) or the path "
            "of an index folder"
        )
    if os.sep in text or text.startswith("."):
        return Path(text).expanduser()
    return index_root() / text


def threads() -> int:
    return int(os.environ.get("RAG_THREADS", min(os.cpu_count() or 2, 4)))


def draft_tokens() -> int:
    """Tokens drafted from the prompt per decode step with llama.cpp (0: no speculative decoding)."""
    return int(os.environ.get("RAG_DRAFT_TOKENS", 6))

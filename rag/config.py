"""Where things live and which models are used by default. Every path can be overridden by env var.

- ``RAG_CACHE_DIR``: downloads, assembled models, the embedding cache (default ``~/.cache/rag-news``)
- ``RAG_MODEL_DIR``: assembled models (default ``$RAG_CACHE_DIR/models``)
- ``RAG_INDEX_DIR``: where ``--name NAME`` indexes live (default ``./index``)
- ``RAG_THREADS``: CPU threads for the answer model (default: the cores, at most 4)
- ``RAG_DRAFT_TOKENS``: tokens llama.cpp drafts from the prompt per decode step (default 6; 0: none)
- ``RAG_LLM_URL``: an OpenAI-compatible server to answer with instead of a model in this process (``--llm``)
- ``RAG_LLM_API_KEY``: its API key (``--api-key``), sent as ``Authorization: Bearer``; never printed
- ``RAG_LLM_TIMEOUT``: seconds to wait for that server's next bytes, the first ones included (default 60)

A variable set to something unusable is an ``InputError`` naming it, read when it is first needed.
"""

from __future__ import annotations

import os
from pathlib import Path

from rag.errors import InputError

DEFAULT_EMBEDDER = "multilingual-e5-small"  # the speed/accuracy trade-off is measured in eval/retrieval-figures.md
DEFAULT_LLM = "qwen2.5-1.5b-instruct"
FAST_LLM = "qwen2.5-0.5b-instruct"


def _folder(name: str, default: Path | str) -> Path:
    """The folder named by environment variable ``name`` (else ``default``); one that is a file is an error."""
    path = Path(os.environ.get(name) or default).expanduser()
    if path.exists() and not path.is_dir():
        raise InputError(f"{name}: {path} is a file, not a folder; point {name} at a folder (or unset it)")
    return path


def cache_dir() -> Path:
    return _folder("RAG_CACHE_DIR", Path.home() / ".cache" / "rag-news")


def model_dir() -> Path:
    return _folder("RAG_MODEL_DIR", cache_dir() / "models")


def index_root() -> Path:
    return _folder("RAG_INDEX_DIR", "index")


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


def env_number(name: str, default: float, low: float, high: float, whole: bool = True) -> float:
    """The number in environment variable ``name`` (``default`` when unset or blank), between ``low`` and
    ``high``; anything else is an ``InputError`` that names the variable and the range."""
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    kind = "a whole number" if whole else "a number"
    try:
        value = int(raw) if whole else float(raw)
    except ValueError:
        value = None
    if value is None or not low <= value <= high:  # also NaN and inf
        raise InputError(f"{name}={raw!r}: give {kind} from {low:g} to {high:g}, or unset it for the default")
    return value


def threads() -> int:
    cores = os.cpu_count() or 2
    return int(env_number("RAG_THREADS", min(cores, 4), 1, 4 * cores))


def draft_tokens() -> int:
    """Tokens drafted from the prompt per decode step with llama.cpp (0: no speculative decoding)."""
    return int(env_number("RAG_DRAFT_TOKENS", 6, 0, 64))


LLM_URL_VAR = "RAG_LLM_URL"
LLM_API_KEY_VAR = "RAG_LLM_API_KEY"


def llm_url() -> str | None:
    """The answer server's address from ``RAG_LLM_URL`` (None when unset or blank)."""
    return os.environ.get(LLM_URL_VAR, "").strip() or None


def llm_api_key() -> str | None:
    """The answer server's API key from ``RAG_LLM_API_KEY`` (None when unset or blank)."""
    return os.environ.get(LLM_API_KEY_VAR, "").strip() or None


def llm_timeout() -> float:
    """Seconds to wait for an answer server's next bytes (the first ones too: its queue and prefill)."""
    return env_number("RAG_LLM_TIMEOUT", 60.0, 1, 3600, whole=False)

"""The one registry of swappable backends: embedders, stores and answer models, each a name -> class.

Classes are named by dotted path and imported only when asked for, so ``import rag`` stays light and this
core module adds no import edge between the parts. Every backend class says what it can do with
capability flags (class attributes, see ``CAPABILITIES``), never with sentinel return values.

>>> sorted(REGISTRY)
['embedder', 'generator', 'store']
>>> REGISTRY["generator"]["llama-cpp"]
'rag.models.generate:LlamaCppGenerator'
>>> backend_class("generator", "nonesuch")
Traceback (most recent call last):
...
rag.errors.ModelError: unknown generator backend 'nonesuch'; known: llama-cpp, transformers, openai
"""

from __future__ import annotations

from importlib import import_module

from rag.errors import ModelError, RagError, StoreError

REGISTRY: dict[str, dict[str, str]] = {
    "embedder": {
        "sentence-transformers": "rag.models.embed:SentenceTransformerEmbedder",
        "onnxruntime": "rag.models.embed:OnnxInt8Embedder",
    },
    "store": {
        "faiss": "rag.stores.faiss_store:FaissStore",
        "milvus": "rag.stores.milvus_store:MilvusStore",
    },
    "generator": {
        "llama-cpp": "rag.models.generate:LlamaCppGenerator",
        "transformers": "rag.models.hf_generate:TransformersGenerator",
        "openai": "rag.models.openai_generate:OpenAIGenerator",
    },
}

# The flags a backend class may set (False unless it says otherwise), and what each promises.
CAPABILITIES: dict[str, dict[str, str]] = {
    "generator": {
        "supports_prefix_cache": "keeps the states of prompts it has read, so a shared prefix is not read again",
        "supports_first_token": "tells the probability of the reply's first token (FirstToken; the doubt check)",
        "supports_cached_share": "tells how much of a prompt it has already read (cached_share)",
        "supports_token_count": "counts a text's tokens exactly with the model's tokenizer",
    },
    "embedder": {},
    "store": {},
}

_ERRORS: dict[str, type[RagError]] = {"embedder": ModelError, "store": StoreError, "generator": ModelError}


def backend_class(kind: str, name: str) -> type:
    """The class registered as ``name`` for ``kind`` (``embedder``, ``store``, ``generator``)."""
    known = REGISTRY[kind]
    if name not in known:
        raise _ERRORS[kind](f"unknown {kind} backend {name!r}; known: {', '.join(known)}")
    module, _, attribute = known[name].partition(":")
    return getattr(import_module(module), attribute)


def capabilities(obj: object, kind: str = "generator") -> dict[str, bool]:
    """The capability flags of a backend (class or instance), each True or False."""
    return {flag: bool(getattr(obj, flag, False)) for flag in CAPABILITIES[kind]}

"""Local, offline question answering over news articles, with cited sources.

Importing ``rag`` is cheap: torch, faiss and the models load only when first used. The package is
laid out by role, each depending only on the ones before it:

- ``rag.index``: read articles, chunk, embed, store; search (``Retriever``)
- ``rag.answer``: prompt, generate, cite, refuse (``Assistant``)
- ``rag.evaluation``: gold sets, metrics, ``evaluate``, reports, benchmarks
- ``rag.ui``: the chat page; ``rag.cli``: the ``rag`` command

>>> from rag import Retriever, Assistant, evaluate                  # doctest: +SKIP
>>> Retriever.load("seeds").search("Chi accompagnava Umerov?", k=3)  # doctest: +SKIP
"""

from __future__ import annotations

from importlib import import_module

from rag.errors import InputError, ModelError, RagError, StoreError
from rag.types import Answer, Chunk, Citation, Document, Filters, Hit

_LAZY = {  # heavy entry points, imported on first use
    "Retriever": "rag.index.retriever",
    "Assistant": "rag.answer.assistant",
    "evaluate": "rag.evaluation.run",
}

__all__ = [
    "Answer",
    "Assistant",
    "Chunk",
    "Citation",
    "Document",
    "Filters",
    "Hit",
    "InputError",
    "ModelError",
    "RagError",
    "Retriever",
    "StoreError",
    "evaluate",
]


def __getattr__(name: str):
    if name in _LAZY:
        return getattr(import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'rag' has no attribute {name!r}")

"""Local, offline question answering over news articles, with cited sources.

Importing ``rag`` is cheap: torch, faiss and the models load only when first used.

>>> from rag import Retriever                                    # doctest: +SKIP
>>> Retriever.load("seeds").search("Chi accompagnava Umerov?", k=3)  # doctest: +SKIP
"""

from __future__ import annotations

from rag.errors import InputError, ModelError, RagError, StoreError
from rag.types import Chunk, Document, Filters, Hit

__all__ = [
    "Chunk",
    "Document",
    "Filters",
    "Hit",
    "InputError",
    "ModelError",
    "RagError",
    "Retriever",
    "StoreError",
]


def __getattr__(name: str):
    if name == "Retriever":
        from rag.retriever import Retriever

        return Retriever
    raise AttributeError(f"module 'rag' has no attribute {name!r}")

"""Indexing and search: ingest -> chunk -> embed -> store (FAISS + BM25 + SQLite) -> ``Retriever``.

Imports nothing from ``rag.answer``, ``rag.evaluation``, ``rag.ui`` or ``rag.cli``.
"""

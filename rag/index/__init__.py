"""Indexes: sources -> chunk -> embed -> store (``indexer``), followed feeds, what an index holds
(``catalog``), and search (``Retriever``). Imports ``rag.models``, ``rag.sources`` and ``rag.stores``.
"""

"""The HTTP API for other programs (``rag serve``): an OpenAI-compatible chat endpoint and search.

May import ``rag.answer`` and ``rag.index``; nothing but ``rag.cli`` imports it.
"""

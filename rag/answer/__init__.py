"""Answering: settings -> prompt -> generate -> citations -> refusal, run by ``Assistant``.

Imports ``rag.index`` (to search), never ``rag.evaluation``, ``rag.ui`` or ``rag.cli``.
"""

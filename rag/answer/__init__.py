"""Answering: settings -> prompt -> generate -> citations -> checks, run by ``Assistant``.

Imports ``rag.index`` (to search) and ``rag.models`` (to generate), never ``rag.evaluation``, ``rag.ui``
or ``rag.cli``.
"""

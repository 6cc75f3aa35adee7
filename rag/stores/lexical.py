"""BM25 over chunk texts (bm25s) with a Snowball stemmer and stopwords for the index's language.

Rebuilt from the chunk store whenever the index changes (BM25 indexing is fast: thousands of chunks
per second), saved in ``<index>/lexical/``, and mapped back to chunk rows through ``rows.npy``.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from rag.text import bm25s_module as _bm25s
from rag.text import tokenize


class LexicalIndex:
    def __init__(self, bm25, rows: np.ndarray, language: str):
        self.bm25 = bm25
        self.rows = rows
        self.language = language

    @classmethod
    def build(cls, rows: list[int], texts: list[str], language: str = "it") -> LexicalIndex:
        bm25 = _bm25s().BM25()
        if texts:
            bm25.index(tokenize(texts, language), show_progress=False)
        return cls(bm25, np.asarray(rows, dtype=np.int64), language)

    @classmethod
    def from_tokens(cls, rows: list[int], tokens: list[list[str]], language: str = "it") -> LexicalIndex:
        """From texts already analysed by ``tokenize`` (a store that keeps them, like the Milvus one)."""
        bm25 = _bm25s().BM25()
        if tokens:
            bm25.index(tokens, show_progress=False)
        return cls(bm25, np.asarray(rows, dtype=np.int64), language)

    def save(self, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        if len(self.rows):
            self.bm25.save(str(folder), show_progress=False)
        np.save(folder / "rows.npy", self.rows)
        (folder / "lexical.json").write_text(json.dumps({"language": self.language, "chunks": len(self.rows)}))

    @classmethod
    def load(cls, folder: Path) -> LexicalIndex:
        bm25s = _bm25s()
        info = json.loads((folder / "lexical.json").read_text())
        rows = np.load(folder / "rows.npy")
        bm25 = bm25s.BM25.load(str(folder), show_progress=False) if len(rows) else bm25s.BM25()
        return cls(bm25, rows, info["language"])

    def search(self, query: str, k: int) -> list[tuple[int, float]]:
        """(chunk row, BM25 score) pairs, best first; only chunks sharing a term with the query."""
        if not len(self.rows):
            return []
        vocab = self.bm25.vocab_dict
        terms = [t for t in tokenize([query], self.language)[0] if t in vocab]
        if not terms:
            return []
        docs, scores = self.bm25.retrieve([terms], k=min(k, len(self.rows)), show_progress=False, n_threads=1)
        return [(int(self.rows[d]), float(s)) for d, s in zip(docs[0], scores[0], strict=True) if s > 0]

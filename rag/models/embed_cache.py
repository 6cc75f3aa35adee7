"""The cache of document vectors: ``EmbeddingCache`` keeps them in one SQLite file shared by all indexes,
by ``cache_key`` (a hash of the text and of the ``EmbedderInfo`` that embedded it).
"""

from __future__ import annotations

import hashlib
import sqlite3
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from rag.config import cache_dir
from rag.models.embed_info import EmbedderInfo


def cache_key(info: EmbedderInfo, text: str) -> str:
    material = f"{info.model_id}\0{info.dim}\0{info.max_seq_length}\0{text}"
    if (info.backend, info.precision) != ("sentence-transformers", "float32"):
        # keys of the original float32 setting stay as they were, so existing caches stay valid
        material = f"{info.backend}\0{info.precision}\0{material}"
    return hashlib.sha256(material.encode("utf-8")).hexdigest()


class EmbeddingCache:
    """Vectors by content hash in one SQLite file, shared by all indexes (``$RAG_CACHE_DIR/embeddings.sqlite``)."""

    def __init__(self, path: Path | None = None):
        self.path = path or cache_dir() / "embeddings.sqlite"
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self._connect() as db:
            db.execute("CREATE TABLE IF NOT EXISTS vectors (key TEXT PRIMARY KEY, vector BLOB NOT NULL)")

    def _connect(self) -> sqlite3.Connection:
        return sqlite3.connect(self.path, timeout=30)

    def get_many(self, keys: Sequence[str]) -> dict[str, np.ndarray]:
        found: dict[str, np.ndarray] = {}
        with self._connect() as db:
            for start in range(0, len(keys), 500):
                batch = list(keys[start : start + 500])
                marks = ",".join("?" * len(batch))
                for key, blob in db.execute(f"SELECT key, vector FROM vectors WHERE key IN ({marks})", batch):
                    found[key] = np.frombuffer(blob, dtype=np.float32)
        return found

    def put_many(self, vectors: dict[str, np.ndarray]) -> None:
        with self._connect() as db:
            db.executemany(
                "INSERT OR REPLACE INTO vectors VALUES (?, ?)",
                [(k, np.asarray(v, dtype=np.float32).tobytes()) for k, v in vectors.items()],
            )

"""Embedders behind one small interface, and a cache of document vectors keyed by content hash.

A backend implements ``encode(texts) -> float32 array of unit vectors``; query/document prompts,
token counting and caching are built on top of it. ``SentenceTransformerEmbedder`` loads any
sentence-transformers model by path (or hub name, where a hub is reachable).
"""

from __future__ import annotations

import hashlib
import logging
import sqlite3
from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from rag.config import cache_dir
from rag.errors import ModelError
from rag.types import Chunk

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class EmbedderInfo:
    """What built an index's vectors; saved in ``meta.json`` and compared on load."""

    model_id: str
    dim: int
    query_prompt: str
    document_prompt: str  # may hold "{title}"
    max_seq_length: int


class Embedder(ABC):
    """Turns text into unit vectors. Subclasses implement ``encode`` and set ``info``."""

    info: EmbedderInfo

    @abstractmethod
    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """Embed already-prompted texts; return an (n, dim) float32 array of unit vectors."""

    def count_tokens(self, text: str) -> int:
        return len(text.split())

    def embed_query(self, query: str) -> np.ndarray:
        return self.encode([self.info.query_prompt + query])[0]

    def document_input(self, chunk: Chunk) -> str:
        return self.info.document_prompt.replace("{title}", chunk.title or "none") + chunk.text

    def embed_chunks(self, chunks: Sequence[Chunk], cache: EmbeddingCache | None = None) -> np.ndarray:
        """Embed chunks with the document prompt; vectors already in ``cache`` are not recomputed."""
        inputs = [self.document_input(c) for c in chunks]
        out = np.zeros((len(inputs), self.info.dim), dtype=np.float32)
        keys = [cache_key(self.info, text) for text in inputs]
        found = cache.get_many(keys) if cache else {}
        todo = [i for i, key in enumerate(keys) if key not in found]
        for i, key in enumerate(keys):
            if key in found:
                out[i] = found[key]
        if todo:
            log.info("embedding %d chunks (%d cached)", len(todo), len(inputs) - len(todo))
            fresh = self.encode([inputs[i] for i in todo])
            out[todo] = fresh
            if cache:
                cache.put_many({keys[i]: fresh[j] for j, i in enumerate(todo)})
        return out


def cache_key(info: EmbedderInfo, text: str) -> str:
    material = f"{info.model_id}\0{info.dim}\0{info.max_seq_length}\0{text}"
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


class SentenceTransformerEmbedder(Embedder):
    """A sentence-transformers model loaded by path or name.

    ``dim`` truncates Matryoshka models (EmbeddingGemma: 768/512/256/128). The model's own
    ``query``/``document`` prompts are used; a ``title: none`` document prompt gets the real title.
    """

    def __init__(self, model: str, dim: int | None = None, max_seq_length: int = 512, batch_size: int = 16):
        from rag.provision import resolve

        path = resolve(model)
        try:
            import transformers
            from sentence_transformers import SentenceTransformer

            if log.getEffectiveLevel() > logging.DEBUG:
                transformers.utils.logging.disable_progress_bar()

            self.model = SentenceTransformer(path, device="cpu", truncate_dim=dim, local_files_only=True)
        except Exception as e:  # the library raises many kinds; all mean "cannot load this model"
            raise ModelError(
                f"cannot load embedding model {model!r} from {path}: {e}. "
                "If it is a built-in model, run `rag setup --force` to fetch it again."
            ) from e
        self.model.max_seq_length = min(max_seq_length, self.model.max_seq_length or max_seq_length)
        self.batch_size = batch_size
        prompts = self.model.prompts or {}
        document = prompts.get("document", prompts.get("passage", ""))
        self.info = EmbedderInfo(
            model_id=model,
            dim=self.model.get_embedding_dimension(),
            query_prompt=prompts.get("query", ""),
            document_prompt=document.replace("title: none", "title: {title}"),
            max_seq_length=self.model.max_seq_length,
        )

    def count_tokens(self, text: str) -> int:
        return len(self.model.tokenizer(text, add_special_tokens=False)["input_ids"])

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        show = len(texts) > self.batch_size and log.getEffectiveLevel() <= logging.INFO
        vectors = self.model.encode(
            list(texts),
            prompt="",
            batch_size=self.batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=show,
        )
        return np.asarray(vectors, dtype=np.float32)


def load_embedder(info_or_name: EmbedderInfo | str, **kwargs) -> Embedder:
    """Load the embedder an index was built with (from its saved info), or one by name."""
    if isinstance(info_or_name, EmbedderInfo):
        return SentenceTransformerEmbedder(
            info_or_name.model_id, dim=info_or_name.dim, max_seq_length=info_or_name.max_seq_length
        )
    return SentenceTransformerEmbedder(info_or_name, **kwargs)

"""Embedders behind one small interface; document vectors are cached by ``rag.models.embed_cache``.

A backend implements ``encode(texts) -> float32 array of unit vectors``; query/document prompts,
token counting and caching are built on top of it. Backends are picked by name from ``rag.backends.REGISTRY``:

- ``sentence-transformers``: any sentence-transformers model by path (or hub name, where a hub is
  reachable), in ``float32`` or ``bfloat16``. bfloat16 is the fast route on CPUs with AMX or
  AVX512-BF16; elsewhere PyTorch emulates it and is slower than float32.
- ``onnxruntime``: the same models with int8 weights on ONNX Runtime (``precision="int8"``, exported
  once by ``rag.models.onnx_embed``), the fast route on CPUs without native bfloat16.

``precision="auto"`` picks bfloat16 where the CPU multiplies it natively, else int8
(eval/retrieval-figures.md has the speeds, the cosines to float32 and the recall of each).
Everything that built an index's vectors is kept in ``EmbedderInfo`` (``rag.models.embed_info``; saved in
``meta.json``), and ``load_embedder(info)`` rebuilds the same backend, so queries are embedded by the
model that embedded the documents.
"""

from __future__ import annotations

import logging
import threading
from abc import ABC, abstractmethod
from collections import OrderedDict
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path

import numpy as np

from rag.backends import REGISTRY, backend_class
from rag.errors import InputError, ModelError
from rag.models.embed_cache import EmbeddingCache, cache_key
from rag.models.embed_info import EmbedderInfo
from rag.types import Chunk

log = logging.getLogger(__name__)

PRECISIONS = ("float32", "bfloat16", "int8", "auto")
MAX_SEQ_LENGTH = 512  # tokens of a chunk a new embedder reads (its model may allow fewer, never more here)


class Embedder(ABC):
    """Turns text into unit vectors. Subclasses implement ``encode`` and ``from_info`` and set ``info``.

    Query vectors are remembered (the last ``query_cache_size`` queries), so a search and the answer's
    evidence check that embed the same question pay for it once; so are the sentences ``similarities``
    compares with a question.
    """

    info: EmbedderInfo
    query_cache_size: int = 64
    sentence_cache_size: int = 4096  # ~12 MB of 768-d vectors

    @abstractmethod
    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """Embed already-prompted texts; return an (n, dim) float32 array of unit vectors."""

    @classmethod
    def from_info(cls, info: EmbedderInfo) -> Embedder:
        """Rebuild the embedder described by ``info`` (what ``load_embedder`` calls for a saved index)."""
        raise NotImplementedError(f"{cls.__name__} cannot be rebuilt from saved info")

    def count_tokens(self, text: str) -> int:
        return len(text.split())

    def embed_query(self, query: str) -> np.ndarray:
        cache = self._query_cache()
        with self._query_lock():
            found = cache.get(query)
            if found is not None:
                cache.move_to_end(query)
                return found
        vector = self.encode([self.info.query_prompt + query])[0]
        self._remember({query: vector})
        return vector

    def embed_queries(self, queries: Sequence[str]) -> np.ndarray:
        """Many queries in one call (batched): the same vectors as ``embed_query`` one by one."""
        return self.encode([self.info.query_prompt + q for q in queries])

    def remember_queries(self, queries: Sequence[str]) -> None:
        """Embed ``queries`` in batches now and keep them all, so later ``embed_query`` calls are lookups
        (a benchmark that searches the same questions in several modes)."""
        unique = [q for q in dict.fromkeys(queries) if q not in self._query_cache()]
        self.query_cache_size = max(self.query_cache_size, len(self._query_cache()) + len(unique))
        if unique:
            self._remember(dict(zip(unique, self.embed_queries(unique), strict=True)))

    def _query_cache(self) -> OrderedDict[str, np.ndarray]:
        return self.__dict__.setdefault("_queries", OrderedDict())

    def _query_lock(self) -> threading.Lock:
        return self.__dict__.setdefault("_queries_lock", threading.Lock())

    def _remember(
        self, vectors: dict[str, np.ndarray], cache: OrderedDict | None = None, size: int | None = None
    ) -> None:
        """Keep ``vectors`` in ``cache`` (default: the query cache), dropping the least recently used
        beyond ``size`` (default: ``query_cache_size``)."""
        cache = self._query_cache() if cache is None else cache
        size = self.query_cache_size if size is None else size
        with self._query_lock():
            cache.update(vectors)
            while len(cache) > size:
                cache.popitem(last=False)

    def similarities(self, query: str, texts: Sequence[str]) -> np.ndarray:
        """Cosine between ``query`` (as a query) and each of ``texts`` (as untitled passages).

        The texts' vectors are remembered too (the last ``sentence_cache_size``): the answer ranks the
        sentences of the same articles question after question, and embeds each only once."""
        if not texts:
            return np.zeros(0, dtype=np.float32)
        prompt = self.info.document_prompt.replace("{title}", "none")
        inputs = [prompt + t for t in texts]
        cache = self.__dict__.setdefault("_sentences", OrderedDict())
        with self._query_lock():
            known = {text: cache[text] for text in inputs if text in cache}
            for text in known:
                cache.move_to_end(text)
        todo = list(dict.fromkeys(text for text in inputs if text not in known))
        if todo:
            fresh = dict(zip(todo, self.encode(todo), strict=True))
            known.update(fresh)
            self._remember(fresh, cache, self.sentence_cache_size)
        return np.stack([known[text] for text in inputs]) @ self.embed_query(query)

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


def _unit(vectors) -> np.ndarray:
    vectors = np.asarray(vectors, dtype=np.float32)
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return vectors / np.maximum(norms, 1e-12)


@lru_cache(maxsize=1)
def cpu_has_fast_bfloat16() -> bool:
    """True when this CPU multiplies bfloat16 natively (AMX-BF16 or AVX512-BF16; Linux flags)."""
    try:
        flags = Path("/proc/cpuinfo").read_text(errors="replace")
    except OSError:
        return False
    return any(flag in flags.split() for flag in ("amx_bf16", "avx512_bf16"))


def resolve_precision(precision: str) -> str:
    """``auto`` -> ``bfloat16`` on CPUs that run it natively, else ``int8`` (ONNX Runtime); others pass through."""
    if precision not in PRECISIONS:
        raise ModelError(f"unknown precision {precision!r}; use one of {', '.join(PRECISIONS)}")
    if precision == "auto":
        return "bfloat16" if cpu_has_fast_bfloat16() else "int8"
    return precision


def _info(model: str, dim: int, prompts: dict, max_len: int, backend: str, precision: str) -> EmbedderInfo:
    """The model's own ``query``/``document`` prompts; a ``title: none`` document prompt gets the real title."""
    document = prompts.get("document", prompts.get("passage", "")).replace("title: none", "title: {title}")
    return EmbedderInfo(model, dim, prompts.get("query", ""), document, max_len, backend, precision)


class SentenceTransformerEmbedder(Embedder):
    """A sentence-transformers model loaded by path or name.

    ``dim`` truncates Matryoshka models (EmbeddingGemma: 768/512/256/128). The model's own
    ``query``/``document`` prompts are used; a ``title: none`` document prompt gets the real title.
    ``precision="bfloat16"`` runs the whole model in bfloat16 (fast on AMX/AVX512-BF16 CPUs);
    vectors are still returned as unit float32. sentence-transformers sorts each call's texts by
    length before batching, so padding stays small.
    """

    def __init__(
        self,
        model: str,
        dim: int | None = None,
        max_seq_length: int = MAX_SEQ_LENGTH,
        batch_size: int = 16,
        precision: str = "float32",
    ):
        from rag.models.provision import resolve

        precision = resolve_precision(precision)
        if precision not in ("float32", "bfloat16"):
            raise ModelError(f"precision {precision} is not a sentence-transformers one: use load_embedder")
        path = resolve(model)
        try:
            import transformers
            from sentence_transformers import SentenceTransformer

            if log.getEffectiveLevel() > logging.DEBUG:
                transformers.utils.logging.disable_progress_bar()

            self.model = SentenceTransformer(path, device="cpu", truncate_dim=dim, local_files_only=True)
            if precision == "bfloat16":
                import torch

                self.model.to(torch.bfloat16)
        except Exception as e:  # the library raises many kinds; all mean "cannot load this model"
            raise ModelError(
                f"cannot load embedding model {model!r} from {path}: {e}. "
                "If it is a built-in model, run `rag setup --force` to fetch it again."
            ) from e
        self.model.max_seq_length = min(max_seq_length, self.model.max_seq_length or max_seq_length)
        self.batch_size = batch_size
        dim = self.model.get_embedding_dimension()
        max_len = self.model.max_seq_length
        self.info = _info(model, dim, self.model.prompts or {}, max_len, "sentence-transformers", precision)

    @classmethod
    def from_info(cls, info: EmbedderInfo) -> SentenceTransformerEmbedder:
        return cls(info.model_id, dim=info.dim, max_seq_length=info.max_seq_length, precision=info.precision)

    def _tokenizer_lock(self) -> threading.Lock:
        """The fast tokenizer is one Rust object whose settings each call changes: one thread at a time
        (else "Already borrowed" when the chat page embeds a question while an upload is indexed)."""
        return self.__dict__.setdefault("_tokenizer_lock_", threading.Lock())

    def count_tokens(self, text: str) -> int:
        with self._tokenizer_lock():
            return len(self.model.tokenizer(text, add_special_tokens=False)["input_ids"])

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        show = len(texts) > self.batch_size and log.getEffectiveLevel() <= logging.INFO
        with self._tokenizer_lock():
            vectors = self._encode(texts, show)
        return _unit(vectors)  # bfloat16 unit vectors are only unit to ~3 digits: normalize in float32

    def _encode(self, texts: Sequence[str], show: bool):
        return self.model.encode(
            list(texts),
            prompt="",
            batch_size=self.batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=show,
        )


class OnnxInt8Embedder(Embedder):
    """The same model run by ONNX Runtime with int8 weights (``rag.models.onnx_embed`` exports and runs it).

    Prompts, titles, token counts, ``dim`` truncation and unit float32 vectors are as above.
    """

    def __init__(self, model: str, dim: int | None = None, max_seq_length: int = MAX_SEQ_LENGTH, batch_size: int = 16):
        from rag.models.onnx_embed import load_export

        self.model = load_export(model, max_seq_length, batch_size)
        dim, max_len = self.model.dim(dim), self.model.max_seq_length
        self.info = _info(model, dim, self.model.config["prompts"], max_len, "onnxruntime", "int8")

    @classmethod
    def from_info(cls, info: EmbedderInfo) -> OnnxInt8Embedder:
        return cls(info.model_id, dim=info.dim, max_seq_length=info.max_seq_length)

    def count_tokens(self, text: str) -> int:
        return self.model.count_tokens(text)

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        show = len(texts) > self.model.batch_size and log.getEffectiveLevel() <= logging.INFO
        return _unit(self.model.embed(list(texts), show)[:, : self.info.dim])


def load_embedder(info_or_name: EmbedderInfo | str, dim: int | None = None, precision: str = "auto") -> Embedder:
    """Load the embedder an index was built with (from its saved info), or a new one by model name.

    A new one is a built-in name, a sentence-transformers folder, or a hub id where a hub is reachable;
    ``precision="auto"`` takes the fast route for the CPU (bfloat16 where it is native, else int8 on
    ONNX Runtime), and ``precision="float32"`` is the slower full-precision setting.
    """
    if isinstance(info_or_name, EmbedderInfo):
        if info_or_name.backend not in REGISTRY["embedder"]:
            raise ModelError(
                f"the index was built with embedding backend {info_or_name.backend!r}, unknown to this "
                f"version (known: {', '.join(REGISTRY['embedder'])}); rebuild the index with `rag index build`"
            )
        return backend_class("embedder", info_or_name.backend).from_info(info_or_name)
    if dim is not None and dim < 1:
        raise InputError(f"dim (--dim) must be a positive size, got {dim}; Matryoshka models take 512, 256 or 128")
    if resolve_precision(precision) == "int8":
        embedder: Embedder = OnnxInt8Embedder(info_or_name, dim=dim)
    else:
        embedder = SentenceTransformerEmbedder(info_or_name, dim=dim, precision=precision)
    if dim is not None and embedder.info.dim != dim:  # larger than the model's vectors
        raise InputError(f"dim (--dim) {dim}: {info_or_name} gives vectors of {embedder.info.dim}; ask for fewer")
    return embedder

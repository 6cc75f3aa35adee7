"""SQuAD files: where the bundled SQuAD-it slice is, and the index built from a SQuAD file.

``rag eval``, ``rag bench retrieval`` and ``rag bench refusal`` share these, so one SQuAD file always maps
to one index (``squad_it-dev.json.gz`` -> ``index/squad-it-dev``), rebuilt only when the file changes.
"""

from __future__ import annotations

import logging
import os
import re
from pathlib import Path

from rag.config import DEFAULT_EMBEDDER, index_path
from rag.errors import InputError

log = logging.getLogger(__name__)
_SQUAD_ID = re.compile(r".+#\d+")  # a SQuAD paragraph's id (rag.sources.ingest.squad_doc_id): "Title#3"


def default_dataset() -> Path:
    """The SQuAD-it dev slice next to the checkout: ``../shared/datasets/squad-it/squad_it-dev.json.gz``,
    seen from the current folder or from the checkout this package runs from (the first that exists)."""
    relative = Path("shared") / "datasets" / "squad-it" / "squad_it-dev.json.gz"
    candidates = [Path.cwd().parent / relative, Path(__file__).resolve().parents[3] / relative]
    return next((c for c in candidates if c.is_file()), candidates[0])


def squad_index_name(path: str | os.PathLike) -> str:
    """``squad_it-dev.json.gz`` -> ``squad-it-dev``: the cached index name for a SQuAD file."""
    stem = re.sub(r"\.(jsonl|json)(\.gz)?$", "", Path(path).name, flags=re.IGNORECASE).lower()
    return re.sub(r"[^a-z0-9.-]+", "-", stem).strip("-.") or "squad"


def ensure_squad_index(path: str | os.PathLike, model: str = DEFAULT_EMBEDDER, embedder=None) -> Path:
    """Return ``index/<squad_index_name>``, built from the SQuAD file unless it already holds exactly
    that file's paragraphs (checked by content hash). Vectors come from the embedding cache when present.
    ``embedder``: use this one instead of loading ``model`` (only needed when building)."""
    from rag.index.indexer import build_index
    from rag.models.embed import load_embedder
    from rag.models.embed_cache import EmbeddingCache
    from rag.sources.ingest import load_documents
    from rag.stores.folder import Store, content_hash

    target = index_path(squad_index_name(path))
    docs = load_documents([path])
    if (target / "meta.json").exists():
        store = Store.open(target)
        try:
            held = set(store.doc_ids())
            same = held == {d.id for d in docs} and all(store.stored_hash(d.id) == content_hash(d) for d in docs)
        finally:
            store.close()
        if same:
            log.info("reusing index %s (same %d paragraphs as %s)", target, len(docs), path)
            return target
        if not all(_SQUAD_ID.fullmatch(doc_id) for doc_id in held):  # e.g. news.json beside an index "news"
            raise InputError(
                f"{target} holds other articles than the SQuAD file {path} (it was not built from a SQuAD file), "
                f"so it is not replaced: rename the SQuAD file (its index is named after it), or build one from it "
                f"with `rag index build {path} --name NAME` and pass --index NAME"
            )
        log.warning("index %s does not match %s; rebuilding it", target, path)
    log.info("building index %s from %s (%d paragraphs)", target, path, len(docs))
    report = build_index(docs, target, embedder or load_embedder(model), cache=EmbeddingCache())
    log.info("%s", report.summary())
    return target

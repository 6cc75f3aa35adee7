"""What describes an index, whatever its backend: ``meta.json`` (``IndexMeta``), the content hash that tells
whether a document changed, the one-line error for a damaged part, and which folders hold an index.

``index/<name>/meta.json`` says what built the index (embedder, chunking), how much it holds, its format
version and times, and where its chunks live (``IndexMeta.store``, see ``rag.stores.registry``).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

from rag.errors import StoreError
from rag.models.embed_info import EmbedderInfo
from rag.types import ChunkSettings, Document

FORMAT_VERSION = 1
# Files other modules keep in an index folder (``rag.index.feeds``, ``rag.index.catalog``): every edit and
# rebuild carries them over, whatever the backend.
KEPT_FILES = ("feeds.json", "examples.txt")


@dataclass(frozen=True)
class IndexMeta:
    embedder: EmbedderInfo
    chunking: ChunkSettings
    documents: int = 0
    chunks: int = 0
    created: str = ""
    updated: str = ""
    format_version: int = FORMAT_VERSION
    # where the chunks live: {"backend": "faiss"} (this folder) or e.g. {"backend": "milvus", "uri": ..., "collection":
    # ...} (``rag.stores.registry``); never credentials, which come from the environment
    store: dict = field(default_factory=lambda: {"backend": "faiss"})

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2, ensure_ascii=False)

    @classmethod
    def from_json(cls, text: str) -> IndexMeta:
        raw = json.loads(text)
        if raw.get("format_version") != FORMAT_VERSION:
            raise StoreError(
                f"index format {raw.get('format_version')} is not {FORMAT_VERSION}; rebuild it with `rag index build`"
            )
        return cls(
            embedder=EmbedderInfo(**raw["embedder"]),
            chunking=ChunkSettings(**raw["chunking"]),
            **{k: raw[k] for k in ("documents", "chunks", "created", "updated", "format_version")},
            store=raw.get("store") or {"backend": "faiss"},
        )


def content_hash(doc: Document) -> str:
    return hashlib.sha256(json.dumps(asdict(doc), sort_keys=True, ensure_ascii=False).encode()).hexdigest()


def damaged(path: Path, file: str, why: object, store: str | None = None) -> StoreError:
    """The one-line error for a damaged part of the index at ``path``, naming the file and the fix.

    ``file`` is relative to the index folder, or absolute for a part elsewhere (a Milvus file); ``store``, the
    ``--store`` the rebuild needs when it is not the default."""
    return StoreError(f"index {path.name!r} is damaged: {path / file}: {why}; {rebuild_hint(path, store)}")


def rebuild_hint(path: Path, store: str | None = None) -> str:
    """The fix for a damaged index: `rag index build PATHS --name NAME`, with ``--store`` when it needs one."""
    option = f" --store {store}" if store and store != "faiss" else ""
    return f"rebuild it with `rag index build PATHS --name {path.name}{option}`"


def index_names(root: Path) -> list[str]:
    """The indexes under ``root``: folders holding a ``meta.json``, without working copies and backups."""
    if not root.is_dir():
        return []
    return sorted(p.name for p in root.iterdir() if not p.name.startswith(".") and (p / "meta.json").is_file())

"""``rag index check``: verify that the parts of an index agree, and say what is wrong if not.

An index is four parts written together (see ``rag.stores.folder``): ``meta.json``, ``vectors.faiss``,
``chunks.sqlite`` and ``lexical/``. Each is read on its own (so one damaged part does not hide the
others), then their counts and chunk ids are compared.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from rag.errors import StoreError
from rag.stores.atomic import recover
from rag.stores.lexical import LexicalIndex
from rag.stores.meta import IndexMeta


@dataclass
class CheckReport:
    path: Path
    problems: list[str] = field(default_factory=list)
    documents: int | None = None
    chunks: int | None = None

    @property
    def ok(self) -> bool:
        return not self.problems

    def summary(self) -> str:
        if self.ok:
            return (
                f"ok: index {self.path.name!r} holds {self.documents} documents and {self.chunks} chunks; "
                "meta.json, vectors.faiss, chunks.sqlite and lexical/ agree"
            )
        return (
            f"index {self.path.name!r} is damaged ({len(self.problems)} problem(s) above); "
            f"rebuild it with `rag index build PATHS --name {self.path.name}`"
        )


def _differ(rows: set[int], expected: set[int]) -> str:
    extra, missing = sorted(rows - expected), sorted(expected - rows)
    parts = [f"{len(missing)} chunk(s) missing (rows {missing[:5]})"] if missing else []
    parts += [f"{len(extra)} chunk(s) not in chunks.sqlite (rows {extra[:5]})"] if extra else []
    return ", ".join(parts)


def _read_meta(path: Path, report: CheckReport) -> IndexMeta | None:
    try:
        return IndexMeta.from_json((path / "meta.json").read_text())
    except (OSError, UnicodeDecodeError, KeyError, TypeError, AttributeError, json.JSONDecodeError) as e:
        report.problems.append(f"meta.json: unreadable ({e})")
    except StoreError as e:
        report.problems.append(f"meta.json: {e}")
    return None


def _read_vector_ids(path: Path, report: CheckReport) -> set[int] | None:
    import faiss

    try:
        index = faiss.read_index(str(path / "vectors.faiss"))
        return set(faiss.vector_to_array(index.id_map).tolist())
    except (OSError, RuntimeError, AttributeError) as e:
        report.problems.append(f"vectors.faiss: unreadable ({' '.join(str(e).split())[:200]})")
    return None


def _read_chunks(path: Path, report: CheckReport) -> tuple[int, set[int]] | None:
    """(documents, chunk rows) of chunks.sqlite, after SQLite's own integrity check."""
    if not (path / "chunks.sqlite").is_file():
        report.problems.append("chunks.sqlite: the file is missing")
        return None
    try:
        db = sqlite3.connect(f"file:{path / 'chunks.sqlite'}?mode=ro", uri=True)
        try:
            verdict = [r[0] for r in db.execute("PRAGMA integrity_check(5)")]
            if verdict != ["ok"]:
                report.problems.append(f"chunks.sqlite: SQLite integrity check failed: {'; '.join(verdict)}")
                return None
            documents = db.execute("SELECT COUNT(*) FROM documents").fetchone()[0]
            rows = {r for (r,) in db.execute("SELECT row FROM chunks")}
            orphans = db.execute("SELECT COUNT(*) FROM chunks WHERE doc_id NOT IN (SELECT id FROM documents)")
            if (count := orphans.fetchone()[0]) > 0:
                report.problems.append(f"chunks.sqlite: {count} chunk(s) belong to no stored document")
            return documents, rows
        finally:
            db.close()
    except sqlite3.DatabaseError as e:
        report.problems.append(f"chunks.sqlite: unreadable ({e})")
    return None


def _read_lexical(path: Path, report: CheckReport) -> set[int] | None:
    folder = path / "lexical"
    for name in ("lexical.json", "rows.npy"):
        if not (folder / name).is_file():
            report.problems.append(f"lexical/{name}: the file is missing")
            return None
    try:
        rows = np.load(folder / "rows.npy")
        info = json.loads((folder / "lexical.json").read_text())
        index = LexicalIndex.load(folder)
    except Exception as e:  # bm25s reads several files with numpy, json and scipy: any failure is damage
        report.problems.append(f"lexical/: unreadable ({type(e).__name__}: {e})")
        return None
    if info.get("chunks") != len(rows):
        report.problems.append(f"lexical/lexical.json says {info.get('chunks')} chunks, rows.npy lists {len(rows)}")
    held = index.bm25.scores.get("num_docs", len(rows)) if len(rows) else 0
    if held != len(rows):
        report.problems.append(f"lexical/: the BM25 index holds {held} chunks, rows.npy lists {len(rows)}")
    return set(rows.tolist())


def check_index(path: str | Path) -> CheckReport:
    """Read every part of the index at ``path`` and compare them; ``report.problems`` says what disagrees."""
    path = Path(path)
    recover(path)
    report = CheckReport(path)
    if not (path / "meta.json").exists():
        raise StoreError(f"no index at {path}; build one with `rag index build PATH --name {path.name}`")
    meta = _read_meta(path, report)
    vector_ids = _read_vector_ids(path, report)
    stored = _read_chunks(path, report)
    lexical = _read_lexical(path, report)
    if stored is None:
        return report
    documents, rows = stored
    report.documents, report.chunks = documents, len(rows)
    if meta and (meta.documents, meta.chunks) != (documents, len(rows)):
        report.problems.append(
            f"meta.json says {meta.documents} documents and {meta.chunks} chunks, "
            f"chunks.sqlite holds {documents} and {len(rows)}"
        )
    for name, ids in (("vectors.faiss", vector_ids), ("lexical/rows.npy", lexical)):
        if ids is not None and ids != rows:
            report.problems.append(f"{name}: {_differ(ids, rows)}")
    return report

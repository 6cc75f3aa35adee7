"""``rag index check``: verify that the parts of an index agree, and say what is wrong if not.

An index is four parts written together (see ``rag.stores.folder``): ``meta.json``, ``vectors.faiss``,
``chunks.sqlite`` and ``lexical/``. Each is read on its own (so one damaged part does not hide the
others), then their counts and chunk ids are compared, and each BM25 entry with the chunk it claims to be.
A Milvus index is meta.json and two collections (``rag.stores.milvus_store.MilvusStore.verify``).
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from rag.errors import StoreError
from rag.stores.atomic import locked, recover
from rag.stores.folder import vector_ids
from rag.stores.lexical import LexicalIndex
from rag.stores.meta import IndexMeta, rebuild_hint
from rag.text import counted


@dataclass
class CheckReport:
    path: Path
    problems: list[str] = field(default_factory=list)
    documents: int | None = None
    chunks: int | None = None
    parts: str = "meta.json, vectors.faiss, chunks.sqlite and lexical/"  # what was compared
    store: str | None = None  # the --store a rebuild needs, if not the default

    @property
    def ok(self) -> bool:
        return not self.problems

    def summary(self) -> str:
        if self.ok:
            return (
                f"ok: index {self.path.name!r} holds {counted(self.documents, 'document')} and "
                f"{counted(self.chunks, 'chunk')}; "
                f"{self.parts} agree"
            )
        return (
            f"index {self.path.name!r} is damaged ({len(self.problems)} problem(s) above); "
            f"{rebuild_hint(self.path, self.store)}"
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
        return set(vector_ids(faiss.read_index(str(path / "vectors.faiss"))).tolist())
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


def _read_lexical(path: Path, report: CheckReport) -> LexicalIndex | None:
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
        return None
    return index


def _lexical_rows_agree(path: Path, index: LexicalIndex, report: CheckReport, batch: int = 2000) -> None:
    """Each BM25 entry holds the words of the chunk ``rows.npy`` says it is: entry i was built from the text
    of chunk ``rows[i]`` (its title and text, analysed as ``rag.text.tokenize`` does). A permuted or foreign
    ``rows.npy`` keeps the same set of rows but makes lexical search return other chunks than it found."""
    import scipy.sparse as sp

    from rag.text import tokenize

    rows = index.rows
    if len(rows) and np.any(np.diff(rows) <= 0):
        report.problems.append(
            "lexical/rows.npy: the rows are not in the order of the chunks (it is written sorted): permuted or "
            "from another index, so lexical search would return the wrong chunks"
        )
    if not len(rows):
        return
    scores, vocab = index.bm25.scores, index.bm25.vocab_dict
    empty = vocab.get("")  # bm25s gives a chunk with no words left (all stopwords) the empty token
    held = sp.csc_matrix(
        (scores["data"], scores["indices"], scores["indptr"]), shape=(len(rows), len(scores["indptr"]) - 1)
    ).tocsr()
    wrong: list[int] = []
    db = sqlite3.connect(f"file:{path / 'chunks.sqlite'}?mode=ro", uri=True)
    try:
        for start in range(0, len(rows), batch):
            part = [int(r) for r in rows[start : start + batch]]
            marks = ",".join("?" * len(part))
            found = dict(
                db.execute(
                    f"SELECT row, COALESCE(title, '') || char(10) || text FROM chunks WHERE row IN ({marks})", part
                )
            )
            texts = [found.get(r, "") for r in part]
            for offset, tokens in enumerate(tokenize(texts, index.language)):
                i = start + offset
                claimed = {vocab.get(t, -1) for t in tokens} - {empty}
                stored = set(held.indices[held.indptr[i] : held.indptr[i + 1]].tolist()) - {empty}
                if claimed != stored:
                    wrong.append(int(rows[i]))
    finally:
        db.close()
    if wrong:
        report.problems.append(
            f"lexical/: {len(wrong)} of {len(rows)} BM25 entries do not hold the words of the chunk rows.npy names "
            f"(rows {wrong[:5]}): lexical search would return the wrong chunks"
        )


def check_index(path: str | Path) -> CheckReport:
    """Read every part of the index at ``path`` and compare them; ``report.problems`` says what disagrees."""
    path = Path(path)
    recover(path)
    report = CheckReport(path)
    if not (path / "meta.json").exists():
        raise StoreError(f"no index at {path}; build one with `rag index build PATH --name {path.name}`")
    meta = _read_meta(path, report)
    if meta is not None and meta.store.get("backend") == "milvus":
        _check_milvus(path, meta, report)
        return report
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
    lexical_ids = set(lexical.rows.tolist()) if lexical is not None else None
    for name, ids in (("vectors.faiss", vector_ids), ("lexical/rows.npy", lexical_ids)):
        if ids is not None and ids != rows:
            report.problems.append(f"{name}: {_differ(ids, rows)}")
    if lexical is not None and lexical_ids == rows:
        _lexical_rows_agree(path, lexical, report)
    return report


def _check_milvus(path: Path, meta: IndexMeta, report: CheckReport) -> None:
    """A Milvus index: meta.json and its two collections (``MilvusStore.verify``), read with the write lock
    held so that an add in progress is not taken for damage."""
    from rag.stores.milvus_schema import store_spec
    from rag.stores.milvus_store import MilvusStore

    uri, collection = meta.store.get("uri", "?"), meta.store.get("collection", "?")
    report.parts = f"meta.json and the Milvus collections {collection} and {collection}_docs in {uri}"
    report.store = store_spec(uri)
    with locked(path):
        try:
            store = MilvusStore.open(path, meta, check=False)
        except StoreError as e:
            report.problems.append(str(e))
            return
        report.problems += store.verify()
        if not report.problems:
            report.documents, report.chunks = store.count()

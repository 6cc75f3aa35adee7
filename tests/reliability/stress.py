"""Concurrent use of one index, run in a child process so a crash (the segfault of issue 15, case 1)
fails the test instead of killing pytest.

    python -m tests.reliability.stress search SECONDS FOLDER   # search + reload + add on one Retriever
    python -m tests.reliability.stress close SECONDS FOLDER    # Store.close while threads query it

Prints one JSON line of counts; exits 1 on the first wrong result or exception (with its traceback).
"""

from __future__ import annotations

import faulthandler
import json
import random
import sys
import threading
import time
import traceback
from pathlib import Path

from rag.errors import StoreError
from rag.index.indexer import add_to_index, build_index, remove_from_index
from rag.index.retriever import Retriever
from rag.sources.ingest import text_document
from rag.stores.folder import Store
from rag.types import Filters

from tests.conftest import FakeEmbedder


def article(key: str, n: int) -> str:
    """An article of three invented words made from ``key`` (about 500 words, so several chunks): no
    other article shares a word with it, so every search mode must put it first for those words."""
    sentences = (" ".join(f"{key}{(s + j) % 3}" for j in range(12)) for s in range(40))
    return f"Roma, {n % 28 + 1} marzo 2026 – " + ". ".join(sentences) + "."


def query(key: str) -> str:
    return f"{key}0 {key}1 {key}2"


def stable_docs(count: int = 30):
    return [text_document(f"stable-{i:02d}.txt", article(f"stabile{i:02d}x", i)) for i in range(count)]


def run_threads(threads: list[threading.Thread], meanwhile) -> None:
    """Start ``threads``, call ``meanwhile()`` (which makes them stop), wait for them."""
    for thread in threads:
        thread.start()
    meanwhile()
    for thread in threads:
        thread.join(timeout=60)


def run(seconds: float, folder: Path, searchers: int = 3) -> dict:
    embedder = FakeEmbedder(dim=2048)  # wide enough that invented words rarely share a slot
    path = folder / "index" / "stress"
    build_index(stable_docs(), path, embedder)
    retriever = Retriever.load(path, embedder=embedder)
    stop = threading.Event()
    counts = {"searches": 0, "reloads": 0, "adds": 0, "removes": 0}
    errors: list[str] = []
    lock = threading.Lock()

    def fail(message: str) -> None:
        with lock:
            errors.append(message)
        stop.set()

    def count(name: str) -> None:
        with lock:
            counts[name] += 1

    def searcher(seed: int) -> None:
        rng = random.Random(seed)
        try:
            while not stop.is_set():
                i = rng.randrange(30)
                mode = rng.choice(["hybrid", "dense", "lexical"])
                filters = Filters(date_from="2026-01-01") if rng.random() < 0.3 else None
                hits = retriever.search(query(f"stabile{i:02d}x"), k=3, mode=mode, filters=filters)
                if not hits or hits[0].doc_id != f"stable-{i:02d}.txt":
                    return fail(f"{mode}: stabile{i:02d}x found {[h.doc_id for h in hits]}")
                document = retriever.store.document(hits[0].doc_id)
                if document is None or document.text[hits[0].start : hits[0].end] != hits[0].text:
                    return fail(f"{hits[0].chunk_id}: the passage does not match its document's text")
                if len(retriever.store.vectors_of([hits[0].chunk_id])) != 1:
                    return fail(f"{hits[0].chunk_id}: no stored vector")
                count("searches")
        except Exception:
            fail(traceback.format_exc())

    def reloader() -> None:
        try:
            while not stop.is_set():
                retriever.reload()
                count("reloads")
                time.sleep(0.005)
        except Exception:
            fail(traceback.format_exc())

    def writer() -> None:
        """Adds a new article, finds it after reload, and removes the one added five steps before."""
        try:
            n = 0
            while not stop.is_set():
                key = f"nuova{n:05d}q"
                add_to_index([text_document(f"new-{n:05d}.txt", article(key, n))], path, embedder=embedder)
                count("adds")
                retriever.reload()
                hits = retriever.search(query(key), k=1)
                if not hits or hits[0].doc_id != f"new-{n:05d}.txt":
                    return fail(f"the article just added ({key}) is not found: {[h.doc_id for h in hits]}")
                if n >= 5:
                    remove_from_index([f"new-{n - 5:05d}.txt"], path)
                    count("removes")
                n += 1
        except Exception:
            fail(traceback.format_exc())

    threads = [threading.Thread(target=searcher, args=(s,)) for s in range(searchers)]
    threads += [threading.Thread(target=reloader), threading.Thread(target=writer)]
    run_threads(threads, lambda: (stop.wait(seconds), stop.set()))
    return {**counts, "errors": errors}


def close_under_queries(seconds: float, folder: Path, readers: int = 3) -> dict:
    """Threads read every chunk in a loop; the store is closed under them after ``seconds``.

    Each read must return every chunk until the close, and a clean ``StoreError`` after it.
    """
    path = folder / "index" / "close"
    build_index(stable_docs(), path, FakeEmbedder(dim=2048))
    store = Store.open(path)
    rows = [row for row, _ in store.all_chunks()]
    counts = {"reads": 0, "refused after close": 0}
    errors: list[str] = []
    lock = threading.Lock()

    def reader() -> None:
        try:
            while True:
                try:
                    found = store.chunks_by_rows(rows)
                    ids = store.doc_ids()
                except StoreError as e:
                    if "was closed" not in str(e):
                        raise
                    with lock:
                        counts["refused after close"] += 1
                    return
                if len(found) != len(rows) or len(ids) != 30:
                    with lock:
                        errors.append(f"a read returned {len(found)} of {len(rows)} chunks, {len(ids)} documents")
                    return
                with lock:
                    counts["reads"] += 1
        except Exception:
            with lock:
                errors.append(traceback.format_exc())

    run_threads([threading.Thread(target=reader) for _ in range(readers)], lambda: (time.sleep(seconds), store.close()))
    return {**counts, "errors": errors}


if __name__ == "__main__":
    faulthandler.enable()
    task = {"search": run, "close": close_under_queries}[sys.argv[1]]
    result = task(float(sys.argv[2]), Path(sys.argv[3]))
    print(json.dumps(result))
    sys.exit(1 if result["errors"] else 0)

"""A running server follows the index on disk: what `rag index add`, `sync` or `remove` writes from another
process is seen by the next search of a ``Retriever`` already open (the page, `rag serve` and the assistant all
search through one), without a restart (issue 31, item 3)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import pytest

from rag.errors import StoreError
from rag.index.feeds import add_feeds
from rag.index.indexer import add_to_index, build_index
from rag.index.retriever import Retriever
from rag.sources.ingest import load_documents
from rag.stores.atomic import version
from rag.stores.registry import open_store
from rag.types import Document

from tests.conftest import ROOT, SEEDS, UMEROV_DOC, FakeEmbedder

pytestmark = pytest.mark.reliability

FEED = ROOT / "tests" / "fixtures" / "feed" / "notizie.rss"
NEW_ITEM = """    <item>
      <title>Zanzibar, l'ornitorinco volante avvistato al porto</title>
      <link>http://notizie.example/news/ornitorinco-zanzibar.html</link>
      <pubDate>Mon, 27 Apr 2026 18:05:00 +0200</pubDate>
      <description>Un ornitorinco volante è stato avvistato al porto di Zanzibar dai pescatori.</description>
    </item>
  </channel>"""


def in_another_process(code: str) -> str:
    """Run ``code`` in a new Python process (the fake embedder importable from ``tests.conftest``)."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    setup = "from pathlib import Path\nfrom tests.conftest import FakeEmbedder\n"
    done = subprocess.run(
        [sys.executable, "-c", setup + textwrap.dedent(code)], env=env, cwd=ROOT, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


@pytest.fixture
def index(tmp_path, fake_embedder):
    path = tmp_path / "index" / "seeds"
    build_index(load_documents([SEEDS]), path, fake_embedder)
    return path


def doc_ids(hits) -> list[str]:
    return [h.doc_id for h in hits]


def test_an_add_by_another_process_is_seen_by_the_next_search(index, fake_embedder):
    retriever = Retriever(open_store(index), fake_embedder)
    assert "zanzibar.txt" not in doc_ids(retriever.search("ornitorinco zanzibar", k=3))
    in_another_process(f"""
        from rag.index.indexer import add_to_index
        from rag.types import Document
        doc = Document("zanzibar.txt", "Un ornitorinco volante è stato visto a Zanzibar.", "Ornitorinco")
        add_to_index([doc], Path({str(index)!r}), embedder=FakeEmbedder())
    """)
    assert doc_ids(retriever.search("ornitorinco zanzibar", k=3))[0] == "zanzibar.txt"
    for mode in ("dense", "lexical"):
        assert doc_ids(retriever.search("ornitorinco zanzibar", k=1, mode=mode)) == ["zanzibar.txt"]


def test_a_sync_of_a_local_feed_by_another_process_is_seen_by_the_next_search(index, tmp_path, fake_embedder):
    feed = tmp_path / "notizie.rss"
    feed.write_text(FEED.read_text(encoding="utf-8"), encoding="utf-8")
    add_feeds([feed], index, embedder=fake_embedder, feed_text=True)
    retriever = Retriever(open_store(index), fake_embedder)
    link = "http://notizie.example/news/ornitorinco-zanzibar.html"
    assert link not in doc_ids(retriever.search("ornitorinco zanzibar", k=3))
    feed.write_text(FEED.read_text(encoding="utf-8").replace("  </channel>", NEW_ITEM), encoding="utf-8")
    out = in_another_process(f"""
        from rag.index.feeds import sync_feeds
        print(sync_feeds(Path({str(index)!r}), embedder=FakeEmbedder()).index.added)
    """)
    assert link in out
    assert doc_ids(retriever.search("ornitorinco zanzibar", k=3))[0] == link


def test_a_remove_by_another_process_is_seen_by_the_next_search(index, fake_embedder):
    retriever = Retriever(open_store(index), fake_embedder)
    assert UMEROV_DOC in doc_ids(retriever.search("Umerov Bruxelles", k=3))
    env = {**os.environ, "RAG_INDEX_DIR": str(index.parent)}
    done = subprocess.run(
        [sys.executable, "-m", "rag", "index", "remove", UMEROV_DOC, "--name", index.name],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    assert UMEROV_DOC not in doc_ids(retriever.search("Umerov Bruxelles", k=5))
    assert UMEROV_DOC not in retriever.store.doc_ids()


def test_two_writes_in_a_row_are_seen(index, fake_embedder):
    """A swap frees the folder's inode and a later write's folder gets it back, so the folder's inode alone
    repeats (A, B, A …): a server that had loaded A missed the writes that brought A back."""
    retriever = Retriever(open_store(index), fake_embedder)
    versions = [version(index)]
    for n in range(6):
        text = f"Notizia numero {n}: il parola{n} è stato avvistato."
        add_to_index([Document(f"n{n}.txt", text, f"Notizia {n}")], index, embedder=fake_embedder)
        versions.append(version(index))
        if n % 2 == 0:
            continue  # two writes between two searches
        for m in (n - 1, n):
            assert doc_ids(retriever.search(f"parola{m}", k=1, mode="lexical")) == [f"n{m}.txt"]
    assert len(set(versions)) == len(versions)


def test_a_deleted_or_rebuilt_index_is_said_not_answered_from_the_old_one(index, fake_embedder):
    retriever = Retriever(open_store(index), fake_embedder)
    build_index(load_documents([SEEDS]), index, FakeEmbedder(dim=32, model_id="other"))
    with pytest.raises(StoreError, match="was built with other"):
        retriever.search("Umerov", k=1)
    shutil.rmtree(index)
    with pytest.raises(StoreError, match="no index at"):
        retriever.search("Umerov", k=1)


def test_threads_searching_while_the_index_changes_all_see_it_once_written(index, fake_embedder):
    retriever = Retriever(open_store(index), fake_embedder)
    retriever.search("Umerov", k=1)
    add_to_index([Document("z.txt", "Il parolaz è una notizia.", "Z")], index, embedder=fake_embedder)
    found, errors = [], []

    def search() -> None:
        try:
            found.append(doc_ids(retriever.search("parolaz", k=1, mode="lexical")))
        except Exception as e:  # pragma: no cover - reported below
            errors.append(e)

    threads = [threading.Thread(target=search) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors and found == [["z.txt"]] * 8


def test_an_unchanged_index_is_not_reopened(index, fake_embedder):
    retriever = Retriever(open_store(index), fake_embedder)
    store = retriever.store
    for _ in range(3):
        retriever.search("Umerov", k=1)
    assert retriever.store is store
    Path(index / "examples.txt").write_text("Chi è Umerov?\n", encoding="utf-8")  # not a change of the chunks
    retriever.search("Umerov", k=1)
    assert retriever.store is store

"""Issue 15, cases 5-7: leftovers of killed writes, text decoding by content, the article size guard,
and an add that changes nothing."""

from __future__ import annotations

import os
import random
import shutil
import signal
import subprocess
import sys
import time

import pytest

from rag.errors import InputError
from rag.index.indexer import add_to_index
from rag.index.retriever import Retriever
from rag.sources.ingest import load_documents, text_document

from tests.conftest import ROOT, SEEDS, write

pytestmark = pytest.mark.reliability

ITALIAN = (
    "Roma, 3 dicembre 2025 – Il ministro è arrivato a Bruxelles perché la città ospita la NATO. "
    "L'incontro è durato più di un'ora; «Siamo soddisfatti», ha detto. Costo: 5 €.\n"
)


# ---- case 5: temporary folders of interrupted writes -------------------------------------------------
KILLED_ADD = """
import sys, time
from rag.index.indexer import add_to_index
from rag.sources.ingest import text_document
from tests.conftest import FakeEmbedder

class Slow(FakeEmbedder):
    def encode(self, texts):
        print("embedding", flush=True)
        time.sleep(60)

add_to_index([text_document("nuovo.txt", "Un articolo nuovo.")], sys.argv[1], embedder=Slow())
"""


def test_a_killed_write_leaves_a_copy_that_the_next_write_removes(seeds, fake_embedder):
    from rag.ui.app import available_indexes

    child = subprocess.Popen(
        [sys.executable, "-c", KILLED_ADD, str(seeds)], cwd=ROOT, stdout=subprocess.PIPE, text=True
    )
    try:
        assert child.stdout.readline().strip() == "embedding"
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait()
    left = [p.name for p in seeds.parent.glob(".seeds.tmp-*")]
    assert len(left) == 1 and (seeds.parent / left[0] / "meta.json").exists(), left
    assert available_indexes("seeds") == ["seeds"], "a working copy is never listed as an index"
    add_to_index([text_document("altro.txt", "Un altro articolo.")], seeds, embedder=fake_embedder)
    assert not list(seeds.parent.glob(".seeds.tmp-*")), "the next write removed the leftover"
    assert "altro.txt" in Retriever.load(seeds, embedder=fake_embedder).store.doc_ids()


def test_the_page_lists_only_indexes(seeds):
    from rag.ui.app import available_indexes

    shutil.copytree(seeds, seeds.parent / ".seeds.tmp-abc123")
    shutil.copytree(seeds, seeds.parent / ".seeds.old")
    (seeds.parent / "notes").mkdir()
    assert available_indexes("seeds") == ["seeds"]


# ---- case 6: decoding by content ---------------------------------------------------------------------
def read_one(path):
    (doc,) = load_documents([path])
    return doc.text


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "utf-16", "utf-16-le", "utf-16-be", "utf-32", "cp1252"])
def test_italian_text_in_any_common_encoding_reads_the_same(tmp_path, encoding):
    text = ITALIAN if encoding != "cp1252" else ITALIAN.replace("–", "-")
    path = write(tmp_path / f"articolo-{encoding}.txt", text.encode(encoding))
    assert read_one(path) == text.strip()


def test_random_bytes_without_nul_are_refused(tmp_path):
    rng = random.Random(15)
    noise = bytes(b for b in (rng.randrange(1, 256) for _ in range(5000)))
    path = write(tmp_path / "rumore.txt", noise)
    with pytest.raises(InputError, match=r"rumore.txt: looks like a binary file, not text"):
        load_documents([path])


@pytest.mark.parametrize(
    "name, data",
    [
        ("immagine.md", b"\x89PNG\r\n\x1a\n" + bytes(range(1, 256)) * 8),
        ("controlli.txt", b"\x01\x02\x03\x04 ciao \x05\x06\x07\x08" * 50),
        ("falso-bom.txt", b"\xff\xfe" + b"\x00\xd8" * 10),  # a UTF-16 mark, then an unpaired surrogate
    ],
)
def test_binary_and_garbage_are_refused_with_one_line(tmp_path, name, data):
    with pytest.raises(InputError, match=rf"{name}: looks like a binary file, not text") as info:
        load_documents([write(tmp_path / name, data)])
    assert "\n" not in str(info.value)


# ---- case 7: size guard, and an add that changes nothing -----------------------------------------------
def test_an_article_above_the_limit_is_refused_naming_it(tmp_path, monkeypatch):
    big = write(tmp_path / "enorme.txt", ITALIAN * 12_000)  # about 2.2 MB
    with pytest.raises(InputError, match=r"enorme.txt: article 'enorme.txt' is 2\.\d+ MB of text, above the 2 MB"):
        load_documents([big])
    lines = "".join(f'{{"id": "a{i}", "text": "{ITALIAN.strip()}"}}\n' for i in range(3))
    lines += '{"id": "grande", "text": "' + "parola " * 400_000 + '"}\n'
    with pytest.raises(InputError, match=r"article 'grande' is 2.8 MB .* RAG_MAX_ARTICLE_MB"):
        load_documents([write(tmp_path / "feed.jsonl", lines)])
    monkeypatch.setenv("RAG_MAX_ARTICLE_MB", "3")
    assert len(load_documents([big])[0].text) > 2_000_000


def test_the_command_refuses_a_huge_article_before_loading_a_model(tmp_path):
    big = write(tmp_path / "enorme.txt", ITALIAN * 300_000)  # about 55 MB, as in the issue
    env = {**os.environ, "RAG_INDEX_DIR": str(tmp_path / "index")}
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "rag", "index", "build", str(big), "--name", "t"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 2 and "above the 2 MB limit per article" in done.stderr, done.stderr
    assert "Traceback" not in done.stderr and time.perf_counter() - started < 60


def test_add_of_only_empty_files_is_refused_and_the_index_not_rewritten(seeds, tmp_path, fake_embedder):
    before = {p.name: p.stat().st_mtime_ns for p in seeds.iterdir()}
    inode = seeds.stat().st_ino
    empty = [write(tmp_path / "vuoto.txt", "  \n"), write(tmp_path / "vuoto.jsonl", "\n")]
    with pytest.raises(InputError, match="no articles to add"):
        add_to_index(load_documents(empty), seeds, embedder=fake_embedder)
    report = add_to_index(load_documents([SEEDS]), seeds, embedder=fake_embedder)
    assert len(report.skipped) == 2 and not report.added and not report.replaced
    assert seeds.stat().st_ino == inode, "nothing new: the index folder was not swapped"
    assert {p.name: p.stat().st_mtime_ns for p in seeds.iterdir()} == before
    assert not [p for p in seeds.parent.iterdir() if p.name.startswith(".seeds.tmp-")]

"""Issue 31, item 7: damage and stores. `rag index check` compares each BM25 entry with the chunk it claims to be
(a permuted `lexical/rows.npy` passed as ok while lexical search returned the wrong article); on a Milvus index
`check`, `search`, `add` and `info` call a healthy index healthy, and a damaged one, one whose milvus-lite file
another process holds, or one whose file is gone, one line with the fix (exit 2), never creating a store."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from rag.errors import StoreError
from rag.index.feeds import add_feeds
from rag.index.indexer import add_to_index, build_index
from rag.sources.ingest import load_documents
from rag.stores.check import check_index
from rag.stores.registry import open_store
from rag.types import Document

from tests.conftest import ROOT, SEEDS, UMEROV_DOC, FakeEmbedder
from tests.reliability.test_damage import rag

pytestmark = pytest.mark.reliability

QUERY = ["search", "Umerov", "--index", "seeds"]
COMMANDS = {
    "search": QUERY,
    "info": ["index", "info", "--name", "seeds", "--docs"],
    "add": ["index", "add", str(SEEDS / UMEROV_DOC), "--name", "seeds"],
    "remove": ["index", "remove", UMEROV_DOC, "--name", "seeds"],
}


def one_line(code: int, err: str) -> str:
    lines = err.strip().splitlines()
    assert code == 2 and len(lines) == 1 and "Traceback" not in err, (code, err)
    return lines[0]


# ---- the FAISS folder: BM25 rows and the chunks they claim ----------------------------------------------
def test_a_permuted_rows_file_is_damage_for_check_and_for_search(monkeypatch, capsys, seeds):
    rows = np.load(seeds / "lexical" / "rows.npy")
    np.save(seeds / "lexical" / "rows.npy", rows[::-1].copy())
    code, out, err = rag(monkeypatch, capsys, "index", "check", "--name", "seeds")
    assert code == 2, (out, err)
    assert any(line.startswith("seeds: lexical/rows.npy: the rows are not in the order") for line in err.splitlines())
    assert "rag index build PATHS --name seeds" in err.strip().splitlines()[-1]
    line = one_line(*rag(monkeypatch, capsys, *QUERY)[::2])
    assert f"{seeds}/lexical/rows.npy" in line and "rag index build PATHS --name seeds" in line, line


def test_two_swapped_rows_are_found(seeds):
    rows = np.load(seeds / "lexical" / "rows.npy")
    rows[[1, 4]] = rows[[4, 1]]
    np.save(seeds / "lexical" / "rows.npy", rows)
    problems = check_index(seeds).problems
    assert any(p.startswith("lexical/: 2 of 6 BM25 entries do not hold the words") for p in problems), problems


def test_bm25_entries_of_another_index_in_chunk_order_are_found(seeds, tmp_path, fake_embedder):
    """rows.npy sorted and complete, but the BM25 matrix is another index's: only reading the words tells."""
    other = tmp_path / "index" / "other"
    docs = [
        Document(d.id, d.text.replace("Umerov", "Zelensky").replace("Bruxelles", "Parigi"), d.title, d.date)
        for d in load_documents([SEEDS])
    ]
    build_index(docs, other, fake_embedder)
    assert json.loads((other / "meta.json").read_text())["chunks"] == 6
    for file in (other / "lexical").iterdir():
        if file.name != "rows.npy":
            shutil.copy2(file, seeds / "lexical" / file.name)
    report = check_index(seeds)
    assert any("BM25 entries do not hold the words of the chunk" in p for p in report.problems), report.problems


def test_a_sound_index_passes_the_word_check(seeds, tmp_path, fake_embedder):
    add_to_index([Document("vuoto.txt", "il la di", "E")], seeds, embedder=fake_embedder)  # a chunk of stopwords
    assert check_index(seeds).ok, check_index(seeds).problems


# ---- Milvus (milvus-lite) ----------------------------------------------------------------------------------
BUILD = """
import sys
from pathlib import Path
from rag.index.indexer import build_index
from rag.sources.ingest import load_documents
from tests.conftest import SEEDS, FakeEmbedder
folder = Path(sys.argv[1])
build_index(load_documents([SEEDS]), folder / "index" / "seeds", FakeEmbedder(), store=f"milvus://{folder}/m.db")
"""


def child_env() -> dict:
    return {**os.environ, "PYTHONPATH": str(ROOT)}


@pytest.fixture(scope="module")
def milvus_built(tmp_path_factory) -> Path:
    """A milvus-lite index of the seeds, built in another process (this one must not hold the file open)."""
    pytest.importorskip("milvus_lite", reason="milvus-lite is not installed (pip install -e '.[milvus]')")
    folder = tmp_path_factory.mktemp("milvus-built")
    done = subprocess.run([sys.executable, "-c", BUILD, str(folder)], env=child_env(), capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-2000:]
    return folder


@pytest.fixture
def milvus(milvus_built, tmp_path) -> Path:
    """A copy of the built index for one test, at ``$RAG_INDEX_DIR/seeds``, its file at ``tmp_path/m.db``."""
    shutil.copytree(milvus_built / "m.db", tmp_path / "m.db")
    index = tmp_path / "index" / "seeds"
    shutil.copytree(milvus_built / "index" / "seeds", index)
    meta = json.loads((index / "meta.json").read_text())
    meta["store"]["uri"] = str(tmp_path / "m.db")
    (index / "meta.json").write_text(json.dumps(meta))
    return index


def chunk_collection(index: Path) -> Path:
    meta = json.loads((index / "meta.json").read_text())
    return Path(meta["store"]["uri"]) / "collections" / meta["store"]["collection"]


def test_check_calls_a_sound_milvus_index_sound(monkeypatch, capsys, milvus):
    code, out, err = rag(monkeypatch, capsys, "index", "check", "--name", "seeds")
    assert code == 0, err
    assert out.startswith("ok: index 'seeds' holds 2 documents and 6 chunks; meta.json and the Milvus collections")


@pytest.mark.parametrize("command", list(COMMANDS))
def test_a_damaged_milvus_lite_file_is_one_line_with_the_fix(monkeypatch, capsys, milvus, command):
    (parquet,) = (chunk_collection(milvus) / "partitions" / "_default" / "data").glob("*.parquet")
    data = bytearray(parquet.read_bytes())
    data[100:400] = b"x" * 300
    parquet.write_bytes(bytes(data))
    line = one_line(*rag(monkeypatch, capsys, *COMMANDS[command])[::2])
    assert line.startswith("error: index 'seeds' is damaged: milvus-lite file ") and str(milvus.parent.parent) in line
    assert "rag index build PATHS --name seeds --store milvus://" in line, line
    code, out, err = rag(monkeypatch, capsys, "index", "check", "--name", "seeds")
    assert code == 2 and "Traceback" not in err and "vectors.faiss" not in err, err


@pytest.mark.parametrize("command", list(COMMANDS))
def test_a_lost_manifest_is_damage_not_an_empty_index(monkeypatch, capsys, milvus, command):
    """milvus-lite falls back to the previous manifest (here: the empty collection); searches found nothing,
    info still counted 6 chunks, and an add recounted and so hid the loss in meta.json."""
    (chunk_collection(milvus) / "manifest.json").unlink()
    line = one_line(*rag(monkeypatch, capsys, *COMMANDS[command])[::2])
    assert "holds 2 documents and 0 chunks, meta.json says 2 and 6" in line, line
    assert "rag index build PATHS --name seeds --store milvus://" in line, line
    assert json.loads((milvus / "meta.json").read_text())["chunks"] == 6  # not laundered by a recount
    code, out, err = rag(monkeypatch, capsys, "index", "check", "--name", "seeds")
    assert code == 2 and "seeds: collection" in err and "0 chunks" in err, err


@pytest.mark.parametrize("command", ["search", "info", "add", "check"])
def test_a_deleted_milvus_lite_file_is_said_and_not_made_again(monkeypatch, capsys, milvus, command):
    uri = Path(json.loads((milvus / "meta.json").read_text())["store"]["uri"])
    shutil.rmtree(uri)
    args = COMMANDS.get(command, ["index", "check", "--name", "seeds"])
    code, out, err = rag(monkeypatch, capsys, *args)
    assert code == 2 and "Traceback" not in err and f"{uri}" in err and "missing" in err, err
    assert "rag index build PATHS --name seeds --store milvus://" in err
    assert not uri.exists()


def test_a_stopped_add_is_finished_by_the_next_one(milvus):
    """An add killed midway leaves counts that differ from meta.json and its mark: not damage, finished by
    running the add again (reads go on meanwhile)."""
    meta = json.loads((milvus / "meta.json").read_text())
    (milvus / "meta.json").write_text(json.dumps({**meta, "chunks": 5}))  # as if killed before writing it
    with pytest.raises(StoreError, match="meta.json says 2 and 5"):
        open_store(milvus)
    (milvus.parent / ".seeds.milvus-edit").touch()  # the mark the stopped add left
    open_store(milvus).close()
    add_to_index([Document("nuovo.txt", "Roma – Una notizia nuova.", "Nuovo")], milvus, embedder=FakeEmbedder())
    assert not (milvus.parent / ".seeds.milvus-edit").exists()
    assert json.loads((milvus / "meta.json").read_text())["chunks"] == 7
    assert check_index(milvus).ok


def test_a_feed_is_added_to_a_milvus_index(milvus):
    """The feed path opened the index as a FAISS folder (looked for vectors.faiss) and called it damaged."""
    feed = ROOT / "tests" / "fixtures" / "feed" / "notizie.rss"
    report = add_feeds([feed], milvus, embedder=FakeEmbedder(), feed_text=True)
    assert len(report.index.added) == 3 and check_index(milvus).ok


HOLD = """
import sys, time
from rag.stores.registry import open_store
store = open_store(sys.argv[1])
print("held", flush=True)
time.sleep(120)
"""


@pytest.mark.slow
@pytest.mark.server
@pytest.mark.parametrize("command", ["search", "info", "check"])
def test_a_milvus_lite_file_held_by_another_process_names_it(monkeypatch, capsys, milvus, command):
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD, str(milvus)], env=child_env(), stdout=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout.readline().strip() == "held"
        args = COMMANDS.get(command, ["index", "check", "--name", "seeds"])
        code, out, err = rag(monkeypatch, capsys, *args)
        assert code == 2 and "Traceback" not in err, err
        assert f"is in use by another process (pid {holder.pid}: " in err, err
        assert "milvus-lite lets one process open a file at a time" in err
    finally:
        holder.kill()
        holder.wait()

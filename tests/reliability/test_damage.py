"""Issue 15, case 3: damage anywhere in an index gives one line naming the file and `rag index build` as
the fix, exit code 2, for `rag search`, `rag index info --docs`, `rag index add` (it was a traceback,
exit 1); `rag index check` says what is wrong."""

from __future__ import annotations

import json
import sys

import pytest

from rag.cli import main
from rag.index.indexer import build_index
from rag.sources.ingest import load_documents

from tests.conftest import SEEDS, write

pytestmark = pytest.mark.reliability


def rag(monkeypatch, capsys, *args) -> tuple[int, str, str]:
    """Run the `rag` command in this process, as the console script does; (exit code, stdout, stderr)."""
    monkeypatch.setattr(sys, "argv", ["rag", *args])
    try:
        main()
        code = 0
    except SystemExit as e:
        code = e.code
    out, err = capsys.readouterr()
    return code, out, err


def truncate(path, size):
    with open(path, "r+b") as handle:
        handle.truncate(size)


DAMAGE = {  # what is done to the index -> the file the message must name
    "chunks.sqlite truncated to 4096 bytes": (lambda p: truncate(p / "chunks.sqlite", 4096), "chunks.sqlite"),
    "chunks.sqlite overwritten": (lambda p: (p / "chunks.sqlite").write_bytes(b"x" * 8192), "chunks.sqlite"),
    "chunks.sqlite deleted": (lambda p: (p / "chunks.sqlite").unlink(), "chunks.sqlite"),
    "lexical/rows.npy deleted": (lambda p: (p / "lexical" / "rows.npy").unlink(), "lexical/rows.npy"),
    "lexical/rows.npy truncated": (lambda p: truncate(p / "lexical" / "rows.npy", 20), "lexical/rows.npy"),
    "BM25 vocabulary overwritten": (
        lambda p: (p / "lexical" / "vocab.index.json").write_text("{"),
        "lexical/vocab.index.json",
    ),
    "vectors.faiss truncated": (lambda p: truncate(p / "vectors.faiss", 100), "vectors.faiss"),
    "meta.json overwritten": (lambda p: (p / "meta.json").write_text("{not json"), "meta.json"),
    "meta.json counts edited": (
        lambda p: (p / "meta.json").write_text(json.dumps({**json.loads((p / "meta.json").read_text()), "chunks": 99})),
        "chunks.sqlite",
    ),
}


@pytest.mark.parametrize("damage", list(DAMAGE))
@pytest.mark.parametrize(
    "command",
    [
        ["search", "Umerov", "--index", "seeds"],
        ["index", "info", "--name", "seeds", "--docs"],
        ["index", "add", str(SEEDS / "004_bfb007c660085e29.txt"), "--name", "seeds"],
    ],
    ids=["search", "info", "add"],
)
def test_damage_gives_one_line_naming_the_file_and_exit_2(monkeypatch, capsys, seeds, damage, command):
    harm, name = DAMAGE[damage]
    harm(seeds)
    code, out, err = rag(monkeypatch, capsys, *command)
    assert code == 2, (code, out, err)
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in err, err
    assert f"{seeds}/{name}" in lines[0] and "rag index build" in lines[0] and "--name seeds" in lines[0], lines[0]


@pytest.mark.parametrize("damage", list(DAMAGE))
def test_check_names_what_is_wrong(monkeypatch, capsys, seeds, damage):
    harm, name = DAMAGE[damage]
    harm(seeds)
    code, out, err = rag(monkeypatch, capsys, "index", "check", "--name", "seeds")
    assert code == 2 and "Traceback" not in err, err
    problems, summary = err.strip().splitlines()[:-1], err.strip().splitlines()[-1]
    assert problems and all(line.startswith("seeds: ") for line in problems), err
    assert any(name.split("/")[0] in line for line in problems), err
    assert "rag index build PATHS --name seeds" in summary


def test_check_of_a_sound_index(monkeypatch, capsys, seeds):
    code, out, err = rag(monkeypatch, capsys, "index", "check", "--name", "seeds")
    assert code == 0 and out.startswith("ok: index 'seeds' holds 2 documents and 6 chunks"), (out, err)


def test_check_finds_parts_that_disagree_on_ids(seeds, tmp_path, fake_embedder):
    """Parts copied from another version of the index: each file is sound alone, the ids differ."""
    from rag.stores.check import check_index

    other = tmp_path / "index" / "other"
    build_index(
        load_documents([write(tmp_path / "a.txt", "Roma, 1 marzo 2026 – Una notizia breve.")]), other, fake_embedder
    )
    (seeds / "vectors.faiss").write_bytes((other / "vectors.faiss").read_bytes())
    problems = check_index(seeds).problems
    assert any(p.startswith("vectors.faiss: 5 chunk(s) missing") for p in problems), problems

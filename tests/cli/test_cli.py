"""The command line as a user meets it: exit code 2 and one line, never a traceback."""

import json
import subprocess
import sys

import pytest

from tests.conftest import SEEDS, UMEROV_DOC, write


def rag(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "rag", *args], capture_output=True, text=True, cwd=cwd, timeout=600)


@pytest.mark.parametrize(
    "args, message",
    [
        (["search", "x", "--index", "nope"], "no index at"),
        (["index", "build", "does-not-exist", "--name", "t"], "does-not-exist: no such file or folder"),
        (["index", "info", "--name", "nope"], "no index at"),
        (["setup", "--model", "gpt-5"], "unknown model 'gpt-5'"),
        (["search", "x", "--date-from", "ieri"], "'--date-from': 'ieri' does not match the format '%Y-%m-%d'"),
        (["index", "build", str(SEEDS), "--name", ""], "'' is not an index name"),
        (["index", "build", str(SEEDS), "--name", ".."], "'..' is not an index name"),
        (["index", "build", str(SEEDS), "--name", "x", "--dim", "0"], "dim (--dim) must be a positive size"),
        (["ui", "--port", "99999"], "99999 is not in the range 1<=x<=65535"),
        (["index", "build", str(SEEDS), "--name", "x", "--chunk-tokens", "8"], "--chunk-tokens must be at least 16"),
        (["index", "build", str(SEEDS), "--name", "x", "--chunk-tokens", "100000"], "reads at most 512 tokens"),
        (["search", "x", "--date-from", "2027-01-01", "--date-to", "2020-01-01"], "date_from 2027-01-01 is after"),
        (["index", "examples", "--name", "seeds", "  "], "the questions given are blank; to forget"),
        (["bench", "retrieval", "--scale", "0"], "give sizes as whole numbers of at least 1"),
        (["eval", "eval/seeds.jsonl", "--out", "README.md/sub"], "README.md/sub: cannot be written there"),
        (["bench", "retrieval", "--out", "seeds"], "seeds is a folder; give a file name"),
        (["eval", "eval/seeds.jsonl", "--limit", "2", "--sample", "3"], "either limit (the first N questions) or"),
        (["bench", "answers", "--repeat", "0"], "0 is not in the range x>=1"),
        (["index", "examples", "--name", "seeds", "--clear", "Chi?"], "--clear takes no questions"),
    ],
)
def test_user_errors_exit_2_without_traceback(args, message):
    result = rag(*args)
    assert result.returncode == 2, result.stderr
    assert message in result.stderr
    assert "Traceback" not in result.stderr


def test_setup_verify_fails_when_a_model_is_missing(tmp_path, monkeypatch):
    # an audit: `rag setup --verify` exited 0 with every model missing, so a script could not tell
    monkeypatch.setenv("RAG_MODEL_DIR", str(tmp_path / "no-models"))
    done = rag("setup", "--verify", "--model", "qwen2.5-0.5b-instruct")
    assert done.returncode == 2 and "MISSING OR CORRUPT" in done.stdout and "1 model(s) missing" in done.stderr


def test_bad_jsonl_line_is_reported_before_loading_a_model(tmp_path):
    path = write(tmp_path / "a.jsonl", '{"id": 1, "text": "ok"}\nnot json\n')
    result = rag("index", "build", str(path), "--name", "t")
    assert result.returncode == 2 and "a.jsonl:2: not valid JSON" in result.stderr
    assert "Traceback" not in result.stderr


def test_help_texts():
    for args in (["--help"], ["index", "build", "--help"], ["search", "--help"], ["setup", "--help"]):
        result = rag(*args)
        assert result.returncode == 0 and "Usage:" in result.stdout


@pytest.mark.slow
def test_build_search_add_remove_with_the_real_model(tmp_path):
    assert rag("index", "build", str(SEEDS), "--name", "seeds").returncode == 0
    result = rag("search", "Chi accompagnava Umerov a Bruxelles?", "-k", "2", "--json")
    hits = json.loads(result.stdout)
    assert hits[0]["doc_id"] == UMEROV_DOC and "Hnatov" in hits[0]["text"]
    info = json.loads(rag("index", "info", "--json", "--docs").stdout)
    assert info["documents"] == 2 and info["embedder"]["model_id"] == "multilingual-e5-small"
    removed = rag("index", "remove", UMEROV_DOC, "--name", "seeds")
    assert removed.returncode == 0 and "1 removed" in removed.stdout
    added = rag("index", "add", str(SEEDS), "--name", "seeds")
    assert "1 added" in added.stdout and "1 unchanged" in added.stdout and "0 chunks embedded" not in added.stdout


@pytest.mark.parametrize("command", ["ui", "serve"])
def test_a_taken_port_is_said_before_any_model_loads(command):
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = rag(command, "--port", str(port), "--index", "nope")
    assert result.returncode == 2 and f"cannot listen on 127.0.0.1:{port}" in result.stderr
    assert "Traceback" not in result.stderr

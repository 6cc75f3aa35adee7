"""The command line as a user meets it: exit code 2 and one line, never a traceback."""

import json
import logging
import os
import re
import subprocess
import sys
import warnings
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from rag.cli import cli
from rag.index.indexer import build_index
from rag.sources.ingest import load_documents

from tests.conftest import RUTTE_DOC, SEEDS, UMEROV_DOC, write


def rag(*args, cwd=None, env=None, timeout=600):
    """``rag ARGS`` in its own process, as a user runs it; ``env``: variables set for it."""
    command = [sys.executable, "-m", "rag", *args]
    environ = {**os.environ, **(env or {})}
    return subprocess.run(command, capture_output=True, text=True, cwd=cwd, timeout=timeout, env=environ)


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
def test_user_errors_exit_2_without_traceback(args, message, tmp_path):
    # said before any model loads: here there is none to load (a load would fail with another message)
    result = rag(*args, env={"RAG_MODEL_DIR": str(tmp_path / "no-models")})
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


# ---- --help: every command lists the options it takes, and `rag --help`'s examples are real ------------
HELP = {  # options each command has documented (-h/--help aside): one dropped or renamed shows here
    (): {"-v", "--verbose", "-q", "--quiet"},
    ("setup",): {"--model", "--force", "--verify", "--onnx", "--no-onnx"},
    ("index",): set(),
    ("index", "build"): {
        *("-n", "--name", "--model", "--dim", "--precision", "--chunk-tokens", "--overlap", "--store"),
        *("--workers", "--engine"),
    },
    ("index", "add"): {"-n", "--name", "--feed-text"},
    ("index", "sync"): {"-n", "--name", "--prune"},
    ("index", "remove"): {"-n", "--name"},
    ("index", "info"): {"-n", "--name", "--docs", "--json"},
    ("index", "examples"): {"-n", "--name", "--clear"},
    ("index", "check"): {"-n", "--name"},
    ("search",): {"-k", "-i", "--index", "--mode", "--date-from", "--date-to", "--doc", "--source", "--json"},
    ("ask",): {
        *("-i", "--index", "-m", "--model", "--backend", "-k", "--max-tokens", "--passage-tokens"),
        *("--date-from", "--date-to", "--doc", "--source", "--json"),
    },
    ("eval",): {"-i", "--index", "--limit", "--sample", "--half", "--retrieval-only", "-m", "--model", "--out"},
    ("ui",): {
        *("-i", "--index", "--host", "--port", "-m", "--model", "--lang", "--auth", "--auth-file"),
        *("--max-file-mb", "--max-batch-mb"),
    },
    ("serve",): {
        *("-i", "--index", "--host", "--port", "-m", "--model", "--ui", "--no-ui", "--lang", "--auth"),
        *("--auth-file", "--max-file-mb", "--max-batch-mb"),
    },
    ("bench",): set(),
    ("bench", "retrieval"): {
        *("--dataset", "--setting", "--limit", "--latency-questions", "--markdown", "--out", "--paired-speed"),
        *("--scale", "--ann", "--no-milvus"),
    },
    ("bench", "answers"): {
        "-i",
        "--index",
        "-m",
        "--model",
        "--backend",
        "--gold",
        "--repeat",
        "--passage-tokens",
        "--out",
    },
    ("bench", "context"): {"-i", "--index", "--sample", "--budget", "-m", "--model", "-k"},
    ("bench", "refusal"): {
        *("--dataset", "-i", "--index", "-m", "--model", "--limit", "--out", "--retrieval-limit", "--max-tokens"),
        "--near-miss",
    },
    ("bench", "concurrency"): {
        *("-i", "--index", "-m", "--model", "--backend", "--llm", "--api-key", "--gold", "-n", "--chats"),
        *("--questions", "--out", "--markdown"),
    },
    ("bench", "parity"): {"--out"},
    ("bench", "checks"): {
        *("-i", "--index", "-m", "--model", "--backend", "--llm", "--api-key", "--half", "--from", "--curve"),
        "--out",
    },
}


def commands(command=cli, path=()):
    """``(path, click command)`` for ``rag`` and every command under it."""
    yield path, command
    for name, sub in getattr(command, "commands", {}).items():
        yield from commands(sub, (*path, name))


def invoke(*args):
    """``rag ARGS`` in this process (click's runner): for what needs no model and no error handling of main()."""
    level = logging.getLogger("rag").level
    with warnings.catch_warnings():  # the command sets warning filters and the log level for its process
        result = CliRunner().invoke(cli, list(args), prog_name="rag")
    logging.getLogger("rag").setLevel(level)
    return result


def test_every_command_is_in_the_help_table():
    assert {path for path, _ in commands()} == set(HELP)


@pytest.mark.parametrize("path", sorted(HELP), ids=lambda path: " ".join(("rag", *path)))
def test_help_lists_the_options_arguments_and_commands_each_command_takes(path):
    command = dict(commands())[path]
    result = invoke(*path, "--help")
    assert result.exit_code == 0, result.output
    usage = result.output.splitlines()[0]
    assert usage.startswith(f"Usage: {' '.join(('rag', *path))} [OPTIONS]"), usage
    for argument in (p for p in command.params if isinstance(p, click.Argument)):
        assert argument.human_readable_name in usage, (argument.name, usage)
    lines = [line for line in result.output.splitlines() if line.startswith("  -")]
    listed = {word for line in lines for word in re.split(r"[ ,/]+", re.split(r"\s{2,}", line.strip())[0])}
    listed = {word for word in listed if word.startswith("-")}
    assert HELP[path] | {"-h", "--help"} <= listed, f"no longer listed: {HELP[path] - listed}"
    options = [p for p in command.params if isinstance(p, click.Option) and not p.hidden]
    assert listed == {o for p in options for o in p.opts + p.secondary_opts} | {"-h", "--help"}  # nothing else
    for option in options:
        assert option.help and option.help.strip(), f"{' '.join(path)} {option.opts[-1]} has no help text"
    said = " ".join(result.output.split())
    assert " ".join(command.help.split("\n\n")[0].split()) in said  # the command's own first paragraph
    if isinstance(command, click.Group):
        section = result.output.split("Commands:\n", 1)[1]
        assert {line.split()[0] for line in section.splitlines() if line.strip()} == set(command.commands)


def test_rag_help_runs_from_the_entry_point_and_its_typical_use_names_real_commands():
    command = Path(sys.executable).with_name("rag")  # the command pip installs
    result = subprocess.run([command, "--help"], capture_output=True, text=True, timeout=600)
    assert result.returncode == 0 and result.stdout.startswith("Usage: rag [OPTIONS] COMMAND [ARGS]..."), result
    examples = [line.split() for line in result.stdout.splitlines() if line.startswith("    rag ")]
    assert len(examples) == 8, result.stdout
    for words in examples:
        command, path = cli, []
        for word in words[1:]:
            if not isinstance(command, click.Group) or word not in command.commands:
                break
            command, path = command.commands[word], [*path, word]
        assert path, words  # each example starts with a command
        options = {o for p in command.params for o in p.opts + p.secondary_opts} | {"--help"}
        assert {w for w in words if w.startswith("--")} <= options, words


@pytest.fixture
def fake_seeds(tmp_path, fake_embedder, monkeypatch):
    """The seeds indexed with the fake embedder at $RAG_INDEX_DIR/seeds; commands that search get it too."""
    build_index(load_documents([SEEDS]), tmp_path / "index" / "seeds", fake_embedder)
    monkeypatch.setattr("rag.index.retriever.load_embedder", lambda info: fake_embedder)
    return tmp_path / "index" / "seeds"


def test_search_info_examples_check_and_remove_print_what_they_did(fake_seeds):
    hits = json.loads(invoke("search", "Hnatov", "-k", "2", "--json").stdout)
    assert [h["rank"] for h in hits] == [1, 2] and hits[0]["doc_id"] == UMEROV_DOC and "Hnatov" in hits[0]["text"]
    shown = invoke("search", "Hnatov", "-k", "1").stdout
    assert shown.startswith(f"[1] {UMEROV_DOC}  2025-12-03  score ") and "Rustem Umerov" in shown
    info = invoke("index", "info").stdout
    assert f"index     {fake_seeds}" in info and "model     fake-bow (dim 64" in info
    assert "holds     2 documents, 6 chunks" in info
    listed = json.loads(invoke("index", "info", "--json", "--docs").stdout)
    assert listed["documents"] == 2 and listed["doc_ids"] == [RUTTE_DOC, UMEROV_DOC]
    assert invoke("index", "examples", "--name", "seeds", "Chi è Rutte?", "Dove va Umerov?").exit_code == 0
    assert invoke("index", "examples", "--name", "seeds").stdout == "Chi è Rutte?\nDove va Umerov?\n"
    checked = invoke("index", "check", "--name", "seeds")
    assert checked.exit_code == 0 and checked.stdout.startswith("ok: index 'seeds' holds 2 documents and 6 chunks")
    removed = invoke("index", "remove", UMEROV_DOC, "--name", "seeds").stdout
    assert re.fullmatch(
        rf"{fake_seeds}: 0 added, 0 replaced, 0 unchanged, 1 removed; 0 chunks embedded in [\d.]+s\n", removed
    )
    assert json.loads(invoke("index", "info", "--json", "--docs").stdout)["doc_ids"] == [RUTTE_DOC]


@pytest.mark.embedder  # in child processes, as users run them: they load their own embedder
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

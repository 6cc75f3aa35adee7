"""Settings read from the environment (``rag.config``): an unusable value is one clear error naming the variable."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from rag import config
from rag.errors import InputError
from rag.sources.ingest import max_article_bytes

from tests.conftest import ROOT


@pytest.mark.parametrize("raw", ["abc", "0", "-3", "1000000", "2.5"])
def test_an_unusable_thread_count_names_the_variable(monkeypatch, raw):
    # an audit: "abc" was a traceback, "1000" hung llama.cpp, "0" and "-3" passed unnoticed
    monkeypatch.setenv("RAG_THREADS", raw)
    with pytest.raises(InputError, match=r"RAG_THREADS=.*give a whole number from 1 to"):
        config.threads()


def test_numbers_in_range_and_unset_variables_give_their_value(monkeypatch):
    monkeypatch.setenv("RAG_THREADS", " 2 ")
    monkeypatch.setenv("RAG_DRAFT_TOKENS", "0")
    monkeypatch.setenv("RAG_MAX_ARTICLE_MB", "0.5")
    assert (config.threads(), config.draft_tokens(), max_article_bytes()) == (2, 0, 500_000)
    for name in ("RAG_THREADS", "RAG_DRAFT_TOKENS", "RAG_MAX_ARTICLE_MB"):
        monkeypatch.setenv(name, "")
    assert config.draft_tokens() == 6 and max_article_bytes() == 2_000_000 and config.threads() >= 1


@pytest.mark.parametrize(
    ("name", "raw", "read"),
    [
        ("RAG_DRAFT_TOKENS", "x", config.draft_tokens),
        ("RAG_DRAFT_TOKENS", "-1", config.draft_tokens),
        ("RAG_MAX_ARTICLE_MB", "inf", max_article_bytes),
        ("RAG_MAX_ARTICLE_MB", "nan", max_article_bytes),
        ("RAG_MAX_ARTICLE_MB", "-1", max_article_bytes),
    ],
)
def test_other_unusable_numbers_name_their_variable(monkeypatch, name, raw, read):
    monkeypatch.setenv(name, raw)
    with pytest.raises(InputError, match=f"{name}="):
        read()


@pytest.mark.parametrize("name", ["RAG_INDEX_DIR", "RAG_CACHE_DIR", "RAG_MODEL_DIR"])
def test_a_folder_variable_pointing_at_a_file_is_said_so(monkeypatch, tmp_path, name):
    afile = tmp_path / "afile"
    afile.write_text("x")
    monkeypatch.setenv(name, str(afile))
    read = {"RAG_INDEX_DIR": config.index_root, "RAG_CACHE_DIR": config.cache_dir, "RAG_MODEL_DIR": config.model_dir}
    with pytest.raises(InputError, match=f"{name}: .*afile is a file, not a folder"):
        read[name]()


def test_the_command_line_says_so_in_one_line(tmp_path):
    afile = tmp_path / "afile"
    afile.write_text("x")
    env = {**os.environ, "RAG_INDEX_DIR": str(afile)}
    done = subprocess.run(
        [sys.executable, "-m", "rag", "search", "Rutte", "--index", "seeds"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 2 and "RAG_INDEX_DIR" in done.stderr and "Traceback" not in done.stderr, done.stderr


def test_an_unwritable_index_folder_is_one_line_not_a_traceback(tmp_path):
    if os.geteuid() == 0:  # root writes anywhere: a file in the way stands for the unwritable folder
        (tmp_path / "index").write_text("x")
        blocked = tmp_path / "index" / "sub"
    else:
        blocked = tmp_path / "ro"
        blocked.mkdir(mode=0o500)
    env = {**os.environ, "RAG_INDEX_DIR": str(blocked)}
    done = subprocess.run(
        [sys.executable, "-m", "rag", "index", "build", str(ROOT / "seeds"), "--name", "t"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 2 and done.stderr.count("\n") <= 3 and "Traceback" not in done.stderr, done.stderr

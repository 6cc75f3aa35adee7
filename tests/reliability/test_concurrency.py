"""Issue 15, case 1: reloading or closing an index while other threads search it must not crash the
process (it segfaulted: exit 139) nor give a wrong result. The work runs in a child process
(``tests/reliability/stress.py``) so a crash shows up as a failed test."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.conftest import ROOT

pytestmark = pytest.mark.reliability


def run_worker(task: str, seconds: float, folder) -> dict:
    done = subprocess.run(
        [sys.executable, "-m", "tests.reliability.stress", task, str(seconds), str(folder)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=seconds + 120,
    )
    assert done.returncode == 0, f"exit {done.returncode}\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_close_waits_for_queries_running_in_other_threads(tmp_path):
    result = run_worker("close", 1.0, tmp_path)
    assert result["reads"] > 10 and result["refused after close"] == 3, result


@pytest.mark.soak  # 62 s of load
def test_search_reload_add_remove_concurrently_for_a_minute(tmp_path):
    """3 threads search (every mode, with and without filters) and check each hit against its document,
    one thread reloads the shared Retriever, one adds an article, finds it, and removes an older one."""
    result = run_worker("search", 62, tmp_path)
    assert result["searches"] > 1000 and result["reloads"] > 100 and result["adds"] > 10, result

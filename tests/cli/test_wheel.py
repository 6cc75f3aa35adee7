"""`pip install .` ships the chat page: the wheel holds rag.ui (from the ui/ folder) with its stylesheet,
and the page imports from the installed copy, run from a folder that is not the checkout."""

import json
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow  # builds the wheel in an isolated environment (setuptools from the package index)
def test_wheel_ships_the_chat_page_and_it_runs_outside_the_checkout(tmp_path):
    built = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(tmp_path), str(ROOT)],
        capture_output=True,
        text=True,
    )
    assert built.returncode == 0, f"pip wheel failed:\n{built.stderr[-3000:]}"
    (wheel,) = tmp_path.glob("rag_news-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    assert {"rag/ui/app.py", "rag/ui/view.py", "rag/ui/strings.py", "rag/ui/app.css", "rag/cli/ui.py"} <= names
    assert not any(n.startswith("ui/") for n in names)  # no generic top-level `ui` module in site-packages
    site = tmp_path / "site"
    zipfile.ZipFile(wheel).extractall(site)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    code = (
        "import json, rag.ui.app as app; from rag.cli import cli; "
        "print(json.dumps([app.__file__, 'border-radius' in app.CSS, cli.commands['ui'].name]))"
    )
    shown = subprocess.run(
        [sys.executable, "-c", code],
        cwd=elsewhere,
        env={"PYTHONPATH": str(site), "PATH": "/usr/bin:/bin", "HOME": str(tmp_path)},
        capture_output=True,
        text=True,
    )
    assert shown.returncode == 0, f"the installed page does not import:\n{shown.stderr[-3000:]}"
    where, styled, command = json.loads(shown.stdout)
    assert where.startswith(str(site)), where  # the wheel's copy, not the checkout
    assert styled, "the page's stylesheet (app.css) is missing from the wheel's rag.ui"
    assert command == "ui"

"""`rag serve` as a user starts it: the API and the chat page on one port (real models, the small LLM)."""

import subprocess
import sys
import time
from contextlib import contextmanager

import httpx
import pytest

from tests.conftest import UMEROV_DOC
from tests.ui.test_ui_e2e import free_port

pytestmark = [pytest.mark.server, pytest.mark.llm, pytest.mark.embedder]  # a child process loads both


SMALL = ("--model", "qwen2.5-0.5b-instruct")


@contextmanager
def serving(*options: str, start_within: float = 300):
    """``rag serve OPTIONS`` on a free port over $RAG_INDEX_DIR/seeds (the test's copy, ``seeds_index``),
    loading its own models as users run it: ``(base URL, first /v1/models reply)``."""
    port = free_port()
    command = [sys.executable, "-m", "rag", "serve", "--port", str(port)]
    server = subprocess.Popen([*command, *options], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + start_within
        while True:
            assert server.poll() is None, server.stdout.read()
            try:
                models = httpx.get(f"{base}/v1/models", timeout=5)
                break
            except httpx.TransportError:
                assert time.monotonic() < deadline, f"rag serve did not start within {start_within:.0f} s"
                time.sleep(1)
        yield base, models
    finally:
        server.terminate()
        server.wait(timeout=30)


def test_rag_serve_answers_searches_and_serves_the_page(seeds_index):
    with serving(*SMALL) as (base, models):
        assert models.json()["data"][0]["id"] == "qwen2.5-0.5b-instruct"
        hits = httpx.get(f"{base}/search", params={"q": "Chi accompagnava Umerov a Bruxelles?", "k": 1}).json()
        assert hits["hits"][0]["doc_id"] == UMEROV_DOC
        question = {"messages": [{"role": "user", "content": "Chi accompagnava Umerov a Bruxelles?"}]}
        reply = httpx.post(f"{base}/v1/chat/completions", json=question, timeout=300).json()
        assert reply["choices"][0]["message"]["content"] and "sources" in reply and "refused" in reply
        page = httpx.get(f"{base}/", timeout=30, follow_redirects=True)
        assert page.status_code == 200 and "gradio" in page.text.lower()


def test_rag_serve_with_a_login_guards_the_api_and_the_page(seeds_index):
    # an audit: `rag serve` had no --auth, so on 0.0.0.0 anyone could ask, add and delete articles
    with serving(*SMALL, "--auth", "anna:segreta", "--max-file-mb", "0.01") as (base, refused):
        assert refused.status_code == 401
        assert httpx.get(f"{base}/v1/models", auth=("anna", "segreta"), timeout=5).status_code == 200
        assert httpx.get(f"{base}/config", timeout=30).status_code == 401  # the page asks for the login too
        login = httpx.post(f"{base}/login", data={"username": "anna", "password": "segreta"}, timeout=30)
        assert login.status_code == 200
        upload = httpx.post(
            f"{base}/gradio_api/upload", files={"files": ("big.txt", b"a" * 50_000)}, cookies=login.cookies, timeout=30
        )
        assert upload.status_code == 413  # --max-file-mb reaches gradio's own upload route
        assert httpx.get(f"{base}/gradio_api/heartbeat/abc", timeout=30).status_code == 401
        with httpx.stream("GET", f"{base}/gradio_api/heartbeat/abc", cookies=login.cookies, timeout=30) as beat:
            assert beat.status_code == 200

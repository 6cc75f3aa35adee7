"""A real OpenAI-compatible answer server for tests: llama-cpp-python's ``python -m llama_cpp.server`` serving
a built-in model on 127.0.0.1 at a free port (``llama_server``), and a tiny stdlib server that misbehaves
(``bad_server``: slow, garbage, a cut stream).

>>> with llama_server("qwen2.5-0.5b-instruct") as url:        # doctest: +SKIP
...     OpenAIGenerator(url=url)

llama-cpp-python's server answers one request at a time (no parallel slots); with its default
``--interrupt_requests True`` a request arriving while another streams ends that one early, so it is
started with ``False``: requests wait their turn.
"""

from __future__ import annotations

import contextlib
import http.server
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

READY_SECONDS = 120  # loading the 1.5B on a busy 2-core machine takes a while


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def llama_server(model: str = "qwen2.5-0.5b-instruct", n_ctx: int = 4096, api_key: str | None = None,
                 log: Path | None = None, logprobs: bool = True) -> Iterator[str]:  # fmt: skip
    """Serve the built-in ``model`` (its name is the served model's name) and yield its ``/v1`` URL;
    ``logprobs=False``: started with ``--logits_all False``, a request for logprobs breaks its stream."""
    import httpx

    from rag.config import threads
    from rag.models.provision import MODELS, is_ready

    spec = MODELS[model]
    if not is_ready(spec):
        raise RuntimeError(f"{model} is not set up: run `make setup` (or `rag setup`)")
    port = free_port()
    command = [sys.executable, "-m", "llama_cpp.server", "--model", str(spec.load_path()),
               "--model_alias", model, "--host", "127.0.0.1", "--port", str(port), "--n_ctx", str(n_ctx),
               "--n_threads", str(threads()), "--interrupt_requests", "False",
               "--verbose", "False"]  # fmt: skip
    if api_key:
        command += ["--api_key", api_key]
    if not logprobs:
        command += ["--logits_all", "False"]
    out = open(log, "wb") if log else subprocess.DEVNULL  # noqa: SIM115 (closed below)
    process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}/v1"
    try:
        deadline = time.monotonic() + READY_SECONDS
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"llama_cpp.server exited with {process.returncode} (log: {log})")
            try:
                headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
                if httpx.get(f"{url}/models", headers=headers, timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"llama_cpp.server did not answer within {READY_SECONDS} s (log: {log})")
            time.sleep(0.3)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        if log:
            out.close()


Handler = Callable[[http.server.BaseHTTPRequestHandler], None]


@contextlib.contextmanager
def bad_server(chat: Handler, models: tuple[str, ...] = ("served",), key: str | None = None) -> Iterator[str]:
    """A stdlib server whose ``GET /v1/models`` lists ``models`` and whose ``POST /v1/chat/completions`` is
    answered by ``chat(handler)``; yields its ``/v1`` URL. With ``key``, a request without it as its Bearer
    token is answered 401 as OpenAI does. Requests are served each in its own thread."""
    import json

    class Serve(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args):  # quiet
            pass

        def refused(self) -> bool:
            if key is None or self.headers.get("Authorization") == f"Bearer {key}":
                return False
            body = b'{"error": {"message": "Invalid API key", "type": "invalid_request_error"}}'
            self.send_response(401)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            return True

        def do_GET(self):  # noqa: N802
            if self.refused():
                return
            body = json.dumps({"object": "list", "data": [{"id": m, "object": "model"} for m in models]}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_POST(self):  # noqa: N802
            self.body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))) or b"{}")
            if self.refused():
                return
            try:
                chat(self)
            except (BrokenPipeError, ConnectionResetError):
                pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Serve)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/v1"
    finally:
        server.shutdown()
        server.server_close()


def sse(handler: http.server.BaseHTTPRequestHandler, events: list[str], end: bool = True) -> None:
    """Send ``events`` (``data:`` payloads) as an event stream; ``end=False`` cuts the connection instead of
    closing the stream (no final chunk)."""
    handler.send_response(200)
    handler.send_header("Content-Type", "text/event-stream")
    handler.send_header("Transfer-Encoding", "chunked")
    handler.end_headers()
    for event in events:
        data = f"data: {event}\n\n".encode()
        handler.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
        handler.wfile.flush()
    if end:
        handler.wfile.write(b"0\r\n\r\n")
    handler.wfile.flush()
    handler.close_connection = True

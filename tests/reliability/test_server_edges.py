"""Issue 31: the edges of a served page and API.

1. A request naming a file on the server (a gradio ``FileData`` with a server path) is never read, through any
   route that takes files, whether the page is launched (``rag ui``) or mounted beside the API (``rag serve``).

A fake assistant over a fake-embedder index: what is tested here is the server's handling of files, not the answer.
"""

from __future__ import annotations

import socket
import threading
import time
from contextlib import contextmanager

import httpx
import pytest

from rag.api.app import create_app
from rag.index.retriever import Retriever

from tests.conftest import FakeEmbedder, write
from tests.ui.test_ui import FakeAssistant

pytestmark = pytest.mark.reliability

LARGE = "qwen2.5-1.5b-instruct"
QUESTION = "Chi accompagnava Umerov a Bruxelles?"
SECRET = "Roma, 1 marzo 2026 – La combinazione della cassaforte del server è 4242, scritta in un file riservato."


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def uvicorn_serving(app):
    """``app`` served by uvicorn on a free 127.0.0.1 port, in a thread; yields the base URL (no trailing /)."""
    import uvicorn

    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert time.monotonic() < deadline, "the server did not start within 30 s"
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


@contextmanager
def rag_serve(factory, api_assistant, logins=(), page=True):
    """What ``rag serve`` runs: the API, and (``page``) the chat page mounted at / beside it."""
    from rag.ui import app as ui
    from rag.ui.server import mount_app

    app = create_app(lambda: api_assistant, model="fake-llm", logins=logins)
    if page:
        demo = ui.build_app(factory, index="seeds")
        app = mount_app(app, demo, auth=list(logins) or None)
    with uvicorn_serving(app) as url:
        yield url


@contextmanager
def rag_ui(factory, logins=()):
    """What ``rag ui`` runs: the page on its own server."""
    from rag.ui import app as ui

    demo = ui.build_app(factory, index="seeds")
    port = free_port()
    ui.launch_app(demo, host="127.0.0.1", port=port, block=False, quiet=True, auth=list(logins) or None)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        demo.close()


@pytest.fixture
def factory(seeds, fake_embedder):
    def make(index, model):
        return FakeAssistant(Retriever.load(index, embedder=fake_embedder))

    return make


# ---- 1. only uploaded files ----------------------------------------------------------------------------
ROUTES = ("run", "api", "call", "call/v2", "queue/join")


def send_file(client: httpx.Client, base: str, route: str, path: str) -> str:
    """Ask the page's ``add_articles`` to index the server file ``path`` through gradio's ``route``; returns
    what the route answered (the final message of its stream for the queued ones)."""
    file = {"path": path, "meta": {"_type": "gradio.FileData"}}
    args = [[file], "seeds", LARGE]
    api = f"{base}/gradio_api"
    if route in ("run", "api"):  # answered directly
        return client.post(f"{api}/{route}/add_articles", json={"data": args}, timeout=60).text
    if route == "queue/join":  # how the page itself calls: by the event's number, then the session's stream
        config = client.get(f"{base}/config").json()
        fn_index = next(d["id"] for d in config["dependencies"] if d.get("api_name") == "add_articles")
        body = {"data": args, "fn_index": fn_index, "session_hash": "intruso", "event_data": None, "trigger_id": None}
        joined = client.post(f"{api}/queue/join", json=body)
        assert joined.status_code == 200, joined.text
        stream = f"{api}/queue/data?session_hash=intruso"
    else:
        if route == "call/v2":  # named arguments
            names = [
                p["parameter_name"]
                for p in client.get(f"{api}/info").json()["named_endpoints"]["/add_articles"]["parameters"]
            ]
            joined = client.post(f"{api}/call/v2/add_articles", json=dict(zip(names, args, strict=True)))
        else:
            joined = client.post(f"{api}/call/add_articles", json={"data": args})
        assert joined.status_code == 200, joined.text
        stream = f"{api}/call/add_articles/{joined.json()['event_id']}"
    with client.stream("GET", stream, timeout=60) as reply:
        return "\n".join(line for line in reply.iter_lines() if line.startswith("data"))


@pytest.mark.slow
@pytest.mark.server
@pytest.mark.parametrize("how", ["rag serve", "rag serve --auth", "rag ui"])
def test_a_server_file_named_by_a_request_is_never_read(factory, seeds, tmp_path, how):
    """The file sits in the system's temporary folder, where gradio would serve a file the page wrote: only the
    upload folder is accepted for a request's files."""
    secret = write(tmp_path / "riservato" / "cassaforte.txt", SECRET)
    before = (seeds / "meta.json").read_text()
    logins = [("anna", "segreta")] if "--auth" in how else []
    serving = rag_ui(factory) if how == "rag ui" else rag_serve(factory, factory("seeds", LARGE), logins)
    with serving as base, httpx.Client(timeout=60) as client:
        if logins:
            assert client.post(f"{base}/login", data={"username": "anna", "password": "segreta"}).status_code == 200
        answers = {route: send_file(client, base, route, str(secret)) for route in ROUTES}
    for route, answer in answers.items():
        assert "Aggiunti: 1" not in answer and "4242" not in answer, (route, answer)
    assert (seeds / "meta.json").read_text() == before, "the index changed"
    store = Retriever.load(seeds, embedder=FakeEmbedder()).store
    assert "cassaforte.txt" not in store.doc_ids()
    assert not any("4242" in h.text for h in Retriever.load(seeds, embedder=FakeEmbedder()).search("cassaforte", k=8))


@pytest.mark.slow
@pytest.mark.server
def test_a_file_uploaded_to_the_mounted_page_is_still_indexed(factory, seeds, tmp_path):
    from gradio_client import Client, handle_file

    article = write(tmp_path / "da-caricare" / "ponte.txt", "Genova, 2 marzo 2026 – Riapre il ponte sul Polcevera.")
    with rag_serve(factory, factory("seeds", LARGE)) as base:
        status = Client(f"{base}/", verbose=False).predict(
            [handle_file(str(article))], "seeds", LARGE, api_name="/add_articles"
        )
    assert status.startswith("✓") and "Aggiunti: 1" in status, status
    assert "ponte.txt" in Retriever.load(seeds, embedder=FakeEmbedder()).store.doc_ids()


def test_the_upload_handler_reads_only_inside_the_upload_folder(factory, seeds, tmp_path):
    """Beside gradio's own check: ``Uploads.folder`` refuses a path outside it, and a link out of it."""
    from rag.ui import app as ui

    controller = ui.ChatController(ui.Assistants(factory), "it")
    uploads = controller.uploads
    uploads.folder = tmp_path / "caricati"
    outside = write(tmp_path / "altrove" / "cassaforte.txt", SECRET)
    link = uploads.folder / "link.txt"
    link.parent.mkdir()
    link.symlink_to(outside)
    before = (seeds / "meta.json").read_text()
    for path in (outside, link):
        status = list(uploads.run([str(path)], "seeds", LARGE))[-1]
        assert status.startswith("⚠") and "non è un file caricato da questa pagina" in status, status
        assert str(tmp_path) not in status  # the server's folders are not shown
    assert (seeds / "meta.json").read_text() == before
    inside = write(uploads.folder / "abc123" / "ponte.txt", "Genova, 2 marzo 2026 – Riapre il ponte sul Polcevera.")
    assert "Aggiunti: 1" in list(uploads.run([str(inside)], "seeds", LARGE))[-1]

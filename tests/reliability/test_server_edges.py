"""Issue 31, items 1 and 2: the edges of a served page and API.

1. A request naming a file on the server (a gradio ``FileData`` with a server path) is never read, through any
   route that takes files, whether the page is launched (``rag ui``) or mounted beside the API (``rag serve``).
2. A client that goes away mid-answer (a socket closed after the response head, a stream given up, a question
   not waited for, a closed browser tab) gives the model back at once: the next answer comes in normal time.

A fake assistant over a fake-embedder index, except the last test (the real 0.5B model): what is tested here is
the server's handling of files and connections, not the answer.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from contextlib import contextmanager

import httpx
import pytest

from rag.api.app import create_app
from rag.index.retriever import Retriever
from rag.types import Answer

from tests.api.test_api import serving as uvicorn_serving
from tests.conftest import FakeEmbedder, write
from tests.ui.test_ui import FakeAssistant
from tests.ui.test_ui_e2e import free_port

pytestmark = pytest.mark.reliability

LARGE = "qwen2.5-1.5b-instruct"
QUESTION = "Chi accompagnava Umerov a Bruxelles?"
SECRET = "Roma, 1 marzo 2026 – La combinazione della cassaforte del server è 4242, scritta in un file riservato."


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


@contextmanager
def local_web(folder):
    """``folder`` served over HTTP on 127.0.0.1 (a service of the server's own network); yields its base URL."""
    import functools
    import http.server

    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(folder))
    web = http.server.ThreadingHTTPServer(("127.0.0.1", free_port()), handler)
    threading.Thread(target=web.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{web.server_address[1]}"
    finally:
        web.shutdown()
        web.server_close()


@pytest.mark.slow
@pytest.mark.server
@pytest.mark.parametrize("how", ["rag serve", "rag ui"])
def test_neither_the_file_route_nor_an_address_reads_what_the_server_can_reach(factory, seeds, tmp_path, how):
    """Hostile cases beside: gradio's file route asked for a server path, and a ``FileData`` naming an address
    on the server's own network (as its path, or as its url) for ``add_articles``."""
    secret = write(tmp_path / "www" / "interno.txt", SECRET)
    before = (seeds / "meta.json").read_text()
    serving = rag_ui(factory) if how == "rag ui" else rag_serve(factory, factory("seeds", LARGE))
    with local_web(secret.parent) as web, serving as base, httpx.Client(timeout=60) as client:
        assert httpx.get(f"{web}/interno.txt").text == SECRET  # the service is there
        for path in (str(secret), "/etc/passwd", "//" + str(secret).lstrip("/")):
            reply = client.get(f"{base}/gradio_api/file={path}")
            assert reply.status_code in (403, 404) and "4242" not in reply.text and "root:" not in reply.text, path
        address = f"{web}/interno.txt"
        for file in ({"path": address}, {"path": "interno.txt", "url": address}):
            args = {"data": [[{**file, "meta": {"_type": "gradio.FileData"}}], "seeds", LARGE]}
            answer = client.post(f"{base}/gradio_api/run/add_articles", json=args).text
            assert "Aggiunti: 1" not in answer and "4242" not in answer, (file, answer)
    assert (seeds / "meta.json").read_text() == before, "the index changed"


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


# ---- 2. a client that goes away --------------------------------------------------------------------------
class HeldModelAssistant:
    """Answers the way ``Assistant`` over ``LlamaCppGenerator`` does where it matters here: the one model is
    taken (a lock) at the start of the generation and held while partial answers are yielded, until the
    generation ends or its generator is closed. ``ends`` records how each generation ended and when."""

    def __init__(self, retriever: Retriever, tokens: int = 30, seconds_per_token: float = 0.1):
        self.retriever = retriever
        self.tokens, self.seconds_per_token = tokens, seconds_per_token
        self.model = threading.Lock()
        self.ends: list[tuple[str, float]] = []

    def ask_stream(self, question, history=(), k=None, max_tokens=None, filters=None):
        hits = self.retriever.search(question, k=k or 4, filters=filters)
        text = "Hnatov"
        with self.model:
            try:
                for n in range(min(self.tokens, max_tokens or self.tokens)):
                    time.sleep(self.seconds_per_token)
                    text += f" parola{n}"
                    yield Answer(question, text, passages=list(hits), done=False)
            except GeneratorExit:
                self.ends.append(("closed", time.monotonic()))
                raise
            self.ends.append(("finished", time.monotonic()))
        yield Answer(question, text + ".", passages=list(hits), done=True)

    def generation_time(self) -> float:
        return self.tokens * self.seconds_per_token


def request_bytes(body: dict) -> bytes:
    data = json.dumps(body).encode()
    head = "POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
    head += f"Content-Length: {len(data)}\r\n\r\n"
    return head.encode() + data


def hang_up_after_the_head(base: str, stream: bool = True) -> float:
    """Send a chat on a raw socket, read the response head (for a stream) and close; returns when it closed."""
    host, port = base.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=30) as sock:
        sock.sendall(request_bytes({"messages": [{"role": "user", "content": QUESTION}], "stream": stream}))
        if stream:
            head = b""
            while b"\r\n\r\n" not in head:
                head += sock.recv(1024)
            assert head.startswith(b"HTTP/1.1 200"), head
        else:
            time.sleep(0.5)  # the generation has started
    return time.monotonic()


def give_up_the_stream(base: str) -> float:
    """Read the first chunk of a streamed chat with the OpenAI client, then close the stream."""
    from openai import OpenAI

    client = OpenAI(base_url=f"{base}/v1", api_key="x", max_retries=0)
    stream = client.chat.completions.create(model="x", messages=[{"role": "user", "content": QUESTION}], stream=True)
    next(iter(stream))
    stream.close()
    return time.monotonic()


@pytest.mark.slow
@pytest.mark.server
@pytest.mark.parametrize("page", [True, False], ids=["api and page (rag serve)", "api alone"])
@pytest.mark.parametrize("leave", ["socket closed after the head", "stream given up", "answer not waited for"])
def test_a_client_that_goes_away_gives_the_model_back_at_once(factory, seeds, fake_embedder, page, leave):
    assistant = HeldModelAssistant(Retriever.load(seeds, embedder=fake_embedder))
    with rag_serve(factory, assistant, page=page) as base:
        if leave == "stream given up":
            left = give_up_the_stream(base)
        else:
            left = hang_up_after_the_head(base, stream=leave != "answer not waited for")
        started = time.monotonic()
        reply = httpx.post(  # a short answer: it needs the model the abandoned one held, not its whole length
            f"{base}/v1/chat/completions",
            json={"messages": [{"role": "user", "content": QUESTION}], "max_tokens": 3},
            timeout=assistant.generation_time() + 20,
        )
        took = time.monotonic() - started
    assert reply.status_code == 200 and reply.json()["choices"][0]["message"]["content"].startswith("Hnatov parola0")
    (how, when), *_ = assistant.ends
    assert how == "closed", "the abandoned generation ran to its end"
    assert when - left < 3, f"the model was given back {when - left:.1f} s after the client left"
    assert took < assistant.generation_time() + 5, f"the next answer took {took:.1f} s"


@pytest.mark.slow
@pytest.mark.server
@pytest.mark.parametrize("route", ["queue", "call"], ids=["the page's queue (a browser)", "gradio's /call"])
def test_a_closed_browser_tab_gives_the_model_back(seeds, fake_embedder, route):
    """Gradio closes the answer's generator when the event stream drops (what a closed tab does): through the
    queue the page itself uses (join, then the session's stream) and through the /call route."""
    assistant = HeldModelAssistant(Retriever.load(seeds, embedder=fake_embedder))
    with rag_serve(lambda index, model: assistant, FakeAssistant(assistant.retriever)) as base:
        api = f"{base}/gradio_api"
        params = httpx.get(f"{api}/info").json()["named_endpoints"]["/ask"]["parameters"]
        data = [QUESTION if n == 0 else p.get("parameter_default") for n, p in enumerate(params)]
        if route == "queue":  # every input of the event, the chat's state too, as the page sends them
            config = httpx.get(f"{base}/config").json()
            ask = next(d for d in config["dependencies"] if d.get("api_name") == "ask")
            values = {c["id"]: c.get("props", {}).get("value") for c in config["components"]}
            data = [QUESTION if n == 0 else values[i] for n, i in enumerate(ask["inputs"])]
            body = {"data": data, "fn_index": ask["id"], "session_hash": "scheda", "event_data": None}
            assert httpx.post(f"{api}/queue/join", json=body).status_code == 200
            stream, started = f"{api}/queue/data?session_hash=scheda", '"process_generating"'
        else:
            event = httpx.post(f"{api}/call/ask", json={"data": data}).json()["event_id"]
            stream, started = f"{api}/call/ask/{event}", "event: generating"
        with httpx.stream("GET", stream, timeout=30) as reply:
            for line in reply.iter_lines():
                if started in line:
                    break
        left = time.monotonic()
        deadline = left + assistant.generation_time() + 10
        while not assistant.ends and time.monotonic() < deadline:
            time.sleep(0.05)
    (how, when), *_ = assistant.ends
    assert how == "closed" and when - left < 3, (how, when - left)


@pytest.mark.slow
@pytest.mark.llm
@pytest.mark.embedder
@pytest.mark.server
def test_the_real_model_is_given_back_when_a_client_hangs_up(assistant_05b):
    """``rag serve`` with Qwen2.5-0.5B: a client hangs up after the response head, and the next question is
    answered in about the time the first one took."""
    assistant = assistant_05b  # the session's 0.5B over this test's copy of the seed index
    body = {"messages": [{"role": "user", "content": QUESTION}], "max_tokens": 200}
    with rag_serve(lambda index, model: assistant, assistant) as base:
        started = time.monotonic()
        first = httpx.post(f"{base}/v1/chat/completions", json=body, timeout=300)
        normal = time.monotonic() - started
        assert first.status_code == 200, first.text
        hang_up_after_the_head(base)
        started = time.monotonic()
        after = httpx.post(f"{base}/v1/chat/completions", json=body, timeout=normal * 3 + 60)
        took = time.monotonic() - started
    assert after.status_code == 200 and after.json()["choices"][0]["message"]["content"]
    assert took < normal * 2 + 10, f"the next answer took {took:.1f} s; one takes {normal:.1f} s"

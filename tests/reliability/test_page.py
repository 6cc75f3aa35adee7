"""Issue 15, case 2: the chat page served to a network. Login (`rag ui --auth`) and the warning without
it; index and model choices limited to what the server offers, with no server path in any message;
a bounded number of assistants in memory; upload limits; uploads indexed apart from the questions,
with progress and cancel. A fake assistant over a fake-embedder index: the model does not matter here."""

from __future__ import annotations

import gc
import shutil
import socket
import threading
import time
import weakref
from contextlib import contextmanager

import pytest
import requests
from click.testing import CliRunner

from rag.index.indexer import build_index
from rag.index.retriever import Retriever
from rag.sources.ingest import load_documents

from tests.conftest import RUTTE_DOC, SEEDS, FakeEmbedder, write
from tests.ui.test_ui import FakeAssistant

pytestmark = pytest.mark.reliability

LARGE, SMALL = "qwen2.5-1.5b-instruct", "qwen2.5-0.5b-instruct"
QUESTION = "Chi accompagnava Umerov a Bruxelles?"


class SlowEmbedder(FakeEmbedder):
    """The fake embedder, slow on batches (passages) and instant on single texts (questions)."""

    def encode(self, texts):
        if len(texts) > 1:
            time.sleep(0.4)
        return super().encode(texts)


@pytest.fixture
def fake_embedder():
    return SlowEmbedder()


@pytest.fixture
def seed_index(seeds):
    return seeds


@pytest.fixture
def factory(seed_index, fake_embedder):
    made = []

    def make(index, model):
        assistant = FakeAssistant(Retriever.load(index, embedder=fake_embedder))
        made.append(weakref.ref(assistant))
        return assistant

    make.made = made
    return make


@pytest.fixture
def app():
    from rag.ui import app

    return app


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def served(app, factory, **launch):
    demo = app.build_app(factory, index="seeds")
    port = free_port()
    app.launch_app(demo, host="127.0.0.1", port=port, block=False, quiet=True, **launch)
    try:
        yield f"http://127.0.0.1:{port}/"
    finally:
        demo.close()


def long_article(tmp_path, name="lungo.txt"):
    """About 300 chunks: several batches of passages to embed."""
    words = " ".join(f"parola{i}" for i in range(48_000))
    return write(tmp_path / "upload" / name, f"Milano, 5 marzo 2026 – Un lungo resoconto. {words}.")


# ---- login ---------------------------------------------------------------------------------------------
def run_ui_command(monkeypatch, app, *args):
    from rag.cli.ui import ui

    launched = {}
    monkeypatch.setattr(app, "build_app", lambda *a, **k: "demo")
    monkeypatch.setattr(app, "launch_app", lambda demo, **k: launched.update(k))
    result = CliRunner().invoke(ui, list(args))
    return result, launched


def test_serving_beyond_loopback_without_login_warns(monkeypatch, app):
    result, launched = run_ui_command(monkeypatch, app, "--host", "0.0.0.0")
    assert result.exit_code == 0, result.output
    assert "WARNING: serving on 0.0.0.0 without --auth" in result.stderr and launched["auth"] is None
    for host in ("127.0.0.1", "localhost", "::1"):
        result, _ = run_ui_command(monkeypatch, app, "--host", host)
        assert "WARNING" not in result.stderr, host


def test_logins_from_options_and_file_reach_gradio(monkeypatch, app, tmp_path):
    logins = write(tmp_path / "logins.txt", "# chi può entrare\nbruno:pa:ss\n\ncarla:x\n")
    result, launched = run_ui_command(
        monkeypatch, app, "--host", "0.0.0.0", "--auth", "anna:segreta", "--auth-file", str(logins)
    )
    assert result.exit_code == 0 and "WARNING" not in result.stderr, result.output
    assert launched["auth"] == [("anna", "segreta"), ("bruno", "pa:ss"), ("carla", "x")]
    assert launched["max_file_size"] == 10_000_000
    bad = write(tmp_path / "bad.txt", "dario\n")
    result, _ = run_ui_command(monkeypatch, app, "--auth-file", str(bad))
    assert result.exit_code != 0 and "bad.txt:1: expected USER:PASSWORD" in str(result.exception)


def test_with_login_an_unauthenticated_api_call_is_refused(app, factory):
    from gradio_client import Client

    with served(app, factory, auth=[("anna", "segreta")]) as url:
        call = requests.post(f"{url}gradio_api/call/ask", json={"data": [QUESTION, "seeds", 4, LARGE, "short"]})
        assert call.status_code == 401, call.text
        assert requests.get(f"{url}gradio_api/info").status_code == 401
        with pytest.raises(Exception):  # noqa: B017 (gradio_client raises several kinds for a refused login)
            Client(url, verbose=False)
        with pytest.raises(Exception):  # noqa: B017
            Client(url, auth=("anna", "sbagliata"), verbose=False)
        client = Client(url, auth=("anna", "segreta"), verbose=False)
        messages, panel, _ = client.predict(QUESTION, "seeds", 4, LARGE, "short", api_name="/ask")
        assert "Hnatov" in messages[-1]["content"][0]["text"]
        messages, _, _ = client.predict(QUESTION, str(SEEDS.parent), 4, LARGE, "short", api_name="/ask")
        refused = messages[-1]["content"][0]["text"]
        assert "non esiste; scegline uno dall'elenco (seeds)" in refused and str(SEEDS.parent) not in refused


def test_the_page_before_the_login_names_no_document_or_other_index(app, factory, seed_index):
    # an audit: gradio describes its API on the page it shows before the login, with each input's choices:
    # the documents to delete, the sources and the indexes were listed there for anyone to read
    shutil.copytree(seed_index, seed_index.parent / "riservato")
    with served(app, factory, auth=[("anna", "segreta")]) as url:
        page = requests.get(url).text
        assert "gradio_api_info" in page and RUTTE_DOC not in page and "riservato" not in page


def test_repeated_wrong_logins_must_wait(app, factory):
    from rag.logins import Throttle

    throttle = Throttle(free=2, first_wait=60)
    with served(app, factory, auth=[("anna", "segreta")], throttle=throttle) as url:
        wrong = {"username": "anna", "password": "sbagliata"}
        assert [requests.post(f"{url}login", data=wrong).status_code for _ in range(3)] == [400, 400, 400]
        waited = requests.post(f"{url}login", data={"username": "anna", "password": "segreta"})
        assert waited.status_code == 429 and 55 <= int(waited.headers["Retry-After"]) <= 61, waited.text
        assert "Too many wrong logins" in waited.json()["detail"]
        throttle._records["127.0.0.1"].until = 0  # the wait is over: the right login gets in
        assert requests.post(f"{url}login", data={"username": "anna", "password": "segreta"}).status_code == 200
        # and does not clear the count: a login's holder cannot go on guessing another user's password
        assert requests.post(f"{url}login", data=wrong).status_code == 400
        assert requests.post(f"{url}login", data={"username": "anna", "password": "segreta"}).status_code == 429


def test_the_heartbeat_route_asks_for_the_login(app, factory):
    # an audit: gradio's heartbeat stream answered without a login, so anyone could hold connections open
    with served(app, factory, auth=[("anna", "segreta")]) as url:
        assert requests.get(f"{url}gradio_api/heartbeat/abc", timeout=10).status_code == 401
        login = requests.post(f"{url}login", data={"username": "anna", "password": "segreta"})
        with requests.get(f"{url}gradio_api/heartbeat/abc", cookies=login.cookies, stream=True, timeout=10) as beat:
            assert beat.status_code == 200 and next(beat.iter_content(64)).startswith(b"data: ALIVE")


# ---- what a request can choose ------------------------------------------------------------------------------
def test_only_the_index_folders_indexes_and_offered_models_can_be_chosen(
    app, factory, seed_index, tmp_path, fake_embedder
):
    elsewhere = tmp_path / "elsewhere" / "private"
    build_index(load_documents([SEEDS]), elsewhere, fake_embedder)
    shutil.copytree(seed_index, seed_index.parent / ".seeds.tmp-abc123")
    controller = app.build_app(factory, index="seeds").controller
    for index in (str(elsewhere), "../elsewhere/private", ".seeds.tmp-abc123", "/etc", "nope"):
        *_, (messages, _, turns, _) = controller.respond(QUESTION, [], index, 4, LARGE, "short")
        assert turns[-1].status == "error" and "non esiste; scegline uno dall'elenco (seeds)" in turns[-1].answer
        assert str(tmp_path) not in turns[-1].answer and "/tmp" not in turns[-1].answer
    *_, (_, _, turns, _) = controller.respond(QUESTION, [], "seeds", 4, str(tmp_path / "model.gguf"), "short")
    assert turns[-1].status == "error" and "non è tra quelli disponibili" in turns[-1].answer
    assert str(tmp_path) not in turns[-1].answer.replace(str(tmp_path / "model.gguf"), "")
    assert len(factory.made) == 1, "nothing but the preloaded assistant was ever loaded"


def test_one_assistant_per_model_least_recently_used_freed(app, factory, seed_index):
    shutil.copytree(seed_index, seed_index.parent / "altro")
    assistants = app.Assistants(factory, max_models=2)
    assistants.get("seeds", LARGE)
    assistants.get("altro", LARGE)  # the same model on another index replaces it
    gc.collect()
    assert assistants.loaded() == [("altro", LARGE)] and factory.made[0]() is None
    assistants.get("seeds", SMALL)
    assistants.get("altro", LARGE)  # used again: now the most recent
    assistants.get("seeds", "third-model")  # a third model: the least recently used one goes
    gc.collect()
    assert assistants.loaded() == [("altro", LARGE), ("seeds", "third-model")]
    assert sum(ref() is not None for ref in factory.made) == 2


# ---- uploads ------------------------------------------------------------------------------------------
def test_upload_limits_per_file_and_per_batch(app, factory, seed_index, tmp_path):
    from rag.ui.uploads import UploadLimits

    before = (seed_index / "meta.json").read_text()
    a = write(tmp_path / "upload" / "a.txt", "Roma, 1 marzo 2026 – " + "notizia " * 2000)  # 16 kB
    b = write(tmp_path / "upload" / "b.txt", "Roma, 2 marzo 2026 – " + "notizia " * 2000)
    controller = app.ChatController(app.Assistants(factory), "it", UploadLimits(file_mb=0.01, batch_mb=0.02))
    status = controller.add_files([str(a)], "seeds", LARGE)
    assert "a.txt: 0.0 MB, oltre il limite di 0.01 MB per file" in status
    controller = app.ChatController(app.Assistants(factory), "it", UploadLimits(file_mb=0.02, batch_mb=0.03))
    status = controller.add_files([str(a), str(b)], "seeds", LARGE)
    assert "i file scelti sono 0.0 MB in tutto, oltre il limite di 0.03 MB per volta" in status
    assert str(tmp_path) not in status and (seed_index / "meta.json").read_text() == before


def uploading_threads() -> list[str]:
    return [t.name for t in threading.enumerate() if t.name.startswith("upload-")]


@pytest.mark.parametrize("how", ["cancel button", "page closed"])
def test_an_upload_reports_progress_and_can_be_cancelled(app, factory, seed_index, tmp_path, how):
    controller = app.build_app(factory, index="seeds").controller
    before = (seed_index / "meta.json").read_text()
    run = controller.uploads.run([str(long_article(tmp_path))], "seeds", LARGE, session="s1", poll=0.05)
    statuses = []
    for status in run:
        statuses.append(status)
        if status.startswith("⏳ Calcolo i vettori") and not status.endswith(" 5%"):
            break
    if how == "cancel button":
        assert controller.uploads.cancel("s1")
        statuses += list(run)
        assert statuses[-1] == "⚠ Aggiunta annullata: l'indice non è cambiato."
    else:
        run.close()  # what Gradio does when the page goes away
    assert not uploading_threads()
    assert (seed_index / "meta.json").read_text() == before
    assert "lungo.txt" not in Retriever.load(seed_index, embedder=FakeEmbedder()).store.doc_ids()
    assert not list(seed_index.parent.glob(".seeds.tmp-*"))


def test_questions_are_answered_while_an_upload_is_indexed(app, factory, tmp_path):
    from gradio_client import Client, handle_file

    with served(app, factory) as url:
        uploader, asker = Client(url, verbose=False), Client(url, verbose=False)
        adding = uploader.submit([handle_file(str(long_article(tmp_path)))], "seeds", LARGE, api_name="/add_articles")
        deadline = time.time() + 30
        while not any(str(o).startswith("⏳ Calcolo") for o in adding.outputs()) and time.time() < deadline:
            time.sleep(0.05)
        messages, panel, _ = asker.predict(QUESTION, "seeds", 4, LARGE, "short", api_name="/ask")
        assert "Hnatov" in messages[-1]["content"][0]["text"]
        assert not adding.done(), "the answer came while the upload was still being indexed"
        final = adding.result(timeout=120)
        assert final.startswith("✓") and "Aggiunti: 1" in final
        messages, panel, _ = Client(url, verbose=False).predict(
            "parola17 parola18 resoconto", "seeds", 4, LARGE, "short", api_name="/ask"
        )
        assert 'data-doc="lungo.txt"' in panel

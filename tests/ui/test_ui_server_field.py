"""The settings' "Server LLM (URL)" field: the page's reader chosen on a served model, from this machine only, for
everyone; a server that is down, a wrong key or a bad address is one line and changes nothing; the key is never
shown. Fast: a stdlib server lists the served model (``tests.llm_server.bad_server``) and a fake assistant answers
(the field's behaviour does not depend on the model; ``tests/cli/test_llm_url.py`` answers from a real server).
"""

from __future__ import annotations

import pytest
from rag.ui.strings import STRINGS

from rag.index.indexer import build_index
from rag.index.retriever import Retriever
from rag.sources.ingest import load_documents

from tests.conftest import SEEDS
from tests.llm_server import bad_server, free_port
from tests.ui.test_ui import FakeAssistant

IT = STRINGS["it"]
MODEL = "qwen2.5-1.5b-instruct"
SERVED = "qwen2.5-7b-instruct-q4"
KEY = "sk-segreta-9"
HERE, ELSEWHERE = "127.0.0.1", "203.0.113.7"


class Reader:
    """The generator of a served assistant, as ``OpenAIGenerator`` shows itself: the model's name and its URL."""

    def __init__(self, name: str, url: str):
        self.name, self.url = name, url


@pytest.fixture
def page(tmp_path, fake_embedder):
    """The page over the seeds with fake assistants; ``demo.made``: each one made (index, model, url, key)."""
    from rag.ui import app

    build_index(load_documents([SEEDS]), tmp_path / "index" / "seeds", fake_embedder)
    made = []

    def factory(index, model, url=None, api_key=None):
        made.append((index, model, url, api_key))
        assistant = FakeAssistant(Retriever.load(index, embedder=fake_embedder))
        if url:
            assistant.generator = Reader(model, url)
        return assistant

    demo = app.build_app(factory, index="seeds", model=MODEL)
    demo.made = made
    return demo


@pytest.fixture
def server():
    def chat(handler):  # the fake assistant never asks the server to write
        raise AssertionError("not asked")

    with bad_server(chat, models=(SERVED,), key=KEY) as url:
        yield url


def component(demo, elem_id: str) -> dict:
    return next(c for c in demo.get_config_file()["components"] if c["props"].get("elem_id") == elem_id)


def test_the_fields_are_in_the_settings_and_the_key_is_a_password(page):
    assert component(page, "llm-url")["props"]["label"] == IT["llm_url"]
    assert component(page, "llm-key")["props"]["type"] == "password"


def test_a_served_model_answers_for_everyone_and_this_machine_goes_back(page, server):
    controller = page.controller
    port = server.split(":")[2].split("/")[0]
    said, now, line = controller.use_server(server, KEY, "seeds", MODEL, HERE)
    assert said == "✓ " + IT["llm_served"].format(model=SERVED.replace("-", "\\-"), host=f"127.0.0.1:{port}")
    assert now == SERVED and line.endswith(f"servito da **127.0.0.1:{port}**")
    assert page.made[-1] == ("seeds", SERVED, server, KEY) and controller.assistants.server() == server
    *_, (messages, panel, turns, _) = controller.respond("Chi accompagnava Umerov?", [], "seeds", 4, SERVED, "short")
    assert turns[-1].status == "answered" and "Umerov" in turns[-1].answer
    assert controller.status("seeds", MODEL).startswith("⚠")  # the local model is not the one answering now
    # a page opened now (another visitor, a reload) shows the served model, whatever its buttons held
    load = next(f for f in page.fns.values() if getattr(f.fn, "__name__", "") == "fill_choices")
    _, models, _, _, _, _, shown, *_ = load.fn("seeds", MODEL)
    assert models["value"] == SERVED and [value for _, value in models["choices"]] == [SERVED]
    assert shown == line

    said, now, line = controller.use_server("  ", "", "seeds", SERVED, "::1")
    assert said == "✓ " + IT["llm_local"] and now == MODEL and "servito" not in line
    assert controller.assistants.server() is None and controller.served is None
    assert controller.status("seeds", MODEL) == line and len(page.made) == 2  # the local assistant was kept


@pytest.mark.parametrize(
    ("url", "key", "client", "words"),
    [
        ("served", KEY, ELSEWHERE, IT["llm_only_here"]),
        ("served", "sk-sbagliata", HERE, "401"),
        ("served", None, HERE, "401"),
        ("down", KEY, HERE, "cannot reach"),
        ("gpu.lan:8000", KEY, HERE, "OpenAI-compatible server"),
    ],
    ids=["from-elsewhere", "wrong-key", "no-key", "down", "no-scheme"],
)
def test_a_server_that_cannot_answer_is_one_line_and_changes_nothing(page, server, url, key, client, words):
    controller = page.controller
    address = {"served": server, "down": f"http://127.0.0.1:{free_port()}/v1"}.get(url, url)
    before = controller.status("seeds", MODEL)
    said, now, line = controller.use_server(address, key, "seeds", MODEL, client)
    assert said.startswith("⚠") and words in said and "\n" not in said and "Traceback" not in said, said
    assert key is None or key not in said
    assert now is None and line == before and controller.assistants.server() is None and controller.served is None
    assert [m for m in page.made if m[2]] == []  # no assistant on the server was made

"""The HTTP API served for real by uvicorn on 127.0.0.1 and called with the OpenAI client and httpx.

Fast tests plug in the chat page's fake assistant (real retrieval over a fake-embedder index, canned
answers); the slow one asks the real models."""

from __future__ import annotations

import threading
import time
from contextlib import contextmanager

import httpx
import pytest

from rag.api.app import create_app
from rag.index.indexer import build_index
from rag.index.retriever import Retriever
from rag.sources.ingest import load_documents

from tests.conftest import RUTTE_DOC, SEEDS, UMEROV_DOC
from tests.ui.test_ui import FakeAssistant
from tests.ui.test_ui_e2e import free_port

QUESTION = "Chi accompagnava Umerov a Bruxelles?"


@contextmanager
def serving(app):
    """``app`` served by uvicorn on a free 127.0.0.1 port, in a thread; yields the base URL."""
    import uvicorn

    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if time.monotonic() > deadline:
            raise RuntimeError("the API server did not start within 30 s")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def openai_client(base: str):
    from openai import OpenAI

    return OpenAI(base_url=f"{base}/v1", api_key="not-needed", max_retries=0)


@pytest.fixture
def fake(tmp_path, fake_embedder):
    build_index(load_documents([SEEDS]), tmp_path / "index" / "seeds", fake_embedder)
    return FakeAssistant(Retriever.load(tmp_path / "index" / "seeds", embedder=fake_embedder))


@pytest.fixture
def base(fake):
    with serving(create_app(lambda: fake, model="fake-llm")) as url:
        yield url


def test_chat_completion_through_the_openai_client_carries_the_sources(base, fake):
    reply = openai_client(base).chat.completions.create(
        model="whatever", messages=[{"role": "user", "content": QUESTION}], extra_body={"k": 3}
    )
    assert reply.object == "chat.completion" and reply.model == "fake-llm"
    assert "Hnatov" in reply.choices[0].message.content and reply.choices[0].message.content.endswith("[1]")
    extra = reply.model_extra
    assert extra["refused"] is False and extra["refusal_reasons"] == []
    (source,) = extra["sources"]
    assert source["number"] == 1 and source["doc_id"] == UMEROV_DOC and "Hnatov" in source["quote"]
    assert source["date"] == "2025-12-03" and source["title"]
    assert fake.calls[-1]["k"] == 3


def test_streaming_sends_the_checked_answer_and_sources(base):
    """The fake's partials are its draft word by word: none is sent, only the checked answer (issue 31)."""
    stream = openai_client(base).chat.completions.create(
        model="fake-llm", messages=[{"role": "user", "content": QUESTION}], stream=True
    )
    chunks = list(stream)
    assert chunks[0].choices[0].delta.role == "assistant"
    text = "".join(c.choices[0].delta.content or "" for c in chunks)
    last = chunks[-1]
    assert last.choices[0].finish_reason == "stop"
    assert text == last.model_extra["answer"] and text.endswith("[1]")
    assert all(c.choices[0].delta.content.endswith("[1]") for c in chunks[1:] if c.choices[0].delta.content)
    assert last.model_extra["sources"][0]["doc_id"] == UMEROV_DOC


def test_history_and_filters_reach_the_assistant(base, fake):
    messages = [
        {"role": "system", "content": "Rispondi in italiano."},
        {"role": "user", "content": QUESTION},
        {"role": "assistant", "content": "Hnatov [1]."},
        {"role": "user", "content": [{"type": "text", "text": "E quando è arrivato?"}]},
    ]
    filters = {"date_from": "2025-12-01", "doc_ids": [UMEROV_DOC]}
    reply = httpx.post(f"{base}/v1/chat/completions", json={"messages": messages, "filters": filters}, timeout=60)
    assert reply.status_code == 200, reply.text
    call = fake.calls[-1]
    assert call["question"] == "E quando è arrivato?" and call["history"] == [(QUESTION, "Hnatov [1].")]
    assert call["filters"].date_from == "2025-12-01" and call["filters"].doc_ids == {UMEROV_DOC}


def test_search_returns_hits_and_applies_filters(base):
    hits = httpx.get(f"{base}/search", params={"q": "Rutte Kiev", "k": 2}).json()["hits"]
    assert hits[0]["doc_id"] == RUTTE_DOC and {"title", "date", "text", "score", "rank", "url"} <= set(hits[0])
    only = httpx.get(f"{base}/search", params={"q": "Rutte Kiev", "doc": UMEROV_DOC}).json()["hits"]
    assert only and {h["doc_id"] for h in only} == {UMEROV_DOC}


@pytest.mark.parametrize(
    "method, path, payload, message",
    [
        ("post", "/v1/chat/completions", {"messages": []}, "the last message must be the user's question"),
        ("post", "/v1/chat/completions", {"messages": [{"role": "user", "content": "  "}]}, "the last message"),
        ("post", "/v1/chat/completions", {"messages": "ciao"}, "messages: "),
        ("post", "/v1/chat/completions", {"messages": [{"role": "user", "content": "x"}], "k": 0}, "k: "),
        (
            "post",
            "/v1/chat/completions",
            {"messages": [{"role": "user", "content": "x"}], "filters": {"date_from": "ieri"}},
            "date_from 'ieri' is not a date; write it as YYYY-MM-DD",
        ),
        (  # a content part whose text is not a string (an audit got a bare 500)
            "post",
            "/v1/chat/completions",
            {"messages": [{"role": "user", "content": [{"type": "text", "text": 5}]}]},
            "messages.0.content",
        ),
        ("get", "/search?q=%20", None, "the query is empty"),
        ("get", "/search?q=NATO&mode=magic", None, "unknown search mode 'magic'"),
        ("get", "/search", None, "q: Field required"),
    ],
)
def test_bad_requests_get_a_400_with_one_line(base, method, path, payload, message):
    reply = httpx.request(method.upper(), f"{base}{path}", json=payload)
    assert reply.status_code == 400, reply.text
    assert message in reply.json()["error"]["message"] and reply.json()["error"]["type"] == "invalid_request_error"


def test_a_body_too_large_is_refused_before_it_is_read(base):
    # an audit: a 50 MB body was read and parsed whole (the server grew to 1.8 GB)
    question = {"role": "user", "content": "Chi accompagnava Umerov? " + "x" * (2 << 20)}
    reply = httpx.post(f"{base}/v1/chat/completions", json={"messages": [question]})
    assert reply.status_code == 413 and "the API reads at most" in reply.json()["error"]["message"]
    chunked = httpx.post(f"{base}/v1/chat/completions", content=iter([b'{"messages": []}']))
    assert chunked.status_code == 411


def test_a_refusal_streams_as_the_refusal_and_says_so(base):
    chunks = list(
        openai_client(base).chat.completions.create(
            model="fake-llm", messages=[{"role": "user", "content": "Chi vive su Marte?"}], stream=True
        )
    )
    text = "".join(c.choices[0].delta.content or "" for c in chunks)
    last = chunks[-1].model_extra
    assert last["refused"] is True and last["sources"] == [] and text == last["answer"]
    assert text == "Le fonti disponibili non contengono questa informazione."


def test_a_failure_of_the_pipeline_is_a_500_in_one_line(base):
    for stream in (False, True):
        body = {"messages": [{"role": "user", "content": "un guasto"}], "stream": stream}
        reply = httpx.post(f"{base}/v1/chat/completions", json=body, timeout=60)
        assert reply.status_code == 500 and reply.json()["error"]["type"] == "server_error"
        assert reply.json()["error"]["message"] == "the model file is damaged; run `rag setup --force`"


def test_models_lists_the_served_model(base):
    assert [m.id for m in openai_client(base).models.list()] == ["fake-llm"]


@pytest.mark.slow
def test_the_real_assistant_answers_umerov_with_the_citation(assistant_15b):
    from rag.config import DEFAULT_LLM

    assistant = assistant_15b  # the session's 1.5B over a copy of the session's seed index
    with serving(create_app(lambda: assistant, model=DEFAULT_LLM)) as url:
        client = openai_client(url)
        reply = client.chat.completions.create(model=DEFAULT_LLM, messages=[{"role": "user", "content": QUESTION}])
        text = reply.choices[0].message.content
        assert "Hnatov" in text and "[1]" in text, text
        sources = reply.model_extra["sources"]
        assert sources[0]["number"] == 1 and sources[0]["doc_id"] == UMEROV_DOC and "Hnatov" in sources[0]["quote"]
        chunks = list(
            client.chat.completions.create(
                model=DEFAULT_LLM, messages=[{"role": "user", "content": QUESTION}], stream=True
            )
        )
        streamed = "".join(c.choices[0].delta.content or "" for c in chunks)
        assert streamed == text and chunks[-1].model_extra["answer"] == text  # the checked text, nothing else
        assert chunks[-1].model_extra["sources"] == sources


def test_with_logins_every_api_request_needs_one(fake):
    # an audit: `rag serve --host 0.0.0.0` had no login at all
    with serving(create_app(lambda: fake, model="fake-llm", logins=[("anna", "segreta")])) as url:
        assert httpx.get(f"{url}/v1/models").status_code == 401
        assert httpx.get(f"{url}/search", params={"q": "Rutte"}).status_code == 401
        assert httpx.get(f"{url}/v1/models", headers={"Authorization": "Bearer anna:sbagliata"}).status_code == 401
        assert httpx.get(f"{url}/v1/models", auth=("anna", "segreta")).status_code == 200
        assert httpx.get(f"{url}/search", params={"q": "Rutte"}, auth=("anna", "segreta")).status_code == 200
        assert httpx.get(f"{url}/openapi.json").status_code == 401  # its description too
        assert httpx.get(f"{url}/openapi.json", auth=("anna", "segreta")).status_code == 200
        assert httpx.get(f"{url}/v1/models", auth=("anna", "segreta\n")).status_code == 401  # exactly as given
        client = openai_client(url)
        client.api_key = "anna:segreta"  # the login as an OpenAI client's key
        reply = client.chat.completions.create(model="x", messages=[{"role": "user", "content": QUESTION}])
        assert "Hnatov" in reply.choices[0].message.content


@pytest.mark.parametrize("trusted", [None, ""])
def test_forwarded_for_names_the_client_only_when_the_proxy_is_trusted(fake, monkeypatch, trusted):
    """uvicorn trusts X-Forwarded-For from 127.0.0.1 by default (a proxy on this machine); FORWARDED_ALLOW_IPS=
    (empty), as docs/security.md says, makes every local client count as itself, whatever address it names."""
    from rag.logins import Throttle

    if trusted is not None:
        monkeypatch.setenv("FORWARDED_ALLOW_IPS", trusted)
    throttle = Throttle(free=1, first_wait=60)
    with serving(create_app(lambda: fake, model="fake-llm", logins=[("anna", "segreta")], throttle=throttle)) as url:
        for n in range(3):
            httpx.get(f"{url}/v1/models", auth=("anna", "x"), headers={"X-Forwarded-For": f"10.9.9.{n}"})
    assert sorted(throttle._records) == (["127.0.0.1"] if trusted == "" else ["10.9.9.0", "10.9.9.1", "10.9.9.2"])


def test_wrong_logins_wait_but_requests_without_one_do_not_count(fake):
    from rag.logins import Throttle

    throttle = Throttle(free=2, first_wait=60)
    with serving(create_app(lambda: fake, model="fake-llm", logins=[("anna", "segreta")], throttle=throttle)) as url:
        for _ in range(5):  # probes and CORS preflights carry no login: refused, not counted
            assert httpx.options(f"{url}/v1/chat/completions").status_code == 401
        assert httpx.get(f"{url}/v1/models", auth=("anna", "segreta")).status_code == 200
        tries = [("anna", "x"), ("anna", "segreta")] * 2 + [("anna", "x")] * 2
        statuses = [httpx.get(f"{url}/v1/models", auth=login).status_code for login in tries]
        # right logins in between do not clear the count (else one login's holder could guess another's
        # password for ever); the third wrong one starts a wait, and even the right login waits
        assert statuses == [401, 200, 401, 200, 401, 429]
        waited = httpx.get(f"{url}/v1/models", auth=("anna", "segreta"))
        assert waited.status_code == 429 and int(waited.headers["Retry-After"]) > 50

"""Issue 31, item 4: what the OpenAI-compatible API shows, and how it speaks OpenAI.

Nothing unchecked is streamed (a draft that the final answer refuses or corrects never reaches a client); the
streamed text is the non-streamed reply's, with its [n] markers, in sentence-sized pieces, and the sources; a
refusal streams as one (its message, and ``delta.refusal``); ``usage``, ``GET /v1/models/{id}``, errors in
OpenAI's shape for every status, ``n>1`` and tools refused, ``/docs`` served with nothing fetched from elsewhere.

Served for real by uvicorn and called with the OpenAI client and raw HTTP; the assistant is a script of answers
(what is tested is the API, not the answers).
"""

from __future__ import annotations

import json
import re

import httpx
import openai
import pytest

from rag.api.app import create_app
from rag.errors import RagError
from rag.types import Answer, Citation

from tests.api.test_api import openai_client, serving

RUTTE = "Quanti giorni durerà la visita di Rutte?"
REFUSAL = "Le fonti disponibili non contengono questa informazione."
CHECKED = "Rutte è arrivato a Kiev il 3 dicembre [1]. La visita durerà due giorni [1]."


def citation() -> Citation:
    quote = "La visita durerà due giorni."
    return Citation(1, "rutte#0", "rutte.txt", "Rutte a Kiev", "2025-12-03", "Kiev", quote, 0, len(quote), quote, 0.9)


class ScriptedAssistant:
    """``ask_stream`` yields the draft's partials as today's reader does (unchecked text, ``done=False``), then
    ``final`` (a refusal when ``final`` is None). ``closed`` counts generations closed before their end."""

    retriever = None

    def __init__(self, draft: str, final: str | None):
        self.draft, self.final = draft, final
        self.closed = 0

    def ask_stream(self, question, history=(), k=None, max_tokens=None, filters=None):
        if "guasto" in question:
            raise RagError("the model file is damaged; run `rag setup --force`")
        try:
            yield Answer(question, "", status="Leggo 3 articoli…", done=False)
            words = self.draft.split(" ")
            for n in range(1, len(words) + 1):
                yield Answer(question, " ".join(words[:n]), done=False)
        except GeneratorExit:
            self.closed += 1
            raise
        if self.final is None:
            yield Answer(question, REFUSAL, refused=True, refusal_reasons=["unsupported"])
        else:
            yield Answer(question, self.final, citations=[citation()])


@pytest.fixture
def refusing():
    """The issue's case: the reader drafts "2 giorni — Risposta", the check refuses it."""
    with serving(create_app(lambda: ScriptedAssistant("2 giorni — Risposta", None), model="fake-llm")) as url:
        yield url


@pytest.fixture
def answering():
    """The draft is corrected by the check: the checked answer says it otherwise, with its markers."""
    with serving(create_app(lambda: ScriptedAssistant("Due giorni, dice Rutte", CHECKED), model="fake-llm")) as url:
        yield url


def ask(base: str, question: str = RUTTE, **options):
    return openai_client(base).chat.completions.create(
        model="fake-llm", messages=[{"role": "user", "content": question}], **options
    )


def raw_stream(base: str, body: dict) -> tuple[list[str], list[dict]]:
    """The raw lines of a streamed chat (comments included) and its JSON events."""
    lines = []
    with httpx.stream("POST", f"{base}/v1/chat/completions", json=body, timeout=60) as reply:
        assert reply.status_code == 200 and reply.headers["content-type"].startswith("text/event-stream")
        lines = [line for line in reply.iter_lines() if line]
    assert lines[-1] == "data: [DONE]"
    events = [json.loads(line.removeprefix("data: ")) for line in lines[:-1] if line.startswith("data: ")]
    return lines, events


# ---- nothing unchecked is shown ---------------------------------------------------------------------------
def test_a_refused_draft_is_never_streamed_and_the_refusal_is_visible_to_any_client(refusing):
    chunks = list(ask(refusing, stream=True))
    text = "".join(c.choices[0].delta.content or "" for c in chunks)
    assert "2 giorni" not in text and "Risposta" not in text
    assert text == REFUSAL
    last = chunks[-1]
    assert last.choices[0].finish_reason == "stop" and last.choices[0].delta.refusal == REFUSAL
    assert last.model_extra["refused"] is True and last.model_extra["refusal_reasons"] == ["unsupported"]
    reply = ask(refusing)
    assert reply.choices[0].message.content == REFUSAL and reply.choices[0].message.refusal == REFUSAL


def test_the_stream_is_the_checked_reply_in_sentences_with_markers_and_sources(answering):
    whole = ask(answering)
    assert whole.choices[0].message.content == CHECKED and whole.choices[0].message.refusal is None
    chunks = list(ask(answering, stream=True))
    pieces = [c.choices[0].delta.content for c in chunks if c.choices[0].delta.content]
    assert pieces == ["Rutte è arrivato a Kiev il 3 dicembre [1].", " La visita durerà due giorni [1]."]
    assert "".join(pieces) == CHECKED  # the draft ("Due giorni, dice Rutte") never went out
    last = chunks[-1]
    assert last.choices[0].finish_reason == "stop" and last.model_extra["answer"] == CHECKED
    assert last.model_extra["sources"] == whole.model_extra["sources"]
    assert last.model_extra["sources"][0]["number"] == 1 and last.model_extra["sources"][0]["doc_id"] == "rutte.txt"


def test_while_nothing_can_be_shown_the_stream_says_what_is_being_done_as_a_comment(answering):
    lines, events = raw_stream(answering, {"messages": [{"role": "user", "content": RUTTE}], "stream": True})
    assert ": Leggo 3 articoli…" in lines  # an SSE comment: clients skip it, proxies see traffic
    assert events[0]["choices"][0]["delta"] == {"role": "assistant", "content": ""}
    assert "".join(e["choices"][0]["delta"].get("content") or "" for e in events) == CHECKED


# ---- usage --------------------------------------------------------------------------------------------------
def test_usage_counts_the_messages_and_the_reply(answering):
    reply = ask(answering)
    usage = reply.usage
    assert usage is not None and usage.prompt_tokens > 0 and usage.completion_tokens > 0
    assert usage.total_tokens == usage.prompt_tokens + usage.completion_tokens
    words = len(re.findall(r"\w+|[^\w\s]", CHECKED))  # the fake has no tokenizer: words and marks
    assert usage.completion_tokens == words


def test_a_stream_sends_its_usage_last_only_when_asked(answering):
    chunks = list(ask(answering, stream=True, stream_options={"include_usage": True}))
    *answer, last = chunks
    assert last.choices == [] and last.usage is not None and last.usage.total_tokens > 0
    assert all(c.usage is None for c in answer) and answer[-1].choices[0].finish_reason == "stop"
    assert last.usage.completion_tokens == ask(answering).usage.completion_tokens
    plain = list(ask(answering, stream=True))
    assert all(c.usage is None for c in plain) and plain[-1].choices[0].finish_reason == "stop"


# ---- models ---------------------------------------------------------------------------------------------------
def test_a_model_is_retrieved_by_its_id_and_an_unknown_one_is_a_404(answering):
    client = openai_client(answering)
    card = client.models.retrieve("fake-llm")
    assert card.id == "fake-llm" and card.object == "model" and card.created > 0
    with pytest.raises(openai.NotFoundError) as refused:
        client.models.retrieve("gpt-4o")
    error = refused.value.body
    assert error["code"] == "model_not_found" and error["param"] == "model" and "fake-llm" in error["message"]


# ---- what the server does not do is refused ----------------------------------------------------------------
@pytest.mark.parametrize(
    "extra, param",
    [
        ({"n": 2}, "n"),
        ({"tools": [{"type": "function", "function": {"name": "meteo", "parameters": {}}}]}, "tools"),
        ({"tool_choice": "required"}, "tool_choice"),
        ({"functions": [{"name": "meteo", "parameters": {}}]}, "functions"),
        ({"function_call": {"name": "meteo"}}, "function_call"),
        ({"response_format": {"type": "json_object"}}, "response_format"),
        ({"logprobs": True}, "logprobs"),
    ],
)
def test_what_the_server_cannot_do_is_a_clear_400(answering, extra, param):
    with pytest.raises(openai.BadRequestError) as refused:
        ask(answering, extra_body=extra)
    error = refused.value.body
    assert error["param"] == param and error["type"] == "invalid_request_error"
    assert error["message"].startswith(f"{param}: ") and "\n" not in error["message"]


@pytest.mark.parametrize("extra", [{"n": 1}, {"tool_choice": "none"}, {"temperature": 0.2, "top_p": 0.9, "seed": 7}])
def test_what_changes_nothing_is_accepted(answering, extra):
    assert ask(answering, extra_body=extra).choices[0].message.content == CHECKED


# ---- errors in OpenAI's shape, for every status ---------------------------------------------------------------
def assert_openai_error(reply: httpx.Response, status: int) -> dict:
    assert reply.status_code == status, reply.text
    body = reply.json()
    assert set(body) == {"error"} and set(body["error"]) == {"message", "type", "param", "code"}, body
    assert body["error"]["message"] and "\n" not in body["error"]["message"]
    return body["error"]


@pytest.mark.parametrize("page", [False, True], ids=["api alone", "page mounted beside (rag serve)"])
def test_every_status_is_an_openai_error(tmp_path, page):
    from rag.logins import Throttle

    app = create_app(
        lambda: ScriptedAssistant("bozza", CHECKED),
        model="fake-llm",
        logins=[("anna", "segreta")],
        throttle=Throttle(free=1, first_wait=60),
    )
    if page:  # what rag serve does: the page at /, whose own 404/405 are not OpenAI's
        from fastapi import FastAPI

        page_app = FastAPI()
        page_app.get("/{anything:path}")(lambda anything: {"page": anything})
        app.mount("/", page_app)
    login = ("anna", "segreta")
    chat = {"messages": [{"role": "user", "content": RUTTE}]}
    with serving(app) as url:
        assert_openai_error(httpx.post(f"{url}/v1/chat/completions", json={"messages": []}, auth=login), 400)
        assert_openai_error(httpx.post(f"{url}/v1/chat/completions", json={**chat, "k": "molti"}, auth=login), 400)
        assert_openai_error(httpx.post(f"{url}/v1/chat/completions", content=b"{non json", auth=login), 400)
        error = assert_openai_error(httpx.get(f"{url}/v1/nothing", auth=login), 404)
        assert error["code"] == "not_found" and "/v1/nothing" in error["message"]
        wrong = assert_openai_error(httpx.get(f"{url}/v1/chat/completions", auth=login), 405)
        assert wrong["code"] == "method_not_allowed" and "POST" in wrong["message"]
        guasto = {"messages": [{"role": "user", "content": "un guasto"}]}
        failed = assert_openai_error(httpx.post(f"{url}/v1/chat/completions", json=guasto, auth=login), 500)
        assert failed["type"] == "server_error"
        assert_openai_error(httpx.post(f"{url}/v1/chat/completions", json={"messages": [{"role": "user"}]}), 401)
        denied = assert_openai_error(httpx.get(f"{url}/v1/models", auth=("anna", "x")), 401)
        assert denied["code"] == "invalid_api_key"
        httpx.get(f"{url}/v1/models", auth=("anna", "x"))
        waited = assert_openai_error(httpx.get(f"{url}/v1/models", auth=login), 429)
        assert waited["type"] == "requests" and waited["code"] == "rate_limit_exceeded"
        if page:  # the page's own paths are left to it
            assert httpx.get(f"{url}/elsewhere").json() == {"page": "elsewhere"}


def test_an_unexpected_failure_is_a_500_in_openai_shape_without_its_traceback():
    class Broken:
        retriever = None

        def ask_stream(self, question, **options):
            raise KeyError("a bug's own words")

    with serving(create_app(lambda: Broken(), model="fake-llm")) as url:
        reply = httpx.post(f"{url}/v1/chat/completions", json={"messages": [{"role": "user", "content": RUTTE}]})
    error = assert_openai_error(reply, 500)
    assert error["type"] == "server_error" and "a bug's own words" not in reply.text


def test_the_openai_client_reads_the_errors(answering):
    with pytest.raises(openai.BadRequestError) as refused:
        ask(answering, extra_body={"n": 3})
    assert "n=1" in refused.value.message


# ---- /docs offline --------------------------------------------------------------------------------------------
def test_docs_are_served_with_nothing_fetched_from_elsewhere(answering):
    for path in ("/docs", "/redoc"):
        page = httpx.get(f"{answering}{path}")
        assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
        assert not re.search(r"""(src|href)=["']?(https?:)?//""", page.text), "the page loads something from elsewhere"
        for route in ("/v1/chat/completions", "/v1/models", "/v1/models/{model_id}", "/search"):
            assert f"<code>{route}</code>" in page.text, route
        assert "stream_options" in page.text and "max_tokens" in page.text  # the request's fields are described
    assert httpx.get(f"{answering}/openapi.json").json()["paths"]["/v1/chat/completions"]["post"]

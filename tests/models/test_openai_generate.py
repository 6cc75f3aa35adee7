"""The reader on an OpenAI-compatible server (``rag.models.openai_generate``).

The server's faults (down, slow, garbage, a cut stream, a wrong key) are played by a tiny stdlib server
(``tests/llm_server.bad_server``): what is tested is how our side reads them. Answers come from a real
``python -m llama_cpp.server`` serving the built-in 0.5B (``tests/llm_server.llama_server``).
"""

from __future__ import annotations

import json
import time

import pytest

from rag.backends import capabilities
from rag.errors import ModelError
from rag.models.llm import FirstToken
from rag.models.openai_generate import OpenAIGenerator, served_model, server_address

from tests.llm_server import bad_server, free_port, llama_server, sse

QUESTION = [
    {"role": "system", "content": "Rispondi in italiano, brevemente, solo dalla fonte."},
    {
        "role": "user",
        "content": "Fonte: Il ministro Umerov era accompagnato a Bruxelles da Andrii Hnatov, Capo di Stato Maggiore.\n"
        "Domanda: Chi accompagnava Umerov a Bruxelles?",
    },
]


def chunk(text: str | None = None, finish: str | None = None, logprobs: list | None = None) -> str:
    delta = {} if text is None else {"content": text}
    choice = {"index": 0, "delta": delta, "finish_reason": finish}
    if logprobs is not None:
        choice["logprobs"] = {"content": logprobs}
    return json.dumps({"id": "x", "object": "chat.completion.chunk", "choices": [choice]})


def answering(pieces: list[str], slow: float = 0.0, end: bool = True, done_without_finish: bool = False):
    """A chat handler: the probe (4 tokens) is continued as a llama.cpp server does; a reply is ``pieces``."""

    def chat(handler):
        if handler.body.get("max_tokens") == 4:
            return sse(handler, [chunk("ABRA"), chunk(finish="length"), "[DONE]"])
        time.sleep(slow)
        events = [chunk(p) for p in pieces]
        if end:
            events += [chunk(finish="stop")] if not done_without_finish else []
            events += ["[DONE]"]
        sse(handler, events, end=end)

    return chat


def test_addresses_are_checked_and_given_v1():
    assert server_address("http://127.0.0.1:8080") == "http://127.0.0.1:8080/v1"
    assert server_address(" https://gpu.lan:8000/v1/ ") == "https://gpu.lan:8000/v1"
    for bad in ("", "127.0.0.1:8080", "ftp://x/v1", "http://:80/v1", "http://h:port/v1", "http://h/v1?x=1"):
        with pytest.raises(ModelError, match="give the address of an OpenAI-compatible server"):
            server_address(bad)


def test_a_server_that_is_down_is_one_line_naming_it():
    url = f"http://127.0.0.1:{free_port()}/v1"  # nothing listens there
    with pytest.raises(ModelError, match=rf"cannot reach the answer server at {url} .*start it, or check --llm"):
        OpenAIGenerator(url=url)


def test_a_reply_streams_and_a_continuing_server_gets_the_prefix_as_the_last_message():
    seen = []

    def chat(handler):
        seen.append(handler.body)
        answering([" Andrii", " Hnatov"])(handler)

    with bad_server(chat) as url:
        generator = OpenAIGenerator(url=url)
        assert (generator.name, generator.prefill, generator.supports_first_token) == ("served", "continue", False)
        assert capabilities(generator)["supports_cached_share"] is False
        pieces = list(generator.stream(QUESTION, max_tokens=20, stop=("\n",), reply_prefix="Risposta breve:"))
    assert pieces == [" Andrii", " Hnatov"]
    body = seen[-1]
    assert body["messages"][-1] == {"role": "assistant", "content": "Risposta breve:"}
    assert body["stream"] is True and body["temperature"] == 0 and body["stop"] == ["\n"]
    assert body["cache_prompt"] is True and body["continue_final_message"] is True
    assert "logprobs" not in body  # the server gave none in the probe: not asked again


def test_a_server_that_does_not_continue_gets_no_prefix_and_the_label_the_model_writes_is_cut():
    def chat(handler):
        if handler.body.get("max_tokens") == 4:  # closes the assistant message and starts a new one
            return sse(handler, [chunk("Ecco"), chunk(finish="length"), "[DONE]"])
        assert handler.body["messages"][-1]["role"] == "user"
        sse(handler, [chunk("**Risposta"), chunk(" breve:** Andrii"), chunk(" Hnatov"), chunk(finish="stop"), "[DONE]"])

    with bad_server(chat) as url:
        generator = OpenAIGenerator(url=url)
        assert generator.prefill == "label"
        assert "".join(generator.stream(QUESTION, reply_prefix="Risposta breve:")) == " Andrii Hnatov"


def test_the_first_token_is_read_from_top_logprobs_after_the_label():
    def chat(handler):
        tops = [{"token": " Andrii", "logprob": -0.1}, {"token": " Non", "logprob": -2.5}]
        entries = [
            {"token": "Risposta", "logprob": -0.01, "top_logprobs": [{"token": "Risposta", "logprob": -0.01}]},
            {"token": " breve:", "logprob": -0.01, "top_logprobs": [{"token": " breve:", "logprob": -0.01}]},
            {"token": " Andrii", "logprob": -0.1, "top_logprobs": tops},
        ]
        if handler.body.get("max_tokens") == 4:
            return sse(handler, [chunk("Ecco", logprobs=entries[:1]), chunk(finish="length"), "[DONE]"])
        assert handler.body["logprobs"] is True and handler.body["top_logprobs"] == 20
        sse(handler, [chunk("Risposta breve: Andrii", logprobs=entries), chunk(finish="stop"), "[DONE]"])

    with bad_server(chat) as url:
        generator = OpenAIGenerator(url=url)
        assert generator.supports_first_token is True
        first = FirstToken(" Non lo so")
        assert "".join(generator.stream(QUESTION, reply_prefix="Risposta breve:", first=first)) == " Andrii"
    assert first.probability == pytest.approx(2.718281828**-2.5)


def test_a_server_serving_several_models_asks_for_one_and_an_unknown_one_is_named():
    with bad_server(answering(["x"]), models=("llama-3-8b", "qwen2.5-7b")) as url:
        with pytest.raises(ModelError, match=r"serves 2 models \(llama-3-8b, qwen2.5-7b\); choose one with --model"):
            OpenAIGenerator(url=url)
        with pytest.raises(ModelError, match=r"does not serve 'gpt-4'; it serves llama-3-8b, qwen2.5-7b"):
            OpenAIGenerator(model="gpt-4", url=url)
        assert OpenAIGenerator(model="qwen2.5-7b", url=url).name == "qwen2.5-7b"


def test_served_model_names_the_model_without_generating():
    asked = []
    with bad_server(lambda h: asked.append(h.body), models=("qwen2.5-7b",)) as url:
        assert served_model(url) == "qwen2.5-7b"
        with pytest.raises(ModelError, match="does not serve 'gpt-4'"):
            served_model(url, "gpt-4")
    assert asked == []  # only GET /models


def test_a_slow_server_is_given_up_after_the_timeout_in_one_line():
    with bad_server(answering(["tardi"], slow=3)) as url:
        generator = OpenAIGenerator(url=url, timeout=1)
        started = time.monotonic()
        with pytest.raises(ModelError, match=rf"at {url} sent nothing for 1 s; .*RAG_LLM_TIMEOUT"):
            list(generator.stream(QUESTION))
        assert time.monotonic() - started < 2.5


@pytest.mark.parametrize(
    "send, said",
    [
        (lambda h: _raw(h, "text/html", b"<html>nginx welcome</html>"), "not an OpenAI-compatible reply"),
        (lambda h: sse(h, ["{not json", "[DONE]"]), "not an OpenAI-compatible reply"),
        (lambda h: sse(h, [json.dumps({"choices": [{"text": "old"}]}), "[DONE]"]), "not an OpenAI-compatible reply"),
        (lambda h: sse(h, [chunk(" Andrii")], end=False), "closed the connection mid-reply|stopped the reply"),
        (lambda h: sse(h, [chunk(" Andrii"), "[DONE]"]), "stopped the reply before its end.*interrupt_requests"),
        (lambda h: _raw(h, "application/json", b'{"error": {"message": "out of memory"}}', 500), "HTTP 500"),
    ],
    ids=["html", "not-json", "wrong-shape", "cut", "done-without-end", "http-500"],
)
def test_garbage_and_cut_streams_are_one_line_naming_the_server(send, said):
    def chat(handler):
        if handler.body.get("max_tokens") == 4:
            return answering([])(handler)
        send(handler)

    with bad_server(chat) as url:
        generator = OpenAIGenerator(url=url)
        with pytest.raises(ModelError, match=said) as caught:
            list(generator.stream(QUESTION))
    assert url in str(caught.value) and "\n" not in str(caught.value)


def test_a_refused_key_is_said_without_showing_it():
    def refuse(handler):
        _raw(handler, "application/json", b'{"error": {"message": "Invalid API key"}}', 401)

    with bad_server(refuse) as url:
        with pytest.raises(
            ModelError, match=r"refused the API key \(HTTP 401: Invalid API key\); give the right one"
        ) as e:
            OpenAIGenerator(url=url, api_key="sk-very-secret")
    assert "sk-very-secret" not in str(e.value)


def test_a_password_in_the_address_is_not_shown():
    url = f"http://me:hunter2@127.0.0.1:{free_port()}/v1"
    with pytest.raises(ModelError) as e:
        OpenAIGenerator(url=url)
    assert "hunter2" not in str(e.value) and "me:" not in str(e.value)


def _raw(handler, kind: str, body: bytes, status: int = 200) -> None:
    handler.send_response(status)
    handler.send_header("Content-Type", kind)
    handler.send_header("Content-Length", str(len(body)))
    handler.end_headers()
    handler.wfile.write(body)


# ---- a real llama.cpp server -------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def served_05b(tmp_path_factory):
    with llama_server("qwen2.5-0.5b-instruct", log=tmp_path_factory.mktemp("llm") / "server.log") as url:
        yield url


@pytest.mark.slow
@pytest.mark.server
@pytest.mark.llm
def test_the_real_server_answers_with_its_first_token_read_and_tokens_counted(served_05b, qwen_05b):
    generator = OpenAIGenerator(url=served_05b)
    assert generator.name == "qwen2.5-0.5b-instruct"
    # llama-cpp-python's server closes a final assistant message: the prefix is the model's to write
    assert generator.prefill == "label"
    assert capabilities(generator) == {
        "supports_prefix_cache": False,
        "supports_first_token": True,
        "supports_cached_share": False,
        "supports_token_count": True,
    }
    text = QUESTION[1]["content"]
    assert generator.count_tokens(text) == qwen_05b.count_tokens(text)  # the same vocabulary, read here
    first = FirstToken(" Non lo so")
    reply = "".join(
        generator.stream(QUESTION, max_tokens=30, stop=("\n",), reply_prefix="Risposta breve:", first=first)
    )
    assert "Hnatov" in reply and not reply.lstrip().lower().startswith("risposta breve")
    assert first.probability is not None and 0 <= first.probability < 0.5  # the answer is in the source


@pytest.mark.slow
@pytest.mark.server
@pytest.mark.llm
def test_a_real_server_with_a_key_and_no_logprobs_refuses_a_wrong_key_and_answers_without_the_doubt(tmp_path):
    # started with --logits_all False, llama-cpp-python's server begins a stream asked for logprobs, then breaks
    # it: the probe asks again without them, and the reader answers with the doubt check off
    with llama_server("qwen2.5-0.5b-instruct", api_key="giusta", log=tmp_path / "server.log", logprobs=False) as url:
        with pytest.raises(ModelError, match="refused the API key .*--api-key or RAG_LLM_API_KEY"):
            OpenAIGenerator(url=url, api_key="sbagliata")
        generator = OpenAIGenerator(url=url, api_key="giusta")
        assert generator.name == "qwen2.5-0.5b-instruct" and not generator.supports_first_token
        first = FirstToken(" Non lo so")
        reply = "".join(
            generator.stream(QUESTION, max_tokens=30, stop=("\n",), reply_prefix="Risposta breve:", first=first)
        )
        assert "Hnatov" in reply and first.probability is None

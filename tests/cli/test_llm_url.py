"""``--llm URL``: answers from the model an OpenAI-compatible server serves, on the command line, the page and
``rag serve``, checked as in-process answers are; a server that is down, slow, garbled or cut is one line.

The real server is ``python -m llama_cpp.server`` (``tests/llm_server.llama_server``) serving a built-in
model; the faults are played by a tiny stdlib server (``tests/llm_server.bad_server``).
"""

from __future__ import annotations

import dataclasses
import json

import httpx
import pytest

from rag.cli.options import Reader

from tests.cli.test_cli import rag
from tests.cli.test_serve import serving
from tests.conftest import QWEN_05B, QWEN_15B, UMEROV_DOC
from tests.llm_server import bad_server, free_port, llama_server, sse

UMEROV_QUESTION = "Chi accompagnava Umerov a Bruxelles?"


def run(*args: str, env: dict | None = None):
    """``rag ARGS`` as a user runs it (its own process): (exit code, what it printed)."""
    result = rag(*args, env=env, timeout=300)
    return result.returncode, result.stdout + result.stderr


@pytest.mark.parametrize(
    "args, said",
    [
        (["ask", "x", "--llm", "ftp://gpu.lan/v1"], "give the address of an OpenAI-compatible server"),
        (["ask", "x", "--backend", "openai"], "the openai backend needs the server's address: give --llm URL"),
        (["ask", "x", "--llm", "http://gpu.lan/v1", "--backend", "llama-cpp"], "drop --backend llama-cpp"),
    ],
)
def test_wrong_server_options_are_one_line(args, said, monkeypatch):
    monkeypatch.delenv("RAG_LLM_URL", raising=False)
    code, out = run(*args)
    assert code == 2 and said in out


@pytest.mark.parametrize("command", [["ui"], ["serve"], ["ask", UMEROV_QUESTION]], ids=["ui", "serve", "ask"])
def test_a_server_that_is_down_stops_the_command_in_one_line_before_loading_anything(command, tmp_path):
    url = f"http://127.0.0.1:{free_port()}/v1"
    code, out = run(*command, "--llm", url, env={"RAG_MODEL_DIR": str(tmp_path)})  # no model to load here
    assert code == 2 and f"cannot reach the answer server at {url}" in out
    assert "Traceback" not in out and len(out.strip().splitlines()) == 1


def test_the_address_and_key_come_from_the_environment_and_the_key_is_never_printed():
    with bad_server(lambda handler: None, key="sk-giusta") as url:
        code, out = run("serve", env={"RAG_LLM_URL": url, "RAG_LLM_API_KEY": "sk-segretissima"})
    assert code == 2 and f"the answer server at {url} refused the API key" in out
    assert "sk-segretissima" not in out


def test_help_names_the_options_and_their_variables_but_no_key():
    for command in ("ask", "ui", "serve", "eval"):
        code, out = run(command, "--help", env={"RAG_LLM_API_KEY": "sk-segretissima"})
        assert code == 0 and "--llm URL" in out and "RAG_LLM_URL" in out and "RAG_LLM_API_KEY" in out, command
        assert "sk-segretissima" not in out
    code, out = run("bench", "answers", "--help")
    assert "--llm URL" in out


def test_a_reader_shows_its_server_without_key_or_password():
    reader = Reader("qwen", "openai", "http://anna:pw@gpu.lan:8000/v1", "sk-1")
    assert str(reader) == "qwen served at http://gpu.lan:8000/v1"
    assert "sk-1" not in repr(reader) and reader.settings()["api_key"] == "sk-1"
    assert Reader("qwen2.5-0.5b-instruct").settings() == {"model": "qwen2.5-0.5b-instruct", "backend": "llama-cpp"}


# ---- a real llama.cpp server ----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def served_05b(tmp_path_factory):
    """The page and ``rag serve`` on a served 0.5B. Without logprobs (``--logits_all False``): with them,
    llama-cpp-python computes the logits of every prompt token and each question takes three times as long.
    The doubt check on served logprobs is tested on the 1.5B below and in tests/models/test_openai_generate.py;
    here the reader finds out the server has none, as it does with such a server."""
    with llama_server(QWEN_05B, log=tmp_path_factory.mktemp("llm") / "server.log", logprobs=False) as url:
        yield url


def cut_after_one_piece(handler):
    """Answers the probe and the warm-up, then every reply stops mid-way (the connection drops)."""
    if handler.body.get("max_tokens", 0) <= 4:
        return sse(handler, [json.dumps({"choices": [{"delta": {"content": "Ecco"}, "finish_reason": "length"}]}),
                             "[DONE]"])  # fmt: skip
    sse(handler, [json.dumps({"choices": [{"delta": {"content": "Risposta breve: Andrii"}, "finish_reason": None}]})],
        end=False)  # fmt: skip


@pytest.mark.slow
@pytest.mark.server
@pytest.mark.llm
@pytest.mark.embedder
def test_the_page_answers_from_the_server_follows_up_and_survives_a_bad_server(
    served_05b, seeds_index, real_embedder, monkeypatch
):
    from rag.ui.assistants import Assistants, load_assistant
    from rag.ui.controller import ChatController

    from rag.index import retriever

    # each server's assistant opens the index as users get it (Retriever.load, the page's real factory), and the
    # embedder it loads for that index is handed back as the session's copy of the same model, not loaded again
    loads = []

    def shared_embedder(info):
        assert info == real_embedder.info, info
        loads.append(info)
        return real_embedder

    monkeypatch.setattr(retriever, "load_embedder", shared_embedder)

    def load_once(*args, **kwargs):
        # the page's real factory, each question read once: the second reading of whole articles after a failed
        # check (tests/answer/test_assistant.py) is a cold prefill on a server, and not what is tested here
        assistant = load_assistant(*args, **kwargs)
        assistant.settings = dataclasses.replace(assistant.settings, escalate=False)
        return assistant

    # room for the three servers' assistants (at the bound, the least recently used one is freed first)
    assistants = Assistants(load_once, models=[QWEN_05B], start_index="seeds", max_models=3)
    assert assistants.use_server(served_05b) == served_05b
    page = ChatController(assistants)

    def ask(question, turns):
        *_, (messages, sources, turns, _) = page.respond(question, turns, "seeds", 4, QWEN_05B, "medium")
        return messages, sources, turns

    messages, sources, turns = ask(UMEROV_QUESTION, [])
    # the 0.5B served by llama-cpp-python writes the reply's label itself (docs/serving.md): it may refuse;
    # what it answers is cited to the Brussels article
    assert turns[-1].status in ("answered", "refused"), turns[-1].answer
    if turns[-1].status == "answered":
        assert UMEROV_DOC in sources, sources
    messages, sources, turns = ask("E quando è successo?", turns)  # a follow-up, rewritten with the first
    assert turns[-1].status in ("answered", "refused") and len(turns) == 2

    for fault, said in ((cut_after_one_piece, "closed the connection mid-reply"), (None, "cannot reach")):
        if fault is None:
            assistants.use_server(f"http://127.0.0.1:{free_port()}/v1")  # nothing listens there
            _, _, failed = ask(UMEROV_QUESTION, turns)
        else:
            with bad_server(fault, models=(QWEN_05B,)) as bad:
                assistants.use_server(bad)
                _, _, failed = ask(UMEROV_QUESTION, turns)
        assert failed[-1].status == "error" and said in failed[-1].answer
        assert "\n" not in failed[-1].answer and "Traceback" not in failed[-1].answer

    assistants.use_server(served_05b)  # the page goes on: the first server's assistant is still loaded
    assert assistants.is_loaded("seeds", QWEN_05B)
    _, sources, again = ask(UMEROV_QUESTION, [])
    assert again[-1].status == turns[0].status and again[-1].answer == turns[0].answer  # greedy: the same
    assert loads  # the assistants opened the index through Retriever.load, as the page does


@pytest.mark.slow
@pytest.mark.server
@pytest.mark.llm
@pytest.mark.embedder
def test_rag_serve_streams_answers_from_the_server(served_05b, seeds_index):
    with serving("--llm", served_05b, "--no-ui", start_within=600) as (base, models):
        assert models.json()["data"][0]["id"] == QWEN_05B  # the server's only model, asked for
        question = {"messages": [{"role": "user", "content": UMEROV_QUESTION}], "stream": True}
        events = []
        with httpx.stream("POST", f"{base}/v1/chat/completions", json=question, timeout=600) as reply:
            assert reply.status_code == 200
            for line in reply.iter_lines():
                if line.startswith("data: ") and line != "data: [DONE]":
                    events.append(json.loads(line[6:]))
        text = "".join(e["choices"][0]["delta"].get("content") or "" for e in events if e.get("choices"))
        ends = [e for e in events if e.get("choices") and e["choices"][0].get("finish_reason")]
        assert text and len(ends) == 1, events
        last = ends[0]
        if not last.get("refused"):  # the 0.5B may refuse (see the page's test); an answer cites its article
            assert any(s.get("doc_id") == UMEROV_DOC for s in last.get("sources") or []), last


@pytest.mark.slow
@pytest.mark.server
@pytest.mark.llm
@pytest.mark.embedder
def test_done_when_rag_ask_answers_from_the_served_15b_and_refuses_what_the_articles_lack(seeds_index, tmp_path):
    with llama_server(QWEN_15B, log=tmp_path / "server.log") as url:

        def ask(question):
            return rag("ask", "--llm", url, question, timeout=900)

        answered = ask(UMEROV_QUESTION)
        assert answered.returncode == 0, answered.stderr[-2000:]
        assert "Andrii Hnatov" in answered.stdout and f"[1] {UMEROV_DOC}" in answered.stdout, answered.stdout
        refused = ask("Quanti anni ha Umerov?")
        assert refused.returncode == 0 and "(why:" in refused.stdout, refused.stdout


def test_the_page_keeps_an_assistant_per_model_and_server_and_checks_the_address():
    from rag.ui.assistants import Assistants

    from rag.errors import InputError

    made = []

    def factory(index, model, **server):
        made.append((index, model, server))
        return object()

    assistants = Assistants(factory, models=["m"], start_index="seeds")
    local = assistants.get("seeds", "m")
    assert made[-1] == ("seeds", "m", {}) and assistants.server() is None
    assert assistants.use_server("http://anna:pw@gpu.lan:8000", "sk-1") == "http://gpu.lan:8000/v1"
    served = assistants.get("seeds", "m")
    assert served is not local and made[-1] == (
        "seeds",
        "m",
        {"url": "http://anna:pw@gpu.lan:8000/v1", "api_key": "sk-1"},
    )
    with pytest.raises(InputError, match="give the address of an OpenAI-compatible server"):
        assistants.use_server("gpu.lan:8000")
    assert assistants.server() == "http://gpu.lan:8000/v1"  # unchanged by the refused address
    assistants.use_server(None)
    assert assistants.get("seeds", "m") is local and len(made) == 2  # both kept: back to this process

"""The chat page served for real (the default embedder + Qwen2.5-1.5B) and asked through gradio_client."""

from __future__ import annotations

import re
import socket
from contextlib import contextmanager

import pytest

from rag.config import DEFAULT_LLM
from rag.index.catalog import write_examples

from tests.conftest import UMEROV_DOC, copy_seeds, seeds_assistant

pytestmark = [pytest.mark.llm, pytest.mark.embedder]

QUESTION = "Chi accompagnava Umerov a Bruxelles?"
SEED_EXAMPLES = [QUESTION, "Quando arriva Mark Rutte a Kiev?", "Dove terrà il suo discorso Rutte?"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def served_seed_app(tmp_dir, seeds_built, embedder, generator, lang: str = "it"):
    """Copy the seed index into ``tmp_dir`` and serve the page on 127.0.0.1 with the real models, as `rag ui` does.

    The page's factory is ``rag ui``'s (``Assistant.load(index, model)``, then its warm-up), made from the
    session's embedder and ``generator`` instead of loading them again. Yields the URL; the server is
    always closed.
    """
    from rag.ui import app

    def load_assistant(index: str, model: str):
        if model != generator.name:
            pytest.fail(f"the page asked for {model}; this test serves only {generator.name}")
        assistant = seeds_assistant(tmp_dir / "index" / index, embedder, generator)
        assistant.warm_up()
        return assistant

    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("RAG_INDEX_DIR", str(tmp_dir / "index"))
        mp.setenv("RAG_CACHE_DIR", str(tmp_dir / "cache"))
        seeds = copy_seeds(seeds_built, tmp_dir / "index")
        write_examples(seeds, SEED_EXAMPLES)  # as `make run` does
        demo = app.build_app(load_assistant, index="seeds", model=generator.name, lang=lang)
        port = free_port()
        app.launch_app(demo, host="127.0.0.1", port=port, block=False, quiet=True)
        try:
            yield f"http://127.0.0.1:{port}/"
        finally:
            demo.close()


@pytest.fixture(scope="module")
def url(tmp_path_factory, seeds_built, real_embedder, qwen_15b):
    assert qwen_15b.name == DEFAULT_LLM  # the page's default model, asked for below
    with served_seed_app(tmp_path_factory.mktemp("ui-e2e"), seeds_built, real_embedder, qwen_15b) as url:
        yield url


@pytest.fixture(scope="module")
def client(url):
    from gradio_client import Client

    return Client(url, verbose=False)


def text_of(message: dict) -> str:
    content = message["content"]
    return content if isinstance(content, str) else " ".join(part.get("text", "") for part in content)


@pytest.fixture(scope="module")
def first_answer(client):
    job = client.submit(QUESTION, "seeds", 4, DEFAULT_LLM, "short", api_name="/ask")
    final = job.result(timeout=900)
    return job.outputs(), final


def test_umerov_answer_streams_names_hnatov_and_carries_sources(first_answer):
    steps, (messages, panel, box) = first_answer
    answer = text_of(messages[-1])
    assert [m["role"] for m in messages] == ["user", "assistant"]
    assert "Hnatov" in answer and re.search(r"\[\\\[\d\\\]\]\(#src-\d\)", answer), answer  # [n] linked to its card
    assert box == ""
    # while pending, the page shows what is being done ("_Leggo 3 articoli…_") or checked text as it grows
    partial_texts = [text_of(s[0][-1]) for s in steps[:-1] if s[0] and s[0][-1]["role"] == "assistant"]
    assert partial_texts, "the page showed nothing before the end"
    for shown in partial_texts:
        assert re.fullmatch(r"_[^_\n]+_", shown) or shown.endswith(" ▍"), shown
    assert f'data-doc="{UMEROV_DOC}"' in panel and "<mark>" in panel
    assert "3 dicembre 2025" in panel and "Roma" in panel and "° per pertinenza" in panel
    marked = " ".join(re.findall(r"<mark>(.*?)</mark>", panel, flags=re.S))
    assert "Hnatov" in marked, marked


def test_follow_up_is_understood_and_the_rewritten_query_is_shown(client, first_answer):
    messages, panel, _ = client.predict("E chi lo accompagnava?", "seeds", 4, DEFAULT_LLM, "short", api_name="/ask")
    assert len(messages) == 4
    assert "Hnatov" in text_of(messages[-1]), text_of(messages[-1])
    assert "riscritta con la conversazione" in panel and "Umerov" in re.search(r"Ricerca: <q>(.*?)</q>", panel)[1]
    assert f'data-doc="{UMEROV_DOC}"' in panel


def test_off_topic_question_is_refused_as_such(url):
    from gradio_client import Client

    messages, panel, _ = Client(url, verbose=False).predict(
        "Chi ha vinto i Mondiali di calcio del 1982?", "seeds", 4, DEFAULT_LLM, "short", api_name="/ask"
    )
    assert text_of(messages[-1]) == "ℹ _Non ho trovato questa informazione negli articoli indicizzati._"
    assert "Nessuna risposta" in panel and "<mark>" not in panel and "⚠" not in text_of(messages[-1])

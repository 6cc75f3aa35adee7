"""Summaries, digests and lists through the OpenAI-compatible API (rag serve's app, served by uvicorn) and in a
notebook's view of an answer, with the real embedder and the session's 1.5B: not only single facts."""

from __future__ import annotations

import re

import pytest

from rag.api.app import create_app

from tests.api.test_api import openai_client, serving
from tests.conftest import RUTTE_DOC, UMEROV_DOC, seeds_assistant

pytestmark = [pytest.mark.slow, pytest.mark.llm, pytest.mark.embedder, pytest.mark.server]


@pytest.fixture(scope="module")
def url(seeds_built, real_embedder, qwen_15b, tmp_path_factory):
    from tests.conftest import copy_seeds

    index = copy_seeds(seeds_built, tmp_path_factory.mktemp("news-api") / "index")
    assistant = seeds_assistant(index, real_embedder, qwen_15b)
    with serving(create_app(lambda: assistant, model=qwen_15b.name)) as base:
        yield base, assistant


def ask(base, question, stream=False):
    client = openai_client(base)
    messages = [{"role": "user", "content": question}]
    if not stream:
        reply = client.chat.completions.create(model="m", messages=messages)
        return reply.choices[0].message.content, reply.model_extra["sources"]
    chunks = list(client.chat.completions.create(model="m", messages=messages, stream=True))
    return "".join(c.choices[0].delta.content or "" for c in chunks), chunks[-1].model_extra["sources"]


def test_a_summary_through_the_api_is_the_articles_sentences_each_cited(url):
    text, sources = ask(url[0], "Riassumi l'articolo su Umerov")
    assert text.startswith("In sintesi") and {s["doc_id"] for s in sources} == {UMEROV_DOC}
    assert 3 <= len(re.findall(r"\[\d\]", text)) <= 5 and "Bruxelles" in text
    streamed, streamed_sources = ask(url[0], "Riassumi l'articolo su Umerov", stream=True)
    assert streamed == text and streamed_sources == sources


def test_the_latest_news_through_the_api_are_dated_newest_first(url):
    text, sources = ask(url[0], "Quali sono le ultime notizie?", stream=True)
    assert [s["doc_id"] for s in sources][:2] == [RUTTE_DOC, UMEROV_DOC]
    assert text.index("2 febbraio 2026") < text.index("3 dicembre 2025")
    assert "Domani (3 febbraio 2026)" in text  # a relative date, resolved against the article's


def test_a_list_of_countries_through_the_api(url):
    text, sources = ask(url[0], "Quali paesi sono citati nell'articolo su Rutte?")
    items = re.findall(r"^- (.+?) \[\d+\]$", text, re.M)
    assert {"Ucraina", "Paesi Bassi"} <= set(items) and {s["doc_id"] for s in sources} == {RUTTE_DOC}


def test_a_news_answer_in_a_notebook_shows_its_sources(url):
    answer = url[1].ask("Riassumi l'articolo su Rutte")
    html = answer._repr_html_()
    assert not answer.refused and "In sintesi" in html and "Kiev" in html
    assert all(c.doc_id == RUTTE_DOC for c in answer.citations) and len(answer.citations) >= 3

"""``rag ask`` answers the news kinds (a summary, the latest news on a story, a month's news, a list) as the page
and the API do: the articles' own sentences, each cited, the sources listed below with their dates.

Summaries and digests are extracted, not generated, so the model here is scripted; a list's items are proposed
by the model (scripted: one the article writes, one it does not) and kept only where the article writes them.
The dev articles are indexed with the fake embedder: these questions' words are the articles' own."""

from __future__ import annotations

import json
import re
from datetime import date

import pytest
from click.testing import CliRunner

from rag.answer.assistant import Assistant, make_settings
from rag.cli import cli

from tests.answer.test_assistant import ScriptedGenerator
from tests.answer.test_news import dev_retriever  # noqa: F401  (the module fixture: the dev articles, indexed)

TODAY = date(2026, 4, 15)


@pytest.fixture
def rag_ask(dev_retriever, monkeypatch):  # noqa: F811
    """``rag ask ARGS`` through the command group, its assistant over the dev articles as of ``TODAY``."""
    generator = ScriptedGenerator("Filctem Cgil\nConfindustria Toscana")

    def fake_load(cls, index="seeds", model="", backend="llama-cpp", **settings):
        assert index == "dev"
        return Assistant(dev_retriever, generator, make_settings(min_dense=2.0))

    ask_stream = Assistant.ask_stream

    def asked_on_today(self, question, history=(), k=None, max_tokens=None, filters=None, today=None):
        return ask_stream(
            self, question, history=history, k=k, max_tokens=max_tokens, filters=filters, today=today or TODAY
        )

    monkeypatch.setattr(Assistant, "load", classmethod(fake_load))
    monkeypatch.setattr(Assistant, "ask_stream", asked_on_today)  # ``ask`` goes through it too

    def run(*args):
        result = CliRunner().invoke(cli, ["ask", *args, "--index", "dev"])
        assert result.exit_code == 0, result.output
        return result.output

    run.generator = generator
    return run


def sources(output: str) -> list[tuple[int, str, str]]:
    """The sources listed below an answer: (number, document, date)."""
    return [(int(n), doc, day) for n, doc, day in re.findall(r"^\[(\d+)\] (\S+) \((\d{4}-\d{2}-\d{2})\)", output, re.M)]


def test_rag_ask_summarises_one_article_in_its_own_sentences_each_cited(rag_ask):
    output = rag_ask("Riassumi l'articolo sulla mostra di Carlo Crivelli ad Ascoli Piceno.")
    listed = sources(output)
    assert 3 <= len(listed) <= 5 and {doc for _, doc, _ in listed} == {"mostra-crivelli-ascoli.md"}
    answer = output.split("\n\n[1]")[0]
    assert [int(n) for n in re.findall(r"\[(\d+)\]", answer)] == [n for n, _, _ in listed]
    assert rag_ask.generator.prompts == []  # the article's own sentences: nothing generated


def test_rag_ask_gives_the_latest_news_on_a_story_dated_newest_first(rag_ask):
    output = rag_ask("Quali sono le ultime notizie su Ceramiche Valdera?")
    listed = sources(output)
    assert [doc for _, doc, _ in listed][:2] == ["ceramiche-valdera-accordo.txt", "ceramiche-valdera-esuberi.txt"]
    assert [day for _, _, day in listed] == sorted((day for _, _, day in listed), reverse=True)
    for day in ("13 febbraio 2026", "3 febbraio 2026"):  # each line starts with its date, in the terminal's bold
        assert re.search(rf"^{day} — «Ceramiche Valdera", output, re.M), output
    assert "**" not in output and rag_ask.generator.prompts == []


def test_rag_ask_json_gives_a_months_news_with_its_citations(rag_ask):
    answer = json.loads(rag_ask("Cosa è successo a gennaio 2026?", "--json"))
    assert not answer["refused"] and answer["done"]
    assert {c["doc_id"] for c in answer["citations"]} == {"morbillo-verona.txt", "bce-tassi.txt"}


def test_rag_ask_lists_what_the_article_writes_and_drops_what_it_does_not(rag_ask):
    output = rag_ask("Quali sindacati sono citati nell'articolo sugli esuberi di Ceramiche Valdera?")
    assert "Filctem Cgil [1]" in output and "Confindustria" not in output
    assert [doc for _, doc, _ in sources(output)] == ["ceramiche-valdera-esuberi.txt"]

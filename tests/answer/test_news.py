"""Summaries, digests and lists (rag.answer.news) on the dev set's articles, with the fake embedder (the
topic is found by its words) and, for lists, a scripted proposer: fast, no real models."""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path

import pytest

from rag.answer.assistant import Assistant, make_settings
from rag.answer.kinds import read_question
from rag.answer.news import (
    DIGEST_ARTICLES,
    REASONS,
    _sentences,
    answer_news,
    digest,
    lead_span,
    names_in,
    proposed_items,
    summary_spans,
)
from rag.sources.ingest import text_document

from tests.answer.test_assistant import ScriptedGenerator

ARTICLES = Path(__file__).resolve().parents[2] / "eval" / "dev" / "articles"
TODAY = date(2026, 4, 15)


@pytest.fixture(scope="module")
def dev_retriever(tmp_path_factory):
    from rag.index.indexer import build_index
    from rag.index.retriever import Retriever
    from rag.sources.ingest import load_documents

    from tests.conftest import FakeEmbedder

    folder = tmp_path_factory.mktemp("news") / "index" / "dev"
    build_index(load_documents([ARTICLES]), folder, FakeEmbedder())
    return Retriever.load(str(folder), embedder=FakeEmbedder())


def ask(retriever, question, propose=None, today=TODAY):
    asked = read_question(question, today)
    # the fake embedder's cosines mean nothing: no article is "close" without the topic's words
    return answer_news(asked, question, "it", retriever, today, propose=propose, min_dense=2.0)


def cited_docs(reply):
    return [c.doc_id for c in reply.citations]


def test_a_summary_is_one_articles_own_sentences_each_cited_none_cut(dev_retriever):
    reply = ask(dev_retriever, "Riassumi l'articolo sulla mostra di Carlo Crivelli ad Ascoli Piceno.")
    assert not reply.reason and set(cited_docs(reply)) == {"mostra-crivelli-ascoli.md"}
    body = reply.text.split("\n\n", 1)[1]
    sentences = re.findall(r"(.+?) \[(\d+)\]", body)
    assert 3 <= len(sentences) <= 5 and [int(n) for _, n in sentences] == list(range(1, len(sentences) + 1))
    document = dev_retriever.store.document("mostra-crivelli-ascoli.md")
    for (sentence, _), citation in zip(sentences, reply.citations, strict=True):
        assert sentence.strip().endswith((".", "!", "?", "»", '"', "”", ")"))  # never cut mid-phrase
        assert " ".join(citation.quote.split()) in " ".join(document.text.split())


def test_a_summary_is_the_lead_and_the_whole_sentences_after_it(dev_retriever):
    document = dev_retriever.store.document("basket-brambilla-infortunio.txt")
    spans = summary_spans(document)
    assert len(spans) == 5 and spans[0] == lead_span(document)
    texts = [document.text[a:b] for a, b in spans]
    # the lead, not the first half of the headline ("… lesione al menisco. Arriva Lanzi"), nor the dateline
    assert texts[0] == "Marco Brambilla resterà fuori per circa quattro settimane."
    body = [(a, b) for a, b in _sentences(document) if a >= spans[0][1]]
    assert spans[1:] == [s for s in body if len(document.text[s[0] : s[1]].split()) >= 6][:4]


@pytest.mark.parametrize(
    "article, lead",
    [
        (  # a headline longer than a title keeps (cut at 150 characters, "…"), with two full stops in it
            "Brambilla si ferma per una lesione al menisco e salterà il derby con Forlì del 29 marzo, per cui sono "
            "già stati venduti più di duemila biglietti. La società conferma i tempi di recupero e annuncia che "
            "arriva Lanzi dalla Serie B per sostituirlo.\n\nRavenna, 19 marzo 2026 – Marco Brambilla resterà "
            "fuori per circa quattro settimane. La risonanza ha evidenziato una lesione del menisco mediale.\n",
            "Marco Brambilla resterà fuori per circa quattro settimane.",
        ),
        (  # a word after the dateline is not a lead
            "Frana in valle Stura\n\nCuneo, 2 marzo 2026 – Frana. Una frana di circa 15.000 metri cubi di terra "
            "si è staccata ieri sera dal versante sopra Roccafredda.\n",
            "Una frana di circa 15.000 metri cubi di terra si è staccata ieri sera dal versante sopra Roccafredda.",
        ),
        (  # no dateline: the first sentence of six words or more that is not the title
            "Il ponte riapre\n\nIl ponte sul Ticino riapre domani dopo tre mesi di lavori. Le auto passeranno.\n",
            "Il ponte sul Ticino riapre domani dopo tre mesi di lavori.",
        ),
    ],
    ids=["long-headline", "short-after-dateline", "no-dateline"],
)
def test_the_lead_is_the_first_real_sentence_below_the_headline_and_dateline(article, lead):
    document = text_document("a.txt", article)
    a, b = lead_span(document)
    assert document.text[a:b] == lead
    assert summary_spans(document)[0] == (a, b)


def test_relative_dates_in_a_summary_are_resolved_against_the_articles_date(dev_retriever):
    reply = ask(dev_retriever, "Riassumi l'accordo su Ceramiche Valdera firmato al ministero.")
    assert cited_docs(reply)[0] == "ceramiche-valdera-accordo.txt"
    assert "ieri (12 febbraio 2026)" in reply.text


def test_the_latest_news_on_a_story_gives_each_article_dated_newest_first(dev_retriever):
    reply = ask(dev_retriever, "Quali sono le ultime notizie su Ceramiche Valdera?")
    assert cited_docs(reply)[:2] == ["ceramiche-valdera-accordo.txt", "ceramiche-valdera-esuberi.txt"]
    assert reply.lines and "13 febbraio 2026" in reply.lines[0] and "3 febbraio 2026" in reply.lines[1]
    assert "95" in reply.lines[0] and "180" in reply.lines[1]


def test_the_news_of_a_month_are_that_months_articles_only(dev_retriever):
    reply = ask(dev_retriever, "Cosa è successo a gennaio 2026?")
    assert set(cited_docs(reply)) == {"morbillo-verona.txt", "bce-tassi.txt"}
    days = [date.fromisoformat(c.date) for c in reply.citations]
    assert days == sorted(days, reverse=True)


def test_a_digest_with_more_articles_than_it_shows_says_how_many_were_left_out(dev_retriever):
    reply = ask(dev_retriever, "Quali sono le ultime notizie?")  # nineteen articles: the newest eight shown
    assert len({c.doc_id for c in reply.citations}) == DIGEST_ARTICLES == 8
    assert reply.lines[-1].startswith("…e altri 11 articoli, non mostrati") and "[" not in reply.lines[-1]
    assert reply.text.endswith(reply.lines[-1])
    fewer = ask(dev_retriever, "Cosa è successo a gennaio 2026?")  # two: all shown, nothing said
    assert not any("non mostrat" in line for line in fewer.lines)
    march = ask(dev_retriever, "Cosa è successo a marzo 2026?")  # a month asked: all its nine articles
    assert len({c.doc_id for c in march.citations}) == 9 and not any("non mostrat" in line for line in march.lines)
    assert len(ask(dev_retriever, "Qual è la notizia più recente di marzo 2026?").lines) == 9  # a month named: all
    latest = ask(dev_retriever, "Qual è la notizia più recente?")  # one article asked: nothing left out to say
    assert len(latest.lines) == 1 and "non mostrat" not in latest.text
    # of a topic, the count is of the articles its search reached: "at least"
    asked = read_question("What is the latest news on the region?", TODAY)
    docs = [(dev_retriever.store.document(c.doc_id), 1.0) for c in reply.citations]
    on_topic = digest(docs, asked, "en", TODAY, total=len(docs) + 3)
    assert on_topic.lines[-1].startswith("…and at least 3 more articles, not shown")


def test_a_month_without_articles_says_so_and_names_the_newest(dev_retriever):
    reply = ask(dev_retriever, "Quali notizie sono state pubblicate a maggio 2026?", today=date(2026, 6, 1))
    assert reply.reason == REASONS["no_article_in_dates"] and not reply.citations
    assert (
        reply.text
        == "Nessun articolo tra il 1 maggio 2026 e il 31 maggio 2026. L'articolo più recente è del 14 aprile 2026."
    )


@pytest.mark.parametrize(
    "question",
    [
        "Riassumi l'articolo del 5 aprile.",  # a summary, a list, or a topic's news of a day with no article
        "Quali persone sono citate nell'articolo del 5 aprile?",
        "Quali sono le notizie sulla frana del 5 aprile?",
    ],
)
def test_a_day_without_articles_says_so_whatever_is_asked_of_it(dev_retriever, question):
    reply = ask(dev_retriever, question, propose=lambda messages: "Mario Rossi")
    assert reply.reason == REASONS["no_article_in_dates"] and not reply.citations
    assert reply.text == "Nessun articolo del 5 aprile 2026. L'articolo più recente è del 14 aprile 2026."


def test_a_day_with_articles_none_on_the_topic_is_refused_as_off_topic(dev_retriever):
    reply = ask(dev_retriever, "Quali sono le notizie sul Festival di Sanremo del 3 febbraio 2026?")
    assert reply.reason == REASONS["no_article_on_topic"] and not reply.citations


def test_a_topic_no_article_is_about_is_refused(dev_retriever):
    reply = ask(dev_retriever, "Quali sono le ultime notizie sul Festival di Sanremo?")
    assert reply.reason == REASONS["no_article_on_topic"] and not reply.citations


def test_the_countries_an_article_names_are_listed_as_it_writes_them(dev_retriever):
    reply = ask(dev_retriever, "Quali paesi sono citati nell'articolo del 3 febbraio su Ceramiche Valdera?")
    assert set(cited_docs(reply)) == {"ceramiche-valdera-esuberi.txt"}
    items = re.findall(r"^- (.+?) \[\d+\]$", reply.text, re.M)
    assert {"Germania", "Stati Uniti"} <= set(items)


def test_a_list_keeps_only_what_the_article_writes(dev_retriever):
    proposals = []

    def propose(messages):
        proposals.append(messages)
        return "- Codacons\n- Unione energie per la mobilità, Federconsumatori Inventata\n3. Altroconsumo"

    reply = ask(dev_retriever, "Quali associazioni sono citate nell'articolo sul prezzo dei carburanti?", propose)
    items = re.findall(r"^- (.+?) \[\d+\]$", reply.text, re.M)
    assert items and set(items) <= {"Codacons", "Unione energie per la mobilità"} and "Codacons" in items
    assert reply.text.startswith("Associazioni citate in «Carburanti")  # the agreement follows the noun
    assert "carburanti-prezzi" in proposals[0][-1]["content"] or "gasolio" in proposals[0][-1]["content"]


@pytest.mark.parametrize(
    ("question", "proposed", "expected"),
    [  # what the model missed, the published lists find: ISTAT's comuni, first names and surnames
        ("Quali comuni sono citati nell'articolo sul bando per le aree interne?", "Norcia",
         ["Norcia", "Gualdo Tadino", "Cascia"]),
        ("Quali persone sono citate nell'articolo sulla legge per le aree interne approvata in Umbria?", "nessuno",
         ["Federica Ottaviani", "Federico Lupattelli", "Marco Fioroni"]),
    ],
)  # fmt: skip
def test_a_list_of_comuni_or_people_holds_every_one_the_article_names(dev_retriever, question, proposed, expected):
    reply = ask(dev_retriever, question, lambda messages: proposed)
    items = re.findall(r"^- (.+?) \[\d+\]$", reply.text, re.M)
    assert items == expected, reply.text


def test_nothing_found_to_list_is_refused(dev_retriever):
    reply = ask(
        dev_retriever, "Quali squadre sono citate nell'articolo sui prezzi dei carburanti?", lambda m: "nessuno"
    )
    assert reply.reason == REASONS["nothing_to_list"] and not reply.citations


def test_people_are_names_of_two_to_five_capitalised_words():
    from rag.types import Document

    doc = Document("a", "Ha parlato Christine Lagarde a Francoforte, con la Banca centrale europea.", "T")
    found = [w for w, _ in names_in(doc, ["Christine Lagarde", "Francoforte", "Banca centrale europea"], people=True)]
    assert found == ["Christine Lagarde"]
    assert proposed_items("Lagarde e Lane") == ["Lagarde e Lane", "Lagarde", "Lane"]


def test_the_assistant_streams_a_status_then_a_digests_lines_then_the_answer(dev_retriever):
    generator = ScriptedGenerator("nessuno")
    assistant = Assistant(dev_retriever, generator, make_settings(min_dense=2.0))
    answers = list(assistant.ask_stream("Quali sono le ultime notizie sul morbillo nel Veronese?", today=TODAY))
    assert answers[0].status and answers[0].text == "" and not answers[0].done
    texts = [a.text for a in answers[1:]]
    assert all(b.startswith(a) for a, b in zip(texts, texts[1:], strict=False))  # lines grow, never change
    final = answers[-1]
    assert (
        final.done
        and not final.refused
        and {c.doc_id for c in final.citations} == {"morbillo-verona.txt", "morbillo-verona-aggiornamento.md"}
    )
    assert [p.doc_id for p in final.passages] == [c.doc_id for c in final.citations]
    assert not generator.prompts  # a digest is the articles' own sentences: no generation


@pytest.mark.parametrize("reason", list(REASONS.values()))
def test_every_news_refusal_is_worded_on_the_page(reason):
    from ui.strings import STRINGS

    for words in STRINGS.values():
        assert f"why:{reason}" in words


def test_the_latest_news_are_several_articles_the_latest_story_one(dev_retriever):
    several = ask(dev_retriever, "Quali sono le ultime notizie?")
    one = ask(dev_retriever, "Qual è la notizia più recente?")
    assert len(set(cited_docs(several))) > 1 and cited_docs(several)[0] == "bari-ciclovia.txt"
    assert set(cited_docs(one)) == {"bari-ciclovia.txt"}


def test_the_news_between_two_days_are_those_days_articles(dev_retriever):
    reply = ask(dev_retriever, "Che cosa è successo tra il 16 e il 20 marzo 2026?")
    assert set(cited_docs(reply)) == {"basket-ravenna-pescara.txt", "basket-brambilla-infortunio.txt"}


@pytest.mark.parametrize(
    ("question", "article"),
    [
        ("Riassumi l'ultima notizia sulla frana di Roccafredda", "frana-roccafredda-riapertura.txt"),
        ("Riassumi l'ultimo aggiornamento sul morbillo a Verona", "morbillo-verona-aggiornamento.md"),
        ("Riassumi la notizia più recente su Ceramiche Valdera", "ceramiche-valdera-accordo.txt"),
        ("Quali persone sono citate nell'ultimo articolo sulle Aquile Ravenna?", "basket-brambilla-infortunio.txt"),
    ],
)
def test_a_summary_or_list_of_the_latest_on_a_story_is_of_its_newest_article(dev_retriever, question, article):
    reply = ask(dev_retriever, question, propose=lambda messages: "Marco Brambilla")
    assert set(cited_docs(reply)) == {article}

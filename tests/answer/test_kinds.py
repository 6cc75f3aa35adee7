"""Reading a question's kind, days and topic (rag.answer.kinds): pure, fast."""

from __future__ import annotations

from datetime import date

import pytest

from rag.answer.kinds import Kind, read_question

TODAY = date(2026, 4, 15)  # a Wednesday


@pytest.mark.parametrize(
    ("question", "kind"),
    [
        ("Chi accompagnava Umerov a Bruxelles?", Kind.FACT),
        ("Quando arriva Mark Rutte a Kiev?", Kind.FACT),
        ("Quale squadra è capolista della Serie A2?", Kind.FACT),
        ("Riassumi l'articolo su Umerov", Kind.SUMMARY),
        ("Di cosa parla la notizia da Padova?", Kind.SUMMARY),
        ("Che cosa sappiamo di «Morbillo, focolaio nel Veronese»?", Kind.SUMMARY),
        ("Summarize the article about the Crivelli exhibition.", Kind.SUMMARY),
        ("Quali sono le ultime notizie su Valtronic?", Kind.DIGEST),
        ("Qual è la notizia più recente?", Kind.DIGEST),
        ("Che cosa è successo nello sport?", Kind.DIGEST),
        ("Quali notizie sono state pubblicate a marzo 2026?", Kind.DIGEST),
        ("What happened in January 2026?", Kind.DIGEST),
        ("Quali paesi sono citati?", Kind.LIST),
        ("Quali musei hanno prestato opere alla mostra su Crivelli?", Kind.LIST),
        ("Which painters are named in the article about the Crivelli exhibition?", Kind.LIST),
        ("Quali comuni sono citati nell'aggiornamento del 4 febbraio sul morbillo?", Kind.LIST),
    ],
)
def test_the_kind_of_a_question(question, kind):
    assert read_question(question, TODAY).kind is kind


def test_a_list_keeps_the_days_it_names_as_a_filter_and_its_noun_out_of_the_topic():
    asked = read_question("Quali paesi sono citati nell'articolo del 3 febbraio su Ceramiche Valdera?", TODAY)
    assert (asked.kind, asked.things) == (Kind.LIST, "countries")
    assert (asked.date_from, asked.date_to) == ("2026-02-03", "2026-02-03")
    assert asked.topic == "Ceramiche Valdera"
    assert read_question("Quali musei hanno prestato opere alla mostra su Crivelli?", TODAY).topic.split()[0] != "musei"


@pytest.mark.parametrize(
    ("question", "days"),
    [
        ("Cosa è successo a marzo?", ("2026-03-01", "2026-03-31")),
        ("Cosa è successo a maggio?", ("2025-05-01", "2025-05-31")),  # the latest May not after today
        ("Che cosa è successo questa settimana?", ("2026-04-13", "2026-04-15")),
        ("Quali notizie la settimana scorsa?", ("2026-04-06", "2026-04-12")),
        ("Notizie di ieri?", ("2026-04-14", "2026-04-14")),
        ("Cosa è successo negli ultimi 10 giorni?", ("2026-04-05", "2026-04-15")),
        ("Quali notizie il mese scorso?", ("2026-03-01", "2026-03-31")),
        ("Che cosa è successo tra il 16 e il 20 marzo 2026?", ("2026-03-16", "2026-03-20")),
        ("Notizie dal 28 febbraio al 3 marzo?", ("2026-02-28", "2026-03-03")),
        ("What happened between 16 and 20 March 2026?", ("2026-03-16", "2026-03-20")),
    ],
)
def test_the_days_a_question_names_are_read_against_today(question, days):
    asked = read_question(question, TODAY)
    assert asked.kind is Kind.DIGEST and (asked.date_from, asked.date_to) == days


def test_the_topic_is_what_is_left_of_the_question():
    assert read_question("Quali sono le ultime notizie sull'Ucraina?", TODAY).topic == "Ucraina"
    assert read_question("Che cosa è successo nello sport?", TODAY).topic == "sport"
    assert read_question("Qual è la notizia più recente?", TODAY).topic == ""
    assert read_question("Qual è la notizia più recente?", TODAY).latest

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
        ("Quali musei sono citati nell'articolo sulla mostra su Crivelli?", Kind.LIST),
        ("Which painters are named in the article about the Crivelli exhibition?", Kind.LIST),
        ("Quali comuni sono citati nell'aggiornamento del 4 febbraio sul morbillo?", Kind.LIST),
        # the other ways a reader asks the same
        ("Mi fai un riassunto dell'articolo sulla frana?", Kind.SUMMARY),
        ("Puoi riassumere la notizia sul satellite?", Kind.SUMMARY),
        ("Di che cosa tratta l'articolo sulla metro di Torino?", Kind.SUMMARY),
        ("In breve, cosa dice l'articolo sul porto di Gioia Tauro?", Kind.SUMMARY),
        ("Aggiornami sulla frana di Roccafredda", Kind.DIGEST),
        ("Cosa c'è di nuovo sulla legge umbra?", Kind.DIGEST),
        ("Che notizie ci sono di sport?", Kind.DIGEST),
        ("Qual è l'ultima notizia su Ravenna?", Kind.DIGEST),
        ("Quali sono le notizie principali di marzo?", Kind.DIGEST),
        ("What are the latest developments on the Roccafredda landslide?", Kind.DIGEST),
        ("Chi sono le persone citate nell'articolo sulla BCE?", Kind.LIST),
        ("Chi viene citato nell'articolo sulla ciclovia?", Kind.LIST),
        ("Fammi un elenco dei comuni citati nell'articolo sul bando", Kind.LIST),
        ("Name the people quoted in the article on the ECB", Kind.LIST),
        # facts that name the news, a time or a plural: not a summary, digest or list (SQuAD-it's among them)
        ("Da quale città è datata la notizia sulla decisione della BCE?", Kind.FACT),
        ("Quale testata ha dato per prima la notizia del viaggio?", Kind.FACT),
        ("Cosa è successo prima: gli incontri di Umerov o la visita di Rutte?", Kind.FACT),
        ("Cosa succede quando si viaggia a velocità costante?", Kind.FACT),
        ("Che cosa ha vinto Hamas nelle elezioni legislative del gennaio 2006?", Kind.FACT),
        ("In quali giorni i centri vaccinali erano aperti, secondo l'articolo del 20 gennaio?", Kind.FACT),
        ("Quali organismi hanno cloroplasti?", Kind.FACT),
        ("Quali musei hanno prestato opere alla mostra su Crivelli?", Kind.FACT),
        ("What share of the funds is reserved for small towns?", Kind.FACT),
        ("Dove è sintetizzato il polipeptide del cloroplasto?", Kind.FACT),
        ("Cosa dice il sindaco sulla ciclovia?", Kind.FACT),
        ("Chi ha riassunto la vicenda in conferenza stampa?", Kind.FACT),
        # from a hostile read of the rules (questions written before reading them)
        ("Chi è stato nominato presidente della Rai?", Kind.FACT),
        ("Chi sono gli Houthi?", Kind.FACT),
        ("Dov'è avvenuto l'incidente di ieri?", Kind.FACT),
        ("In che data è uscita la notizia della morte del Papa?", Kind.FACT),
        ("Quanti arresti sono stati fatti in breve tempo secondo l'articolo?", Kind.FACT),
        ("È stato approvato l'aggiornamento delle pensioni?", Kind.FACT),
        ("Sintesi della notizia sul G7", Kind.SUMMARY),
        ("Cosa dice l'ultimo articolo su Umerov?", Kind.SUMMARY),
        ("Quali articoli sono stati pubblicati il 3 aprile?", Kind.DIGEST),
        ("Qual è stata l'ultima notizia su Valtronic?", Kind.DIGEST),
        ("Cosa e’ successo oggi?", Kind.DIGEST),
        ("Which articles came out yesterday?", Kind.DIGEST),
        ("Riassumimi le notizie di oggi", Kind.DIGEST),
        ("Come sta andando il Murgia Matera? Dammi le ultime notizie.", Kind.DIGEST),  # asked in its 2nd sentence
        ("Any sports news?", Kind.DIGEST),
        ("Sports news?", Kind.DIGEST),
        ("Who broke the news?", Kind.FACT),
    ],
)
def test_the_kind_of_a_question(question, kind):
    assert read_question(question, TODAY).kind is kind


def test_a_list_keeps_the_days_it_names_as_a_filter_and_its_noun_out_of_the_topic():
    asked = read_question("Quali paesi sono citati nell'articolo del 3 febbraio su Ceramiche Valdera?", TODAY)
    assert (asked.kind, asked.things) == (Kind.LIST, "countries")
    assert (asked.date_from, asked.date_to) == ("2026-02-03", "2026-02-03")
    assert asked.topic == "Ceramiche Valdera"
    assert read_question("Quali musei sono citati nell'articolo su Crivelli?", TODAY).topic == "Crivelli"


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
        ("Cosa è successo tra il 1° e il 20 marzo?", ("2026-03-01", "2026-03-20")),  # the ordinal "1°"
        ("Quali notizie sono uscite il 1º aprile?", ("2026-04-01", "2026-04-01")),
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
    assert read_question("Puoi riassumere la notizia sul satellite?", TODAY).topic == "satellite"
    assert read_question("Aggiornami sulla frana di Roccafredda", TODAY).topic == "frana Roccafredda"
    assert read_question("Name the people quoted in the article on the ECB", TODAY).topic == "ECB"
    assert read_question("Dammi un riassunto della notizia più recente su Valtronic", TODAY).topic == "Valtronic"
    assert read_question("Riassumi l'ultimo aggiornamento sul morbillo", TODAY).latest
    # the days a question names are not its topic, however they are written
    assert read_question("Quali notizie sono uscite negli ultimi dieci giorni?", TODAY).topic == ""


def test_squad_it_questions_are_read_as_facts():
    """SQuAD-it's questions (written by others, every one a fact) seldom read as a news kind: 53 of 1,687 did
    before the fact openings and the named-things cue, and the list or digest path answered 2 of them right."""
    from rag.evaluation.gold import load_gold

    from tests.conftest import SQUAD_DEV

    questions = [q.question for q in load_gold(SQUAD_DEV)]
    other = [q for q in questions if read_question(q, TODAY).kind is not Kind.FACT]
    assert len(questions) > 1000 and len(other) <= 5, other

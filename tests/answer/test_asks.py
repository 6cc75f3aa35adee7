"""What a question asks for: one reading shared by the short-answer cut and the refusal check."""

import re

import pytest

from rag.answer.asks import NUMBER_WORDS, TIME_WORDS, asks_for
from rag.answer.refusal import wrong_answer_type
from rag.answer.reply import tighten


@pytest.mark.parametrize(
    ("question", "kind"),
    [
        ("Quanti soldati sono morti?", "count"),
        ("A quanti miliardi di euro ammontano gli aiuti?", "count"),
        ("Da quanto tempo dura la guerra?", "count"),
        ("Quale percentuale del reddito produce Varsavia?", "count"),
        ("How many walls did she make?", "count"),
        ("Quando arriva Rutte a Kiev?", "date"),
        ("In che giorno Mark Rutte sarà a Kiev?", "date"),
        ("In quale anno fu fondata la città?", "date"),
        ("What year was it built?", "date"),
        ("Chi accompagnava Umerov a Bruxelles?", "person"),
        ("Con chi ha avuto colloqui il ministro?", "person"),
        ("Dove terrà il suo discorso Rutte?", None),
        ("Per quanto riguarda Kiev, cosa ha detto Rutte?", None),  # "quanto" that asks for no amount
        ("Quando due oggetti si toccano, quale legge vale?", None),  # a "when" that opens a condition
        ("Cosa ha detto Zelensky quando ha parlato?", None),  # a question word past the start
    ],
)
def test_the_leading_question_word_says_what_is_asked(question, kind):
    assert asks_for(question) == kind


@pytest.mark.parametrize("answer", ["18 mesi", "diciotto mesi", "più di tremila giorni", "ventuno", "metà", "12%"])
def test_numbers_in_digits_or_words_count_as_numbers(answer):
    assert re.search(NUMBER_WORDS, answer, re.IGNORECASE)


def test_a_when_answer_needs_a_time_and_a_count_answer_a_number():
    assert re.search(TIME_WORDS, "il 3 febbraio", re.IGNORECASE) and re.search(TIME_WORDS, "domani", re.IGNORECASE)
    assert wrong_answer_type("In che giorno sarà Rutte a Kiev?", "Rutte terrà un discorso alla Verkhovna Rada.")
    assert not wrong_answer_type("In che giorno sarà Rutte a Kiev?", "Il 3 febbraio 2026.")
    assert not wrong_answer_type("Per quanto tempo resterà chiusa via Bologna?", "Diciotto mesi")
    # SQuAD-it: a "when" answered by a condition is an answer of the kind asked for
    assert not wrong_answer_type("Quando avviene la fotorespirazione?", "quando l'ossigeno è troppo concentrato")


def test_the_cut_keeps_the_words_of_the_kind_asked_for():
    assert (
        tighten("Nel 1347 la peste raggiunse Costantinopoli", "In quale anno la peste raggiunse Costantinopoli?")
        == "1347"
    )
    assert (
        tighten("Il ponte sul fiume fu costruito da Mario Rossi", "Da chi fu costruito il ponte sul fiume?")
        == "Mario Rossi"
    )

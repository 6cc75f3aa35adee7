"""The model's reply: splitting it, and cutting a sentence-long short answer to the words that answer."""

import pytest

from rag.answer.reply import parse, tighten


@pytest.mark.parametrize(
    ("short", "question", "expected"),
    [
        # the words the question did not say, of the kind it asks for
        (
            "circa 2,5 milioni di specie di insetti",
            "La regione amazzonica ospita quante specie di insetti?",
            "circa 2,5 milioni",
        ),
        ("La carta moneta dello Yuan era chiamata chao", "Come si chiamava la carta moneta dello Yuan?", "chao"),
        (
            "Il ponte è stato inaugurato il 3 febbraio 2026 dal sindaco",
            "Quando è stato inaugurato il ponte?",
            "3 febbraio 2026",
        ),
        ("Il sindaco di Milano ha firmato con Mario Rossi", "Con chi ha firmato il sindaco di Milano?", "Mario Rossi"),
        # left alone: already short, or sharing no word with the question
        ("Andrii Hnatov", "Chi accompagnava Umerov a Bruxelles?", "Andrii Hnatov"),
        ("Capo di Stato Maggiore Generale", "Che incarico ricopre Hnatov?", "Capo di Stato Maggiore Generale"),
        # a name the question holds only as part of a longer word stays ("Newcastle" in "NewcastleGateshead")
        (
            "NewcastleGateshead ospita una Fiera d'Arte",
            "Chi ospita una Fiera d'Arte a Newcastle?",
            "NewcastleGateshead",
        ),
    ],
)
def test_tighten_keeps_the_words_that_answer(short, question, expected):
    assert tighten(short, question) == expected


def test_tighten_drops_what_the_chat_said_before_a_follow_up():
    short, question = "Mark Rutte parlerà alla Verkhovna Rada", "E davanti a chi parlerà?"
    assert tighten(short, question) == "Mark Rutte"  # the first of two names
    assert tighten(short, question, said="Quando arriva Rutte a Kiev? Mark Rutte sarà a Kiev [1].") == "Verkhovna Rada"
    # everything was said before: the short answer stays whole rather than empty
    assert tighten("Andrii Hnatov", "E che incarico ha?", said="Chi è Andrii Hnatov?") == "Andrii Hnatov"


def test_tighten_never_returns_nothing():
    assert (
        tighten("il ponte è stato inaugurato", "Quando è stato inaugurato il ponte?") == "il ponte è stato inaugurato"
    )


def test_parse_splits_the_two_lines_and_reads_dont_know():
    reply = parse(" Andrii Hnatov\nRisposta: Umerov era accompagnato da Andrii Hnatov [1].")
    assert (reply.short, reply.sentence, reply.dont_know) == (
        "Andrii Hnatov",
        "Umerov era accompagnato da Andrii Hnatov.",
        False,
    )
    assert parse(" Non lo so\nRisposta: Le fonti non lo dicono.").dont_know

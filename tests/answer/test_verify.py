"""The verifier's table of checks (rag.answer.verify): each check fires on what it measures, can be switched
off by name, and records that it fired either way. Pure, fast."""

from __future__ import annotations

import pytest

from rag.answer.verify import CHECKS, REASONS, Reason, Thresholds, adds_nothing, check_names, run_checks, wrong_kind
from rag.errors import InputError
from rag.types import Evidence

SOUND = dict(coverage=0.9, dense=0.9, support=1.0, doubt=0.01, cited=True, verbatim=True)


def test_every_reason_has_one_check():
    assert sorted(c.reason for c in CHECKS) == sorted(Reason) and len(REASONS) == len(Reason)


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"coverage": 0.1, "dense": 0.1}, Reason.WEAK_RETRIEVAL),
        ({"unnamed": ["Sanremo"]}, Reason.UNNAMED),
        ({"model_refused": True}, Reason.MODEL_NO_ANSWER),
        ({"doubt": 0.5}, Reason.DOUBT),
        ({"wrong_type": True}, Reason.WRONG_TYPE),
        ({"adds_nothing": True}, Reason.ADDS_NOTHING),
        ({"verbatim": False}, Reason.NOT_VERBATIM),
        ({"support": 0.2}, Reason.NOT_GROUNDED),
        ({"cited": False}, Reason.NOT_CITED),
    ],
)
def test_each_check_fires_alone_and_can_be_switched_off(change, reason):
    thresholds = Thresholds(min_dense=0.5)
    assert run_checks(Evidence(**SOUND), thresholds, frozenset()) == []
    evidence = Evidence(**{**SOUND, **change})
    assert run_checks(evidence, thresholds, frozenset()) == [reason.value] and evidence.fired == [reason.value]
    off = Evidence(**{**SOUND, **change})
    assert run_checks(off, thresholds, check_names([reason.name.lower()])) == []
    assert off.fired == [reason.value]  # switched off, it is still recorded: the ablation reads it


def test_a_check_across_languages_leaves_retrieval_to_the_answer():
    evidence = Evidence(**{**SOUND, "coverage": 0.0, "dense": 0.0, "cross_language": True})
    assert run_checks(evidence, Thresholds(min_dense=0.5), frozenset()) == []


def test_check_names_accept_names_and_reason_texts_and_refuse_unknown_ones():
    assert check_names(["doubt", "Not-Verbatim", "weak retrieval"]) == {"DOUBT", "NOT_VERBATIM", "WEAK_RETRIEVAL"}
    with pytest.raises(InputError, match="unknown check 'dubbio'; known: weak_retrieval"):
        check_names(["dubbio"])


@pytest.mark.parametrize(
    ("question", "short", "wrong"),
    [
        ("Da quando Rutte è segretario generale?", "Rutte", True),
        ("Da quando Rutte è segretario generale?", "ottobre 2024", False),
        ("Quando arriva Rutte a Kiev?", "Domani (3 febbraio 2026)", False),
        ("Quante firme sono state raccolte?", "1.350 firme", False),  # the issue: refused as the wrong kind
        ("Quante opere sono esposte?", "120 opere", False),
        ("Quanti punti ha segnato Brambilla?", "ventidue", False),
        ("Quanti soldati sono morti?", "più di tremila giorni", True),  # a count of something else
        ("Quanti soldati sono morti?", "molti", False),
        ("Chi accompagnava Umerov?", "Andrii Hnatov", False),
    ],
)
def test_a_when_answer_holds_a_date_and_a_how_many_answer_a_number_of_the_thing_asked(question, short, wrong):
    assert wrong_kind(question, short) is wrong


@pytest.mark.parametrize(
    ("question", "short", "nothing"),
    [
        ("Dove si erano svolti i contatti con la delegazione americana?", "con la delegazione americana", True),
        ("Dove si erano svolti i contatti con la delegazione americana?", "a Mosca", False),
        ("Quanti giorni dura la visita?", "2 giorni", False),  # digits are never the question's own
        ("Chi accompagnava Umerov?", "Umerov", True),
    ],
)
def test_an_answer_made_of_the_questions_own_words_adds_nothing(question, short, nothing):
    assert adds_nothing(question, short) is nothing

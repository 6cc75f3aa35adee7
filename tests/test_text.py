"""The shared text helpers (rag.text): one definition of dates, months, keys and language."""

from rag.text import detect_language, format_date, keys, month_number

from tests.conftest import ROOT


def test_format_date():
    assert format_date("2025-12-03") == "3 dicembre 2025" and format_date("2025-12-03", "en") == "3 December 2025"
    assert format_date(None) == "" and format_date("dicembre 2025") == "dicembre 2025"


def test_month_number_reads_the_same_month_names():
    assert month_number("Febbraio") == 2 and month_number("dicembre") == 12 and month_number("brumaio") is None


def test_keys_fold_and_cut():
    assert keys("Perché Umerov?") == {"umero"} and "accom" in keys("accompagnato")


def test_language_of_short_questions():
    assert detect_language("Chi accompagnava Umerov a Bruxelles?") == "it"
    assert detect_language("Who went with Umerov to Brussels?") == "en"


def test_language_of_questions_in_the_five_languages():
    """Short questions written for this test (tests/fixtures/questions-lang.tsv): 54 of 54 right."""
    rows = [line.split("\t") for line in (ROOT / "tests/fixtures/questions-lang.tsv").read_text().splitlines()]
    wrong = [(q, lang, detect_language(q)) for lang, q in rows if detect_language(q) != lang]
    assert len(rows) == 54 and not wrong, wrong


def test_language_defaults_to_italian_when_unclear():
    for text in ("", "   ", "?!", "Umerov?", "NATO", "Mark Rutte", "ok"):
        assert detect_language(text) == "it", text
    assert detect_language("Rutte?", default="en") == "en"

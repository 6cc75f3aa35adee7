"""The shared text helpers (rag.text): one definition of dates, months, keys and language."""

from rag.text import detect_language, format_date, keys, month_number


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

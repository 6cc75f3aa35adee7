"""Weekdays named alone in an article, resolved against its date when their words or the tense say which
(rag.answer.dates): pure, fast."""

from __future__ import annotations

import pytest

from rag.answer.dates import resolve_relative_dates


@pytest.mark.parametrize(
    ("text", "article_date", "resolved"),
    [
        # the future: the next one
        ("Il progetto sarà illustrato giovedì sera.", "2026-11-18", "giovedì (19 novembre 2026) sera"),
        ("Da lunedì l'acqua sarà razionata.", "2026-09-17", "Da lunedì (21 settembre 2026)"),
        ("Gli interrogatori sono fissati per giovedì.", "2026-03-24", "per giovedì (26 marzo 2026)"),
        ("La strada resterà chiusa fino a martedì.", "2026-03-27", "fino a martedì (31 marzo 2026)"),
        ("Il referendum si terrà lunedì e martedì prossimi.", "2026-02-13", "martedì prossimi (17 febbraio 2026)"),
        # the past: the last one
        ("Le scuole hanno riaperto lunedì.", "2026-04-02", "lunedì (30 marzo 2026)"),
        ("Ammendola è stato presentato mercoledì.", "2026-10-05", "mercoledì (30 settembre 2026)"),
        ("Il giocatore si era infortunato domenica scorsa.", "2026-03-19", "domenica scorsa (15 marzo 2026)"),
    ],
)
def test_a_weekday_is_dated_when_its_words_or_tense_say_which(text, article_date, resolved):
    assert resolved in resolve_relative_dates(text, article_date)


@pytest.mark.parametrize(
    "text",
    [
        "È stato dimesso martedì e proseguirà la riabilitazione a casa.",  # both tenses: not guessed
        "Tre le persone arrestate domenica notte.",  # no tense to read
        "Le aperture proseguiranno anche sabato 7 e domenica 8 febbraio.",  # the date is written
        "La Pinacoteca sarà aperta dal lunedì al venerdì, il sabato fino alle 22.",  # every week
        "Il mercato si terrà mercoledì.",  # the article's own weekday (18 November 2026 is a Wednesday)
    ],
)
def test_a_weekday_is_left_alone_when_nothing_says_which(text):
    assert resolve_relative_dates(text, "2026-11-18") == text

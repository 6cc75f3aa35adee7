"""Relative dates in an article's text, resolved against its date: ``Domani`` in an article of 2 February
becomes ``Domani (3 febbraio 2026)``, a computation a small model cannot be trusted with.

The prompt shows the resolved text to the model, and the citation checks compare the reply with it.
"""

from __future__ import annotations

import re
from datetime import date, timedelta

from rag.text import format_date

# word -> (days from the article date, or None for "some days after"; language the date is written in)
_RELATIVE = {
    "oggi": (0, "it"),
    "stamattina": (0, "it"),
    "stamane": (0, "it"),
    "stasera": (0, "it"),
    "stanotte": (0, "it"),
    "ieri": (-1, "it"),
    "domani": (1, "it"),
    "dopodomani": (2, "it"),
    "l'altro ieri": (-2, "it"),
    "l’altro ieri": (-2, "it"),
    "altroieri": (-2, "it"),
    "il giorno precedente": (-1, "it"),
    "il giorno prima": (-1, "it"),
    "il giorno successivo": (1, "it"),
    "il giorno dopo": (1, "it"),
    "l'indomani": (1, "it"),
    "l’indomani": (1, "it"),
    "the day before": (-1, "en"),
    "the day after": (1, "en"),
    "nei prossimi giorni": (None, "it"),
    "la prossima settimana": (None, "it"),
    "in the coming days": (None, "en"),
    "today": (0, "en"),
    "tonight": (0, "en"),
    "yesterday": (-1, "en"),
    "tomorrow": (1, "en"),
}
_RELATIVE_RE = re.compile(
    r"(?<!\w)(" + "|".join(sorted(map(re.escape, _RELATIVE), key=len, reverse=True)) + r")(?!\w)", re.IGNORECASE
)


def resolve_relative_dates(text: str, article_date: str | None) -> str:
    """Write the calendar date after words like ``domani``/``ieri``/``tomorrow``, from the article's date.

    >>> resolve_relative_dates("Domani Rutte sarà a Kiev.", "2026-02-02")
    'Domani (3 febbraio 2026) Rutte sarà a Kiev.'
    """
    if not article_date:
        return text
    try:
        day = date.fromisoformat(article_date[:10])
    except ValueError:
        return text

    def annotate(match: re.Match) -> str:
        delta, language = _RELATIVE[match.group(1).lower()]
        if delta is None:  # vague: say only that it is after the article date
            after = "dopo il" if language == "it" else "after"
            return f"{match.group(1)} ({after} {format_date(day.isoformat(), language)})"
        return f"{match.group(1)} ({format_date((day + timedelta(days=delta)).isoformat(), language)})"

    return _RELATIVE_RE.sub(annotate, text)

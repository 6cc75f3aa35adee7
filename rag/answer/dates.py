"""Relative dates in an article's text, resolved against its date: ``Domani`` in an article of 2 February
becomes ``Domani (3 febbraio 2026)``, a computation a small model cannot be trusted with.

The prompt shows the resolved text to the model, and the citation checks compare the reply with it.
"""

from __future__ import annotations

import re
from datetime import date, timedelta

from rag.text import fold, format_date, sentence_spans

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


_WEEKDAYS = ("lunedì", "martedì", "mercoledì", "giovedì", "venerdì", "sabato", "domenica")
# A weekday named alone: "giovedì sera", "da lunedì", "sabato prossimo" (not "sabato 7", "il sabato", "ogni lunedì").
_WEEKDAY_RE = re.compile(
    r"(?<![\w'’])(?<!il )(?<!ogni )(?<!dal )(?<!al )(?<!di )(?<!del )"
    r"(?:(?:lo |la )?(?:prossim[oa]|scors[oa]) )?(?:(?:luned|marted|mercoled|gioved|venerd)[iì]|sabato|domenica)"
    r"(?!\s+\d)(?:\s+(?:prossim[oiae]|scors[oiae]))?(?!\w)",
    re.IGNORECASE,
)
_FUTURE_RE = re.compile(
    r"\b(?:\w+(?:rà|ranno|rò|remo)|sarà|saranno|previst[oaie]|in programma|fissat[oaie] per|attes[oa] per)\b", re.I
)
_PAST_RE = re.compile(
    r"\b(?:(?:ha|hanno|è|e'|sono|era|erano|aveva|avevano|si è|si sono)\s+(?:\w+\s+){0,2}?"
    r"\w+(?:at|ut|it|ert|ess|ott|ett|us|ist|int|ort|ers|iss)[oaie]|\w+(?:arono|erono|irono))\b",
    re.I,
)
_AFTER_RE = re.compile(r"(?:\b(?:per|entro|fino a|a partire da|prima di)\s+)$", re.I)


def _weekday_date(match: re.Match, text: str, sentence: str, day: date) -> date | None:
    """The day a weekday named alone stands for, read from its own words ("prossimo", "scorso", "entro")
    or else from the tense of ``sentence``, the one it stands in (future only: the next one; past only: the
    last one); None when neither says (a sentence with both tenses, or none)."""
    words = match.group(0).lower()
    name = next(w for w in _WEEKDAYS if fold(w) in fold(words))
    ahead = (_WEEKDAYS.index(name) - day.weekday()) % 7
    if not ahead:  # the article's own weekday: today, or a week off; not guessed
        return None
    if "prossim" in words:
        future = True
    elif "scors" in words:
        future = False
    elif _AFTER_RE.search(text[max(0, match.start() - 16) : match.start()]):
        future = True
    else:
        future_said, past_said = bool(_FUTURE_RE.search(sentence)), bool(_PAST_RE.search(sentence))
        if future_said == past_said:
            return None
        future = future_said
    return day + timedelta(days=ahead if future else ahead - 7)


def resolve_relative_dates(text: str, article_date: str | None) -> str:
    """Write the calendar date after words like ``domani``/``ieri``/``tomorrow``, and after a weekday named
    alone when its words or its sentence's tense say which ("giovedì" in a sentence in the future), from
    the article's date.

    >>> resolve_relative_dates("Domani Rutte sarà a Kiev.", "2026-02-02")
    'Domani (3 febbraio 2026) Rutte sarà a Kiev.'
    >>> resolve_relative_dates("Il progetto sarà illustrato giovedì sera. Ha vinto sabato.", "2026-11-18")
    'Il progetto sarà illustrato giovedì (19 novembre 2026) sera. Ha vinto sabato (14 novembre 2026).'
    """
    if not article_date:
        return text
    try:
        day = date.fromisoformat(article_date[:10])
    except ValueError:
        return text

    spans = None  # the text's sentences, split once and only when a weekday is named

    def weekday(match: re.Match) -> str:
        nonlocal spans
        spans = sentence_spans(text) if spans is None else spans
        sentence = next((text[s.start : s.end] for s in spans if s.start <= match.start() < s.end), match.group(0))
        when = _weekday_date(match, text, sentence, day)
        return f"{match.group(0)} ({format_date(when.isoformat())})" if when else match.group(0)

    text = _WEEKDAY_RE.sub(weekday, text)

    def annotate(match: re.Match) -> str:
        delta, language = _RELATIVE[match.group(1).lower()]
        if delta is None:  # vague: say only that it is after the article date
            after = "dopo il" if language == "it" else "after"
            return f"{match.group(1)} ({after} {format_date(day.isoformat(), language)})"
        return f"{match.group(1)} ({format_date((day + timedelta(days=delta)).isoformat(), language)})"

    return _RELATIVE_RE.sub(annotate, text)

"""The language of a question, the fixed messages in that language, and dates written out in it.

>>> detect_language("Chi accompagnava Umerov a Bruxelles?"), detect_language("Who went with Umerov to Brussels?")
('it', 'en')
>>> format_date("2026-02-03", "it"), format_date("2026-02-03", "en")
('3 febbraio 2026', '3 February 2026')
"""

from __future__ import annotations

import re
import unicodedata
from datetime import date
from functools import lru_cache

LANGUAGES = ("it", "en", "fr", "es", "de")

REFUSAL = {
    "it": "Le fonti disponibili non contengono questa informazione.",
    "en": "The available sources do not contain this information.",
    "fr": "Les sources disponibles ne contiennent pas cette information.",
    "es": "Las fuentes disponibles no contienen esta información.",
    "de": "Die verfügbaren Quellen enthalten diese Information nicht.",
}

# The instruction closing the prompt: answer language and length.
INSTRUCTION = {
    "it": "Rispondi in italiano, in una o due frasi, usando solo le fonti.",
    "en": "Answer in English, in one or two sentences, using only the sources.",
    "fr": "Réponds en français, en une ou deux phrases, en utilisant seulement les sources.",
    "es": "Responde en español, en una o dos frases, usando solo las fuentes.",
    "de": "Antworte auf Deutsch, in ein oder zwei Sätzen, nur anhand der Quellen.",
}

QUESTION_LABEL = {"it": "Domanda", "en": "Question", "fr": "Question", "es": "Pregunta", "de": "Frage"}
SOURCES_LABEL = {"it": "Fonti", "en": "Sources", "fr": "Sources", "es": "Fuentes", "de": "Quellen"}

MONTHS = {
    "it": "gennaio febbraio marzo aprile maggio giugno luglio agosto settembre ottobre novembre dicembre",
    "en": "January February March April May June July August September October November December",
    "fr": "janvier février mars avril mai juin juillet août septembre octobre novembre décembre",
    "es": "enero febrero marzo abril mayo junio julio agosto septiembre octubre noviembre diciembre",
    "de": "Januar Februar März April Mai Juni Juli August September Oktober November Dezember",
}

# Question words that strongly mark a language even in a three-word question.
_MARKERS = {
    "it": {
        "chi",
        "che",
        "cosa",
        "quando",
        "dove",
        "perché",
        "perche",
        "quale",
        "quali",
        "quanti",
        "quante",
        "come",
        "il",
        "della",
        "sono",
        "è",
    },
    "en": {"who", "what", "when", "where", "why", "which", "how", "the", "is", "are", "did", "does", "of"},
    "fr": {"qui", "quand", "où", "pourquoi", "quel", "quelle", "est", "les", "des", "comment"},
    "es": {"quién", "quien", "cuándo", "dónde", "qué", "por", "los", "las", "cómo", "del"},
    "de": {"wer", "wann", "wo", "warum", "was", "welche", "der", "die", "das", "ist", "wie"},
}


@lru_cache(maxsize=1)
def _stopwords() -> dict[str, frozenset[str]]:
    import bm25s.stopwords as sw

    lists = {
        "it": sw.STOPWORDS_ITALIAN,
        "en": sw.STOPWORDS_EN_PLUS,
        "fr": sw.STOPWORDS_FRENCH,
        "es": sw.STOPWORDS_SPANISH,
        "de": sw.STOPWORDS_GERMAN,
    }
    return {lang: frozenset(words) | _MARKERS[lang] for lang, words in lists.items()}


def words(text: str) -> list[str]:
    return re.findall(r"\w+", text.lower())


def detect_language(text: str, default: str = "it") -> str:
    """The most likely of ``LANGUAGES`` by stopwords and question words; ``default`` on a tie or no evidence."""
    tokens = words(text)
    if not tokens:
        return default
    scores = {lang: 0.0 for lang in LANGUAGES}
    for lang, stop in _stopwords().items():
        for token in tokens:
            if token in _MARKERS[lang]:
                scores[lang] += 2.0
            elif token in stop:
                scores[lang] += 1.0
    best = max(scores.values())
    if best == 0 or scores[default] == best:
        return default
    return max(LANGUAGES, key=lambda lang: scores[lang])


def stopwords(language: str) -> frozenset[str]:
    return _stopwords().get(language, _stopwords()["it"])


def all_stopwords() -> frozenset[str]:
    return frozenset().union(*_stopwords().values())


def fold(text: str) -> str:
    """Lower case without accents: ``Perché`` -> ``perche``."""
    decomposed = unicodedata.normalize("NFKD", text.lower())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def format_date(iso: str | None, language: str = "it") -> str:
    """``2026-02-02`` -> ``2 febbraio 2026``; unparsable input is returned as it is."""
    if not iso:
        return ""
    try:
        day = date.fromisoformat(iso[:10])
    except ValueError:
        return iso
    month = MONTHS.get(language, MONTHS["en"]).split()[day.month - 1]
    return f"{day.day} {month} {day.year}"

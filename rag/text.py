"""Text helpers shared by every stage: folding, stopwords, content-word keys, month names and dates,
and the language of a question.

>>> detect_language("Chi accompagnava Umerov a Bruxelles?"), detect_language("Who went with Umerov to Brussels?")
('it', 'en')
>>> format_date("2026-02-03", "it"), format_date("2026-02-03", "en")
('3 febbraio 2026', '3 February 2026')
"""

from __future__ import annotations

import logging
import re
import unicodedata
from dataclasses import dataclass
from datetime import date
from functools import lru_cache

LANGUAGES = ("it", "en", "fr", "es", "de")

MONTHS = {
    "it": "gennaio febbraio marzo aprile maggio giugno luglio agosto settembre ottobre novembre dicembre",
    "en": "January February March April May June July August September October November December",
    "fr": "janvier février mars avril mai juin juillet août septembre octobre novembre décembre",
    "es": "enero febrero marzo abril mayo junio julio agosto septiembre octubre noviembre diciembre",
    "de": "Januar Februar März April Mai Juni Juli August September Oktober November Dezember",
}

# Question words and the commonest function words, added to each language's stopwords.
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


def valid_text(text: str) -> str:
    """``text`` without lone surrogates (``"\\ud800"`` sent as JSON), which no encoder or tokenizer can take.

    >>> valid_text("Chi \\ud800accompagnava Umerov?")
    'Chi accompagnava Umerov?'
    """
    return _SURROGATE_RE.sub("", text)


_SURROGATE_RE = re.compile("[\\ud800-\\udfff]")


def words(text: str) -> list[str]:
    return re.findall(r"\w+", text.lower())


UNCLEAR = 0.5  # below this probability (normalised over LANGUAGES) the language is unclear
# A text of one or two words says little of its language ("Elenca" reads as Spanish at 0.56, "Quando?" at
# 0.50; "Zusammenfassen" is German at 0.87): the identifier must be surer of it.
SHORT_WORDS, SHORT_UNCLEAR = 3, 0.75


@lru_cache(maxsize=1)
def _identifier():
    """py3langid's model restricted to ``LANGUAGES`` (loaded once, about a second)."""
    from py3langid.langid import MODEL_FILE, LanguageIdentifier

    identifier = LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)
    identifier.set_languages(list(LANGUAGES))
    return identifier


def detect_language(text: str, default: str = "it") -> str:
    """The most likely of ``LANGUAGES`` (py3langid); ``default`` for empty or unclear text (a text under
    ``SHORT_WORDS`` words is unclear below ``SHORT_UNCLEAR``).

    >>> detect_language("Wer begleitete Umerov nach Brüssel?"), detect_language("Umerov?"), detect_language("")
    ('de', 'it', 'it')
    >>> detect_language("Elenca"), detect_language("Quando?", default="en"), detect_language("Zusammenfassen")
    ('it', 'en', 'de')
    """
    count = len(words(text))
    if not count:
        return default
    language, probability = _identifier().classify(text)
    return language if probability >= (SHORT_UNCLEAR if count < SHORT_WORDS else UNCLEAR) else default


def stopwords(language: str) -> frozenset[str]:
    return _stopwords().get(language, _stopwords()["it"])


def all_stopwords() -> frozenset[str]:
    return frozenset().union(*_stopwords().values())


def fold(text: str) -> str:
    """Lower case without accents: ``Perché`` -> ``perche``."""
    decomposed = unicodedata.normalize("NFKD", text.lower())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def keys(text: str, stop: frozenset[str] | None = None) -> set[str]:
    """Content-word keys: folded, stopwords dropped, words cut to 5 characters, numbers kept whole.

    >>> sorted(keys("Chi accompagnava Umerov a Bruxelles il 3 febbraio?"))
    ['3', 'accom', 'bruxe', 'febbr', 'umero']
    """
    stop = all_stopwords() if stop is None else stop
    out = set()
    for word in re.findall(r"\w+", fold(text)):
        if word in stop or (len(word) < 2 and not word.isdigit()):
            continue
        out.add(word if word.isdigit() else word[:5])
    return out


def counted(count: int, noun: str) -> str:
    """A count and an English noun that agrees with it.

    >>> counted(1, "document"), counted(3, "chunk"), counted(0, "document")
    ('1 document', '3 chunks', '0 documents')
    """
    return f"{count} {noun}{'' if count == 1 else 's'}"


def month_number(name: str, language: str = "it") -> int | None:
    """``febbraio`` -> 2 (any case); None for a word that is not a month of ``language``."""
    names = [m.lower() for m in MONTHS.get(language, MONTHS["en"]).split()]
    return names.index(name.lower()) + 1 if name.lower() in names else None


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


def spelled_numbers(text: str, language: str = "it") -> str:
    """``text`` with its whole numbers (up to a million) in words, as articles often write small ones.

    >>> spelled_numbers("2 formazioni e 21 giorni")
    'due formazioni e ventuno giorni'

    Numbers with separators stay as they are, whole:

    >>> spelled_numbers("27,7 milioni e 734.000 miglia")
    '27,7 milioni e 734.000 miglia'
    """
    from num2words import num2words

    def spell(match: re.Match) -> str:
        number = int(match.group())
        try:
            return num2words(number, lang=language) if number <= 1_000_000 else match.group()
        except NotImplementedError:  # a language num2words does not know
            return match.group()

    return re.sub(r"(?<![\d.,])\d+(?!\d|[.,]\d)", spell, text)


STEMMER_LANGUAGES = {"it": "italian", "en": "english", "fr": "french", "de": "german", "es": "spanish"}


@lru_cache(maxsize=1)
def bm25s_module():
    import bm25s

    logging.getLogger("bm25s").setLevel(logging.NOTSET)  # bm25s sets DEBUG on import; follow the app's config
    return bm25s


@lru_cache(maxsize=4)
def stemmer(language: str):
    import Stemmer

    return Stemmer.Stemmer(STEMMER_LANGUAGES.get(language, "italian"))


def tokenize(texts: list[str], language: str = "it") -> list[list[str]]:
    """Lower-case word tokens, stopwords removed, stemmed.

    >>> tokenize(["Chi accompagnava Umerov a Bruxelles?"])
    [['accompagn', 'umerov', 'bruxelles']]
    """
    return bm25s_module().tokenize(
        texts, stopwords=language, stemmer=stemmer(language), return_ids=False, show_progress=False
    )


@dataclass(frozen=True)
class Span:
    start: int
    end: int


def sentence_spans(text: str, language: str = "it") -> list[Span]:
    """Sentences as character spans, never crossing a line break, whitespace trimmed."""
    spans: list[Span] = []
    for line in re.finditer(r"[^\n]+", text):
        if not line.group().strip():
            continue
        for piece in _sentencex().get_sentence_boundaries(language, line.group()):
            start = line.start() + piece["start_index"]
            end = line.start() + piece["end_index"]
            while start < end and text[start].isspace():
                start += 1
            while end > start and text[end - 1].isspace():
                end -= 1
            if end > start:
                spans.append(Span(start, end))
    return spans


@lru_cache(maxsize=1)
def _sentencex():
    import sentencex

    return sentencex

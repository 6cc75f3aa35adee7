"""Honest refusal: when the sources do not hold the answer, say so instead of guessing.

``Evidence`` (``rag.types``) holds measurements made before and after generation: how much of the
question the best passage covers (``coverage``), the cosine between the question and the best
passage (``dense``), how much of the answer's new content the passages contain (``support``),
whether any answer sentence could be cited (``cited``), and whether the model itself said the
sources lack the answer. The checks of ``rag.answer.verify`` turn them into a yes/no and the reasons
for it. A refused answer's text is ``REFUSAL`` in the question's language.
"""

from __future__ import annotations

import difflib
import math
import re
from collections.abc import Sequence

from rag.answer.asks import CARDINALS, NUMBER_WORDS, TIME_WORDS, asks_for
from rag.text import all_stopwords, fold, keys

# The fixed text of a refused answer, in the question's language.
REFUSAL = {
    "it": "Le fonti disponibili non contengono questa informazione.",
    "en": "The available sources do not contain this information.",
    "fr": "Les sources disponibles ne contiennent pas cette information.",
    "es": "Las fuentes disponibles no contienen esta información.",
    "de": "Die verfügbaren Quellen enthalten diese Information nicht.",
}

_REFUSAL_RE = re.compile(
    r"non (?:contengono|contiene|(?:è|e') (?:possibile|specificat\w|indicat\w|menzionat\w|chiar\w|not\w)|"
    r"(?:sono|vengono) (?:presenti|disponibili|fornit\w|menzionat\w|specificat\w|indicat\w)|"
    r"(?:si |viene |vengono )?(?:menziona|specifica|dice|dicono|indica|fornisce|parla)\w*|ho (?:informazioni|dati)|"
    r"(?:sono|è) in grado|(?:c'è|ci sono) (?:informazion\w|dati|riferiment\w)|(?:è|e') (?:noto|dato sapere))|"
    r"nessuna (?:informazione|menzione|indicazione)|"
    r"(?:do|does|did) not (?:contain|mention|say|state|specify|provide|include)|"
    r"(?:is|are) not (?:mentioned|specified|provided|stated|given|available)|"
    r"no (?:information|mention)|cannot (?:answer|determine|be determined)|not possible to",
    re.IGNORECASE,
)


def wrong_answer_type(question: str, answer: str) -> bool:
    """A "how many" answer without a number, or a "when" answer without any time expression.

    >>> wrong_answer_type("Quanti soldati sono morti?", "Il ministro ha avviato incontri a Bruxelles.")
    True
    >>> wrong_answer_type("Quando sarà Rutte a Kiev?", "Il 3 febbraio 2026.")
    False

    A "when" that opens a condition and a question asking something else is not a "when" question:

    >>> wrong_answer_type("Quando due oggetti si toccano, quale legge dà simmetria?", "La terza legge di Newton.")
    False
    """
    kind = asks_for(question)
    if kind == "count":
        return not re.search(NUMBER_WORDS, answer, re.IGNORECASE) or counts_something_else(question, answer)
    if kind == "date":
        return not re.search(TIME_WORDS, answer, re.IGNORECASE)
    return False


# "quanti muri", "how many blocks": a plural noun after the question word, not a verb ("quanti uccidono")
_COUNTED_RE = re.compile(r"\b(?:quant[ie]\s+(\w+(?<!ono)(?<!ano)[ie])|how many\s+(\w+s))\b", re.IGNORECASE)
# a number and the word after it (past a multiplier and "di"): "54 punti", "2,5 milioni di specie"
_NUMBER_NOUN_RE = re.compile(
    rf"\b(?:\d[\d.,]*|{CARDINALS})[ \t]+"
    r"(?:(?:milion\w*|miliard\w*|mila|migliai\w*|centinai\w*|decin\w*)[ \t]+)?(?:di[ \t]+|d')?([^\W\d]\w*)",
    re.IGNORECASE,
)


_PERCENT_RE = re.compile(r"\s*(?:%|\bper\s?cento\b|\bpercent\b)", re.IGNORECASE)


def counts_something_else(question: str, answer: str) -> bool:
    r"""Asked how many of something ("Quanti muri…?"), the answer counts something else ("54 punti") and
    never names what was asked: a near miss. Lines of ``answer`` are read apart (short answer, sentence).

    >>> counts_something_else("Quanti muri ha fatto Haak?", "54 punti\nHaak ha fatto 54 punti.")
    True
    >>> counts_something_else("Quante formazioni ci sono?", "2\nCi sono due formazioni geomorfologiche.")
    False
    >>> counts_something_else("Quanti muri ha realizzato Haak?", "54 per cento in attacco")
    True
    """
    from rag.text import tokenize

    match = _COUNTED_RE.search(question)
    if not match:
        return False
    answer = _PERCENT_RE.sub(" percento", answer)  # "54 per cento", "54%": a share is counted
    counted_nouns = _NUMBER_NOUN_RE.findall(answer)
    if not counted_nouns:
        return False
    noun = match.group(1) or match.group(2)
    asked, answered, *counted = tokenize([noun, answer, *counted_nouns])  # Snowball stems
    return bool(asked) and not set(asked) & set(answered) and any(counted)


def says_not_found(text: str) -> bool:
    """Whether the model's reply says the sources do not hold the answer."""
    return bool(_REFUSAL_RE.search(text))


# Cosine floors of the retrieval check, per embedding model: each model has its own cosine scale
# (EmbeddingGemma's question/passage cosines sit near 0.5, e5's near 0.85). Each is the floor that
# refuses the most off-topic questions while at least 98% of its refusals are right, on the
# retrieval-only check of `rag bench refusal`
# (SQuAD-it dev, 400 questions asked with and without their article; eval/answer-calibration.md).
# For a model not listed, the retrieval check uses coverage alone.
DENSE_FLOORS: dict[str, float] = {
    "embeddinggemma-300m": 0.36,
    "multilingual-e5-small": 0.83,
}


def absent_names(question: str, texts: Sequence[str]) -> list[str]:
    """Names in ``question`` (capitalised words past its first, not acronyms) that no word of ``texts``
    resembles: what the question is about when the articles found are about something else.

    A name matches a word sharing its first five letters or close in spelling ("Kyiv" and "Kiev").

    >>> absent_names("Chi ha vinto il Giro d'Italia 2026?", ["La Coppa Italia di pallavolo."])
    ['Giro']
    >>> absent_names("Quando arriva Rutte a Kyiv?", ["Mark Rutte sarà a Kiev."])
    []
    """
    stop = all_stopwords()
    words = re.findall(r"\w+", question)
    names = [w for w in words[1:] if w[0].isupper() and not w.isupper() and len(w) > 2 and fold(w) not in stop]
    if not names:
        return []
    known = set(re.findall(r"\w+", fold(" ".join(texts))))
    starts = {w[:5] for w in known}
    return [w for w in names if fold(w)[:5] not in starts and not difflib.get_close_matches(fold(w), known, 1, 0.75)]


def coverage(question: str, passages_text: Sequence[str]) -> float:
    """The largest share of the question's content words (rarer words weigh more) found in one passage."""
    wanted = keys(question)
    if not wanted:
        return 0.0
    found = [keys(t) for t in passages_text]
    if not found:
        return 0.0
    n = len(found)
    weight = {w: 1.0 + math.log(1 + n / (1 + sum(w in f for f in found))) for w in wanted}
    total = sum(weight.values())
    return max(sum(weight[w] for w in wanted & f) / total for f in found)

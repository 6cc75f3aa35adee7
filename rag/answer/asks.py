"""What a question asks for: a count, a date, a person (or something else), read from its question words.

One reading serves two steps: ``reply.tighten`` keeps the words of that kind when it cuts a sentence-like
short answer, and ``refusal.wrong_answer_type`` refuses an answer without any word of that kind.

>>> asks_for("Quanti soldati sono morti?"), asks_for("In quale anno fu fondata?"), asks_for("Con chi parlò?")
('count', 'date', 'person')
"""

from __future__ import annotations

import re

from rag.text import MONTHS

# Numbers written in words, from two ("due", "tremila", "ventuno", "milioni", "twelve").
CARDINALS = (
    r"(?:due|tre|quattro|cinque|sei|sette|otto|nove|dieci|undici|dodici|tredici|quattordici|quindici|sedici|"
    r"diciassette|diciotto|diciannove|(?:venti|vent|trenta|trent|quaranta|quarant|cinquanta|cinquant|sessanta|"
    r"sessant|settanta|settant|ottanta|ottant|novanta|novant)\w*|\w*cento\w*|\w*mille|\w*mila|milion\w*|miliard\w*|"
    r"two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|twenty|thirty|forty|fifty|hundred\w*|"
    r"thousand\w*|million\w*|billion\w*)"
)
# Words that give a number: digits, cardinals, "uno", and vague amounts ("metà", "decine", "several").
NUMBER_WORDS = (
    rf"\d|\b(?:{CARDINALS}|uno|una|one|decin\w|centin\w|migliai\w|metà|dozzin\w|dozen\w*|half|several|alcun\w|"
    r"molt\w|poch\w|nessun\w)\b"
)
MONTH_WORDS = "|".join(MONTHS["it"].split() + MONTHS["en"].lower().split())
# Words that place something in time: numbers, months, days, seasons, relative days, "before"/"after", and
# the conjunctions of a clause that answers "when" with a condition ("quando la concentrazione è alta").
TIME_WORDS = (
    NUMBER_WORDS + rf"|\b(?:{MONTH_WORDS}|oggi|ieri|domani|dopodomani|prossim\w|scors\w|settiman\w|mes[ei]|ann[oi]|"
    r"giorn\w|sera|mattin\w|notte|secol\w|lunedì|martedì|mercoledì|giovedì|venerdì|sabato|domenica|primavera|"
    r"estate|autunno|inverno|today|yesterday|tomorrow|next|last|week|month|year|day|century|monday|tuesday|"
    r"wednesday|thursday|friday|saturday|sunday|spring|summer|autumn|winter|dopo|prima|durante|after|before|"
    r"during|quando|mentre|appena|finché|when|while|whenever|once|until)\b"  # "quando l'ossigeno è troppo"
)

# The question word, at the start (after a preposition: "Da quanti mesi", "In quale anno", "A chi").
_LEAD = r"^\W*(?:(?:in|da|di|a|per|su|con|tra|fra|entro|fino a|dal|nel|at|for|since|by|to|with)\s+)?"
_COUNT_RE = re.compile(
    _LEAD + r"(?:quant[aeio]\b(?! riguard)|(?:quale|che) percentual\w*|how (?:many|much)|"
    r"what (?:percentage|number|share)|combien|cu[aá]nt[oa]s?|wie viele)",
    re.IGNORECASE,
)
_DATE_RE = re.compile(
    _LEAD + r"(?:quando|(?:che|quale|quali) (?:anno|anni|giorno|data|secolo|mese|epoca|periodo)\b|when|"
    r"what (?:year|date|day|century|month)|quand|cu[aá]ndo|wann)\b",
    re.IGNORECASE,
)
_PERSON_RE = re.compile(_LEAD + r"(?:chi|who|whom)\b", re.IGNORECASE)
# "Quando X, quale legge…?": the "when" opens a condition; the question asks something else.
_ALSO_ASKS_RE = re.compile(r",.*\b(?:qual[ei]?|chi|cosa|come|dove|which|what|who|how|where)\b", re.IGNORECASE)


def asks_for(question: str) -> str | None:
    """``"count"``, ``"date"`` or ``"person"`` by the question's leading question word; None for the rest.

    >>> asks_for("Da quanto tempo dura la guerra?"), asks_for("Per quanto riguarda Kiev, cosa ha detto?")
    ('count', None)
    >>> bool(re.search(NUMBER_WORDS, "Diciotto mesi", re.I)), bool(re.search(NUMBER_WORDS, "tremila giorni", re.I))
    (True, True)
    >>> asks_for("Quando due oggetti si toccano, quale legge vale?") is None
    True
    """
    if _COUNT_RE.search(question):
        return "count"
    if _DATE_RE.search(question):
        return None if _ALSO_ASKS_RE.search(question) else "date"
    if _PERSON_RE.search(question):
        return "person"
    return None

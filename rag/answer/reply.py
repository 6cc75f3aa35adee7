"""The model's two-line reply: a short answer (the words that answer, or "don't know"), then a sentence.

The prompt writes the first label itself (``Risposta breve:``), so the reply starts with the short
answer. ``parse`` splits it; ``snap`` replaces the short answer by the same words as the sources write
them (case, accents, spacing), so that it can be cited and quoted exactly; ``tighten`` cuts a short
answer the model wrote as a whole sentence down to the words the question did not already say.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from rag.answer.asks import MONTH_WORDS, NUMBER_WORDS, asks_for
from rag.answer.citations import strip_markers
from rag.answer.prompt import ANSWER_LABEL, DONT_KNOW
from rag.text import all_stopwords, fold, keys, tokenize

_DONT_KNOW_RE = re.compile(
    r"^\W*(?:non lo so|non (?:si )?(?:sa|è noto|e' noto|è indicat\w|è specificat\w|è dett\w)|nessuna|"
    r"i don'?t know|i do not know|unknown|not (?:stated|mentioned|specified|given)|n/?a)\b",
    re.IGNORECASE,
)
_LABELS_RE = re.compile(
    r"^\s*(?:" + "|".join(re.escape(label) for label in ANSWER_LABEL.values()) + r")\s*", re.IGNORECASE
)


@dataclass(frozen=True)
class Reply:
    short: str  # the words that answer ("" when the model did not give any)
    sentence: str  # the one-sentence answer, without its label and without [n] markers
    dont_know: bool  # the model said the sources do not give the answer


def parse(raw: str) -> Reply:
    """Split what the model wrote after ``Risposta breve:``.

    >>> parse(" Andrii Hnatov\\nRisposta: Umerov era accompagnato da Andrii Hnatov [1].")
    Reply(short='Andrii Hnatov', sentence='Umerov era accompagnato da Andrii Hnatov.', dont_know=False)
    >>> parse(" Non lo so.\\nRisposta: Le fonti non lo dicono.").dont_know
    True
    >>> parse(" Donald Tusk — «Anche Donald Tusk si recherà a Kiev.» [1]").short
    'Donald Tusk'
    """
    text = strip_markers(raw).strip()
    first, _, rest = text.partition("\n")
    first = first.split(" — «")[0]  # the form answers are shown in ("Andrii Hnatov — «…»"), copied by the model
    short = first.strip().strip("«»\"“”'").rstrip(".;,").strip()
    sentence = " ".join(_LABELS_RE.sub("", rest.strip(), count=1).split())
    dont_know = not short or bool(_DONT_KNOW_RE.search(short)) or fold(short) in {fold(d) for d in DONT_KNOW.values()}
    return Reply(short, sentence, dont_know)


def snap(short: str, texts: Sequence[str]) -> tuple[int, int, int] | None:
    """Where ``short`` stands in one of ``texts``, ignoring case, accents and spacing: ``(text index,
    start, end)``, or None when the sources do not contain those words in that order.

    >>> snap("andrii  hnatov", ["Umerov e il Capo, Andrii Hnatov, a Bruxelles."])
    (0, 18, 31)
    """
    words = re.findall(r"\w+", fold(short))
    if not words:
        return None
    pattern = re.compile(r"(?<!\w)" + r"\W+".join(re.escape(w) for w in words) + r"(?!\w)")
    for i, text in enumerate(texts):
        folded = fold(text)
        if len(folded) != len(text):  # folding changed lengths (rare ligatures): offsets would not map back
            continue
        match = pattern.search(folded)
        if match:
            return i, match.start(), match.end()
    return None


# A word, or a number with its separators and unit ("2,5", "12%", "3.000").
_TOKEN_RE = re.compile(r"\d+(?:[.,:/-]\d+)*\s?%?|\w+(?:[-'’]\w+)*")
_PAREN_RE = re.compile(r"\s*\([^)]*(?:\)|$)")  # a parenthesis, closed or cut off by the end of the line
# question kind -> what a word of its answer looks like, and whether the answer is only such words
_WANTS = {
    "count": (re.compile(NUMBER_WORDS, re.I), False),  # "2,5 milioni di persone": the unit may follow
    "date": (re.compile(rf"\d|\b({MONTH_WORDS})\b", re.I), True),
    "person": (re.compile(r"\b[A-ZÀ-Ý]\w"), False),
}


def tighten(short: str, question: str, language: str = "it", said: str = "") -> str:
    """The part of ``short`` that answers: when the model wrote a sentence that repeats the question, the
    longest run of its words the question does not contain (of the kind the question asks for: a number
    for "quanti", a date for "quando", a name for "chi"), without stopwords at its ends.

    ``said`` is what the chat said before a follow-up (the previous question and answer): the subject it
    carries over is not the answer either ("E davanti a chi parlerà?" after a question about Rutte).

    A parenthesis goes (it glosses the answer). Short answers of up to three words lose only the stopwords
    they start with when the question asks for a count, a date or a person ("Nel 999" → "999"); those that
    share no word with the question stay as they are.
    Words are compared by their stems in ``language`` ("chiamata" repeats "chiamava").

    >>> tighten("Varsavia produce il 12% del reddito nazionale", "Quanto del reddito nazionale produce Varsavia?")
    '12%'
    >>> tighten("Mario Rossi ha costruito il ponte sul fiume", "Chi ha costruito il ponte?")
    'Mario Rossi'
    >>> tighten("Andrii Hnatov", "Chi accompagnava Umerov?")
    'Andrii Hnatov'
    >>> tighten("Nel 999", "Quando attaccarono Salerno?"), tighten("scioglimento (magma e/o lava", "Da cosa nasce?")
    ('999', 'scioglimento')
    >>> tighten("Mark Rutte parlerà alla Verkhovna Rada", "E davanti a chi parlerà?", said="Quando arriva Rutte?")
    'Verkhovna Rada'
    """
    short = _PAREN_RE.sub("", short).strip() or short  # "Terra preta (terreno nero)": the gloss goes
    kind = asks_for(question)
    stop = all_stopwords()
    tokens = list(_TOKEN_RE.finditer(short))
    if len(tokens) <= 3:
        while kind in _WANTS and len(tokens) > 1 and fold(tokens[0].group()) in stop:  # "Nel 999": "999"
            tokens = tokens[1:]
        return short[tokens[0].start() :] if tokens else short
    asked, *stems = tokenize([f"{question} {said}", *(t.group() for t in tokens)], language)  # Snowball stems
    repeated = [bool(set(s) & set(asked)) for s in stems]
    if not any(repeated):
        return short
    runs, run = [], []
    for token, said in zip(tokens, repeated, strict=True):
        if said:
            runs.append(run)
            run = []
        else:
            run.append(token)
    runs.append(run)
    candidates = []
    for run in runs:
        while run and fold(run[0].group().strip()) in stop:
            run = run[1:]
        while run and fold(run[-1].group().strip()) in stop:
            run = run[:-1]
        if run:
            candidates.append(run)
    if kind in _WANTS:
        holds, only = _WANTS[kind]
        typed = [[t for t in run if holds.search(t.group())] for run in candidates]
        if any(typed):
            candidates = [run[run.index(t[0]) : run.index(t[-1]) + 1] if only else run
                          for run, t in zip(candidates, typed, strict=True) if t]  # fmt: skip
    if not candidates:
        return short
    text = [short[run[0].start() : run[-1].end()].strip().rstrip(" ,;:(") for run in candidates]
    return max(text, key=lambda c: len(keys(c)) + len(re.findall(r"\d+", c))) or short

"""The model's two-line reply: a short answer (the words that answer, or "don't know"), then a sentence.

The prompt writes the first label itself (``Risposta breve:``), so the reply starts with the short
answer. ``parse`` splits it; ``snap`` replaces the short answer by the same words as the sources write
them (case, accents, spacing), so that it can be cited and quoted exactly.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from rag.answer.citations import strip_markers
from rag.answer.prompt import ANSWER_LABEL, DONT_KNOW
from rag.text import fold

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
    """
    text = strip_markers(raw).strip()
    first, _, rest = text.partition("\n")
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

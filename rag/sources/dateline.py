"""Italian news datelines: ``"Kiev, 2 febbraio 2026 – ..."`` (or ``"Milano, 05/03/2026 - ..."``, as press
releases write it) -> place ``Kiev``, date ``2026-02-02``; and the head of an article above its dateline
(headline, kicker or subtitle, byline, a "COMUNICATO STAMPA" label), whose first line is the title.

>>> head = read_head("# Sciopero dei treni\\nLe fasce garantite\\ndi Mario Rossi\\nMilano, 12 marzo 2026 - Venerdì ...")
>>> head.title(markdown=True), head.dateline.place, head.dateline.date
('Sciopero dei treni', 'Milano', '2026-03-12')
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

from rag.text import MONTHS, month_number

_EMPHASIS = r"(?:[*_]{1,3})?"  # Markdown's **Roma, 3 marzo 2026** –
_DATELINE = re.compile(
    r"^\s*" + _EMPHASIS + r"(?P<place>[A-ZÀ-Ý][\w'’.\- ]{0,40}?)\s*,\s*"
    r"(?:(?:lunedì|martedì|mercoledì|giovedì|venerdì|sabato|domenica)\s+)?"
    r"(?:(?P<day>\d{1,2})°?\s+(?P<month>"
    + MONTHS["it"].replace(" ", "|")
    + r")\s+(?P<year>\d{4})"
    + r"|(?P<nday>\d{1,2})(?P<sep>[/.])(?P<nmonth>\d{1,2})(?P=sep)(?P<nyear>\d{4}))"  # day first, as Italians write
    + _EMPHASIS
    + r"\s*(?P<dash>[–—-]|\(\w+\)\s*[–—-])?",
    re.IGNORECASE,
)
# Lines that may stand above the dateline: a headline, a kicker or subtitle, a byline. More of them, or a
# longer one, is an article's body, and a date further down is not its dateline.
HEAD_LINES = 5
HEAD_LINE_CHARS = 300
# A byline: "di"/"by" and a name (capitalised words, so "Di notte arriva la neve" and "Di Maio incontra Conte"
# stay headlines), or a cue no headline opens with ("a cura di", "dal nostro inviato") and anything after it.
_NAME_WORD = r"[A-ZÀ-Ý][\w'’.\-]*"
_NAME = _NAME_WORD + r"(?:(?:\s*,\s*|\s+)(?:(?:de|di|da|del|della|dei|van|von|e|and)\s+)?" + _NAME_WORD + r"){0,5}"
_BYLINE = re.compile(
    r"^(?:(?i:di|by)\s+" + _NAME + r"|(?i:a cura (?:dell['’]\s*|(?:di|del|della|dei|degli)\s+)|"
    r"dal nostro (?:inviato|corrispondente)\s+|dalla nostra (?:inviata|corrispondente)\s+)\S.{0,60})$"
)
_KICKER = re.compile(r"^[^\Wa-zà-ÿ]+(?:\s+[^\Wa-zà-ÿ]+){0,4}$")  # 1-5 words in capitals, no lower case
_LABEL = re.compile(  # a press release's label above its headline: never the title
    r"^(?:comunicato stampa|comunicato|nota stampa|nota per la stampa|press release)(?:\s+n\.?\s*\d+)?[.:]?$",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class Dateline:
    place: str
    date: str  # ISO
    end: int  # character offset where the article body starts


@dataclass(frozen=True)
class Head:
    """The start of an article: the lines above its dateline (``lines``, cleaned of Markdown) and the
    dateline; ``dateline`` is ``None`` (and ``lines`` empty) when none opens the article."""

    lines: tuple[str, ...] = ()
    dateline: Dateline | None = None

    def title(self, markdown: bool = False) -> str | None:
        """The headline: the first line above the dateline that is not a byline ("di Mario Rossi"), a label
        ("COMUNICATO STAMPA") or a kicker (a few words in capitals above a headline: "CRISI INDUSTRIALE").

        >>> Head(["CRISI INDUSTRIALE", "Ceramiche Valdera, 180 esuberi", "di Lucia Bernardini"]).title()
        'Ceramiche Valdera, 180 esuberi'
        >>> Head(["SCIOPERO GENERALE DEI TRASPORTI"]).title()
        'SCIOPERO GENERALE DEI TRASPORTI'
        """
        lines = [c for c in (_plain(line, markdown) for line in self.lines) if c]
        lines = [c for c in lines if not _BYLINE.match(c) and not _LABEL.match(c)]
        if len(lines) > 1 and _KICKER.match(lines[0]) and not lines[1].isupper():
            return lines[1]
        return lines[0] if lines else None


def parse_dateline(text: str) -> Dateline | None:
    """Parse a leading Italian dateline; ``None`` when the text does not start with one.

    >>> parse_dateline("Roma, 3 dicembre 2025 – Il Ministro ...")
    Dateline(place='Roma', date='2025-12-03', end=24)
    """
    match = _DATELINE.match(text[:200])
    if match is None:
        return None
    try:
        if match["month"]:
            when = date(int(match["year"]), month_number(match["month"]), int(match["day"]))
        else:
            when = date(int(match["nyear"]), int(match["nmonth"]), int(match["nday"]))
    except ValueError:
        return None
    end = match.end()
    while end < len(text) and text[end] == " ":
        end += 1
    return Dateline(place=match["place"].strip(), date=when.isoformat(), end=end)


# Openings of a first sentence that read like a dateline but are not one ingestion parses (an English date,
# a place and a dash): no place or date is taken from them, but they are not the article's lead either.
_OTHER_OPENING = re.compile(r"^[^\n.!?]{0,80}?\b\d{4}\s*[–—-]\s*|^[A-ZÀ-Ý][\w'’ ]{1,40}\s*[–—-]\s+")


def other_opening_end(sentence: str) -> int:
    """Where the text after a dateline-like opening that ``parse_dateline`` does not read starts (0: none).

    >>> s = "Kyiv, February 2, 2026 – Rutte arrives."
    >>> s[other_opening_end(s):], other_opening_end("Il ministro arriva domani a Roma.")
    ('Rutte arrives.', 0)
    """
    match = _OTHER_OPENING.match(sentence)
    return match.end() if match else 0


def read_head(text: str) -> Head:
    """The dateline at the start of ``text`` or below up to ``HEAD_LINES`` short lines (headline, kicker,
    subtitle, byline), with those lines; ``Dateline.end`` is an offset into ``text``."""
    above: list[str] = []
    offset = 0
    for line in text.splitlines(keepends=True):
        start, offset = offset, offset + len(line)
        stripped = line.strip()
        if not stripped:
            continue
        found = parse_dateline(text[start:])
        if found is not None:
            return Head(tuple(above), Dateline(found.place, found.date, start + found.end))
        if len(above) == HEAD_LINES or len(stripped) > HEAD_LINE_CHARS:
            break
        above.append(stripped)
    return Head()


def _plain(line: str, markdown: bool) -> str:
    """A head line without Markdown's heading marks and emphasis, or a closing full stop."""
    if markdown:
        line = line.lstrip("#").strip()
    line = re.sub(r"^([*_]{1,3})(.+)\1$", r"\2", line).strip()
    return line[:-1].rstrip() if line.endswith(".") and not line.endswith("..") else line

"""Italian news datelines: ``"Kiev, 2 febbraio 2026 – ..."`` -> place ``Kiev``, date ``2026-02-02``."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

from rag.text import MONTHS, month_number

_DATELINE = re.compile(
    r"^\s*(?P<place>[A-ZÀ-Ý][\w'’.\- ]{0,40}?)\s*,\s*"
    r"(?:(?:lunedì|martedì|mercoledì|giovedì|venerdì|sabato|domenica)\s+)?"
    r"(?P<day>\d{1,2})°?\s+(?P<month>" + MONTHS["it"].replace(" ", "|") + r")\s+(?P<year>\d{4})"
    r"\s*(?P<dash>[–—-]|\(\w+\)\s*[–—-])?",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class Dateline:
    place: str
    date: str  # ISO
    end: int  # character offset where the article body starts


def parse_dateline(text: str) -> Dateline | None:
    """Parse a leading Italian dateline; ``None`` when the text does not start with one.

    >>> parse_dateline("Roma, 3 dicembre 2025 – Il Ministro ...")
    Dateline(place='Roma', date='2025-12-03', end=24)
    """
    match = _DATELINE.match(text[:200])
    if match is None:
        return None
    try:
        when = date(int(match["year"]), month_number(match["month"]), int(match["day"]))
    except ValueError:
        return None
    end = match.end()
    while end < len(text) and text[end] == " ":
        end += 1
    return Dateline(place=match["place"].strip(), date=when.isoformat(), end=end)

"""Who published an article, read from its own credit line, by a few fixed patterns and nothing else:

- a copyright line among the last lines: ``© Copyright ANSA``, ``Copyright © 2026 Il Sole 24 Ore S.p.A.``
  (``© RIPRODUZIONE RISERVATA`` names no one);
- a ``Fonte: Il Sole 24 Ore`` line among the last lines;
- a last line that is a dash and a name: ``— Reuters``;
- a news agency in brackets (only the agencies in ``AGENCIES``, so that ``(NATO)`` is never a source)
  opening the body (``(ANSA) - ROMA, 3 MAR -``, ``Roma, 3 marzo 2026 (ANSA) –``, ``MILANO (Reuters) -``)
  or closing the text (``... ha detto il ministro. (ANSA).``).

>>> find_credit("Roma, 3 marzo 2026 – Il consiglio ha approvato il bilancio.\\n\\n© Copyright ANSA")
'ANSA'
>>> find_credit("L'Alleanza ha risposto (NATO).") is None
True
"""

from __future__ import annotations

import re

# Bracketed names taken as a source: news agencies only, with the spelling they sign with.
AGENCIES = {
    name.lower(): name
    for name in (
        "ANSA", "ANSAmed", "AGI", "Adnkronos", "askanews", "LaPresse", "Italpress", "Dire", "Radiocor", "Nova",
        "Reuters", "AP", "AFP", "dpa", "EFE", "Xinhua", "Bloomberg", "Kyodo",
    )
}  # fmt: skip
LAST_LINES = 3  # a credit line closes the article: one of its last lines
LINE_CHARS = 120  # a longer line is a paragraph, not a credit line
_NAME = r"(?P<name>[^\W_][\w&'’.\- ]{0,59}?)"
_END = r"\s*(?:[-–—|,;:]|\.\s|\.$|$)"
_COPYRIGHT = re.compile(
    r"^(?:copyright\s*)?(?:©|\(c\))\s*(?:copyright\s+)?(?:\d{4}(?:\s*[-–]\s*\d{4})?\s+)?" + _NAME + _END,
    re.IGNORECASE,
)
_FONTE = re.compile(r"^fonte\s*:\s*" + _NAME + r"\.?$", re.IGNORECASE)
_SIGNED = re.compile(r"^[—–]\s*(?=[A-ZÀ-Ý])" + _NAME + r"\.?$")
_AGENCY = r"\((?P<agency>[A-Za-z]{2,10})\)"
_OPENING = re.compile(  # nothing, a place in capitals (MILANO), or a place and a day (Roma, 3 marzo 2026) before it
    r"^(?:[A-ZÀ-Ý][A-ZÀ-Ý'’.\- ]{1,30}|[A-ZÀ-Ý][\w'’.\- ]{0,40}?,\s*\d{1,2}°?\s+[^\W\d_]+(?:\s+\d{4})?)?\s*"
    + _AGENCY
    + r"\s*[-–—:]"
)
_CLOSING = re.compile(_AGENCY + r"\.?$")
_NOT_A_NAME = re.compile(
    r"^(?:riproduzione|tutti i diritti|all rights|diritti riservati|\d{4}$|copyright$)", re.IGNORECASE
)
_COMPANY = re.compile(r",?\s+(?:S\.?p\.?A\.?|S\.?r\.?l\.?|Ltd\.?|Inc\.?|GmbH)$", re.IGNORECASE)


def find_credit(text: str, body_start: int = 0) -> str | None:
    """The publisher ``text`` credits itself to, else ``None``. ``body_start`` is where the body begins
    (after a headline and a dateline, see ``rag.sources.dateline.read_head``): the opening agency is looked
    for in the first line from there, and in the dateline itself."""
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    for line in reversed(lines[-LAST_LINES:]):
        if len(line) > LINE_CHARS:
            continue
        for pattern in (_COPYRIGHT, _FONTE):
            match = pattern.match(line)
            if match and (name := _name(match["name"])):
                return name
    if lines and (match := _SIGNED.match(lines[-1])) and (name := _name(match["name"])):
        return name
    if lines and (match := _CLOSING.search(lines[-1])) and match["agency"].lower() in AGENCIES:
        return AGENCIES[match["agency"].lower()]
    line_start = text.rfind("\n", 0, body_start) + 1  # the dateline's line: "Roma, 3 marzo 2026 (ANSA) –"
    opening = text[line_start:].lstrip().split("\n", 1)[0][:LINE_CHARS]
    match = _OPENING.match(opening)
    if match and match["agency"].lower() in AGENCIES:
        return AGENCIES[match["agency"].lower()]
    return None


def _name(raw: str) -> str | None:
    name = _COMPANY.sub("", raw.strip().rstrip(".").strip())
    if not name or _NOT_A_NAME.match(name) or len(name.split()) > 6:
        return None
    return name

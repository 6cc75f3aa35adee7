"""Bytes of an article file to text, by content: byte-order marks, UTF-8, then charset detection.

Binary files and garbage are refused. Detection is charset-normalizer's (a dependency of requests, kept
as our own); among single-byte candidates the Western one (CP1252, a superset of Latin-1 for text)
is preferred, as the articles are Italian first and the detector otherwise often names a Central
European page that turns "è" into "č".
"""

from __future__ import annotations

import codecs
import logging
import re

log = logging.getLogger(__name__)

BOMS = (  # longest first: the UTF-32 LE mark starts with the UTF-16 LE one
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)
MAX_CONTROL_SHARE = 0.01  # more control characters than 1 in 100 is not an article
# Unicode's control characters (category Cc) but tab, new lines and form feeds; and the replacement mark
_BAD = re.compile(r"[\x00-\x08\x0e-\x1f\x7f-\x9f\ufffd]")


class NotText(ValueError):
    """The bytes are not text in any encoding we can tell (a binary file or garbage)."""


def decode_bytes(data: bytes) -> tuple[str, str]:
    """(text, encoding) of ``data``; raises ``NotText`` for binary data or garbage."""
    for bom, encoding in BOMS:
        if data.startswith(bom):
            try:
                return _checked(data.decode(encoding)), encoding
            except UnicodeDecodeError as e:
                raise NotText(f"starts with a {encoding} byte-order mark but is not valid {encoding}") from e
    if b"\x00" not in data:  # UTF-16 without a mark is valid UTF-8 too (ASCII and NULs): detect it instead
        try:
            return _checked(data.decode("utf-8")), "utf-8"
        except UnicodeDecodeError:
            pass
    return _detected(data)


def _detected(data: bytes) -> tuple[str, str]:
    from charset_normalizer import from_bytes

    matches = from_bytes(data)
    best = matches.best()
    if best is None:
        raise NotText("no text encoding fits it")
    encoding = best.encoding
    if not encoding.startswith(("utf_16", "utf_32")) and any(m.encoding == "cp1252" for m in matches):
        encoding = "cp1252"
    try:
        return _checked(data.decode(encoding)), encoding
    except UnicodeDecodeError as e:  # the detector looks at samples; the whole file must decode too
        raise NotText(f"not valid {encoding} throughout") from e


def _checked(text: str) -> str:
    """``text`` unless it is mostly made of control characters or replacement marks."""
    if not text:
        return text
    bad = len(_BAD.findall(text))
    if bad > MAX_CONTROL_SHARE * len(text):
        raise NotText(f"{bad} of its {len(text)} characters are control characters")
    return text

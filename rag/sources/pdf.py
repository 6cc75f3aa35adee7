"""Text PDFs (press releases, agency bulletins) to article text, with pypdf.

Only PDFs with a text layer: a scanned one (pages that are pictures) is refused with what to do, and so
are a PDF locked by a password and a damaged one. A PDF encrypted with an empty password (copy or print
restrictions only, common in press releases) is read.
"""

from __future__ import annotations

import logging
import re
from pathlib import Path

from rag.errors import InputError

log = logging.getLogger(__name__)

MAGIC = b"%PDF-"
MIN_WORDS = 12  # fewer words in the whole file: its pages are pictures (a stamp or a page number may be text)


def is_pdf(head: bytes) -> bool:
    """Whether a file's first bytes are a PDF's (its header, maybe after a byte-order mark or blank lines)."""
    return head.lstrip(b"\xef\xbb\xbf \t\r\n").startswith(MAGIC)


def read_pdf(path: Path) -> str:
    """The text of every page of the PDF at ``path``, pages apart by a blank line.

    Raises ``InputError`` naming the file for a file that is not a PDF, a damaged or password-locked PDF,
    and a PDF without a text layer.
    """
    from pypdf import PdfReader
    from pypdf.errors import DependencyError

    with path.open("rb") as handle:
        if not is_pdf(handle.read(1024)):
            raise InputError(f"{path}: named .pdf but it is not a PDF (no %PDF- header); give the real file")
    logging.getLogger("pypdf").setLevel(logging.ERROR)  # its notes on repaired cross-references are not ours
    try:
        reader = PdfReader(path)
        if reader.is_encrypted and not reader.decrypt(""):
            raise InputError(f"{path}: the PDF is locked by a password; save a copy without one and give that")
        pages = [page.extract_text() or "" for page in reader.pages]
    except InputError:
        raise
    except DependencyError as e:  # AES encryption, even with an empty password, needs the cryptography package
        raise InputError(
            f"{path}: the PDF is encrypted with AES, which needs the `cryptography` package to read "
            "(pip install cryptography); or save a copy without protection and give that"
        ) from e
    except Exception as e:  # pypdf raises many kinds on a damaged file (PdfReadError, KeyError, ValueError…)
        raise InputError(
            f"{path}: not a readable PDF ({type(e).__name__}: {one_line(e)}); open and save it again, or export it anew"
        ) from e
    text = "\n\n".join(_tidy(page) for page in pages if page.strip()).strip()
    words = len(text.split())
    if words == 0:
        raise InputError(f"{path}: has no text layer (a scanned PDF?); OCR it first (e.g. `ocrmypdf IN.pdf OUT.pdf`)")
    if words < MIN_WORDS:
        raise InputError(
            f"{path}: holds only {words} words of text in {len(pages)} page(s) (a scanned PDF?); "
            "OCR it first (e.g. `ocrmypdf IN.pdf OUT.pdf`)"
        )
    return text


def _tidy(page: str) -> str:
    """A page's text with its lines' trailing blanks removed and runs of blank lines made one."""
    page = "\n".join(line.rstrip() for line in page.splitlines())
    return re.sub(r"\n{3,}", "\n\n", page).strip()


def one_line(error: Exception) -> str:
    """A library's error message on one line, at most 200 characters."""
    said = " ".join(str(error).split())
    return said if len(said) <= 200 else said[:197] + "..."

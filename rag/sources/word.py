"""Word documents (``.docx``) to article text, with python-docx: paragraphs and tables in their order.

The old binary ``.doc`` format is not read (say so, with the fix); a DOCX that would unpack to far more
than an article may hold (a zip bomb) is refused before it is parsed.
"""

from __future__ import annotations

import zipfile
from pathlib import Path

from rag.errors import InputError
from rag.sources.pdf import one_line

ZIP_MAGIC = b"PK\x03\x04"
OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # Office 97-2003 files: .doc, .xls, .ppt
MAIN_PART = "word/document.xml"
XML_PER_TEXT = 25  # a document's XML is at most this many times its text; more than that is not an article
XML_FRAME_BYTES = 10_000_000  # plus the styles, theme and settings every file carries (Word's own: ~1 MB)


def is_docx(path: Path, head: bytes) -> bool:
    """Whether the file is a Word document: a zip holding ``word/document.xml``."""
    if not head.startswith(ZIP_MAGIC):
        return False
    try:
        with zipfile.ZipFile(path) as archive:
            return MAIN_PART in archive.namelist()
    except (zipfile.BadZipFile, OSError, ValueError):
        return False


def is_old_office(head: bytes) -> bool:
    return head.startswith(OLE_MAGIC)


def read_docx(path: Path, max_text_bytes: int) -> str:
    """The text of the Word document at ``path``: one line per paragraph, a table's cells apart by " | ".

    Raises ``InputError`` naming the file when it is not a readable DOCX, or would unpack to more than
    ``XML_PER_TEXT`` times ``max_text_bytes`` (and ``XML_FRAME_BYTES``): a zip bomb is refused unopened.
    """
    import docx
    from docx.table import Table

    try:
        with zipfile.ZipFile(path) as archive:
            unpacked = sum(info.file_size for info in archive.infolist() if info.filename.endswith(".xml"))
    except (zipfile.BadZipFile, OSError, ValueError) as e:
        raise InputError(f"{path}: not a readable Word document ({one_line(e)}); save it again as .docx") from e
    if unpacked > XML_PER_TEXT * max_text_bytes + XML_FRAME_BYTES:
        raise InputError(
            f"{path}: unpacks to {unpacked / 1e6:.3g} MB of XML, far more than an article (a damaged or hostile "
            "file?); open and save it again, or raise the limit with RAG_MAX_ARTICLE_MB"
        )
    try:
        document = docx.Document(str(path))
        lines = []
        for block in document.iter_inner_content():
            if isinstance(block, Table):
                lines += [" | ".join(_cells(row)) for row in block.rows]
            else:
                lines.append(block.text.strip())
    except Exception as e:  # python-docx and lxml raise many kinds on a damaged part (KeyError, XMLSyntaxError…)
        raise InputError(
            f"{path}: not a readable Word document ({type(e).__name__}: {one_line(e)}); open and save it again as .docx"
        ) from e
    return "\n".join(line for line in lines if line.strip())


def _cells(row) -> list[str]:
    """A table row's texts, a cell merged across columns once."""
    seen, texts = set(), []
    for cell in row.cells:
        if id(cell._tc) not in seen:
            seen.add(id(cell._tc))
            texts.append(" ".join(cell.text.split()))
    return texts

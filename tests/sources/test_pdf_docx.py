"""PDF and Word press releases: read with pypdf and python-docx (text PDFs only), whatever the file's name.

Before, real PDFs and DOCX were refused as unknown types, and an uncompressed PDF renamed .txt was indexed
as text titled "%PDF-1.4". The fixtures are written here: a PDF by hand (one page of Helvetica text), the
others with pypdf and python-docx.
"""

import io
import logging
import subprocess
import sys
import zipfile

import pytest

from rag.errors import InputError
from rag.sources.ingest import load_documents

from tests.conftest import write

RELEASE = [
    "Comunicato stampa: riapre il ponte sul Ticino",
    "Pavia, 5 marzo 2026 – La sindaca ha inaugurato il ponte pedonale sul Ticino",
    "davanti a duecento persone, con il progettista e gli studenti del liceo (città, perché).",
    "© Copyright ANSA",
]


def text_pdf(lines: list[str]) -> bytes:
    """A one-page PDF showing ``lines`` in Helvetica, WinAnsi encoded, with a correct cross-reference table."""

    def shown(line: str) -> bytes:
        raw = line.encode("cp1252")
        return b"(" + raw.replace(b"\\", b"\\\\").replace(b"(", b"\\(").replace(b")", b"\\)") + b") Tj T*"

    ops = b"BT /F1 11 Tf 14 TL 50 780 Td " + b" ".join(map(shown, lines)) + b" ET"
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Resources << /Font << /F1 5 0 R >> >> "
        b"/Contents 4 0 R >>",
        b"<< /Length %d >>\nstream\n" % len(ops) + ops + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % o for o in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)


def pypdf_bytes(text_lines: list[str] | None = None, password: str | None = None) -> bytes:
    """A PDF written by pypdf: a blank page (a scan's picture has no text either), or the hand-made text
    PDF passed through pypdf, encrypted with ``password`` ("" locks nothing but still encrypts)."""
    from pypdf import PdfReader, PdfWriter

    writer = PdfWriter()
    if text_lines is None:
        writer.add_blank_page(595, 842)
    else:
        writer.append(PdfReader(io.BytesIO(text_pdf(text_lines))))
    if password is not None:
        writer.encrypt(user_password=password, owner_password="redazione", algorithm="RC4-128")
    buffer = io.BytesIO()
    writer.write(buffer)
    return buffer.getvalue()


def docx_bytes(paragraphs: list[str], table: list[list[str]] | None = None, heading: str | None = None) -> bytes:
    import docx

    document = docx.Document()
    if heading:
        document.add_heading(heading, level=1)
    for text in paragraphs:
        document.add_paragraph(text)
    if table:
        grid = document.add_table(rows=len(table), cols=len(table[0]))
        for r, row in enumerate(table):
            for c, value in enumerate(row):
                grid.cell(r, c).text = value
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


def test_a_text_pdf_is_read_with_its_headline_dateline_and_credit(tmp_path):
    (doc,) = load_documents([write(tmp_path / "comunicato.pdf", text_pdf(RELEASE))])
    assert doc.title == "Comunicato stampa: riapre il ponte sul Ticino"
    assert (doc.date, doc.place, doc.source) == ("2026-03-05", "Pavia", "ANSA")
    assert "duecento persone, con il progettista" in doc.text and "città, perché" in doc.text


@pytest.mark.parametrize("name", ["comunicato.txt", "comunicato.md", "comunicato.html", "comunicato"])
def test_a_pdf_is_read_as_a_pdf_whatever_its_name(tmp_path, name):
    # the issue: an uncompressed PDF renamed .txt was indexed as text, titled "%PDF-1.4"
    (doc,) = load_documents([write(tmp_path / name, text_pdf(RELEASE))])
    assert doc.title.startswith("Comunicato stampa") and "%PDF" not in doc.text and doc.date == "2026-03-05"


def test_pdfs_and_docx_in_a_folder_are_read_even_without_their_extension(tmp_path):
    write(tmp_path / "a.pdf", text_pdf(RELEASE))
    write(tmp_path / "sub" / "scaricato", docx_bytes(RELEASE))  # a download that lost its name
    write(tmp_path / "foto.jpg", b"\xff\xd8\xff\xe0 not an article")
    assert sorted(d.id for d in load_documents([tmp_path])) == ["a.pdf", "sub/scaricato"]


def test_a_pdf_with_an_empty_password_is_read(tmp_path):
    # press releases often carry copy/print restrictions: encrypted, but with an empty user password
    (doc,) = load_documents([write(tmp_path / "a.pdf", pypdf_bytes(RELEASE, password=""))])
    assert doc.date == "2026-03-05" and "progettista" in doc.text


@pytest.mark.parametrize(
    "data, message",
    [
        (lambda: pypdf_bytes(), r"a.pdf: has no text layer \(a scanned PDF\?\); OCR it first"),
        (lambda: text_pdf(["Pagina 1"]), r"a.pdf: holds only 2 words of text in 1 page\(s\) \(a scanned PDF\?\)"),
        (lambda: pypdf_bytes(RELEASE, password="segreta"), r"a.pdf: the PDF is locked by a password; save a copy"),
        (lambda: b"%PDF-1.4\n1 0 obj\n<< /Type /Catalog", r"a.pdf: not a readable PDF \(.*\); open and save it"),
        (lambda: text_pdf(RELEASE)[:300], r"a.pdf: not a readable PDF \(PdfStreamError: Stream has ended"),
        (lambda: b"<html><body>403 Forbidden</body></html>", r"a.pdf: named .pdf but it is not a PDF"),
    ],
    ids=["scanned", "few-words", "password", "damaged", "truncated", "html-named-pdf"],
)
def test_unusable_pdfs_are_one_line_naming_the_file(tmp_path, data, message):
    with pytest.raises(InputError, match=message):
        load_documents([write(tmp_path / "a.pdf", data())])


def test_an_aes_pdf_says_which_package_reads_it(tmp_path, monkeypatch):
    from pypdf import PdfReader
    from pypdf.errors import DependencyError

    def needs_cryptography(self, password):  # what pypdf does for AES without the cryptography package
        raise DependencyError("cryptography>=3.1 is required for AES algorithm")

    monkeypatch.setattr(PdfReader, "decrypt", needs_cryptography)
    with pytest.raises(InputError, match=r"a.pdf: the PDF is encrypted with AES, .*pip install cryptography"):
        load_documents([write(tmp_path / "a.pdf", pypdf_bytes(RELEASE, password=""))])


def test_a_scanned_pdf_from_the_command_line_is_one_line_and_exit_2(tmp_path):
    path = write(tmp_path / "scansione.pdf", pypdf_bytes())
    run = subprocess.run(
        [sys.executable, "-m", "rag", "index", "build", str(path), "--name", str(tmp_path / "idx")],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 2 and "Traceback" not in run.stderr
    assert "scansione.pdf: has no text layer (a scanned PDF?); OCR it first" in run.stderr.strip().splitlines()[-1]


def test_a_docx_press_release_is_read_with_its_tables(tmp_path):
    data = docx_bytes(
        ["Dopo due anni di lavori", "di Anna Neri", *RELEASE[1:3]],
        table=[["Orario", "Varco"], ["7-20", "Nord"]],
        heading="Riapre il ponte sul Ticino",
    )
    (doc,) = load_documents([write(tmp_path / "comunicato.docx", data)])
    assert (doc.title, doc.date, doc.place) == ("Riapre il ponte sul Ticino", "2026-03-05", "Pavia")
    assert "studenti del liceo" in doc.text and "Orario | Varco\n7-20 | Nord" in doc.text


def test_a_docx_renamed_md_is_read_as_docx(tmp_path):
    (doc,) = load_documents([write(tmp_path / "comunicato.md", docx_bytes(RELEASE))])
    assert doc.date == "2026-03-05" and "word/document.xml" not in doc.text


def test_an_empty_docx_is_skipped_with_a_warning(tmp_path, caplog):
    write(tmp_path / "vuoto.docx", docx_bytes([]))
    write(tmp_path / "ok.txt", "Roma, 3 marzo 2026 – Testo.")
    with caplog.at_level(logging.WARNING):
        assert [d.id for d in load_documents([tmp_path])] == ["ok.txt"]
    assert "vuoto.docx: no text in the document, skipped" in caplog.text


def _zip(parts: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in parts.items():
            archive.writestr(name, data)
    return buffer.getvalue()


@pytest.mark.parametrize(
    "name, data, message",
    [
        ("a.doc", lambda: b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 512, r"a.doc: an old Word/Office 97-2003 file"),
        ("a.txt", lambda: b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 512, r"a.txt: an old Word/Office 97-2003 file"),
        ("a.docx", lambda: b"PK\x03\x04 not really a zip", r"a.docx: not a readable Word document"),
        ("a.docx", lambda: _zip({"xl/workbook.xml": b"<x/>"}), r"a.docx: not a readable Word document"),
        ("a.docx", lambda: _zip({"word/document.xml": b"<w:document"}), r"a.docx: not a readable Word document"),
    ],
    ids=["doc", "doc-named-txt", "not-a-zip", "a-spreadsheet", "damaged-xml"],
)
def test_unusable_word_files_are_one_line_naming_the_file(tmp_path, name, data, message):
    with pytest.raises(InputError, match=message):
        load_documents([write(tmp_path / name, data())])


def test_a_docx_that_unpacks_to_far_more_than_an_article_is_refused_before_parsing(tmp_path, monkeypatch):
    monkeypatch.setenv("RAG_MAX_ARTICLE_MB", "0.1")  # at most 25 x 0.1 MB of XML, plus 10 MB of styles and such
    buffer = io.BytesIO(docx_bytes(RELEASE))
    with zipfile.ZipFile(buffer, "a", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("word/glossary.xml", b" " * 20_000_000)  # 20 MB that pack into a few kB
    assert len(buffer.getvalue()) < 100_000
    with pytest.raises(InputError, match=r"a.docx: unpacks to 2\d.\d MB of XML, far more than an article"):
        load_documents([write(tmp_path / "a.docx", buffer.getvalue())])
    # the same release without the bomb, at the same setting, is read
    assert load_documents([write(tmp_path / "b.docx", docx_bytes(RELEASE))])[0].date == "2026-03-05"

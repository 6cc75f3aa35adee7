"""Read articles from disk into ``Document`` records.

Accepted: ``.txt``/``.md`` files and folders of them (recursive), web pages ``.html``/``.htm``
(``rag.sources.html``), text PDFs and Word ``.docx`` (``rag.sources.pdf``, ``rag.sources.word``; a file whose
bytes are a PDF or a DOCX is read as one whatever its name), JSONL of articles
(``id``, ``text``, optional ``title``, ``date``, ``source``, ``url``, ``place``: strings), and SQuAD v1.1
JSON or ``.json.gz`` (each paragraph one document, id ``<title>#<paragraph index>``).

An article's date and place come from its dateline ("Roma, 3 marzo 2026 – …"), also below a headline,
a kicker and a byline (``rag.sources.dateline.read_head``); the headline is its title; its source, when
no metadata gives one, from its own credit line ("© Copyright ANSA", ``rag.sources.credit``).
Bad input raises ``InputError`` naming the file (and line or field) and what to do.
"""

from __future__ import annotations

import dataclasses
import gzip
import json
import logging
import re
from collections.abc import Iterable, Iterator
from datetime import date
from pathlib import Path

from rag.config import env_number
from rag.errors import InputError
from rag.sources.credit import find_credit
from rag.sources.dateline import read_head
from rag.sources.decode import NotText, decode_bytes
from rag.sources.feed_read import FEED_SUFFIXES
from rag.sources.html import HTML_SUFFIXES, extract_page
from rag.sources.pdf import is_pdf, read_pdf
from rag.sources.word import is_docx, is_old_office, read_docx
from rag.text import valid_text
from rag.types import Document

log = logging.getLogger(__name__)

TEXT_SUFFIXES = {".txt", ".md", ".markdown"}
SUPPORTED = "`.txt`, `.md`, `.html`, `.pdf`, `.docx`, `.jsonl`, SQuAD `.json`/`.json.gz`"
TITLE_CHARS = 90
HEADLINE_CHARS = 150  # a headline above the dateline is the title as it is, unless longer than this
JSONL_STRINGS = ("title", "date", "source", "url", "place")  # optional fields of a JSONL article, all text


def kind_of(path: Path) -> str | None:
    """What a file holds, by its name: squad, jsonl, text, html, pdf, docx, doc (refused); None if unknown."""
    name = path.name.lower()
    if name.endswith((".json.gz", ".json")):
        return "squad"
    if name.endswith(".jsonl"):
        return "jsonl"
    suffix = path.suffix.lower()
    if suffix in TEXT_SUFFIXES:
        return "text"
    if suffix in HTML_SUFFIXES:
        return "html"
    return {".pdf": "pdf", ".docx": "docx", ".doc": "doc"}.get(suffix)


def sniff(path: Path) -> str | None:
    """What a file holds, by its first bytes: pdf, docx or doc (an Office 97-2003 file), else None."""
    try:
        with path.open("rb") as handle:
            head = handle.read(1024)
    except OSError:
        return None
    if is_pdf(head):
        return "pdf"
    if is_docx(path, head):
        return "docx"
    if is_old_office(head):
        return "doc"
    return None


def max_article_bytes() -> int:
    """The size limit of one article's text: ``$RAG_MAX_ARTICLE_MB`` megabytes (default 2, far above news)."""
    return int(env_number("RAG_MAX_ARTICLE_MB", 2, 0.001, 10_000, whole=False) * 1_000_000)


def check_size(source: object, doc: Document, limit: int) -> None:
    """Refuse an article above ``limit`` bytes of text: it would take hours to embed and is not news."""
    size = len(doc.text.encode("utf-8"))
    if size > limit:
        raise InputError(
            f"{source}: article {doc.id!r} is {size / 1e6:.3g} MB of text, above the {limit / 1e6:g} MB limit "
            "per article; split it into articles, or raise the limit with RAG_MAX_ARTICLE_MB"
        )


def load_documents(paths: Iterable[str | Path]) -> list[Document]:
    """Read every path (file or folder); raise on the first unusable one. Duplicate ids are an error, and
    so is an article larger than ``max_article_bytes()``."""
    docs: dict[str, Document] = {}
    limit = max_article_bytes()
    for raw in paths:
        for doc in _read_path(Path(raw)):
            doc = _encodable(doc, raw)
            check_size(raw, doc, limit)
            keep_unique(docs, doc, raw)
    return list(docs.values())


def _encodable(doc: Document, source: str | Path) -> Document:
    """``doc`` with text that UTF-8 can store: an id that is not (a file name in another encoding, a JSONL id
    with a lone surrogate) is an ``InputError``; lone surrogates in the text or title are dropped."""
    try:
        doc.id.encode("utf-8")
    except UnicodeEncodeError:
        raise InputError(
            f"{source}: the name {doc.id!r} is not valid UTF-8 (a file name in another encoding?); rename it"
        ) from None
    return dataclasses.replace(doc, text=valid_text(doc.text), title=valid_text(doc.title))


def keep_unique(docs: dict[str, Document], doc: Document, source: str | Path) -> None:
    """Add ``doc`` to ``docs`` by id; the same id again with other content is an ``InputError`` naming ``source``."""
    if doc.id in docs and docs[doc.id] != doc:
        raise InputError(f"{source}: document id {doc.id!r} appears twice with different content; ids must be unique")
    docs[doc.id] = doc


def _read_path(path: Path) -> Iterator[Document]:
    if not path.exists():
        raise InputError(f"{path}: no such file or folder; check the path")
    if not path.is_dir() and not path.is_file():  # reading a pipe or a device would wait forever
        raise InputError(f"{path}: not a regular file (a pipe or a device?); give article files or folders")
    if path.is_dir():
        files = sorted(p for p in path.rglob("*") if p.is_file() and not p.name.startswith("."))
        for file in files:
            if kind_of(file) is None and sniff(file) is None:
                feed = file.suffix.lower() in FEED_SUFFIXES
                hint = "; a feed is read by `rag index add FEED --name NAME`" if feed else ""
                log.warning("%s: skipped, not one of %s%s", file, SUPPORTED, hint)
                continue
            yield from read_file(file, doc_id=file.relative_to(path).as_posix())
        return
    yield from read_file(path, doc_id=path.name)


def read_file(path: Path, doc_id: str | None = None) -> Iterator[Document]:
    """The articles in one file, read as its bytes say (a PDF or DOCX whatever its name), else by its name."""
    kind = sniff(path) or kind_of(path)
    if kind is None:
        raise InputError(f"{path}: unknown file type {path.suffix or '(none)'}; give {SUPPORTED}")
    if kind == "squad":
        yield from read_squad(path)
        return
    if kind == "doc":
        raise InputError(f"{path}: an old Word/Office 97-2003 file (.doc), which is not read; save it as .docx or PDF")
    if kind in ("pdf", "docx"):
        text = read_pdf(path) if kind == "pdf" else read_docx(path, max_article_bytes())
        if not text.strip():
            log.warning("%s: no text in the document, skipped", path)
            return
        yield text_document(doc_id or path.name, text)
        return
    text = read_text(path)
    if not text.strip():
        log.warning("%s: empty file, skipped", path)
        return
    if kind == "jsonl":
        yield from _read_jsonl(path, text)
    elif kind == "html":
        yield from _read_html(path, text, doc_id or path.name)
    else:
        yield text_document(doc_id or path.name, text, markdown=path.suffix.lower() != ".txt")


def read_text(path: Path) -> str:
    """Decode by content (byte-order marks, UTF-8, else detected, see ``rag.sources.decode``); warn when not
    UTF-8; refuse binary files and garbage."""
    try:
        text, encoding = decode_bytes(path.read_bytes())
    except NotText as e:
        raise InputError(f"{path}: looks like a binary file, not text ({e}); give {SUPPORTED} as text") from e
    if encoding not in ("utf-8", "utf-8-sig"):
        log.warning("%s: not UTF-8, decoded as %s; save it as UTF-8 to silence this", path, encoding)
    return text


def text_document(doc_id: str, text: str, title: str | None = None, markdown: bool = False, **meta) -> Document:
    """Build a Document from raw article text: the dateline (also below a headline) gives the date and place
    unless ``meta`` does, the credit line the source unless ``meta`` does; the title is ``title``, else the
    headline above the dateline, else derived from the text.

    >>> doc = text_document("a.txt", "Ponte riaperto\\ndi Anna Neri\\nPavia, 5 marzo 2026 – Il ponte...\\n(ANSA).")
    >>> doc.title, doc.date, doc.place, doc.source
    ('Ponte riaperto', '2026-03-05', 'Pavia', 'ANSA')
    """
    text = text.strip()
    head = read_head(text)
    dateline = head.dateline
    date = meta.pop("date", None) or (dateline.date if dateline else None)
    place = meta.pop("place", None) or (dateline.place if dateline else None)
    source = meta.pop("source", None) or find_credit(text, dateline.end if dateline else 0)
    body = text[dateline.end :] if dateline else text
    title = title or _headline(head.title(markdown)) or derive_title(body, markdown)
    return Document(id=doc_id, text=text, title=title, date=date, place=place, source=source, **meta)


def _headline(line: str | None) -> str | None:
    if line is None or len(line) <= HEADLINE_CHARS:
        return line
    return line[:HEADLINE_CHARS].rsplit(" ", 1)[0] + "…"


def _read_html(path: Path, markup: str, doc_id: str) -> Iterator[Document]:
    page = extract_page(markup)
    if page is None:
        log.warning("%s: no article text found in the page, skipped", path)
        return
    yield text_document(doc_id, page.text, title=page.title, **page.metadata())


def derive_title(body: str, markdown: bool = False) -> str:
    """A Markdown heading, a short first line, or the opening words of the first sentence."""
    first_line = body.strip().splitlines()[0].strip() if body.strip() else ""
    if markdown and first_line.startswith("#"):
        return first_line.lstrip("#").strip()
    if len(first_line) <= TITLE_CHARS and not first_line.endswith((".", "!", "?", ":")):
        return first_line
    sentence = re.split(r"(?<=[.!?])\s", first_line, maxsplit=1)[0]
    if len(sentence) <= TITLE_CHARS:
        return sentence.rstrip(".")
    return sentence[:TITLE_CHARS].rsplit(" ", 1)[0] + "…"


def jsonl_objects(path: Path, text: str, expected: str) -> Iterator[tuple[int, dict]]:
    """(line number, object) for each non-blank line; a line that is not a JSON object is an InputError
    naming ``path:line`` (``expected`` says what the object should hold). Lines end at "\n" only: U+2028 and
    U+0085, legal inside JSON strings (and common in scraped text), do not cut a line."""
    for number, line in enumerate(text.split("\n"), 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as e:
            raise InputError(f"{path}:{number}: not valid JSON ({e.msg}); fix or remove that line") from e
        if not isinstance(row, dict):
            raise InputError(f"{path}:{number}: expected an object with {expected}")
        yield number, row


def _read_jsonl(path: Path, text: str) -> Iterator[Document]:
    for number, row in jsonl_objects(path, text, "'id' and 'text'"):
        for field in ("id", "text"):
            value = row.get(field)
            if isinstance(value, bool) or not isinstance(value, str | int) or not str(value).strip():
                raise InputError(
                    f"{path}:{number}: field {field!r} is {_shown(value)}; every article needs 'id' "
                    "(a string or a whole number) and 'text'"
                )
        if not isinstance(row["text"], str):
            raise InputError(f"{path}:{number}: field 'text' must be a string (the article's text)")
        for field in JSONL_STRINGS:
            value = row.get(field)
            if value is not None and not isinstance(value, str):
                hint = ' such as "2026-03-01"' if field == "date" else ""
                raise InputError(
                    f"{path}:{number}: field {field!r} is {_shown(value)}; write it as a string{hint}, or leave it out"
                )
        meta = {k: row[k].strip() for k in ("date", "source", "url", "place") if (row.get(k) or "").strip()}
        if "date" in meta and not _is_day(meta["date"]):
            raise InputError(
                f"{path}:{number}: field 'date' is {meta['date']!r}; write the article's day as YYYY-MM-DD "
                "(date filters read it), or leave the field out"
            )
        title = (row.get("title") or "").strip() or None
        yield text_document(str(row["id"]), row["text"], title=title, **meta)


def _shown(value: object) -> str:
    """A JSON value as the user wrote it, with its kind: ``["lista"] (a list)``, ``20260301 (a number)``."""
    if value is None:
        return "missing"
    kinds = {bool: "true/false", int: "a number", float: "a number", list: "a list", dict: "an object"}
    kind = kinds.get(type(value), "a string")
    shown = json.dumps(value, ensure_ascii=False)
    shown = shown if len(shown) <= 40 else shown[:37] + "..."
    return "empty" if kind == "a string" and not value.strip() else f"{shown} ({kind})"


def _is_day(text: str) -> bool:
    """Whether ``text`` is a day ``YYYY-MM-DD`` or a timestamp starting with one (not "20260301", which
    Python's ISO reader also takes)."""
    if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", text[:10]):
        return False
    try:
        date.fromisoformat(text[:10])
    except ValueError:
        return False
    return len(text) == 10 or text[10] in "T "


def read_squad_json(path: Path) -> list[dict]:
    """Return the ``data`` list of a SQuAD v1.1 file, checking its shape."""
    try:
        if path.name.lower().endswith(".gz"):
            with gzip.open(path, "rt", encoding="utf-8") as handle:
                payload = json.load(handle)
        else:
            payload = json.loads(read_text(path))
    except (OSError, EOFError, json.JSONDecodeError, UnicodeDecodeError) as e:
        raise InputError(f"{path}: not a readable SQuAD JSON file ({e}); give SQuAD v1.1 JSON or .json.gz") from e
    if not isinstance(payload, dict) or not isinstance(payload.get("data"), list):
        raise InputError(f"{path}: no top-level 'data' list; expected SQuAD v1.1 format")
    for i, article in enumerate(payload["data"]):
        if not isinstance(article, dict) or not isinstance(article.get("title"), str):
            raise InputError(f"{path}: data[{i}].title is missing; every SQuAD article needs a title")
        if not isinstance(article.get("paragraphs"), list):
            raise InputError(f"{path}: data[{i}].paragraphs is missing; expected SQuAD v1.1 format")
        for j, para in enumerate(article["paragraphs"]):
            if not isinstance(para, dict) or not isinstance(para.get("context"), str):
                raise InputError(f"{path}: data[{i}].paragraphs[{j}].context is missing; expected SQuAD v1.1 format")
            if not isinstance(para.get("qas", []), list):
                raise InputError(f"{path}: data[{i}].paragraphs[{j}].qas must be a list")
    return payload["data"]


def squad_doc_id(title: str, paragraph: int) -> str:
    return f"{title}#{paragraph}"


def read_squad(path: Path) -> Iterator[Document]:
    for article in read_squad_json(path):
        title = article["title"].replace("_", " ")
        for j, para in enumerate(article["paragraphs"]):
            if para["context"].strip():
                yield Document(id=squad_doc_id(article["title"], j), text=para["context"].strip(), title=title)

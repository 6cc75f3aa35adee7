import json
import logging

import pytest

from rag.errors import InputError
from rag.sources.ingest import load_documents

from tests.conftest import SQUAD_DEV, write


def test_folder_is_read_recursively_with_relative_ids(tmp_path):
    write(tmp_path / "a.txt", "Roma, 3 dicembre 2025 – Primo articolo. Testo.")
    write(tmp_path / "sub" / "b.md", "# Titolo vero\n\nSecondo articolo.")
    docs = {d.id: d for d in load_documents([tmp_path])}
    assert set(docs) == {"a.txt", "sub/b.md"}
    assert docs["sub/b.md"].title == "Titolo vero"
    assert docs["a.txt"].date == "2025-12-03"


def test_jsonl_articles(tmp_path):
    rows = [
        {"id": "x1", "title": "Uno", "text": "Testo uno.", "date": "2025-01-02", "source": "ANSA", "url": "http://x"},
        {"id": 2, "text": "Kiev, 2 febbraio 2026 – Testo due senza titolo."},
    ]
    path = write(tmp_path / "a.jsonl", "\n".join(json.dumps(r) for r in rows) + "\n\n")
    docs = {d.id: d for d in load_documents([path])}
    assert docs["x1"].source == "ANSA" and docs["x1"].date == "2025-01-02" and docs["x1"].title == "Uno"
    assert docs["2"].date == "2026-02-02" and docs["2"].title.startswith("Testo due")


def test_jsonl_strings_may_hold_unicode_line_separators(tmp_path):
    # an audit: a raw U+2028 or U+0085 inside a string (legal JSON, common in scraped text) split the line
    body = " Il consiglio comunale ha approvato il bilancio." * 5
    rows = [{"id": "a", "text": f"Prima riga.\u2028Seconda riga.{body}"}, {"id": "b", "text": f"Uno.\u0085Due.{body}"}]
    text = "\r\n".join(json.dumps(r, ensure_ascii=False) for r in rows)
    assert "\u2028" in text and "\u0085" in text
    docs = {d.id: d for d in load_documents([write(tmp_path / "a.jsonl", text)])}
    assert set(docs) == {"a", "b"} and "Seconda riga" in docs["a"].text


def test_a_pipe_given_as_an_article_is_refused_not_waited_on(tmp_path):
    # an audit: `rag index add notes.txt` where notes.txt is a FIFO hung forever
    import os

    fifo = tmp_path / "fifo.txt"
    os.mkfifo(fifo)
    with pytest.raises(InputError, match="not a regular file"):
        load_documents([fifo])


def test_malformed_jsonl_line_is_named(tmp_path):
    path = write(tmp_path / "bad.jsonl", '{"id": "a", "text": "ok"}\n{"id": "b", "text": \n')
    with pytest.raises(InputError, match=r"bad.jsonl:2: not valid JSON"):
        load_documents([path])


def test_jsonl_missing_text_is_named(tmp_path):
    path = write(tmp_path / "bad.jsonl", '{"id": "a"}\n')
    with pytest.raises(InputError, match=r"bad.jsonl:1: field 'text'"):
        load_documents([path])


@pytest.mark.parametrize(
    "row, message",
    [
        (
            {"id": "c", "text": "Allerta meteo.", "date": "ieri"},
            r"a.jsonl:1: field 'date' is 'ieri'; write .* YYYY-MM-DD",
        ),
        ({"id": "c", "text": "Allerta meteo.", "date": "2026-02-30"}, r"field 'date' is '2026-02-30'"),
        ({"id": "c", "text": 123}, r"a.jsonl:1: field 'text' must be a string"),
        # the issue: a traceback (exit 1), or a value stored as Python's repr of it
        ({"id": "c", "text": "Allerta.", "title": ["lista"]}, r'a.jsonl:1: field .title. is \["lista"\] \(a list\)'),
        (
            {"id": "c", "text": "Allerta.", "date": 20260301},
            r'a.jsonl:1: field .date. is 20260301 \(a number\); write it as a string such as "2026-03-01"',
        ),
        ({"id": "c", "text": "Allerta.", "url": {"a": 1}}, r'a.jsonl:1: field .url. is \{"a": 1\} \(an object\)'),
        # hostile cases beside them
        ({"id": "c", "text": "Allerta.", "date": "20260301"}, r"field 'date' is '20260301'; write .* YYYY-MM-DD"),
        ({"id": "c", "text": "Allerta.", "source": True}, r"a.jsonl:1: field 'source' is true \(true/false\)"),
        ({"id": "c", "text": "Allerta.", "place": 3.5}, r"a.jsonl:1: field 'place' is 3.5 \(a number\)"),
        ({"id": True, "text": "Allerta."}, r"a.jsonl:1: field 'id' is true \(true/false\)"),
        ({"id": ["x"], "text": "Allerta."}, r'a.jsonl:1: field .id. is \["x"\] \(a list\)'),
        (
            {"id": "c", "text": "Allerta.", "title": {"it": "x" * 80}},
            r'field .title. is \{"it": "x+\.\.\. \(an object\)',
        ),
    ],
)
def test_jsonl_fields_of_the_wrong_kind_are_named(tmp_path, row, message):
    # an audit: "date": "ieri" was stored, and the article then dropped out of every date-filtered search
    path = write(tmp_path / "a.jsonl", json.dumps(row) + "\n")
    with pytest.raises(InputError, match=message):
        load_documents([path])


def test_jsonl_wrong_types_exit_2_with_one_line_from_the_command_line(tmp_path):
    import subprocess
    import sys

    bad = write(
        tmp_path / "a.jsonl",
        json.dumps({"id": "ok", "text": "x"}) + "\n" + json.dumps({"id": "c", "text": "y", "title": ["lista"]}) + "\n",
    )
    run = subprocess.run(
        [sys.executable, "-m", "rag", "index", "build", str(bad), "--name", str(tmp_path / "idx")],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 2 and "Traceback" not in run.stderr
    assert (
        run.stderr.strip()
        .splitlines()[-1]
        .endswith("a.jsonl:2: field 'title' is [\"lista\"] (a list); write it as a string, or leave it out")
    )
    assert not (tmp_path / "idx").exists()


def test_jsonl_null_and_blank_optional_fields_are_left_out(tmp_path):
    row = {
        "id": "c",
        "text": "Roma, 3 marzo 2026 – Allerta meteo.",
        "title": None,
        "date": "",
        "source": " ",
        "url": None,
    }
    (doc,) = load_documents([write(tmp_path / "a.jsonl", json.dumps(row) + "\n")])
    assert (doc.title, doc.date, doc.source, doc.url) == ("Allerta meteo", "2026-03-03", None, None)


def test_jsonl_dates_may_be_timestamps(tmp_path):
    path = write(tmp_path / "a.jsonl", json.dumps({"id": "c", "text": "x y", "date": "2026-02-02T10:00:00"}) + "\n")
    assert load_documents([path])[0].date.startswith("2026-02-02")


def test_squad_dev_import():
    docs = load_documents([SQUAD_DEV])
    assert len(docs) == 480
    assert docs[0].id == "Amazzonia#0" and docs[0].title == "Amazzonia"
    assert all("#" in d.id and d.text for d in docs)


def test_squad_missing_context_is_named(tmp_path):
    bad = {"data": [{"title": "T", "paragraphs": [{"qas": []}]}]}
    path = write(tmp_path / "s.json", json.dumps(bad))
    with pytest.raises(InputError, match=r"data\[0\]\.paragraphs\[0\]\.context is missing"):
        load_documents([path])


def test_empty_file_is_skipped_with_warning(tmp_path, caplog):
    write(tmp_path / "empty.txt", "   \n")
    write(tmp_path / "full.txt", "Un articolo.")
    with caplog.at_level(logging.WARNING):
        docs = load_documents([tmp_path])
    assert [d.id for d in docs] == ["full.txt"]
    assert "empty.txt: empty file, skipped" in caplog.text


def test_binary_file_is_refused(tmp_path):
    path = write(tmp_path / "x.txt", b"\x89PNG\x00\x00\x01binary")
    with pytest.raises(InputError, match="x.txt: looks like a binary file"):
        load_documents([path])


def test_cp1252_is_decoded_with_warning(tmp_path, caplog):
    path = write(tmp_path / "old.txt", "Perché è così – città".encode("cp1252"))
    with caplog.at_level(logging.WARNING):
        (doc,) = load_documents([path])
    assert doc.text == "Perché è così – città"
    assert "not UTF-8, decoded as cp1252" in caplog.text


def test_unknown_extension_and_missing_path(tmp_path):
    with pytest.raises(InputError, match=r"unknown file type \.odt"):
        load_documents([write(tmp_path / "a.odt", "x")])
    with pytest.raises(InputError, match="no such file or folder"):
        load_documents([tmp_path / "nope"])


def test_a_feed_in_a_folder_points_to_the_command_that_reads_it(tmp_path, caplog):
    write(tmp_path / "a.txt", "Roma, 3 dicembre 2025 – Testo.")
    write(tmp_path / "news.rss", "<rss></rss>")
    with caplog.at_level("WARNING"):
        assert [d.id for d in load_documents([tmp_path])] == ["a.txt"]
    assert "news.rss: skipped" in caplog.text and "rag index add FEED" in caplog.text

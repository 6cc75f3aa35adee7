from rag.sources.dateline import parse_dateline
from rag.sources.ingest import load_documents

from tests.conftest import RUTTE_DOC, SEEDS, UMEROV_DOC


def test_both_seed_datelines():
    docs = {d.id: d for d in load_documents([SEEDS])}
    assert (docs[RUTTE_DOC].place, docs[RUTTE_DOC].date) == ("Kiev", "2026-02-02")
    assert (docs[UMEROV_DOC].place, docs[UMEROV_DOC].date) == ("Roma", "2025-12-03")


def test_dateline_offsets_point_at_the_body():
    text = "Roma, 3 dicembre 2025 – Il Ministro della Difesa"
    line = parse_dateline(text)
    assert text[line.end :].startswith("Il Ministro")


def test_variants_and_non_datelines():
    assert parse_dateline("NEW YORK, 1° marzo 2024 - Borse in calo").date == "2024-03-01"
    assert parse_dateline("Milano, lunedì 5 maggio 2025 — Piove").date == "2025-05-05"
    assert parse_dateline("Il 2 febbraio 2026 Rutte sarà a Kiev") is None
    assert parse_dateline("Roma, 31 febbraio 2025 – data impossibile") is None

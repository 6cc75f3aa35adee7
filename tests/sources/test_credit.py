"""The source of a .txt/.md article read from its own credit line (it was empty for every such file, even
one ending "© Copyright ANSA"); a small set of patterns, no guessing from other words."""

import json

import pytest

from rag.sources.credit import find_credit
from rag.sources.ingest import load_documents, text_document

from tests.conftest import write

BODY = "Roma, 3 marzo 2026 – Il consiglio comunale ha approvato il bilancio con ventotto voti favorevoli."


@pytest.mark.parametrize(
    "text, source",
    [
        (f"{BODY}\n\n© Copyright ANSA", "ANSA"),
        (f"{BODY}\n\n© Copyright ANSA - Tutti i diritti riservati", "ANSA"),
        (f"{BODY}\nCopyright © 2026 Il Sole 24 Ore S.p.A. Tutti i diritti riservati.", "Il Sole 24 Ore"),
        (f"{BODY}\n(c) 2025 AGI", "AGI"),
        (f"{BODY}\nFonte: Il Sole 24 Ore", "Il Sole 24 Ore"),
        (f"{BODY}\n— Reuters", "Reuters"),
        (f"{BODY}\n– Reuters.", "Reuters"),
        (f"{BODY} (ANSA).", "ANSA"),
        (f"{BODY}\n(Adnkronos)", "Adnkronos"),
        ("Roma, 3 marzo 2026 (ANSA) – Il consiglio comunale ha approvato il bilancio.", "ANSA"),
        ("(ANSA) - ROMA, 03 MAR - Il consiglio comunale ha approvato il bilancio.", "ANSA"),
        ("MILANO (Reuters) - Borse europee in rialzo dopo i dati sull'inflazione.", "Reuters"),
        ("Il bilancio\ndi Anna Neri\nRoma, 3 marzo 2026 (AGI) – Il consiglio ha approvato.", "AGI"),
    ],
)
def test_credit_lines_give_the_source(tmp_path, text, source):
    (doc,) = load_documents([write(tmp_path / "a.txt", text)])
    assert doc.source == source


@pytest.mark.parametrize(
    "text",
    [
        f"{BODY}\n\n© RIPRODUZIONE RISERVATA",  # names no one
        f"{BODY}\nTutti i diritti riservati.",
        f"{BODY} Lo ha detto il segretario dell'Alleanza (NATO).",  # brackets, but not a news agency
        f"{BODY} Secondo l'agenzia ANSA il voto è stato rinviato.",  # a word in a sentence is not a credit
        f"{BODY}\n- punto dell'elenco",  # a Markdown list item, not a signature
        f"{BODY}\n— fine",  # a signature starts with a capital
        "© Foto ANSA\n" + BODY + "\nSecondo paragrafo.\nTerzo paragrafo.\nQuarto paragrafo.",  # a photo credit up top
        f"{BODY}\n© " + "x" * 130,  # a paragraph, not a credit line
    ],
)
def test_no_source_is_guessed_from_other_words(text):
    assert text_document("a.txt", text).source is None


def test_an_agency_in_brackets_counts_only_where_agency_copy_puts_it():
    assert find_credit("Il consiglio ha approvato (ANSA) - il resto.\nSecondo paragrafo.") is None
    assert find_credit("Roma, 3 marzo 2026 – Il consiglio (ANSA) - il resto.", body_start=24) is None


def test_the_metadata_source_wins_over_the_credit_line(tmp_path):
    row = {"id": "a", "text": f"{BODY}\n© Copyright ANSA", "source": "Il Giorno"}
    (doc,) = load_documents([write(tmp_path / "a.jsonl", json.dumps(row) + "\n")])
    assert doc.source == "Il Giorno"
    row = {"id": "b", "text": f"{BODY}\n© Copyright ANSA"}
    (doc,) = load_documents([write(tmp_path / "b.jsonl", json.dumps(row) + "\n")])
    assert doc.source == "ANSA"

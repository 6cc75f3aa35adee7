"""Articles as people write them: a headline (and a kicker, a subtitle, a byline) above the dateline.

The headline is the title, and the dateline below it still gives the date and the place (before, 4 of 6
realistic articles got neither, without a word, and dropped out of every date-filtered search).
"""

import pytest

from rag.index.indexer import build_index
from rag.index.retriever import Retriever
from rag.sources.dateline import parse_dateline, read_head
from rag.sources.ingest import load_documents, text_document

from tests.conftest import write

BODY = (
    "Il consiglio comunale ha approvato il bilancio di previsione con ventotto voti favorevoli e dodici "
    "contrari, dopo una seduta durata nove ore e trenta emendamenti respinti."
)

# (file name, text, title, date, place): six articles as a new user wrote them
ARTICLES = [
    ("bilancio.md", f"# Il Comune approva il bilancio\n\nRoma, 3 marzo 2026 – {BODY}", "Il Comune approva il bilancio",
     "2026-03-03", "Roma"),
    ("sciopero.txt", f"Sciopero dei treni venerdì\nMilano, 12 marzo 2026 - {BODY}", "Sciopero dei treni venerdì",
     "2026-03-12", "Milano"),
    ("ponte.txt",
     f"Riapre il ponte sul Ticino\nDopo due anni di lavori, il passaggio pedonale torna aperto\ndi Anna Neri\n\n"
     f"Pavia, 5 marzo 2026 – {BODY}\n\n© Copyright ANSA",
     "Riapre il ponte sul Ticino", "2026-03-05", "Pavia"),
    ("fiera.md",
     f"## Bari, la fiera del libro chiude\n\n*Quarantamila visitatori in cinque giorni*\n\n**di Marco Bianchi**\n\n"
     f"**Bari, 27 aprile 2026** – {BODY}",
     "Bari, la fiera del libro chiude", "2026-04-27", "Bari"),
    ("porto.txt", f"Napoli, nuovo terminal al porto\n\nNAPOLI, 1° aprile 2026 (ANSA) – {BODY}",
     "Napoli, nuovo terminal al porto", "2026-04-01", "NAPOLI"),
    ("neve.txt", f"Reggio Emilia, 2 febbraio 2026 – Neve in Appennino. {BODY}", "Neve in Appennino",
     "2026-02-02", "Reggio Emilia"),
]  # fmt: skip


@pytest.mark.parametrize("name, text, title, day, place", ARTICLES, ids=[a[0] for a in ARTICLES])
def test_a_headline_above_the_dateline_is_the_title_and_the_dateline_still_counts(
    tmp_path, name, text, title, day, place
):
    (doc,) = load_documents([write(tmp_path / name, text)])
    assert (doc.title, doc.date, doc.place) == (title, day, place)
    assert doc.text == text.strip()  # nothing of the article is dropped


def test_undated_headline_articles_are_no_longer_dropped_by_date_filters(tmp_path, fake_embedder):
    for name, text, *_ in ARTICLES:
        write(tmp_path / "news" / name, text)
    build_index(load_documents([tmp_path / "news"]), tmp_path / "idx", fake_embedder)
    retriever = Retriever.load(tmp_path / "idx", embedder=fake_embedder)
    hits = retriever.search("bilancio consiglio comunale", k=10, filters={"date_from": "2026-03-01"})
    assert {h.doc_id for h in hits} == {"bilancio.md", "sciopero.txt", "ponte.txt", "fiera.md", "porto.txt"}


def test_a_byline_is_never_the_title():
    doc = text_document("a.txt", f"di Mario Rossi\nTorino, 4 marzo 2026 – Sciopero dei tram. {BODY}")
    assert (doc.title, doc.date, doc.place) == ("Sciopero dei tram", "2026-03-04", "Torino")
    head = read_head("Dal nostro inviato Luca Verdi\nKiev, 2 febbraio 2026 – Testo")
    assert head.title() is None and head.dateline.place == "Kiev"


def test_a_long_headline_is_cut_at_a_word():
    headline = "Sciopero " + "dei trasporti pubblici in tutta la regione " * 5
    doc = text_document("a.txt", f"{headline}\nTorino, 4 marzo 2026 – {BODY}")
    assert doc.date == "2026-03-04" and doc.title.endswith("…") and len(doc.title) <= 151
    assert headline.startswith(doc.title[:-1])


# Hostile: a date further down is not a dateline, and no date is made up.
@pytest.mark.parametrize(
    "text",
    [
        # the body's first paragraph, long, then a paragraph that opens with a place and a date
        f"{BODY} {BODY}\nRoma, 3 marzo 2026 – la seduta riprende.",
        # more lines above it than a headline, kicker, subtitle and byline
        "Uno\nDue\nTre\nQuattro\nCinque\nSei\nRoma, 3 marzo 2026 – Testo.",
        # a date inside a sentence
        f"Il vertice\nIl 2 febbraio 2026 Rutte sarà a Kiev. {BODY}",
        # an impossible date below a headline
        f"Il vertice\nRoma, 31 febbraio 2026 – {BODY}",
    ],
    ids=["paragraph-above", "six-lines-above", "date-in-sentence", "impossible-date"],
)
def test_no_dateline_is_read_below_the_head_or_made_up(text):
    doc = text_document("a.txt", text)
    assert (doc.date, doc.place) == (None, None)


def test_a_headline_without_a_dateline_keeps_todays_title_rules(tmp_path):
    (doc,) = load_documents([write(tmp_path / "a.md", f"# Titolo vero\n\n{BODY}")])
    assert (doc.title, doc.date) == ("Titolo vero", None)
    (doc,) = load_documents([write(tmp_path / "b.txt", f"Un titolo\n\n{BODY}")])
    assert (doc.title, doc.date) == ("Un titolo", None)


# Press releases: a label above the headline, a numeric dateline (day first, as Italians write it).
def test_a_press_release_label_is_not_the_title_and_a_numeric_dateline_counts(tmp_path):
    text = f"COMUNICATO STAMPA\n\nNuovo reparto all'ospedale di Niguarda\n\nMilano, 05/03/2026 - {BODY}"
    (doc,) = load_documents([write(tmp_path / "comunicato.txt", text)])
    assert (doc.title, doc.date, doc.place) == ("Nuovo reparto all'ospedale di Niguarda", "2026-03-05", "Milano")
    head = read_head(
        "Comunicato stampa n. 12\nBando per le aree interne\na cura dell'Ufficio stampa\nPerugia, 9.4.2026 – x"
    )
    assert (head.title(), head.dateline.date, head.dateline.place) == (
        "Bando per le aree interne",
        "2026-04-09",
        "Perugia",
    )


def test_numeric_datelines_and_what_is_not_one():
    assert parse_dateline("Milano, 05/03/2026 - Testo").date == "2026-03-05"
    assert parse_dateline("ROMA, 1.12.2025 – Testo").date == "2025-12-01"
    assert parse_dateline("Roma, 31/02/2026 - data impossibile") is None
    assert parse_dateline("Roma, 3/15/2026 - il mese prima, all'americana") is None
    assert parse_dateline("Roma, 05/03.2026 - separatori diversi") is None
    assert parse_dateline("Roma, 05/03/26 - anno a due cifre") is None
    assert parse_dateline("Il 05/03/2026 a Roma") is None


# Hostile: a headline that opens with "Di" or "By" is a headline, not a byline (it was dropped for the next line).
@pytest.mark.parametrize(
    "headline", ["Di notte arriva la neve", "Di Maio incontra Conte", "Diana Ross in concerto", "By the river"]
)
def test_a_headline_opening_like_a_byline_is_still_the_title(headline):
    doc = text_document("a.txt", f"{headline}\ndi Anna Neri\nRoma, 3 marzo 2026 – {BODY}")
    assert (doc.title, doc.date) == (headline, "2026-03-03")


@pytest.mark.parametrize(
    "byline",
    ["di Mario Rossi", "DI MARIO ROSSI", "**di Maria De Luca**", "di Mario Rossi e Luca Bianchi",
     "di M. Rossi, A. Neri", "by John Smith", "a cura della Redazione", "dal nostro corrispondente a Bruxelles",
     "Dalla nostra inviata Sara Blu"],
)  # fmt: skip
def test_bylines_are_never_the_title(byline):
    doc = text_document("a.md", f"{byline}\n\nRoma, 3 marzo 2026 – Sciopero dei tram. {BODY}", markdown=True)
    assert (doc.title, doc.date) == ("Sciopero dei tram", "2026-03-03")

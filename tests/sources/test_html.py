"""Saved web pages (.html/.htm) read by trafilatura: article text only, with the page's metadata."""

import logging

from rag.index.indexer import build_index
from rag.index.retriever import Retriever
from rag.sources.html import extract_page
from rag.sources.ingest import load_documents

from tests.conftest import ROOT, write

NEWS = ROOT / "tests" / "fixtures" / "news"
BOILERPLATE = ("cookie", "Abbonati", "P.IVA", "PUBBLICITÀ", "Leggi anche", "bellissima edizione", "Accedi", "Tribunale")


def test_a_folder_of_saved_pages_gives_titles_dates_sources_and_urls():
    docs = {d.id: d for d in load_documents([NEWS])}
    assert set(docs) == {"ponte-ticino.html", "sciopero-torino.html", "regioni/fiera-libro-bari.htm"}
    ponte, sciopero, fiera = (
        docs["ponte-ticino.html"],
        docs["sciopero-torino.html"],
        docs["regioni/fiera-libro-bari.htm"],
    )
    assert ponte.title == "Pavia, inaugurato il nuovo ponte pedonale sul Ticino"  # not the <title> with the site
    assert (ponte.date, ponte.place, ponte.source) == ("2026-03-05", "Pavia", "La Gazzetta del Ticino")
    assert ponte.url == "https://www.gazzettadelticino.example/cronaca/2026/03/05/ponte-pedonale-ticino"
    assert ponte.text.startswith("Pavia, 5 marzo 2026 – La sindaca") and "Bellandi" in ponte.text
    # JSON-LD metadata
    assert (fiera.title, fiera.date, fiera.source) == (
        "Bari, la fiera del libro chiude con quarantamila visitatori",
        "2026-04-27",
        "Puglia Notizie",
    )
    # No date in the markup (and a "42/2019" in the footer that must not be taken for one): the dateline gives it.
    assert (sciopero.date, sciopero.place) == ("2026-03-12", "Torino")
    assert sciopero.title == "Sciopero dei trasporti a Torino venerdì: le fasce garantite"
    assert sciopero.source == "cronacasubalpina.example"  # no site name: the host of the canonical URL
    for doc in docs.values():
        assert not [w for w in BOILERPLATE if w.lower() in doc.text.lower()], doc.id


def test_pages_index_and_are_found(tmp_path, fake_embedder):
    build_index(load_documents([NEWS]), tmp_path / "idx", fake_embedder)
    hits = Retriever.load(tmp_path / "idx", embedder=fake_embedder).search("ponte pedonale Bellandi", k=1)
    assert hits[0].doc_id == "ponte-ticino.html" and hits[0].source == "La Gazzetta del Ticino"


def test_a_page_without_an_article_is_skipped_with_a_warning(tmp_path, caplog):
    write(
        tmp_path / "indice.html",
        "<html><head><title>Home</title></head><body><nav><a href='/'>Home</a></nav></body></html>",
    )
    write(tmp_path / "ok.htm", (NEWS / "ponte-ticino.html").read_text(encoding="utf-8"))
    with caplog.at_level(logging.WARNING):
        docs = load_documents([tmp_path])
    assert [d.id for d in docs] == ["ok.htm"]
    assert "indice.html: no article text found in the page, skipped" in caplog.text


def test_page_url_is_kept_when_the_page_names_no_canonical_one():
    page = extract_page(
        "<html><body><article><p>Roma, 2 febbraio 2026 – Il consiglio comunale ha approvato il bilancio "
        "con ventotto voti favorevoli e dodici contrari dopo una seduta durata nove ore.</p></article></body></html>",
        url="http://127.0.0.1:8000/bilancio.html",
    )
    assert page.url == "http://127.0.0.1:8000/bilancio.html" and page.date is None and page.title is None


BANNER = (
    "<p>Questo sito utilizza cookie tecnici e, previo tuo consenso, cookie di profilazione e di terze parti per "
    "migliorare la tua esperienza e mostrarti pubblicità in linea con le tue preferenze.</p>"
    "<button>Accetta tutti</button><button>Rifiuta</button><a href='/privacy'>Cookie policy</a>"
)
ARTICLE = (
    "<p>Roma, 3 marzo 2026 – Il Garante della privacy ha sanzionato un editore per centomila euro: il suo banner "
    "dei cookie non permetteva di rifiutare il tracciamento con la stessa facilità con cui lo si accettava.</p>"
)


def test_a_page_holding_only_a_cookie_banner_is_not_an_article(tmp_path, caplog):
    # the issue: indexed as an article titled "Home", from the command line and from the page
    write(
        tmp_path / "home.html",
        f"<html><head><title>Home</title></head><body><div class='cookie-banner' role='dialog'>{BANNER}</div>"
        "</body></html>",
    )
    # hostile: the same notice with no class that names it, and a consent tool's dialog
    write(tmp_path / "plain.html", f"<html><head><title>Home</title></head><body><div>{BANNER}</div></body></html>")
    write(
        tmp_path / "cmp.htm",
        f"<html><head><title>Benvenuto</title></head><body><div id='iubenda-cs-banner'>{BANNER}</div>"
        f"<div role='dialog' aria-modal='true'>{BANNER}</div></body></html>",
    )
    write(tmp_path / "ok.htm", (NEWS / "ponte-ticino.html").read_text(encoding="utf-8"))
    with caplog.at_level(logging.WARNING):
        docs = load_documents([tmp_path])
    assert [d.id for d in docs] == ["ok.htm"]
    for name in ("home.html", "plain.html", "cmp.htm"):
        assert f"{name}: no article text found in the page, skipped" in caplog.text


def test_a_cookie_banner_beside_an_article_is_left_out_of_its_text():
    page = extract_page(
        f"<html><body><div class='consent-box'>{BANNER}</div><div id='iubenda-cs-banner'>{BANNER}</div>{ARTICLE}"
        "</body></html>"
    )
    assert page.text.startswith("Roma, 3 marzo 2026 – Il Garante") and "Questo sito" not in page.text


def test_a_news_item_about_cookies_is_still_an_article():
    # hostile the other way: every line speaks of cookies and consent, but it is news (a dateline, no "we use")
    page = extract_page(f"<html><body><article>{ARTICLE}</article></body></html>")
    assert page is not None and "Garante" in page.text
    # the page's own frame is never dropped, even when its class names a consent state
    page = extract_page(f"<html><body class='cookie-consent-given'><article>{ARTICLE}</article></body></html>")
    assert page is not None and "Garante" in page.text
    for wrapper in (f"<article>{ARTICLE}</article>", f"<h1>Cookie, multa a un editore</h1>{ARTICLE}"):
        page = extract_page(f"<html><body><div class='page cookies-accepted'>{wrapper}</div></body></html>")
        assert page is not None and "Garante" in page.text

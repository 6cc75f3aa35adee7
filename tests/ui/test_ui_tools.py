"""The chat page's everyday tools (filters, documents and delete, history kept in the browser, export,
[n] links, relevance, examples), driven through the controller with a fake assistant (fast)."""

from __future__ import annotations

import pytest
from rag.ui import tools
from rag.ui.strings import STRINGS
from rag.ui.view import Turn, chat_messages, conversation_markdown

from rag.index.catalog import examples_for, write_examples
from rag.index.indexer import build_index
from rag.index.retriever import Retriever
from rag.sources.ingest import load_documents
from rag.stores.folder import Store

from tests.conftest import ROOT, RUTTE_DOC, SEEDS, UMEROV_DOC
from tests.ui.test_ui import FakeAssistant

IT = STRINGS["it"]
NEWS = ROOT / "tests" / "fixtures" / "news"
MODEL = "qwen2.5-1.5b-instruct"


@pytest.fixture
def controller(tmp_path, fake_embedder):
    from rag.ui import app

    build_index(load_documents([SEEDS, NEWS]), tmp_path / "index" / "notizie", fake_embedder)

    def make(index, model):
        return FakeAssistant(Retriever.load(index, embedder=fake_embedder))

    return app.ChatController(app.Assistants(make), "it")


def ask(controller, question, turns=(), **filters):
    return list(controller.respond(question, list(turns), "notizie", 4, MODEL, "medium", **filters))[-1]


def test_date_and_source_filters_reach_the_search(controller):
    messages, panel, turns, _ = ask(
        controller, "ponte pedonale sul Ticino", date_from="2026-03-01", date_to="2026-03-31"
    )
    call = controller.assistants.get("notizie", MODEL).calls[-1]
    assert (call["filters"].date_from, call["filters"].date_to) == ("2026-03-01", "2026-03-31")
    assert 'data-doc="ponte-ticino.html"' in panel
    messages, panel, turns, _ = ask(controller, "Bruxelles Umerov Hnatov", sources=["Puglia Notizie"])
    assert f'data-doc="{UMEROV_DOC}"' not in panel  # the seeds have no source: filtered out
    assert controller.assistants.get("notizie", MODEL).calls[-1]["filters"].sources == {"Puglia Notizie"}


def test_a_bad_date_is_said_in_the_page_words(controller):
    messages, panel, turns, _ = ask(controller, "ponte", date_from="5 marzo")
    assert turns[-1].status == "error" and IT["bad_date"].format(value="5 marzo") in messages[-1]["content"]


def test_reversed_dates_are_said_in_the_page_words(controller):
    messages, panel, turns, _ = ask(controller, "ponte", date_from="2026-03-31", date_to="2026-03-01")
    said = IT["reversed_dates"].format(date_from="2026-03-31", date_to="2026-03-01")
    assert turns[-1].status == "error" and said in messages[-1]["content"]


def test_documents_list_latest_first_and_delete(controller):
    shown = controller.catalog("notizie", MODEL)
    rows, choices, sources = shown.rows, shown.choices, shown.sources
    assert rows[0] == [
        "Bari, la fiera del libro chiude con quarantamila visitatori",
        "27 aprile 2026",
        "Puglia Notizie",
        "regioni/fiera-libro-bari.htm",
    ]
    assert [r[3] for r in rows][-2:] == [RUTTE_DOC, UMEROV_DOC]  # 2 February 2026, 3 December 2025
    assert sources == ["La Gazzetta del Ticino", "Puglia Notizie", "cronacasubalpina.example"]
    assert ("Pavia, inaugurato il nuovo ponte pedonale sul Ticino", "ponte-ticino.html") in choices
    status = controller.delete(["ponte-ticino.html", "sciopero-torino.html"], "notizie", MODEL)
    assert status == "✓ " + IT["docs_deleted"].format(index="notizie", count=2)
    shown = controller.catalog("notizie", MODEL)
    rows, choices = shown.rows, shown.choices
    assert (
        len(rows) == 3
        and shown.status.startswith("Indice **notizie** · 3 articoli ·")
        and "ponte-ticino.html" not in [r[3] for r in rows]
    )
    _, panel, _, _ = ask(controller, "ponte pedonale sul Ticino Bellandi")
    assert "ponte-ticino.html" not in panel  # the assistant searches the index as it is now
    assert controller.delete([], "notizie", MODEL) == f"⚠ {IT['docs_none']}"
    assert controller.delete(["nope"], "notizie", MODEL).startswith("⚠ no document 'nope'")


def test_examples_fit_the_index(controller, tmp_path):
    store = Store.open(tmp_path / "index" / "notizie")
    made = examples_for(store)  # from the latest titles that are real titles (not cut first sentences)
    assert made == [
        "Che cosa sappiamo di «Bari, la fiera del libro chiude con quarantamila visitatori»?",
        "Che cosa sappiamo di «Sciopero dei trasporti a Torino venerdì: le fasce garantite»?",
        "Che cosa sappiamo di «Pavia, inaugurato il nuovo ponte pedonale sul Ticino»?",
    ]
    write_examples(store.path, ["Chi ha progettato il ponte?", "  "])
    assert examples_for(store) == ["Chi ha progettato il ponte?"]
    write_examples(store.path, [])
    assert examples_for(store) == made


def test_history_survives_a_reload_and_exports_as_markdown(controller):
    messages, panel, turns, _ = ask(controller, "Chi accompagnava Umerov a Bruxelles?")
    kept = tools.saved(turns)
    assert isinstance(kept, list) and kept[0]["question"] == "Chi accompagnava Umerov a Bruxelles?"
    again_messages, again_panel, again_turns = controller.restore(kept)  # a new page load in the same browser
    assert again_messages == messages and again_panel == panel and again_turns[0].refs == turns[0].refs
    assert controller.restore("garbage") == ([], controller.clear()[1], [])
    path, status = controller.export(again_turns)
    text = open(path, encoding="utf-8").read()
    assert path.endswith("chi-accompagnava-umerov-a-bruxelles.md") and status == ""
    assert text.startswith(f"# {IT['export_title']}\n\n## Chi accompagnava Umerov a Bruxelles?\n")
    assert "Hnatov" in text and "[1]" in text and f"1. {turns[0].refs[0]['title']} (3 dicembre 2025) — «" in text
    assert controller.export([]) == (None, f"⚠ {IT['export_empty']}")


def test_markers_link_to_their_source_card_and_relevance_reads_as_a_rank(controller):
    messages, panel, _, _ = ask(controller, "Chi accompagnava Umerov a Bruxelles?")
    assert messages[-1]["content"].endswith(r"[\[1\]](#src-1)") and 'id="src-1"' in panel
    assert "1° per pertinenza" in panel and "punteggio" not in panel
    assert "#src-" in tools.SCROLL_JS and "scrollIntoView" in tools.SCROLL_JS


def test_export_links_the_article_address():
    turn = Turn("Chi?", "Bellandi [1].", "answered")
    turn.refs = [
        {
            "number": 1,
            "doc_id": "p",
            "title": "Ponte",
            "date": "2026-03-05",
            "source": "Gazzetta",
            "url": "https://g.example/p",
            "quote": "Bellandi",
        }
    ]
    refused = Turn("Marte?", "…", "refused")
    text = conversation_markdown([turn, refused, Turn("in corso")], IT)
    assert "1. [Ponte](https://g.example/p) (Gazzetta, 5 marzo 2026) — «Bellandi»" in text
    assert f"## Marte?\n\n{IT['refused']}" in text and "in corso" not in text
    assert chat_messages([turn], IT)[1]["content"] == r"Bellandi [\[1\]](#src-1)."

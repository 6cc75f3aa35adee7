"""The page's layout in a real browser (Debian's chromium, headless, driven by Playwright), at a laptop's width
(1280 px) and a phone's (390×844): the status line, the documents list, hidden empty filters, the chat's label.

Answers come from ``tests.ui.test_ui.FakeAssistant`` over a fake-embedder index: the layout does not depend on
the models. Screenshots are saved in the test's tmp folder and their paths printed (``pytest -s``).
"""

from __future__ import annotations

import os
import socket
from types import SimpleNamespace

import pytest
from rag.ui.strings import STRINGS

from rag.index.indexer import build_index
from rag.index.retriever import Retriever
from rag.sources.ingest import load_documents

from tests.conftest import ROOT, SEEDS, FakeEmbedder, write
from tests.llm_server import bad_server
from tests.ui import test_ui_browser
from tests.ui.test_ui import FakeAssistant

pytestmark = [pytest.mark.slow, pytest.mark.browser]
browser = test_ui_browser.browser  # the fixture: Debian's chromium, headless

IT = STRINGS["it"]
NEWS = ROOT / "tests" / "fixtures" / "news"
PHONE = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True, "device_scale_factor": 2}
LAPTOP = {"viewport": {"width": 1280, "height": 900}}
UNDATED = "Il consiglio comunale ha approvato il bilancio con diciotto voti favorevoli e sei contrari.\n"


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    """The page served with fake assistants over two indexes: "notizie" (dates and sources) and "comune" (none).
    Yields (URL, index folder)."""
    from rag.ui import app

    tmp = tmp_path_factory.mktemp("ui-layout")
    embedder = FakeEmbedder()
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("RAG_INDEX_DIR", str(tmp / "index"))
        mp.setenv("RAG_CACHE_DIR", str(tmp / "cache"))
        build_index(load_documents([SEEDS, NEWS]), tmp / "index" / "notizie", embedder)
        build_index(
            load_documents([write(tmp / "comune" / "bilancio.txt", UNDATED)]), tmp / "index" / "comune", embedder
        )

        def factory(index, model, url=None, api_key=None):
            assistant = FakeAssistant(Retriever.load(index, embedder=embedder))
            if url:  # served: named as OpenAIGenerator names itself
                assistant.generator = SimpleNamespace(name=model, url=url)
            return assistant

        demo = app.build_app(factory, "notizie")
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        app.launch_app(demo, host="127.0.0.1", port=port, block=False, quiet=True)
        try:
            yield f"http://127.0.0.1:{port}/", tmp / "index"
        finally:
            demo.close()


@pytest.fixture
def url(served, monkeypatch):
    """The page's URL, with this test's index folder the page's (conftest gives each test its own)."""
    address, indexes = served
    monkeypatch.setenv("RAG_INDEX_DIR", str(indexes))
    return address


@pytest.fixture(scope="module")
def shots(tmp_path_factory):
    folder = tmp_path_factory.mktemp("screenshots")
    yield folder
    print(f"\nscreenshots: {folder}")


def open_page(browser, url, device: dict):
    context = browser.new_context(locale="it-IT", **device)
    page = context.new_page()
    page.goto(url)
    page.wait_for_selector("#question textarea", timeout=60_000)
    page.wait_for_function("() => document.querySelector('#status-line').innerText.includes('articoli')")
    return page


def box(page, selector: str) -> dict:
    return page.locator(selector).first.bounding_box()


@pytest.mark.parametrize("device", [LAPTOP, PHONE], ids=["1280", "390"])
def test_status_line_and_documents_list_read_at_the_page_width(browser, url, shots, device):
    page = open_page(browser, url, device)
    width = device["viewport"]["width"]
    status = page.locator("#status-line")
    assert status.is_visible() and box(page, "#status-line")["y"] < box(page, "#chat")["y"], "the status line is on top"
    assert status.inner_text().strip() == "Indice notizie · 5 articoli · modello Qwen2.5\u00a01.5B"

    page.click("#documents .label-wrap")
    listed = page.locator("#docs-table .doc")
    listed.first.wait_for(timeout=10_000)
    assert listed.count() == 5
    panel = box(page, "#docs-table .doc-list")
    assert panel["x"] + panel["width"] <= width
    for n in range(listed.count()):  # each item's date, source and id lie inside the list, not cut off
        item = listed.nth(n)
        item.scroll_into_view_if_needed()
        for part in (".doc-date, .doc-undated", ".doc-id"):
            piece = item.locator(part).first
            assert piece.is_visible(), (n, part)
            b = piece.bounding_box()
            assert b["x"] >= panel["x"] - 1 and b["x"] + b["width"] <= panel["x"] + panel["width"] + 1, (n, part, b)
    first = listed.first.inner_text()
    assert "27 aprile 2026" in first and "Puglia Notizie" in first and "regioni/fiera-libro-bari.htm" in first
    assert page.evaluate("document.documentElement.scrollWidth") <= width, "the page scrolls sideways"
    page.locator("#docs-table").scroll_into_view_if_needed()
    page.screenshot(path=shots / f"documents-{width}.png", full_page=True)
    page.context.close()


def test_on_a_phone_the_chat_label_never_covers_a_message(browser, url, shots):
    page = open_page(browser, url, PHONE)
    for asked, question in enumerate(("Chi accompagnava Umerov a Bruxelles? E chi altro era con lui?", "E Rutte?"), 1):
        page.fill("#question textarea", question)
        page.click("#send")
        page.wait_for_function(  # answered: its sources are shown, nothing is pending, both messages are in the chat
            """([n, asked]) => { const panel = document.querySelector('#sources');
                 const said = panel.querySelector('.src-question');
                 return said && said.innerText.includes(asked) && !panel.querySelector('.src-wait')
                     && document.querySelectorAll('#chat .message-row').length >= n; }""",
            arg=[2 * asked, question],
            timeout=60_000,
        )
    page.wait_for_timeout(500)
    label, buttons, scroller = (
        box(page, "#chat label"),
        box(page, "#chat .icon-button-wrapper"),
        box(page, "#chat .bubble-wrap"),
    )
    assert label["y"] + label["height"] <= scroller["y"] and buttons["y"] + buttons["height"] <= scroller["y"]
    # scrolled to the top, the first message starts below the label (measured in the same tick as the scroll)
    label_bottom, first_top = page.evaluate(
        """() => { const chat = document.querySelector('#chat'); chat.querySelector('.bubble-wrap').scrollTop = 0;
                   const label = chat.querySelector('label').getBoundingClientRect();
                   return [label.bottom, chat.querySelector('.message-row').getBoundingClientRect().top]; }"""
    )
    assert first_top >= label_bottom, (label_bottom, first_top)
    page.wait_for_timeout(300)
    page.screenshot(path=shots / "chat-390.png")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    page.context.close()


def test_filters_with_nothing_to_filter_by_are_hidden(browser, url, shots):
    page = open_page(browser, url, LAPTOP)
    page.click("#filters .label-wrap")
    for shown in ("#source-filter", "#date-from"):  # "notizie" has sources and dates
        page.locator(shown).wait_for(state="visible", timeout=10_000)
    page.click("#settings .label-wrap")
    page.click("#index-box input")
    page.keyboard.press("Control+A")
    page.keyboard.type("comune")
    page.locator('[data-testid="dropdown-option"]', has_text="comune").first.click()
    page.wait_for_function("() => document.querySelector('#status-line').innerText.includes('comune · 1 articolo')")
    page.wait_for_timeout(300)
    assert not page.locator("#filters").is_visible() and not page.locator("#source-filter").is_visible()
    page.screenshot(path=shots / "no-filters-1280.png", full_page=True)
    page.context.close()
    assert os.path.exists(shots / "no-filters-1280.png")


def test_the_reader_can_be_a_served_model_chosen_in_the_settings(browser, url, shots):
    """Last in this module: the page answers from a server for a while (and goes back to this machine)."""

    def chat(handler):
        raise AssertionError("the fake assistant never asks the server to write")

    with bad_server(chat, models=("qwen-servito",), key="sk-7") as server:
        port = server.split(":")[2].split("/")[0]
        for device, width in ((PHONE, 390), (LAPTOP, 1280)):
            page = open_page(browser, url, device)
            page.click("#settings .label-wrap")
            page.fill("#llm-url input, #llm-url textarea", server)
            page.fill("#llm-key input", "sk-7")
            assert page.locator("#llm-key input").get_attribute("type") == "password"
            page.click("#llm-use")
            page.wait_for_function(
                "port => document.querySelector('#status-line').innerText.includes('servito da 127.0.0.1:' + port)",
                arg=port,
                timeout=30_000,
            )
            assert "qwen-servito" in page.inner_text("#llm-status") and "sk-7" not in page.content()
            assert page.locator("#model-box").inner_text().count("qwen-servito") == 1
            assert page.evaluate("document.documentElement.scrollWidth") <= width
            page.locator("#settings").scroll_into_view_if_needed()
            page.screenshot(path=shots / f"server-{width}.png", full_page=True)
            page.fill("#llm-url input, #llm-url textarea", "")
            page.click("#llm-use")
            page.wait_for_function(
                "() => !document.querySelector('#status-line').innerText.includes('servito')", timeout=30_000
            )
            assert IT["llm_local"] in page.inner_text("#llm-status")
            page.context.close()

"""A real browser (Debian's chromium, headless, driven by Playwright) asks the served page with real models.

Needs ``/usr/bin/chromium`` (the Makefile installs it with apt-get); Playwright's own browser download is
never used. Screenshots are saved in the test's tmp folder and their paths printed (``pytest -s``).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from rag.ui.strings import STRINGS

from .test_ui_e2e import served_seed_app
from tests.conftest import UMEROV_DOC, write

pytestmark = [pytest.mark.browser, pytest.mark.llm, pytest.mark.embedder]

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
IT = STRINGS["it"]


@pytest.fixture(scope="module")
def url(tmp_path_factory, seeds_built, real_embedder, qwen_15b):
    # its own page over its own copy of the index: the tests here add and delete articles
    with served_seed_app(tmp_path_factory.mktemp("ui-browser"), seeds_built, real_embedder, qwen_15b) as url:
        yield url


@pytest.fixture(scope="module")
def browser():
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: `apt-get install -y chromium` (make test does it)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield browser
        browser.close()


def open_page(browser, url, width: int = 1280, height: int = 900):
    """A new tab on the page, once the question box is there."""
    page = browser.new_page(viewport={"width": width, "height": height}, locale="it-IT")
    page.goto(url)
    page.wait_for_selector("#question textarea", timeout=60_000)
    return page


def test_typed_question_streams_a_cited_answer_with_sources(browser, url, tmp_path):
    page = open_page(browser, url)
    assert page.get_attribute("#question textarea", "placeholder") == IT["placeholder"]
    assert page.locator("#chat").get_by_text("Chi accompagnava Umerov a Bruxelles?").count() == 1  # an example
    page.fill("#question textarea", "Chi accompagnava Umerov a Bruxelles?")
    page.click("#send")

    bot = page.locator("#chat .message.bot").last
    bot.wait_for(timeout=60_000)
    # While pending the page shows what is being done or checked text (test_ui_e2e checks each step sent);
    # the finished answer has its sources' cards and no cursor.
    page.wait_for_selector("#sources .src-card", timeout=300_000)
    answer = bot.inner_text()
    assert "Hnatov" in answer and re.search(r"\[\d\]", answer) and "▍" not in answer, answer

    card = page.locator("#sources .src-card").first
    assert card.get_attribute("data-doc") == UMEROV_DOC
    assert "3 dicembre 2025" in card.inner_text() and "Roma" in card.inner_text()
    assert "Hnatov" in card.locator("mark").first.inner_text()
    assert card.locator("mark").first.is_visible()
    # The page's stylesheet (ui/app.css) is applied: cards have rounded borders.
    assert card.evaluate("e => getComputedStyle(e).borderTopLeftRadius") == "10px"
    sources = page.inner_text("#sources")
    assert "Chi accompagnava Umerov a Bruxelles?" in sources and IT["searched"] in sources

    shots = tmp_path / "screenshots"
    shots.mkdir()
    page.screenshot(path=shots / "chat-laptop.png", full_page=True)
    page.set_viewport_size({"width": 390, "height": 844})
    page.wait_for_timeout(500)
    page.screenshot(path=shots / "chat-phone.png", full_page=True)
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, f"the page scrolls sideways on a phone ({width}px)"
    print(f"\nscreenshots: {shots}")
    page.close()


def test_uploads_report_in_the_page(browser, url, tmp_path):
    """A broken file is refused with a readable message; a good one is added, with its counts."""
    bad = write(tmp_path / "rotto.jsonl", '{"id": "a", "text": "ok"}\n{"id": "b", "text": \n')
    good = write(
        tmp_path / "ponte.txt",
        "Milano, 5 marzo 2026 – La sindaca di Pavia ha inaugurato il nuovo ponte "
        "pedonale sul Ticino con l'ingegnere Marco Bellandi, che lo ha progettato.\n",
    )
    page = open_page(browser, url)
    page.click("#add-articles .label-wrap")
    page.set_input_files("#add-articles input[type=file]", str(bad))
    page.wait_for_function("() => document.querySelector('#add-status').innerText.includes('⚠')", timeout=120_000)
    status = page.inner_text("#add-status")
    assert IT["add_failed"] in status and "rotto.jsonl:2: not valid JSON" in status and str(tmp_path) not in status
    page.set_input_files("#add-articles input[type=file]", str(good))
    page.wait_for_function("() => document.querySelector('#add-status').innerText.includes('✓')", timeout=300_000)
    assert "Aggiunti: 1 ·" in page.inner_text("#add-status")
    page.screenshot(path=tmp_path / "upload.png", full_page=True)
    page.close()


def test_refusal_reads_as_a_refusal(browser, url, tmp_path):
    page = open_page(browser, url, 390, 844)
    page.fill("#question textarea", "Chi ha vinto i Mondiali di calcio del 1982?")
    page.keyboard.press("Enter")
    page.wait_for_selector("#sources .src-refused", timeout=300_000)
    assert IT["refused"] in page.locator("#chat .message.bot").last.inner_text()
    assert IT["error"] not in page.inner_text("#chat")
    page.screenshot(path=tmp_path / "refusal-phone.png", full_page=True)
    page.close()


def test_history_survives_a_reload_markers_scroll_and_the_conversation_exports(browser, url, tmp_path):
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="it-IT")
    page = context.new_page()
    page.goto(url)
    page.wait_for_selector("#question textarea", timeout=60_000)
    page.fill("#question textarea", "Chi accompagnava Umerov a Bruxelles?")
    page.click("#send")
    page.wait_for_selector("#sources .src-card", timeout=600_000)
    # The [1] marker is a link; clicking it brings card 1 into view and flashes it, without leaving the page.
    marker = page.locator('#chat a[href="#src-1"]').first
    marker.wait_for(timeout=30_000)
    marker.click()
    page.wait_for_selector("#src-1.src-flash", timeout=5_000)
    assert page.url.rstrip("/").endswith(url.rstrip("/").rsplit("/", 1)[-1]) and "#src-1" not in page.url
    # Reloaded in the same browser, the conversation and its sources are still there.
    page.wait_for_timeout(1_000)  # the turns are saved in the browser after the answer
    page.reload()
    page.wait_for_selector("#sources .src-card", timeout=60_000)
    assert "Hnatov" in page.locator("#chat .message.bot").last.inner_text()
    # Exported as Markdown with its sources.
    page.click("#export")
    link = page.locator("#export-file a").first
    link.wait_for(timeout=30_000)
    exported = page.request.get(link.get_attribute("href")).text()
    assert exported.startswith(f"# {IT['export_title']}\n\n## Chi accompagnava Umerov a Bruxelles?")
    assert "Hnatov" in exported and "1. " in exported and "3 dicembre 2025" in exported
    page.screenshot(path=tmp_path / "export.png", full_page=True)
    context.close()


def test_a_document_is_deleted_from_the_page(browser, url, tmp_path):
    """Last in this module: it removes the Rutte article from the served index."""
    page = open_page(browser, url)
    page.click("#documents .label-wrap")
    table = page.locator("#docs-table")
    table.wait_for(timeout=30_000)
    assert "000_917bb592a5e8f3ed.txt" in table.inner_text() and UMEROV_DOC in table.inner_text()
    page.click("#docs-pick input")
    page.keyboard.type("Domani il segretario")
    page.locator('[data-testid="dropdown-option"]', has_text="Domani il segretario").first.click()
    page.click("#docs-delete")
    page.wait_for_function("() => document.querySelector('#docs-status').innerText.includes('✓')", timeout=120_000)
    assert IT["docs_deleted"].format(index="seeds", count=1) in page.inner_text("#docs-status")
    page.wait_for_function(
        "() => !document.querySelector('#docs-table').innerText.includes('000_917bb592a5e8f3ed.txt')", timeout=30_000
    )
    assert UMEROV_DOC in page.inner_text("#docs-table")
    page.screenshot(path=tmp_path / "documents.png", full_page=True)
    page.close()

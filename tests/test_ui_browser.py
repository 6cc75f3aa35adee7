"""A real browser (Debian's chromium, headless, driven by Playwright) asks the served page with real models.

Needs ``/usr/bin/chromium`` (the Makefile installs it with apt-get); Playwright's own browser download is
never used. Screenshots are saved in the test's tmp folder and their paths printed (``pytest -s``).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from rag.chat_view import STRINGS

from .conftest import UMEROV_DOC
from .test_ui_e2e import served_seed_app

pytestmark = pytest.mark.slow

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
def url(tmp_path_factory, real_embedder):
    with served_seed_app(tmp_path_factory.mktemp("ui-browser"), real_embedder) as url:
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


def test_typed_question_streams_a_cited_answer_with_sources(browser, url, tmp_path):
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.goto(url)
    page.wait_for_selector("#question textarea", timeout=60_000)
    assert page.get_attribute("#question textarea", "placeholder") == IT["placeholder"]
    assert page.locator("#chat").get_by_text("Chi accompagnava Umerov a Bruxelles?").count() == 1  # an example
    page.fill("#question textarea", "Chi accompagnava Umerov a Bruxelles?")
    page.click("#send")

    bot = page.locator("#chat .message.bot").last
    bot.wait_for(timeout=60_000)
    # While the answer streams, the text grows in place with a cursor.
    page.wait_for_function(
        "() => [...document.querySelectorAll('#chat .message.bot')].some(m => m.innerText.includes('▍'))",
        timeout=600_000,
    )
    page.wait_for_selector("#sources .src-card", timeout=600_000)
    answer = bot.inner_text()
    assert "Hnatov" in answer and re.search(r"\[\d\]", answer) and "▍" not in answer, answer

    card = page.locator("#sources .src-card").first
    assert card.get_attribute("data-doc") == UMEROV_DOC
    assert "3 dicembre 2025" in card.inner_text() and "Roma" in card.inner_text()
    assert "Hnatov" in card.locator("mark").first.inner_text()
    assert card.locator("mark").first.is_visible()
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

"""The page answers a summary and a list, in a real browser with the real models (not only single facts)."""

from __future__ import annotations

import pytest

from tests.conftest import RUTTE_DOC, UMEROV_DOC
from tests.ui.test_ui_browser import browser, open_page  # noqa: F401 (fixtures)
from tests.ui.test_ui_e2e import served_seed_app

pytestmark = [pytest.mark.slow, pytest.mark.browser, pytest.mark.llm, pytest.mark.embedder]


@pytest.fixture(scope="module")
def url(tmp_path_factory, seeds_built, real_embedder, qwen_15b):
    with served_seed_app(tmp_path_factory.mktemp("ui-news"), seeds_built, real_embedder, qwen_15b) as url:
        yield url


def ask(page, question):
    page.fill("#question textarea", question)
    page.click("#send")
    page.wait_for_function(
        "q => [...document.querySelectorAll('#sources')].some(s => s.innerText.includes(q))",
        arg=question,
        timeout=600_000,
    )
    page.wait_for_selector("#sources .src-card", timeout=600_000)
    return page.locator("#chat .message.bot").last.inner_text()


def test_the_page_answers_a_summary_and_a_list_with_their_sources(browser, url):  # noqa: F811
    page = open_page(browser, url)
    answer = ask(page, "Riassumi l'articolo su Umerov")
    assert answer.startswith("In sintesi") and "[3]" in answer and "▍" not in answer, answer
    docs = {c.get_attribute("data-doc") for c in page.locator("#sources .src-card").all()}
    assert docs == {UMEROV_DOC}
    answer = ask(page, "Quali paesi sono citati nell'articolo su Rutte?")
    assert "Ucraina" in answer and "Paesi Bassi" in answer, answer
    docs = {c.get_attribute("data-doc") for c in page.locator("#sources .src-card").all()}
    assert docs == {RUTTE_DOC}
    page.close()

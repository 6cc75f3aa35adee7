"""Web pages into article text and metadata: trafilatura keeps the article and drops the page around it
(menus, cookie banners, asides, footers, comments) and reads the title, date, author, site name and
canonical URL from the page's meta tags and JSON-LD.

``rag.sources.ingest`` turns a ``Page`` into a ``Document`` (an Italian dateline at the start of the text
still gives the date and place when the page carries no date); ``rag.index.feeds`` does the same for the
pages a feed links to.

>>> page = extract_page('''<html><head><title>Ponte sul Ticino | Gazzetta</title>
... <meta property="og:site_name" content="Gazzetta"></head><body><nav><a href="/">Home</a></nav>
... <article><h1>Ponte sul Ticino</h1><p>Pavia, 5 marzo 2026 – La sindaca ha inaugurato il ponte pedonale
... sul Ticino con il progettista, davanti a duecento persone e agli studenti del liceo.</p></article>
... <footer>© 2026 Gazzetta S.r.l.</footer></body></html>''')
>>> page.title, page.source, page.text.startswith("Pavia, 5 marzo 2026"), "Home" in page.text
('Ponte sul Ticino', 'Gazzetta', True, False)
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass

from rag.sources.dateline import parse_dateline

log = logging.getLogger(__name__)

HTML_SUFFIXES = (".html", ".htm")
# Only dates the page states in its markup (meta tags, JSON-LD, <time>): htmldate's wider search guesses
# from any number in the page ("n. 42/2019" in a footer gave 2019-01-01), worse than the dateline.
_DATE_PARAMS = {"extensive_search": False, "original_date": True}
MIN_WORDS = 12  # less is a menu or a headline left over from a page with no article (trafilatura's fallback)
# Cookie and consent banners, dropped before extraction: trafilatura drops most, but on a page that holds
# nothing else it falls back to the banner's text. Elements marked as such by class or id (the common consent
# tools' names), or dialogs speaking of cookies; never the page's frame, a long element or one holding an
# article or a heading (a wrapper classed "cookies-accepted").
_LOWER = "translate({}, 'ABCDEFGHIJKLMNOPQRSTUVWXYZ', 'abcdefghijklmnopqrstuvwxyz')"
_MARKS = ("cookie", "consent", "consenso", "gdpr", "iubenda", "didomi", "onetrust", "cookiebot", "qc-cmp", "sp_message")
_CONSENT_XPATH = (
    "//*[not(self::html or self::head or self::body or self::main or self::article)]"
    "[string-length(normalize-space(.)) < 3000][not(.//article or .//main or .//h1)]["
    + " or ".join(f"contains({_LOWER.format(attr)}, '{mark}')" for attr in ("@class", "@id") for mark in _MARKS)
    + " or ((@role='dialog' or @role='alertdialog' or @aria-modal='true') and "
    f"(contains({_LOWER.format('.')}, 'cookie') or contains({_LOWER.format('.')}, 'consen')))]"
)
# The same notice without such marks: short, every line about consent, and speaking as the site does
_CONSENT_WORDS = re.compile(
    r"cookie|consen[st]|gdpr|privacy|profilazione|tracciamento|tracking|accett|accept|rifiut|reject|"
    r"preferenze|preferences|informativa|personalizza|partner",
    re.IGNORECASE,
)
_SITE_SPEAKS = re.compile(
    r"questo sito|utilizziamo|usiamo|noi e i nostri|il tuo consenso|tuo consenso|we use|this (?:web)?site|"
    r"your consent|accetta|accept",
    re.IGNORECASE,
)
NOTICE_WORDS = 150  # a consent notice is short; an article about cookies is longer or has other lines


@dataclass(frozen=True)
class Page:
    """What a web page holds: the article text without the page's boilerplate, and its metadata."""

    text: str
    title: str | None = None
    date: str | None = None  # ISO date, from the page's markup only
    author: str | None = None
    site: str | None = None  # the site's own name, else its host name
    url: str | None = None  # canonical URL when the page gives one

    @property
    def source(self) -> str | None:
        """Who published it: the site's name, else the author."""
        return self.site or self.author

    def metadata(self) -> dict[str, str]:
        """``date``/``source``/``url`` for ``rag.sources.ingest.text_document`` (only those the page has)."""
        found = {"date": self.date, "source": self.source, "url": self.url}
        return {k: v for k, v in found.items() if v}


def extract_page(markup: str | bytes, url: str | None = None) -> Page | None:
    """The article in ``markup``; ``None`` when the page holds no article text (an index page, an error page).

    ``url`` is where the page came from (used when it names no canonical URL).
    """
    import trafilatura

    # trafilatura logs "ERROR empty HTML tree" for a page it cannot parse: that is our None, said by the caller
    logging.getLogger("trafilatura").setLevel(logging.CRITICAL)
    found = trafilatura.bare_extraction(
        markup,
        url=url,
        with_metadata=True,
        include_comments=False,
        include_tables=True,
        date_extraction_params=_DATE_PARAMS,
        prune_xpath=_CONSENT_XPATH,
    )
    text = (found.text or "").strip() if found is not None else ""
    if len(text.split()) < MIN_WORDS or is_consent_notice(text):
        return None
    title = " ".join((found.title or "").split()) or None
    return Page(
        text=_without_heading(text, title),
        title=title,
        date=found.date or None,
        author=found.author or None,
        site=found.sitename or found.hostname or None,
        url=found.url or url,
    )


def is_consent_notice(text: str) -> bool:
    """Whether ``text`` is only a cookie/consent notice: short, each line about consent, the site speaking
    ("Questo sito utilizza cookie…", "Accetta"), and no dateline (a news item about cookies has one, or is
    longer, or has lines about other things).

    >>> is_consent_notice("Questo sito utilizza cookie di profilazione.\\nAccetta tutti\\nCookie policy")
    True
    >>> is_consent_notice("Roma, 3 marzo 2026 – Il Garante della privacy ha multato un sito per i cookie.")
    False
    """
    lines = [line for line in text.splitlines() if line.strip()]
    return (
        len(text.split()) <= NOTICE_WORDS
        and all(_CONSENT_WORDS.search(line) for line in lines)
        and _SITE_SPEAKS.search(text) is not None
        and parse_dateline(text) is None
    )


def _without_heading(text: str, title: str | None) -> str:
    """The text without its first line when that line only repeats the title (the page's <h1>),
    so that a dateline opening the article is at the start."""
    first, _, rest = text.partition("\n")
    if title and rest.strip() and " ".join(first.split()).casefold() == title.casefold():
        return rest.strip()
    return text

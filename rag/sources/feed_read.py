"""RSS/Atom feeds read into items: link, title, date, the feed's own text and a fingerprint of what the
feed says about each item (``rag.index.feeds`` decides what to fetch and index).

>>> feed = read_feed("tests/fixtures/feed/notizie.rss", fetcher=None)  # doctest: +SKIP
>>> feed.title, [(i.link, i.date) for i in feed.items]                # doctest: +SKIP
"""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import dataclass, field
from datetime import date, datetime
from email.utils import parsedate_to_datetime
from pathlib import Path
from urllib.parse import urljoin

from rag.errors import InputError
from rag.sources.fetch import HttpFetcher

log = logging.getLogger(__name__)

FEED_SUFFIXES = (".rss", ".atom", ".xml")


class NotAFeed(InputError):
    """What was read is not an RSS/Atom feed; ``markup`` holds it when it came from a web address."""

    def __init__(self, message: str, markup: bytes | None = None):
        super().__init__(message)
        self.markup = markup


def is_feed(source: str | Path) -> bool:
    """A web address, or a file named like a feed (``.rss``, ``.atom``, ``.xml``)."""
    text = str(source)
    return web_address(text) is not None or text.lower().endswith(FEED_SUFFIXES)


def web_address(text: str) -> str | None:
    """``text`` as an http(s) address with its scheme in lower case ("HTTP://x" is one too), else None."""
    scheme, colon, rest = text.partition(":")
    if colon and scheme.lower() in ("http", "https") and rest.startswith("//"):
        return f"{scheme.lower()}:{rest}"
    return None


@dataclass(frozen=True)
class FeedItem:
    link: str  # the document id
    title: str | None
    date: str | None  # ISO date as the feed gives it (publication, else update)
    text: str  # the feed's own text of the item (content, else summary), HTML removed
    fingerprint: str


@dataclass
class Feed:
    source: str  # URL or absolute path
    title: str | None = None
    items: list[FeedItem] = field(default_factory=list)
    etag: str | None = None
    modified: str | None = None
    not_modified: bool = False  # the server said nothing changed since the last read
    partial: bool = False  # malformed: only the items before the fault were read (nothing may be pruned)


def read_feed(source: str | Path, fetcher: HttpFetcher, etag: str | None = None, modified: str | None = None) -> Feed:
    """Parse the feed at ``source`` (a URL or a file); ``InputError`` if it is not an RSS/Atom feed."""
    import feedparser

    address = web_address(str(source))
    feed = Feed(source=address or str(Path(source).resolve()))
    if address:
        response = fetcher.get(feed.source, etag=etag, modified=modified)
        if response.status == 304:
            return Feed(source=feed.source, etag=etag, modified=modified, not_modified=True)
        body, feed.etag, feed.modified = response.body, response.etag, response.modified
    else:
        if not Path(source).is_file():
            raise InputError(f"{source}: no such feed file; check the path")
        body = Path(source).read_bytes()
    try:
        parsed = feedparser.parse(body)
    except Exception as e:  # feedparser's own failures ("&#xD800;" raised UnicodeEncodeError from inside it)
        raise InputError(f"{source}: the feed cannot be read ({type(e).__name__}: {e})") from e
    if not parsed.version:
        raise NotAFeed(f"{source}: not an RSS or Atom feed; give a feed's file or address", body if address else None)
    feed.title = parsed.feed.get("title") or None
    feed.partial = bool(parsed.get("bozo"))
    if feed.partial and parsed.entries:  # read as far as it goes: what came before the fault is kept
        log.warning("%s: the feed is malformed (%s); read the %d items before the fault", source,
                    parsed.get("bozo_exception"), len(parsed.entries))  # fmt: skip
    # A link is resolved against the feed's own address ("/news/a.htm" in a feed of https://x.it): a relative
    # one must not become a bare id such as "a.txt", which could replace the index's own file of that name.
    base = feed.source if address else Path(feed.source).as_uri()
    unlinked = 0
    for entry in parsed.entries:
        item = _item(entry, base)
        if item is None:
            unlinked += 1
        else:
            feed.items.append(item)
    if unlinked:  # an item is known by its link: without one it cannot be updated or removed later
        log.warning("%s: %d item(s) with no link or guid skipped", source, unlinked)
    return feed


def _item(entry, base: str) -> FeedItem | None:
    link = (entry.get("link") or "").strip()
    if link:  # an address: a relative one is read against the feed's
        try:
            link = urljoin(base, link)
        except ValueError:  # "http://[::1/bad": kept as written, for the fetch to report
            pass
    else:  # a guid: an id as the feed gives it ("urn:uuid:…", "12345"), not an address to make up
        link = (entry.get("id") or "").strip()
    if not link:
        return None
    content = " ".join(part.get("value", "") for part in entry.get("content", []))
    text = _plain(content or entry.get("summary", ""))
    updated = entry["updated"] if "updated" in entry else None  # .get() warns: it falls back to "published"
    day = _date(entry.get("published") or updated, entry.get("published_parsed"))
    title = " ".join(entry.get("title", "").split()) or None
    seen = json.dumps([link, title, day, text, updated], ensure_ascii=False)
    return FeedItem(link, title, day, text, hashlib.sha256(seen.encode()).hexdigest())


def _plain(markup: str) -> str:
    if "<" not in markup:
        return markup.strip()
    import lxml.html

    return " ".join(lxml.html.fromstring(f"<div>{markup}</div>").text_content().split())


def _date(raw: str | None, parsed) -> str | None:
    """The item's day in the feed's own time zone (RFC 822 in RSS, ISO 8601 in Atom)."""
    if raw:
        for parse in (parsedate_to_datetime, datetime.fromisoformat):
            try:
                return parse(raw.strip()).date().isoformat()
            except (TypeError, ValueError, IndexError):
                continue
    if parsed:
        try:
            return date(*parsed[:3]).isoformat()
        except (TypeError, ValueError):  # "0000-00-00": no such day
            return None
    return None

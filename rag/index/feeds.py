"""RSS/Atom feeds: each item's page fetched and indexed with the feed's date; the feeds an index follows
are recorded in its folder (``feeds.json``) so that ``sync_feeds`` re-reads them and adds only what is new
or changed.

An item is identified by its link (the document id); its fingerprint is a hash of what the feed says about
it (title, date, summary, content). On a sync an item whose fingerprint is unchanged and whose document is
still in the index is not fetched again; a fetched page whose text did not change is skipped by content
hash like any other document. Nothing is removed unless ``prune=True`` (then the documents of items gone
from their feed are; never those of a malformed feed, read only up to its fault). A page that cannot be
fetched, holds no article or is larger than an article may be (``max_article_bytes``) is reported and
skipped, and is tried again at the next sync. An item in several feeds (or twice in one) is indexed once.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit

from rag.errors import InputError
from rag.index.indexer import IndexReport, add_to_index
from rag.models.embed import Embedder
from rag.models.embed_cache import EmbeddingCache
from rag.sources.decode import NotText, decode_bytes
from rag.sources.feed_read import Feed, FeedItem, NotAFeed, read_feed, web_address
from rag.sources.fetch import FetchError, HttpFetcher, is_inside
from rag.sources.html import extract_page
from rag.sources.ingest import check_size, max_article_bytes, text_document
from rag.stores.registry import open_store
from rag.types import Document

log = logging.getLogger(__name__)

FEEDS_FILE = "feeds.json"  # in the index folder; every edit and rebuild carries it over (index_meta.KEPT_FILES)


@dataclass
class FeedReport:
    """What adding or syncing feeds did: the index changes, plus items left alone and pages that failed."""

    index: IndexReport
    feeds: list[str] = field(default_factory=list)
    fetched: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)  # feed items not fetched: same as last time
    failed: list[tuple[str, str]] = field(default_factory=list)  # (link, why)

    def summary(self) -> str:
        lines = [
            f"{len(self.feeds)} feed(s): {len(self.fetched)} pages fetched, {len(self.unchanged)} items unchanged, "
            f"{len(self.failed)} failed",
            *(f"  skipped {link}: {why}" for link, why in self.failed),
            self.index.summary(),
        ]
        return "\n".join(lines)


# ---- items to documents -----------------------------------------------------------------------
def item_document(item: FeedItem, feed: Feed, fetcher: HttpFetcher | None) -> Document:
    """The item's article: its page fetched and extracted, or with ``fetcher=None`` the feed's own text.
    The items of a feed from the internet may not point at this machine or its private network.

    Raises ``FetchError`` (the page could not be fetched) or ``InputError`` (no article in it).
    """
    if fetcher is None:
        if not item.text:
            raise InputError("the feed carries no text for this item")
        doc = text_document(item.link, item.text, title=item.title, date=item.date, source=feed.title, url=item.link)
    else:
        page = extract_page(_markup(fetcher.get(item.link, inside=_inside(feed)).body), url=item.link)
        if page is None:
            raise InputError("no article text in the page")
        doc = text_document(
            item.link,
            page.text,
            title=item.title or page.title,
            date=item.date or page.date,
            source=page.site or feed.title or page.author,
            url=page.url or item.link,
        )
    check_size(item.link, doc, max_article_bytes())
    return doc


def _page_document(url: str, markup: bytes) -> Document:
    page = extract_page(_markup(markup), url=url)
    if page is None:
        raise InputError(f"{url}: neither an RSS/Atom feed nor a page with an article; check the address")
    doc = text_document(url, page.text, title=page.title, **page.metadata())
    check_size(url, doc, max_article_bytes())
    return doc


def _inside(feed: Feed) -> bool:
    """Whether the feed's items may point inside this machine's network: a feed file, or a feed served there."""
    address = web_address(feed.source)
    return address is None or is_inside(urlsplit(address).hostname or "")


def _markup(body: bytes) -> str | bytes:
    """A fetched page's text, decoded as a page file is (valid UTF-8, else its likeliest single-byte code page),
    whatever charset the server declares: CP1252 bytes served as UTF-8 read "già", not "giŕ"."""
    try:
        return decode_bytes(body)[0]
    except NotText:  # let the extractor say there is no article
        return body


def _collect(feed: Feed, fetcher: HttpFetcher | None, known: dict[str, str], in_index: set[str], report) -> list:
    docs = []
    seen = set(report.fetched) | {link for link, _ in report.failed}
    for item in feed.items:
        if item.link in seen:
            continue  # already read from another feed (a paper's "home" and "cronaca"), or twice in this one
        seen.add(item.link)
        if known.get(item.link) == item.fingerprint and item.link in in_index:
            report.unchanged.append(item.link)
            continue
        try:
            docs.append(item_document(item, feed, fetcher))
        except (FetchError, InputError) as e:
            log.warning("%s: skipped (%s)", item.link, e)
            report.failed.append((item.link, str(e)))
            continue
        report.fetched.append(item.link)
    return docs


# ---- the feeds an index follows -------------------------------------------------------------------
def recorded_feeds(index: Path) -> dict[str, dict]:
    """The feeds recorded in the index folder: source -> {title, etag, modified, synced, items: {link: fingerprint}}."""
    path = Path(index) / FEEDS_FILE
    if not path.exists():
        return {}
    try:
        return json.loads(path.read_text(encoding="utf-8"))["feeds"]
    except (OSError, ValueError, KeyError, TypeError) as e:
        raise InputError(f"{path}: unreadable feed list ({e}); fix it or delete it and add the feeds again") from e


def add_feeds(
    sources: Sequence[str | Path],
    index: Path,
    docs: Sequence[Document] = (),
    embedder: Embedder | None = None,
    fetcher: HttpFetcher | None = None,
    feed_text: bool = False,
) -> FeedReport:
    """Read the feeds at ``sources``, index their items (with ``docs`` from files, if any) and record the
    feeds in the index so that ``sync_feeds`` follows them. ``feed_text=True`` indexes the feed's own text of
    each item instead of fetching its page (for feeds that carry whole articles, or with no network)."""
    fetcher = fetcher or HttpFetcher()
    report = FeedReport(IndexReport(index))
    in_index = _doc_ids(index)  # also says clearly when there is no index yet
    feeds, found = [], list(docs)
    for source in sources:  # every feed parsed before any of its pages is fetched
        try:
            feeds.append(read_feed(source, fetcher))
        except NotAFeed as e:  # a web page's address: the page itself is added (and not followed)
            if e.markup is None:
                raise
            address = web_address(str(source)) or str(source)  # "HTTP://x" is "http://x"
            if address in report.fetched:  # the same address given twice
                continue
            log.info("%s: a web page, not a feed: added once, not followed by sync", address)
            found.append(_page_document(address, e.markup))
            report.fetched.append(address)
    for feed in feeds:
        report.feeds.append(feed.source)
        known = recorded_feeds(index).get(feed.source, {}).get("items", {})
        found += _collect(feed, None if feed_text else fetcher, known, in_index, report)
    report.index = _update(index, feeds, found, report, embedder, prune=False, feed_text=feed_text)
    return report


def sync_feeds(
    index: Path, embedder: Embedder | None = None, fetcher: HttpFetcher | None = None, prune: bool = False
) -> FeedReport:
    """Re-read every feed recorded in ``index``: new and changed items are indexed, the rest left alone;
    with ``prune`` the documents of items no longer in their feed are removed."""
    in_index = _doc_ids(index)  # also says clearly when there is no index
    records = recorded_feeds(index)
    if not records:
        raise InputError(f"{index} follows no feeds; add one with `rag index add FEED --name {Path(index).name}`")
    fetcher = fetcher or HttpFetcher()
    report = FeedReport(IndexReport(index))
    feeds, found = [], []
    for source, record in records.items():
        report.feeds.append(source)
        # Ask "changed since?" only when every item is still in the index (a rebuild or a removal needs them
        # all) and nothing is to be pruned (that needs the feed's current items).
        whole = not prune and all(link in in_index for link in record.get("items", {}))
        etag, modified = (record.get("etag"), record.get("modified")) if whole else (None, None)
        try:
            feed = read_feed(source, fetcher, etag=etag, modified=modified)
        except (FetchError, InputError) as e:  # one feed down does not stop the others
            log.warning("%s: feed skipped (%s)", source, e)
            report.failed.append((source, str(e)))
            continue
        feeds.append(feed)
        if feed.not_modified:
            report.unchanged.extend(record.get("items", {}))
            continue
        offline = record.get("feed_text", False)
        found += _collect(feed, None if offline else fetcher, record.get("items", {}), in_index, report)
    report.index = _update(index, feeds, found, report, embedder, prune=prune)
    return report


def _update(
    index: Path,
    feeds: Sequence[Feed],
    docs: Sequence[Document],
    report: FeedReport,
    embedder: Embedder | None,
    prune: bool,
    feed_text: bool | None = None,
) -> IndexReport:
    """Index ``docs`` and record ``feeds`` in one atomic edit; with ``prune``, drop items gone from their feed.

    The feed list is merged into the one the locked edit carries over, not into one read before it, so that
    an add running beside a sync does not drop the other's feeds. A feed with a failed item is recorded
    without its ETag/Last-Modified, so the next sync reads it whole and tries that item again."""
    unique: dict[str, Document] = {}
    for doc in docs:  # the same page given twice ("rag index add URL URL"): once
        unique.setdefault(doc.id, doc)
    landed = set(unique) | set(report.unchanged)
    failed = {link for link, _ in report.failed}
    remove = []
    if prune:
        before = recorded_feeds(index)
        for feed in feeds:
            if feed.partial:
                log.warning("%s: malformed, read only in part: nothing of it is pruned", feed.source)
            elif not feed.not_modified:
                current = {item.link for item in feed.items}
                remove += [link for link in before.get(feed.source, {}).get("items", {}) if link not in current]

    def write(folder: Path) -> None:
        records = recorded_feeds(folder)  # the list as it is now, under the index's lock
        for feed in feeds:
            old = records.get(feed.source, {})
            if feed.not_modified:
                records[feed.source] = {**old, "synced": _now()}
                continue
            current = {item.link: item.fingerprint for item in feed.items}
            items = {link: fp for link, fp in current.items() if link in landed}
            # an indexed item whose new version failed keeps its old fingerprint: still followed (and pruned
            # when gone), and fetched again next time since the feed's fingerprint differs
            items.update({link: fp for link, fp in old.get("items", {}).items() if link in current and link in failed})
            gone = {link: fp for link, fp in old.get("items", {}).items() if link not in current}
            if not prune or feed.partial:  # still in the index: keep following them
                items.update(gone)
            retry = any(link in failed for link in current)
            records[feed.source] = {
                "title": feed.title,
                "feed_text": old.get("feed_text", False) if feed_text is None else feed_text,
                "etag": None if retry else feed.etag,
                "modified": None if retry else feed.modified,
                "synced": _now(),
                "items": items,
            }
        text = json.dumps({"feeds": records}, indent=2, ensure_ascii=False) + "\n"
        (folder / FEEDS_FILE).write_text(text, encoding="utf-8")

    return add_to_index(
        list(unique.values()), index, embedder=embedder, cache=EmbeddingCache(), remove=remove, also=write
    )


def _doc_ids(index: Path) -> set[str]:
    store = open_store(index)  # whatever the backend (a Milvus index has no vectors.faiss)
    try:
        return set(store.doc_ids())
    finally:
        store.close()


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")

"""RSS feeds served by a local HTTP server (127.0.0.1, started here): items fetched and indexed with the
feed's dates, a page that fails is reported and skipped, `sync` adds only what is new or changed."""

from __future__ import annotations

import json
import os
import shutil
import threading
import time
from contextlib import contextmanager
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from rag.errors import InputError
from rag.index.feeds import FEEDS_FILE, add_feeds, recorded_feeds, sync_feeds
from rag.index.indexer import build_index
from rag.sources.ingest import load_documents
from rag.stores.folder import Store

from tests.conftest import ROOT, SEEDS

FIXTURES = ROOT / "tests" / "fixtures"
FEED_HOST = "http://notizie.example"
NEW_ITEM = """    <item>
      <title>Bari, la fiera del libro chiude con quarantamila visitatori</title>
      <link>http://notizie.example/news/regioni/fiera-libro-bari.htm</link>
      <pubDate>Mon, 27 Apr 2026 18:05:00 +0200</pubDate>
      <description>Quarantamila ingressi, premio dei lettori ad Anna Carluccio.</description>
    </item>
  </channel>"""


class Site:
    """A folder served over HTTP on 127.0.0.1; remembers the paths asked for."""

    def __init__(self, root: Path):
        self.root = root
        self.requests: list[str] = []
        self.edits = 0
        site = self

        class Handler(SimpleHTTPRequestHandler):
            def do_GET(self):
                site.requests.append(self.path)
                super().do_GET()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), partial(Handler, directory=str(root)))
        self.base = f"http://127.0.0.1:{self.server.server_address[1]}"

    def write_feed(self, extra: str = "", drop: str | None = None) -> str:
        text = (FIXTURES / "feed" / "notizie.rss").read_text(encoding="utf-8")
        if extra:
            text = text.replace("  </channel>", extra)
        if drop:  # remove the item whose link ends with `drop`
            items = text.split("<item>")
            text = "<item>".join(i for i in items if f"{drop}</link>" not in i)
        path = self.root / "notizie.rss"
        path.write_text(text.replace(FEED_HOST, self.base), encoding="utf-8")
        self.edits += 1  # Last-Modified has whole seconds: each edit of the feed is dated a minute later
        os.utime(path, (time.time() + 60 * self.edits,) * 2)
        return f"{self.base}/notizie.rss"


@contextmanager
def serve(tmp_path):
    root = tmp_path / "site"
    shutil.copytree(FIXTURES / "news", root / "news")
    site = Site(root)
    thread = threading.Thread(target=site.server.serve_forever, daemon=True)
    thread.start()
    try:
        yield site
    finally:
        site.server.shutdown()
        site.server.server_close()


@pytest.fixture
def site(tmp_path):
    with serve(tmp_path) as site:
        yield site


@pytest.fixture
def seed_index(tmp_path, fake_embedder):
    path = tmp_path / "index" / "seeds"
    build_index(load_documents([SEEDS]), path, fake_embedder)
    return path


def documents(index: Path) -> dict:
    store = Store.open(index)
    try:
        return {doc_id: store.document(doc_id) for doc_id in store.doc_ids()}
    finally:
        store.close()


def test_feed_items_are_fetched_and_indexed_with_the_feeds_dates(site, seed_index, fake_embedder):
    url = site.write_feed()
    report = add_feeds([url], seed_index, embedder=fake_embedder)
    names = ("sciopero-torino", "ponte-ticino", "cadorna-chiusa")
    torino, pavia, cadorna = (f"{site.base}/news/{n}.html" for n in names)
    assert sorted(report.index.added) == sorted([torino, pavia])
    assert report.failed == [(cadorna, f"{cadorna}: HTTP 404 File not found")]  # reported and skipped
    assert "skipped " + cadorna in report.summary()
    docs = documents(seed_index)
    assert len(docs) == 4  # the two seeds stay
    assert docs[torino].title == "Sciopero dei trasporti a Torino venerdì: le fasce garantite"
    assert docs[torino].date == "2026-03-12"
    assert (docs[pavia].date, docs[pavia].place) == ("2026-03-05", "Pavia")
    assert docs[pavia].source == "La Gazzetta del Ticino"
    assert "cookie" not in docs[pavia].text.lower() and "Bellandi" in docs[pavia].text
    assert docs[torino].source == "cronacasubalpina.example"  # the page's site; the feed's title when none
    recorded = recorded_feeds(seed_index)
    assert list(recorded) == [url] and recorded[url]["title"] == "Notizie dal Nord"
    assert set(recorded[url]["items"]) == {torino, pavia}  # the failed one is tried again next time


def test_sync_adds_the_new_item_and_skips_the_unchanged_ones(site, seed_index, fake_embedder):
    url = site.write_feed()
    add_feeds([url], seed_index, embedder=fake_embedder)
    site.write_feed(extra=NEW_ITEM)
    site.requests.clear()
    report = sync_feeds(seed_index, embedder=fake_embedder)
    bari = f"{site.base}/news/regioni/fiera-libro-bari.htm"
    assert report.index.added == [bari] and report.index.replaced == [] and report.index.removed == []
    assert len(report.unchanged) == 2 and len(report.failed) == 1
    # Unchanged items are not fetched again; the new one and the one that failed are.
    assert sorted(site.requests) == ["/news/cadorna-chiusa.html", "/news/regioni/fiera-libro-bari.htm", "/notizie.rss"]
    assert documents(seed_index)[bari].date == "2026-04-27"
    again = sync_feeds(seed_index, embedder=fake_embedder)
    assert again.index.added == [] and again.index.chunks_embedded == 0 and len(again.unchanged) == 3


def test_a_changed_item_is_fetched_again_and_replaced(site, seed_index, fake_embedder):
    url = site.write_feed()
    add_feeds([url], seed_index, embedder=fake_embedder)
    page = site.root / "news" / "ponte-ticino.html"
    page.write_text(page.read_text(encoding="utf-8").replace("180 metri", "185 metri"), encoding="utf-8")
    site.write_feed(extra="", drop=None)
    feed = site.root / "notizie.rss"
    feed.write_text(feed.read_text(encoding="utf-8").replace("180 metri", "185 metri"), encoding="utf-8")
    os.utime(feed, (time.time() + 3600,) * 2)
    report = sync_feeds(seed_index, embedder=fake_embedder)
    assert report.index.replaced == [f"{site.base}/news/ponte-ticino.html"] and report.index.added == []
    assert "185 metri" in documents(seed_index)[f"{site.base}/news/ponte-ticino.html"].text


def test_nothing_is_removed_unless_asked(site, seed_index, fake_embedder):
    add_feeds([site.write_feed()], seed_index, embedder=fake_embedder)
    site.write_feed(drop="ponte-ticino.html")
    pavia = f"{site.base}/news/ponte-ticino.html"
    assert sync_feeds(seed_index, embedder=fake_embedder).index.removed == []
    assert pavia in documents(seed_index)
    assert sync_feeds(seed_index, embedder=fake_embedder, prune=True).index.removed == [pavia]
    assert pavia not in documents(seed_index) and len(documents(seed_index)) == 3


def test_the_feed_list_survives_a_rebuild_and_sync_brings_the_items_back(site, seed_index, fake_embedder):
    url = site.write_feed()
    add_feeds([url], seed_index, embedder=fake_embedder)
    build_index(load_documents([SEEDS]), seed_index, fake_embedder)  # from scratch: the feed items are gone
    assert (seed_index / FEEDS_FILE).exists() and list(recorded_feeds(seed_index)) == [url]
    report = sync_feeds(seed_index, embedder=fake_embedder)
    assert len(report.index.added) == 2 and len(documents(seed_index)) == 4


def test_a_feed_file_with_its_own_text_indexes_offline(tmp_path, seed_index, fake_embedder):
    report = add_feeds([FIXTURES / "feed" / "notizie.rss"], seed_index, embedder=fake_embedder, feed_text=True)
    assert len(report.index.added) == 3 and report.failed == [] and report.fetched == report.index.added
    doc = documents(seed_index)["http://notizie.example/news/cadorna-chiusa.html"]
    assert doc.title == "Milano, chiude per lavori la stazione di Cadorna"
    assert (doc.date, doc.source) == ("2026-03-01", "Notizie dal Nord")
    assert doc.text == "La stazione resterà chiusa per tre fine settimana."


def test_a_web_page_address_adds_the_page_and_is_not_followed(site, seed_index, fake_embedder):
    url = f"{site.base}/news/ponte-ticino.html"
    report = add_feeds([url], seed_index, embedder=fake_embedder)
    assert report.index.added == [url] and report.fetched == [url]
    doc = documents(seed_index)[url]
    assert (doc.title, doc.date, doc.source) == (
        "Pavia, inaugurato il nuovo ponte pedonale sul Ticino",
        "2026-03-05",
        "La Gazzetta del Ticino",
    )
    assert recorded_feeds(seed_index) == {}
    with pytest.raises(InputError, match="neither an RSS/Atom feed nor a page with an article"):
        add_feeds([f"{site.base}/"], seed_index, embedder=fake_embedder)  # the folder listing


def test_what_is_not_a_feed_is_refused_in_one_line(site, seed_index, fake_embedder, tmp_path):
    with pytest.raises(InputError, match="follows no feeds; add one with `rag index add FEED --name seeds`"):
        sync_feeds(seed_index, embedder=fake_embedder)
    broken = tmp_path / "rotto.rss"
    broken.write_text("{}", encoding="utf-8")
    with pytest.raises(InputError, match="rotto.rss: not an RSS or Atom feed"):
        add_feeds([broken], seed_index, embedder=fake_embedder)
    assert json.loads((seed_index / "meta.json").read_text())["documents"] == 2  # nothing changed


def test_items_without_a_link_and_a_cut_feed_are_reported(tmp_path, caplog):
    # an audit: a feed whose items had no link (or that was cut off) added nothing, without a word
    from rag.sources.feed_read import read_feed

    unlinked = tmp_path / "f.xml"
    unlinked.write_text(
        '<?xml version="1.0"?><rss version="2.0"><channel><item><title>Ok</title>'
        "<description>Il ministro ha annunciato una nuova legge.</description></item></channel></rss>"
    )
    with caplog.at_level("WARNING"):
        assert read_feed(unlinked, fetcher=None).items == []
    assert "1 item(s) with no link or guid skipped" in caplog.text
    cut = tmp_path / "cut.xml"
    cut.write_text(
        '<?xml version="1.0"?><rss version="2.0"><channel><item><title>A</title><link>http://x/a</link>'
        "<description>Il ministro ha annunciato una legge.</description></item><item><title>B</title><li"
    )
    caplog.clear()
    with caplog.at_level("WARNING"):
        items = read_feed(cut, fetcher=None).items
    assert [i.link for i in items][:1] == ["http://x/a"] and "the feed is malformed" in caplog.text


def test_an_item_with_a_broken_address_is_skipped_and_the_others_added(site, seed_index, fake_embedder):
    # an audit: one link like "http://[::1/bad" stopped the whole add with a traceback (httpx.InvalidURL)
    broken = NEW_ITEM.replace("http://notizie.example/news/regioni/fiera-libro-bari.htm", "http://[::1/bad")
    report = add_feeds([site.write_feed(extra=broken)], seed_index, embedder=fake_embedder)
    assert len(report.index.added) == 2
    assert [link for link, _ in report.failed][-1] == "http://[::1/bad"
    assert "not a valid web address" in report.failed[-1][1]


# ---- a hostile-input audit of feeds and pages (round 5) ------------------------------------------------------
def rss(*items: str, title: str = "Prova") -> str:
    head = f'<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel><title>{title}</title>'
    return head + "".join(items) + "</channel></rss>"


def item(
    link: str,
    text: str = "Un articolo di prova con abbastanza parole per essere indicizzato.",
    day: str = "Mon, 27 Apr 2026 18:05:00 +0200",
) -> str:
    return (
        f"<item><title>Titolo {link}</title><link>{link}</link><pubDate>{day}</pubDate>"
        f"<description>{text}</description></item>"
    )


def test_an_item_in_two_feeds_or_twice_in_one_is_indexed_once(site, seed_index, fake_embedder):
    # an audit: a paper's "home" and "cronaca" feeds sharing an item crashed every add and sync (UNIQUE constraint)
    home = site.write_feed()
    (site.root / "cronaca.rss").write_text((site.root / "notizie.rss").read_text(encoding="utf-8"), encoding="utf-8")
    cronaca = f"{site.base}/cronaca.rss"
    report = add_feeds([home, cronaca, home], seed_index, embedder=fake_embedder)
    assert len(report.index.added) == 2 and set(recorded_feeds(seed_index)) == {home, cronaca}
    site.write_feed(extra=NEW_ITEM + NEW_ITEM.replace("</channel>", "") + "</channel>")  # new, and twice
    (site.root / "cronaca.rss").write_text((site.root / "notizie.rss").read_text(encoding="utf-8"), encoding="utf-8")
    again = sync_feeds(seed_index, embedder=fake_embedder)
    assert again.index.added == [f"{site.base}/news/regioni/fiera-libro-bari.htm"]
    page = f"{site.base}/news/ponte-ticino.html"
    assert add_feeds([page, page], seed_index, embedder=fake_embedder).index.replaced == []  # a page twice: once


def test_an_unreadable_item_or_feed_does_not_stop_the_other_feeds(tmp_path, seed_index, fake_embedder):
    # an audit: a "0000-00-00" date (ValueError) or "&#xD800;" (UnicodeEncodeError inside feedparser) in one
    # feed stopped every sync
    good, bad = tmp_path / "good.rss", tmp_path / "bad.rss"
    good.write_text(rss(item("http://a.example/1")), encoding="utf-8")
    bad.write_text(rss(item("http://b.example/1", day="0000-00-00T00:00:00Z")), encoding="utf-8")
    report = add_feeds([good, bad], seed_index, embedder=fake_embedder, feed_text=True)
    assert len(report.index.added) == 2 and documents(seed_index)["http://b.example/1"].date is None
    good.write_text(rss(item("http://a.example/1"), item("http://a.example/2")), encoding="utf-8")
    bad.write_text(rss(item("http://b.example/1", text="rotto &#xD800; qui")), encoding="utf-8")
    synced = sync_feeds(seed_index, embedder=fake_embedder)
    assert synced.index.added == ["http://a.example/2"]
    assert [source for source, _ in synced.failed] == [str(bad.resolve())] and "cannot be read" in synced.failed[0][1]


def test_a_malformed_feed_prunes_nothing(tmp_path, seed_index, fake_embedder):
    # an audit: a feed cut short read as "items gone", and `sync --prune` deleted their documents
    feed = tmp_path / "cut.rss"
    items = [item(f"http://c.example/{n}") for n in range(4)]
    feed.write_text(rss(*items), encoding="utf-8")
    add_feeds([feed], seed_index, embedder=fake_embedder, feed_text=True)
    feed.write_text(rss(*items)[: len(rss(*items[:2])) - len("</channel></rss>") + 20], encoding="utf-8")
    assert sync_feeds(seed_index, embedder=fake_embedder, prune=True).index.removed == []
    assert all(f"http://c.example/{n}" in documents(seed_index) for n in range(4))


def test_relative_links_are_resolved_against_the_feed(site, tmp_path, seed_index, fake_embedder):
    # an audit: <link>a.txt</link> replaced the index's own a.txt; "/news/x.html" in a web feed was not fetched
    (site.root / "rel.rss").write_text(rss(item("/news/ponte-ticino.html")), encoding="utf-8")
    report = add_feeds([f"{site.base}/rel.rss"], seed_index, embedder=fake_embedder)
    assert report.index.added == [f"{site.base}/news/ponte-ticino.html"]
    seed = sorted(documents(seed_index))[0]
    local = tmp_path / "locale.rss"
    local.write_text(rss(item(seed)), encoding="utf-8")
    report = add_feeds([local], seed_index, embedder=fake_embedder, feed_text=True)
    assert report.index.replaced == [] and report.index.added == [(tmp_path / seed).as_uri()]


def test_a_visit_is_recorded_and_a_failed_page_tried_again_even_when_nothing_changed(site, seed_index, fake_embedder):
    # an audit: with no document changed, the feed list was not written: a feed whose pages all failed was
    # not followed, and a failed page was never asked again while the feed answered "304 not modified"
    (site.root / "uno.rss").write_text(rss(item(f"{site.base}/news/tardi.html")), encoding="utf-8")
    url = f"{site.base}/uno.rss"
    report = add_feeds([url], seed_index, embedder=fake_embedder)
    assert report.index.added == [] and len(report.failed) == 1 and list(recorded_feeds(seed_index)) == [url]
    first = recorded_feeds(seed_index)[url]["synced"]
    shutil.copy(site.root / "news" / "ponte-ticino.html", site.root / "news" / "tardi.html")  # the page is back
    time.sleep(1.1)
    synced = sync_feeds(seed_index, embedder=fake_embedder)
    assert synced.index.added == [f"{site.base}/news/tardi.html"]
    assert recorded_feeds(seed_index)[url]["synced"] > first


def test_pages_above_the_article_limit_are_skipped_and_any_charset_is_read(
    site, seed_index, fake_embedder, monkeypatch
):
    # an audit: RAG_MAX_ARTICLE_MB held only for files; CP1252 pages served as UTF-8 were misread ("giŕ" for "già")
    text = "Perché la città è già pronta: " + "parola " * 60 + "."
    (site.root / "news" / "cp.html").write_bytes(
        f"<html><body><article><p>{text}</p></article></body></html>".encode("cp1252")
    )
    (site.root / "two.rss").write_text(rss(item(f"{site.base}/news/cp.html")), encoding="utf-8")
    report = add_feeds([f"{site.base}/two.rss"], seed_index, embedder=fake_embedder)
    assert "Perché la città è già pronta" in documents(seed_index)[f"{site.base}/news/cp.html"].text
    monkeypatch.setenv("RAG_MAX_ARTICLE_MB", "0.001")  # 1,000 bytes
    big = f"<html><body><article><p>{'Una parola dopo l altra. ' * 80}</p></article></body></html>"
    (site.root / "news" / "big.html").write_text(big, encoding="utf-8")
    (site.root / "three.rss").write_text(rss(item(f"{site.base}/news/big.html")), encoding="utf-8")
    report = add_feeds([f"{site.base}/three.rss"], seed_index, embedder=fake_embedder)
    assert report.index.added == [] and "above the" in report.failed[0][1]


def test_a_body_that_drips_is_given_up_at_the_deadline():
    # an audit: a page sending a byte every 2 s never tripped the 20 s read timeout: an add hung for days
    from http.server import BaseHTTPRequestHandler

    from rag.sources.fetch import FetchError, HttpFetcher

    class Drip(BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(200)
            self.send_header("Content-Length", "1000")
            self.end_headers()
            for _ in range(1000):
                self.wfile.write(b"x")
                self.wfile.flush()
                time.sleep(0.05)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Drip)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        started = time.monotonic()
        with pytest.raises(FetchError, match="still arriving after 1 s"):
            HttpFetcher(timeout=5, deadline=1).get(f"http://127.0.0.1:{server.server_address[1]}/")
        assert time.monotonic() - started < 5
    finally:
        server.shutdown()
        server.server_close()


def test_an_add_waiting_for_the_lock_keeps_the_feeds_another_writer_recorded(tmp_path, seed_index, fake_embedder):
    # an audit: an add read feeds.json before taking the index's lock, and wrote back a list without the feed
    # that a sync running at the same time had recorded
    from rag.stores.atomic import locked

    first, second = tmp_path / "primo.rss", tmp_path / "secondo.rss"
    first.write_text(rss(item("http://p.example/1")), encoding="utf-8")
    second.write_text(rss(item("http://s.example/1")), encoding="utf-8")
    with locked(seed_index):  # another writer holds the index
        adding = threading.Thread(
            target=add_feeds, args=([second], seed_index, ()), kwargs={"embedder": fake_embedder, "feed_text": True}
        )
        adding.start()
        time.sleep(1.0)  # the add has read its feed and waits for the lock
        (seed_index / FEEDS_FILE).write_text(
            json.dumps({"feeds": {str(first.resolve()): {"items": {}}}}), encoding="utf-8"
        )
    adding.join(timeout=60)
    assert set(recorded_feeds(seed_index)) == {str(first.resolve()), str(second.resolve())}


def test_the_items_of_a_feed_from_the_internet_may_not_point_inside_this_network(
    site, seed_index, fake_embedder, monkeypatch
):
    # an audit: a remote feed's item linking to 127.0.0.1:<port> made the tool read and index a local service
    from rag.index import feeds
    from rag.sources.feed_read import Feed
    from rag.sources.fetch import FetchError, HttpFetcher, is_inside

    assert [is_inside(h) for h in ("127.0.0.1", "10.1.2.3", "169.254.169.254", "::1", "100.64.0.1", "8.8.8.8")] == [
        True, True, True, True, True, False,
    ]  # fmt: skip
    assert feeds._inside(Feed(source=f"{site.base}/notizie.rss")) and feeds._inside(Feed(source="/tmp/x.rss"))
    assert not feeds._inside(Feed(source="http://8.8.8.8/feed.rss"))
    with pytest.raises(FetchError, match="on this machine or its private network"):
        HttpFetcher().get(f"{site.base}/news/ponte-ticino.html", inside=False)
    url = site.write_feed()
    monkeypatch.setattr(feeds, "_inside", lambda feed: False)  # as if the feed came from the internet
    report = add_feeds([url], seed_index, embedder=fake_embedder)
    assert report.index.added == [] and all("private network" in why for _, why in report.failed)


def test_a_guid_stays_an_id_and_a_page_address_in_capitals_is_one_document(site, tmp_path, seed_index, fake_embedder):
    # a re-check of the fixes: "<guid>12345</guid>" was resolved into a made-up address on the feed's host, and
    # "HTTP://x/page" beside "http://x/page" gave two documents
    feed = tmp_path / "guid.rss"
    body = "Un articolo con il suo testo intero nel feed, abbastanza lungo da essere indicizzato."
    feed.write_text(
        rss(
            f'<item><title>Solo guid</title><guid isPermaLink="false">12345</guid><description>{body}</description>'
            "</item>"
        ),
        encoding="utf-8",
    )
    assert add_feeds([feed], seed_index, embedder=fake_embedder, feed_text=True).index.added == ["12345"]
    page = f"{site.base}/news/ponte-ticino.html"
    report = add_feeds([page.replace("http://", "HTTP://"), page], seed_index, embedder=fake_embedder)
    assert report.index.added == [page]


def test_an_item_whose_new_version_failed_is_still_followed_and_pruned_when_gone(site, seed_index, fake_embedder):
    # a re-check of the fixes: a failed re-fetch dropped the item from the feed's record, so --prune never removed it
    url = site.write_feed()
    add_feeds([url], seed_index, embedder=fake_embedder)
    pavia = f"{site.base}/news/ponte-ticino.html"
    feed = site.root / "notizie.rss"
    feed.write_text(feed.read_text(encoding="utf-8").replace("180 metri", "185 metri"), encoding="utf-8")
    (site.root / "news" / "ponte-ticino.html").rename(site.root / "news" / "via.html")  # its new version fails
    report = sync_feeds(seed_index, embedder=fake_embedder)
    assert pavia in dict(report.failed) and pavia in recorded_feeds(seed_index)[url]["items"]
    site.write_feed(drop="ponte-ticino.html")
    assert pavia in sync_feeds(seed_index, embedder=fake_embedder, prune=True).index.removed


def test_headers_that_drip_are_given_up_at_the_deadline():
    # a re-check: a server sending one header line every few seconds was not cut by the body's deadline
    import socket

    from rag.sources.fetch import FetchError, HttpFetcher

    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()

    def drip():
        connection, _ = listener.accept()
        with connection:
            connection.recv(4096)
            connection.sendall(b"HTTP/1.1 200 OK\r\n")
            for n in range(60):
                try:
                    connection.sendall(f"X-Drip-{n}: x\r\n".encode())
                except OSError:
                    return
                time.sleep(0.1)

    threading.Thread(target=drip, daemon=True).start()
    started = time.monotonic()
    with pytest.raises(FetchError, match="still arriving after 1 s"):
        HttpFetcher(timeout=5, deadline=1).get(f"http://127.0.0.1:{listener.getsockname()[1]}/")
    assert time.monotonic() - started < 4
    listener.close()

"""`rag index build` on saved pages, `rag index add FEED` and `rag index sync`, as a user runs them (real model)."""

import json

import pytest

from tests.cli.test_cli import rag
from tests.conftest import ROOT
from tests.index.test_feeds import NEW_ITEM, serve

pytestmark = pytest.mark.embedder  # the commands, in child processes, load the default embedder


def test_pages_then_a_feed_then_a_sync(tmp_path):
    built = rag("index", "build", str(ROOT / "tests" / "fixtures" / "news"), "--name", "notizie")
    assert built.returncode == 0 and "3 added" in built.stdout, built.stderr
    with serve(tmp_path) as site:
        url = site.write_feed()
        added = rag("index", "add", url.replace("http://", "HTTP://"), "--name", "notizie")  # any case of scheme
        assert added.returncode == 0, added.stderr
        assert "2 pages fetched" in added.stdout and "1 failed" in added.stdout and "2 added" in added.stdout
        assert f"skipped {site.base}/news/cadorna-chiusa.html: " in added.stdout
        site.write_feed(extra=NEW_ITEM)
        synced = rag("index", "sync", "--name", "notizie")
        assert synced.returncode == 0, synced.stderr
        assert "2 items unchanged" in synced.stdout and "1 added, 0 replaced" in synced.stdout
        info = json.loads(rag("index", "info", "--name", "notizie", "--json", "--docs").stdout)
        assert info["documents"] == 6 and list(info["feeds"]) == [url]
        assert f"{site.base}/news/regioni/fiera-libro-bari.htm" in info["doc_ids"]
        (site.root / "notizie.rss").unlink()  # the feed is gone: cron must hear of it
        failed = rag("index", "sync", "--name", "notizie")
        assert failed.returncode == 1 and f"1 feed(s) could not be read: {url}" in failed.stderr, failed.stderr
    none = rag("index", "sync", "--name", "nope")
    assert none.returncode == 2 and "no index at" in none.stderr and "Traceback" not in none.stderr

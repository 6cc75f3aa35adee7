"""Fetching web pages and feeds over HTTP(S): one client, a time limit, a size limit, conditional requests.

A failure (no network, a timeout, an HTTP error status, a page too large) is a ``FetchError`` naming
the address, for the caller to report and skip.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

from rag.errors import RagError

log = logging.getLogger(__name__)

USER_AGENT = "rag-news/0.1 (+local news assistant)"


class FetchError(RagError):
    """An address could not be fetched."""


@dataclass(frozen=True)
class Response:
    status: int  # 200, or 304 when a conditional request found nothing new
    body: bytes = b""
    etag: str | None = None
    modified: str | None = None  # the Last-Modified header, sent back as If-Modified-Since


class HttpFetcher:
    """GET with redirects followed, ``timeout`` seconds for each read, ``deadline`` seconds for the whole
    body (a server dripping a byte every few seconds never trips a read timeout), and at most ``max_bytes``."""

    def __init__(self, timeout: float = 20.0, max_bytes: int = 20_000_000, deadline: float = 120.0):
        self.timeout = timeout
        self.max_bytes = max_bytes
        self.deadline = deadline

    def get(self, url: str, etag: str | None = None, modified: str | None = None) -> Response:
        import httpx

        headers = {"User-Agent": USER_AGENT}
        if etag:
            headers["If-None-Match"] = etag
        if modified:
            headers["If-Modified-Since"] = modified
        try:
            with httpx.stream("GET", url, headers=headers, timeout=self.timeout, follow_redirects=True) as reply:
                if reply.status_code == 304:
                    return Response(304, etag=etag, modified=modified)
                if reply.status_code >= 400:
                    raise FetchError(f"{url}: HTTP {reply.status_code} {reply.reason_phrase}")
                body, ends = bytearray(), time.monotonic() + self.deadline
                for piece in reply.iter_bytes():
                    body += piece
                    if len(body) > self.max_bytes:
                        raise FetchError(f"{url}: larger than {self.max_bytes // 1_000_000} MB, not fetched")
                    if time.monotonic() > ends:
                        raise FetchError(f"{url}: still arriving after {self.deadline:g} s, not fetched")
                log.debug("fetched %s (%d bytes)", url, len(body))
                return Response(
                    reply.status_code, bytes(body), reply.headers.get("etag"), reply.headers.get("last-modified")
                )
        except httpx.HTTPError as e:
            raise FetchError(f"{url}: {type(e).__name__}: {e or 'no answer'}") from e
        except (httpx.InvalidURL, ValueError) as e:  # "http://[::1", a host name idna cannot encode
            raise FetchError(f"{url}: not a valid web address ({e})") from e

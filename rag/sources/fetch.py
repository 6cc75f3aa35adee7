"""Fetching web pages and feeds over HTTP(S): one client, a time limit, a size limit, conditional requests.

A failure (no network, a timeout, an HTTP error status, a page too large) is a ``FetchError`` naming
the address, for the caller to report and skip.
"""

from __future__ import annotations

import functools
import logging
import threading
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
    request (a server dripping a byte every few seconds, headers or body, never trips a read timeout), and at
    most ``max_bytes``."""

    def __init__(self, timeout: float = 20.0, max_bytes: int = 20_000_000, deadline: float = 120.0):
        self.timeout = timeout
        self.max_bytes = max_bytes
        self.deadline = deadline

    def get(self, url: str, etag: str | None = None, modified: str | None = None, inside: bool = True) -> Response:
        """``inside=False`` refuses an address on this machine or its private network, redirects included
        (for the items of a feed from the internet, which must not make us read the local services).

        The request runs in a thread that is given up at ``deadline``; one stuck in a dripping body stops at
        its next byte, one stuck in dripping headers at httpx's header size limit."""
        outcome: list = []

        def run() -> None:
            try:
                outcome.append(self._get(url, etag, modified, inside))
            except BaseException as e:  # handed to the caller below
                outcome.append(e)

        worker = threading.Thread(target=run, name="rag-fetch", daemon=True)
        worker.start()
        worker.join(self.deadline + 1)
        if not outcome:
            raise FetchError(f"{url}: still arriving after {self.deadline:g} s, not fetched")
        if isinstance(outcome[0], BaseException):
            raise outcome[0]
        return outcome[0]

    def _get(self, url: str, etag: str | None, modified: str | None, inside: bool) -> Response:
        import httpx

        headers = {"User-Agent": USER_AGENT}
        if etag:
            headers["If-None-Match"] = etag
        if modified:
            headers["If-Modified-Since"] = modified

        def check(request) -> None:
            if not inside and is_inside(request.url.host):
                raise FetchError(f"{url}: {request.url.host} is on this machine or its private network; not fetched")

        client = httpx.Client(timeout=self.timeout, follow_redirects=True, event_hooks={"request": [check]})
        try:
            with client, client.stream("GET", url, headers=headers) as reply:
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


@functools.lru_cache(maxsize=1024)
def is_inside(host: str) -> bool:
    """Whether ``host`` names this machine or an address of a private, link-local or reserved network (by
    any of the addresses it resolves to). A name that does not resolve is not inside: fetching it fails."""
    import ipaddress
    import socket

    try:
        infos = socket.getaddrinfo(host, None)
    except (OSError, UnicodeError):
        return False
    for *_, address in infos:
        ip = ipaddress.ip_address(str(address[0]).split("%")[0])
        if ip.is_private or ip.is_loopback or ip.is_link_local or ip.is_reserved or ip.is_unspecified:
            return True
        if ip.version == 4 and ip in ipaddress.ip_network("100.64.0.0/10"):  # carrier-grade NAT: not "private"
            return True
    return False

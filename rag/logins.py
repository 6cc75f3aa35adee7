"""Logins of a server shared beyond this machine (``rag ui``, ``rag serve``): whether a USER:PASSWORD pair is
one of them (``matches``, in constant time), and a brake on guessing them (``Throttle``, ``LoginThrottle``).

A client address that sends ``Throttle.free`` wrong logins must then wait before its next try, 1 s
after the next wrong one, then 2, 4, ... up to ``max_wait``; any try during the wait is refused (HTTP 429 with
``Retry-After``) without being checked, so a guesser gets a few hundred tries a day instead of thousands a
second. Only ``forget_after`` seconds without a wrong login clear the count, not a right login: otherwise the
holder of one login could guess another's password for ever, clearing the count with their own every few tries.
The brake is by address: behind a reverse proxy every client shares the proxy's address, so there the proxy
should limit.
"""

from __future__ import annotations

import json
import secrets
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field


def matches(user: str, password: str, logins: Sequence[tuple[str, str]]) -> bool:
    """Whether ``(user, password)`` is one of ``logins``, compared in constant time (every login is tried)."""
    return any(
        [
            secrets.compare_digest(user.encode(), u.encode()) & secrets.compare_digest(password.encode(), p.encode())
            for u, p in logins
        ]
    )


@dataclass
class _Record:
    wrong: int = 0
    last_wrong: float = 0.0
    until: float = 0.0  # no try is checked before this time


@dataclass
class Throttle:
    """Wrong logins per client address, and how long each must wait. Thread-safe; it remembers at most
    ``max_clients`` addresses (the ones not heard from longest are forgotten first)."""

    free: int = 5  # wrong logins in a row before any wait
    first_wait: float = 1.0  # seconds, doubled at each further wrong login
    max_wait: float = 300.0
    forget_after: float = 900.0  # seconds without a wrong login that clear the count
    max_clients: int = 10_000
    clock: Callable[[], float] = time.monotonic
    _records: OrderedDict[str, _Record] = field(default_factory=OrderedDict, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def wait(self, client: str) -> float:
        """Seconds ``client`` must still wait before a login of theirs is checked (0: check it now)."""
        with self._lock:
            record = self._records.get(client)
            return max(0.0, record.until - self.clock()) if record else 0.0

    def failed(self, client: str) -> None:
        """``client`` sent a wrong login."""
        now = self.clock()
        with self._lock:
            record = self._records.pop(client, None) or _Record()
            if now - record.last_wrong > self.forget_after:
                record = _Record()
            record.wrong += 1
            record.last_wrong = now
            if record.wrong > self.free:
                record.until = now + min(self.max_wait, self.first_wait * 2 ** (record.wrong - self.free - 1))
            self._records[client] = record  # last: the most recently heard from
            while len(self._records) > self.max_clients:
                self._records.popitem(last=False)


def client_address(scope) -> str:
    """The address an ASGI request comes from ("" when the server does not say)."""
    client = scope.get("client")
    return str(client[0]) if client else ""


async def send_too_many(send, wait: float) -> None:
    """Answer an ASGI request with 429 Too Many Requests, saying how long to wait."""
    seconds = max(1, round(wait + 0.5))
    message = f"Too many wrong logins: try again in {seconds} s. / Troppi accessi errati: riprova tra {seconds} s."
    body = json.dumps({"detail": message, "error": {"message": message, "type": "rate_limited"}}).encode()
    headers = [(b"content-type", b"application/json"), (b"retry-after", str(seconds).encode())]
    await send({"type": "http.response.start", "status": 429, "headers": headers})
    await send({"type": "http.response.body", "body": body})


class LoginThrottle:
    """ASGI middleware for the chat page's login form (gradio's ``POST /login``): a client that must wait is
    answered 429 before its login is checked; the page's reply tells a wrong login (400, 401, 403), which counts.
    Other requests pass untouched."""

    def __init__(self, app, throttle: Throttle, paths: tuple[str, ...] = ("/login", "/login/")):
        self.app, self.throttle, self.paths = app, throttle, paths

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or scope["method"] != "POST" or scope["path"] not in self.paths:
            return await self.app(scope, receive, send)
        client = client_address(scope)
        wait = self.throttle.wait(client)
        if wait > 0:
            return await send_too_many(send, wait)

        async def watch(message):
            if message["type"] == "http.response.start":
                if message["status"] in (400, 401, 403):
                    self.throttle.failed(client)
            await send(message)

        return await self.app(scope, receive, watch)

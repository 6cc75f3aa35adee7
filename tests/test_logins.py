"""Logins of a shared server: constant-time matching, and the brake on guessing them (``rag.logins``)."""

from __future__ import annotations

import asyncio

from rag.logins import LoginThrottle, Throttle, matches


class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


def test_matches_only_a_whole_login():
    logins = [("anna", "segreta"), ("bruno", "pa:ss")]
    assert matches("anna", "segreta", logins) and matches("bruno", "pa:ss", logins)
    assert not matches("anna", "pa:ss", logins) and not matches("anna", "", logins) and not matches("", "", [])


def test_wrong_logins_past_the_free_ones_wait_longer_each_time_up_to_the_cap():
    clock = Clock()
    throttle = Throttle(free=3, first_wait=1, max_wait=5, clock=clock)
    waits = []
    for _ in range(7):
        throttle.failed("10.0.0.9")
        waits.append(throttle.wait("10.0.0.9"))
    assert waits == [0, 0, 0, 1, 2, 4, 5]
    assert throttle.wait("10.0.0.8") == 0  # by address: another client is not held up
    clock.now += 2
    assert throttle.wait("10.0.0.9") == 3


def test_only_a_quiet_spell_clears_the_count():
    clock = Clock()
    throttle = Throttle(free=1, first_wait=10, forget_after=60, clock=clock)
    throttle.failed("a")
    throttle.failed("a")
    assert throttle.wait("a") == 10
    # nothing but time clears it (a right login does not: the page and API tests show that over HTTP)
    clock.now += 59
    throttle.failed("a")  # within forget_after of the last: the count goes on
    assert throttle.wait("a") == 20
    clock.now += 61
    throttle.failed("a")  # the earlier ones are forgotten: within the free ones again
    assert throttle.wait("a") == 0


def test_the_throttle_remembers_a_bounded_number_of_addresses():
    throttle = Throttle(free=0, max_clients=3, clock=Clock())
    for n in range(10):
        throttle.failed(f"10.0.0.{n}")
    assert len(throttle._records) == 3 and throttle.wait("10.0.0.9") > 0 and throttle.wait("10.0.0.0") == 0


def _post(app, path="/login", client=("10.0.0.1", 5000)):
    sent = []

    async def receive():
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message):
        sent.append(message)

    scope = {"type": "http", "method": "POST", "path": path, "client": client, "headers": []}
    asyncio.run(app(scope, receive, send))
    return sent[0]["status"], dict(sent[0]["headers"])


def test_the_page_login_route_is_throttled_by_its_replies_and_other_routes_pass():
    replies = iter([400, 400, 200, 400, 400])
    seen = []

    async def page(scope, receive, send):
        seen.append(scope["path"])
        await send({"type": "http.response.start", "status": next(replies), "headers": []})
        await send({"type": "http.response.body", "body": b""})

    throttle = Throttle(free=1, first_wait=30, clock=Clock())
    app = LoginThrottle(page, throttle)
    assert [_post(app)[0] for _ in range(2)] == [400, 400]  # the second wrong one: wait 30 s
    status, headers = _post(app)
    assert status == 429 and headers[b"retry-after"] == b"30" and seen == ["/login", "/login"]
    assert _post(app, client=("10.0.0.2", 5000))[0] == 200  # another address gets in
    assert _post(app, path="/config")[0] == 400  # not the login route: passed on, not counted
    assert throttle.wait("10.0.0.1") == 30

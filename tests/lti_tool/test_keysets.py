"""Platform key sets: caching, one refetch on an unknown kid, and clear errors when the platform fails."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from flask import Flask, Response, jsonify

from lti_tool.lti.errors import PlatformUnavailable
from lti_tool.lti.keysets import KeySetCache
from tests.fixtures.servers import LiveServer, free_port, serve

KEY = {"kty": "RSA", "kid": "k1", "alg": "RS256", "use": "sig", "n": "AQAB", "e": "AQAB"}


class JwksPeer:
    """A platform JWKS endpoint whose behaviour a test sets."""

    def __init__(self) -> None:
        self.keys = [KEY]
        self.delay = 0.0
        self.status = 200
        self.body: str | None = None
        self.hits = 0

    def app(self) -> Flask:
        app = Flask("jwks-peer")

        @app.get("/jwks")
        def jwks() -> Response | tuple[str, int]:
            self.hits += 1
            time.sleep(self.delay)
            if self.body is not None:
                return self.body, self.status
            response = jsonify(keys=self.keys)
            response.status_code = self.status
            return response

        return app


@pytest.fixture
def peer() -> Iterator[tuple[JwksPeer, LiveServer]]:
    jwks = JwksPeer()
    live = serve(jwks.app())
    yield jwks, live
    live.stop()


def test_key_set_is_cached(peer: tuple[JwksPeer, LiveServer]) -> None:
    jwks, live = peer
    cache = KeySetCache(ttl=60, timeout=2)
    for _ in range(5):
        assert cache.find_key(live.url + "/jwks", "k1") == KEY
    assert jwks.hits == 1


def test_unknown_kid_refetches_once_then_finds_the_rotated_key(
    peer: tuple[JwksPeer, LiveServer],
) -> None:
    jwks, live = peer
    cache = KeySetCache(ttl=60, timeout=2, min_refetch_interval=0)
    assert cache.find_key(live.url + "/jwks", "k1") == KEY
    rotated = {**KEY, "kid": "k2"}
    jwks.keys = [KEY, rotated]
    assert cache.find_key(live.url + "/jwks", "k2") == rotated
    assert jwks.hits == 2
    assert cache.find_key(live.url + "/jwks", "nope") is None
    assert jwks.hits == 3


def test_made_up_kids_do_not_hammer_the_platform(peer: tuple[JwksPeer, LiveServer]) -> None:
    jwks, live = peer
    cache = KeySetCache(ttl=60, timeout=2, min_refetch_interval=30)
    for i in range(20):
        assert cache.find_key(live.url + "/jwks", f"forged-{i}") is None
    assert jwks.hits == 1


def test_slow_platform_times_out_with_a_clear_error(peer: tuple[JwksPeer, LiveServer]) -> None:
    jwks, live = peer
    jwks.delay = 3.0
    cache = KeySetCache(ttl=60, timeout=0.5)
    started = time.monotonic()
    with pytest.raises(PlatformUnavailable) as caught:
        cache.find_key(live.url + "/jwks", "k1")
    assert time.monotonic() - started < 2.5
    assert caught.value.status == 504
    assert "did not answer" in caught.value.message


def test_platform_down_is_a_clear_error() -> None:
    cache = KeySetCache(ttl=60, timeout=1)
    with pytest.raises(PlatformUnavailable) as caught:
        cache.find_key(f"http://127.0.0.1:{free_port()}/jwks", "k1")
    assert caught.value.status == 502
    assert "could not be fetched" in caught.value.message


@pytest.mark.parametrize(
    ("status", "body", "says"),
    [(500, "oops", "HTTP 500"), (200, "not json", "not JSON"), (200, '{"nokeys": 1}', '"keys"')],
)
def test_broken_answers_are_clear_errors(
    peer: tuple[JwksPeer, LiveServer], status: int, body: str, says: str
) -> None:
    jwks, live = peer
    jwks.status, jwks.body = status, body
    with pytest.raises(PlatformUnavailable) as caught:
        KeySetCache(ttl=60, timeout=2).find_key(live.url + "/jwks", "k1")
    assert says in caught.value.message


def test_oversized_key_set_is_refused(peer: tuple[JwksPeer, LiveServer]) -> None:
    jwks, live = peer
    jwks.body = '{"keys": [' + ",".join(['{"kid": "x"}'] * 30000) + "]}"
    with pytest.raises(PlatformUnavailable, match="larger than"):
        KeySetCache(ttl=60, timeout=2).find_key(live.url + "/jwks", "k1")

"""Platform key sets (JWKS): fetched with timeouts, cached, refetched once on an unknown ``kid``."""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass
from typing import Any

import requests

from lti_tool.lti.errors import PlatformUnavailable

MAX_JWKS_BYTES = 256 * 1024
MIN_REFETCH_INTERVAL = 5.0


@dataclass
class _Entry:
    keys: list[dict[str, Any]]
    fetched_at: float


class KeySetCache:
    """A per-process cache of platform key sets.

    Each worker keeps its own copy; nothing another worker needs lives here, since a
    miss is just a fetch. An unknown ``kid`` triggers one refetch (the platform may have
    rotated its key), but at most once every few seconds per URL, so a stream of tokens
    with made-up ``kid`` values cannot turn the tool into a request amplifier.
    """

    def __init__(
        self,
        *,
        ttl: float,
        timeout: float,
        http: requests.Session | None = None,
        min_refetch_interval: float = MIN_REFETCH_INTERVAL,
    ) -> None:
        self._ttl = ttl
        self._timeout = timeout
        self._min_refetch_interval = min_refetch_interval
        self._http = http or requests.Session()
        self._entries: dict[str, _Entry] = {}
        self._lock = threading.Lock()
        self.fetch_count = 0

    def find_key(self, url: str, kid: str) -> dict[str, Any] | None:
        """Return the JWK with ``kid`` from the key set at ``url``, or None if it has none."""
        entry = self._entries.get(url)
        now = time.monotonic()
        if entry is None or now - entry.fetched_at > self._ttl:
            entry = self._refresh(url)
        key = _pick(entry.keys, kid)
        if key is None and time.monotonic() - entry.fetched_at >= self._min_refetch_interval:
            entry = self._refresh(url)
            key = _pick(entry.keys, kid)
        return key

    def forget(self, url: str | None = None) -> None:
        """Drop the cached key set for ``url`` (or all of them)."""
        with self._lock:
            if url is None:
                self._entries.clear()
            else:
                self._entries.pop(url, None)

    def _refresh(self, url: str) -> _Entry:
        keys = self._fetch(url)
        entry = _Entry(keys=keys, fetched_at=time.monotonic())
        with self._lock:
            self._entries[url] = entry
        return entry

    def _fetch(self, url: str) -> list[dict[str, Any]]:
        self.fetch_count += 1
        try:
            response = self._http.get(
                url, timeout=(self._timeout, self._timeout), stream=True,
                headers={"Accept": "application/json"},
            )
            body = _read_limited(response)
        except requests.Timeout as exc:
            raise PlatformUnavailable(
                f"The platform's key set at {url} did not answer within {self._timeout:g} s.",
                status=504,
                hint="Try the launch again in a minute. If it keeps failing, the LMS administrator "
                "should check that the key set URL is reachable from the tool.",
            ) from exc
        except requests.RequestException as exc:
            raise PlatformUnavailable(
                f"The platform's key set at {url} could not be fetched ({type(exc).__name__}).",
                hint="The LMS administrator should check the key set URL registered for this "
                "platform (l2i platform list).",
            ) from exc
        if response.status_code != 200:
            raise PlatformUnavailable(
                f"The platform's key set at {url} answered HTTP {response.status_code}.",
                hint="The LMS administrator should check the key set URL (l2i platform list).",
            )
        return _parse_keys(url, body)


def _read_limited(response: requests.Response) -> bytes:
    chunks: list[bytes] = []
    size = 0
    for chunk in response.iter_content(chunk_size=16384):
        size += len(chunk)
        if size > MAX_JWKS_BYTES:
            response.close()
            raise PlatformUnavailable("The platform's key set is larger than 256 KiB; refusing it.")
        chunks.append(chunk)
    return b"".join(chunks)


def _parse_keys(url: str, body: bytes) -> list[dict[str, Any]]:
    try:
        data = json.loads(body)
    except ValueError as exc:
        raise PlatformUnavailable(f"The platform's key set at {url} is not JSON.") from exc
    keys = data.get("keys") if isinstance(data, dict) else None
    if not isinstance(keys, list) or not all(isinstance(k, dict) for k in keys):
        raise PlatformUnavailable(f'The platform\'s key set at {url} has no "keys" list.')
    return keys


def _pick(keys: list[dict[str, Any]], kid: str) -> dict[str, Any] | None:
    for key in keys:
        if key.get("kid") == kid and key.get("kty") == "RSA" and key.get("alg", "RS256") == "RS256":
            return key
    return None

"""Opaque values the platform hands out and checks when they come back, and one-time values.

A sealed value is base64url JSON plus a truncated HMAC-SHA256 under a secret made
at start: the tool can carry it but not forge or alter it.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import threading
from collections.abc import Callable, Mapping
from typing import Any

from lms_emulator.jws import b64url, b64url_decode, compact_json

Clock = Callable[[], float]

MAC_BYTES = 18
FORGET_AFTER_SECONDS = 60


class Sealer:
    """Seals small JSON payloads with a purpose and an issue time; opens only its own."""

    def __init__(self, clock: Clock, secret: bytes | None = None) -> None:
        self._clock = clock
        self._secret = secret or secrets.token_bytes(32)

    def _mac(self, body: str) -> str:
        digest = hmac.new(self._secret, body.encode("ascii"), hashlib.sha256).digest()
        return b64url(digest[:MAC_BYTES])

    def seal(self, purpose: str, payload: Mapping[str, Any]) -> str:
        """Return ``payload`` sealed for ``purpose``, stamped with the time and a random nonce."""
        body = b64url(
            compact_json({"p": purpose, "t": self._clock(), "n": secrets.token_urlsafe(6), **payload})
        )
        return f"{body}.{self._mac(body)}"

    def unseal(self, purpose: str, sealed: str, max_age: float) -> dict[str, Any]:
        """Open a value sealed here for ``purpose`` no more than ``max_age`` s ago; ValueError otherwise."""
        body, _, mac = sealed.partition(".")
        if not mac or not hmac.compare_digest(mac, self._mac(body)):
            raise ValueError("not issued by this platform")
        try:
            payload = json.loads(b64url_decode(body))
        except ValueError as exc:
            raise ValueError("unreadable") from exc
        if not isinstance(payload, dict) or payload.get("p") != purpose:
            raise ValueError("issued for another purpose")
        if self._clock() - float(payload.get("t", 0)) > max_age:
            raise ValueError("expired")
        return payload


class OnceRegistry:
    """Values that may be used once (jti, nonce), forgotten a while after they expire."""

    def __init__(self, clock: Clock) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._seen: dict[str, float] = {}

    def use(self, value: str, expires_at: float) -> bool:
        """Mark ``value`` used; False when it was used before."""
        now = self._clock()
        with self._lock:
            for stale in [key for key, until in self._seen.items() if until < now - FORGET_AFTER_SECONDS]:
                del self._seen[stale]
            if value in self._seen:
                return False
            self._seen[value] = expires_at
            return True

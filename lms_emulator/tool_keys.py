"""The tool's public keys as the platform sees them, and verification of what the tool signs.

The platform fetches the tool's JWKS (``{tool_base_url}/lti/jwks``), caches it, and
fetches it again once when a token names a ``kid`` it does not know: the way a
platform notices that the tool rotated its key.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from typing import Any

import jwt
import requests
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

JwksFetcher = Callable[[str], dict[str, Any]]

JWKS_FETCH_TIMEOUT_SECONDS = 5.0
CLOCK_SKEW_SECONDS = 5


class ToolKeyError(ValueError):
    """The tool's key for a token could not be found or fetched."""


class ToolJwtError(ValueError):
    """A JWT from the tool is malformed, badly signed, expired or missing claims."""


def fetch_jwks_over_http(url: str) -> dict[str, Any]:
    """GET a JWKS document with a 5 s timeout and return it as a dict."""
    response = requests.get(url, timeout=JWKS_FETCH_TIMEOUT_SECONDS)
    response.raise_for_status()
    document = response.json()
    if not isinstance(document, dict):
        raise ToolKeyError(f"{url} did not answer a JSON object")
    return document


def _public_key_from_jwk(jwk: dict[str, Any]) -> rsa.RSAPublicKey:
    key = RSAAlgorithm.from_jwk(jwk)
    if isinstance(key, rsa.RSAPrivateKey):
        return key.public_key()
    return key


class ToolKeySet:
    """The tool's JWKS, cached, refetched once when an unknown ``kid`` shows up."""

    def __init__(self, url: str, fetcher: JwksFetcher) -> None:
        self.url = url
        self._fetcher = fetcher
        self._lock = threading.Lock()
        self._keys: dict[str, rsa.RSAPublicKey] = {}
        self._fetched = False
        self.fetch_count = 0

    def find_key(self, kid: str | None) -> rsa.RSAPublicKey:
        """Return the tool's key named ``kid`` (or its only key when ``kid`` is None)."""
        with self._lock:
            if not self._fetched or (kid is not None and kid not in self._keys):
                self._refresh()
            if kid is None:
                if len(self._keys) == 1:
                    return next(iter(self._keys.values()))
                raise ToolKeyError("the token has no kid and the tool publishes several keys")
            if kid not in self._keys:
                raise ToolKeyError(f"the tool's JWKS has no key with kid {kid!r}")
            return self._keys[kid]

    def forget(self) -> None:
        """Drop the cache so the next lookup fetches the JWKS again."""
        with self._lock:
            self._keys = {}
            self._fetched = False

    def _refresh(self) -> None:
        try:
            document = self._fetcher(self.url)
        except (requests.RequestException, ValueError) as exc:
            raise ToolKeyError(f"could not fetch the tool's JWKS from {self.url}: {exc}") from exc
        self.fetch_count += 1
        keys = document.get("keys") if isinstance(document, dict) else None
        if not isinstance(keys, list):
            raise ToolKeyError(f"the tool's JWKS at {self.url} has no 'keys' list")
        self._keys = _read_rsa_keys(keys)
        self._fetched = True


def _read_rsa_keys(keys: list[Any]) -> dict[str, rsa.RSAPublicKey]:
    found: dict[str, rsa.RSAPublicKey] = {}
    for jwk in keys:
        if not isinstance(jwk, dict) or jwk.get("kty") != "RSA" or jwk.get("use", "sig") != "sig":
            continue
        try:
            found[str(jwk.get("kid", ""))] = _public_key_from_jwk(jwk)
        except (jwt.InvalidKeyError, ValueError, KeyError):
            continue
    return found


def decode_tool_jwt(
    keys: ToolKeySet,
    token: str,
    *,
    audience: str | Sequence[str],
    issuer: str,
    required: Sequence[str],
) -> dict[str, Any]:
    """Verify an RS256 JWT signed by the tool and return its claims.

    Raises ToolKeyError when the key can't be found and ToolJwtError for everything else.
    """
    try:
        header = jwt.get_unverified_header(token)
    except jwt.DecodeError as exc:
        raise ToolJwtError(f"malformed JWT: {exc}") from exc
    if header.get("alg") != "RS256":
        raise ToolJwtError(f"JWT algorithm must be RS256, not {header.get('alg')!r}")
    kid = header.get("kid")
    key = keys.find_key(kid if isinstance(kid, str) else None)
    try:
        claims: dict[str, Any] = jwt.decode(
            token,
            key,
            algorithms=["RS256"],
            audience=list(audience) if not isinstance(audience, str) else audience,
            issuer=issuer,
            leeway=CLOCK_SKEW_SECONDS,
            options={"require": list(required)},
        )
    except jwt.ExpiredSignatureError as exc:
        raise ToolJwtError("the JWT has expired") from exc
    except jwt.InvalidTokenError as exc:
        raise ToolJwtError(f"invalid JWT: {exc}") from exc
    return claims

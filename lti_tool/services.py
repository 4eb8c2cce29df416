"""LTI Advantage service calls: OAuth2 access tokens (client_credentials with a signed JWT) and AGS.

No Flask here. Tokens are cached per platform and scope set until shortly before they expire,
so a worker asks the platform for one token per hour or so, not one per score.
"""

from __future__ import annotations

import datetime as dt
import threading
import time
import uuid
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field
from typing import Any

import jwt
import requests

from lti_tool import vocabulary as v
from lti_tool.keys import SigningKey
from lti_tool.models import Platform

ASSERTION_LIFETIME = dt.timedelta(minutes=5)
EXPIRY_MARGIN_SECONDS = 30
DEFAULT_TOKEN_SECONDS = 3600
MAX_ERROR_CHARS = 300
GRADE_SCOPES = (v.SCOPE_AGS_LINEITEM, v.SCOPE_AGS_SCORE)


class ServiceError(Exception):
    """A service call failed; ``retryable`` says whether trying later may help."""

    def __init__(self, message: str, *, retryable: bool, status: int | None = None) -> None:
        super().__init__(message)
        self.retryable = retryable
        self.status = status


@dataclass(frozen=True)
class PlatformAccess:
    """What the tool needs to call one platform's services (copied out of the database row)."""

    platform_id: int
    client_id: str
    token_url: str
    audience: str | None = None


def platform_access(platform: Platform) -> PlatformAccess:
    """Return what the service client needs to know about ``platform``."""
    return PlatformAccess(platform.id, platform.client_id, platform.auth_token_url, platform.auth_audience)


def _check(response: requests.Response, what: str) -> requests.Response:
    if response.ok:
        return response
    text = response.text.strip()[:MAX_ERROR_CHARS]
    retryable = response.status_code >= 500 or response.status_code in (401, 408, 429)
    raise ServiceError(f"{what}: HTTP {response.status_code} {text}", retryable=retryable,
                       status=response.status_code)


def _call(request: Callable[[], requests.Response], what: str) -> requests.Response:
    try:
        return _check(request(), what)
    except requests.Timeout as exc:
        raise ServiceError(f"{what}: no answer in time", retryable=True) from exc
    except requests.RequestException as exc:
        raise ServiceError(f"{what}: cannot connect ({exc.__class__.__name__})", retryable=True) from exc


@dataclass
class ServiceTokens:
    """Fetches and caches access tokens for platforms' services."""

    http: requests.Session
    timeout: float
    clock: Callable[[], float] = time.monotonic
    _cache: dict[tuple[int, frozenset[str]], tuple[str, float]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    fetched: int = 0

    def token(self, access: PlatformAccess, key: SigningKey, scopes: Collection[str]) -> str:
        """Return a valid access token for ``scopes``, from the cache or freshly granted."""
        wanted = (access.platform_id, frozenset(scopes))
        with self._lock:
            cached = self._cache.get(wanted)
            if cached and cached[1] > self.clock():
                return cached[0]
        value, lifetime = self._request(access, key, scopes)
        with self._lock:
            self._cache[wanted] = (value, self.clock() + max(lifetime - EXPIRY_MARGIN_SECONDS, 1))
            self.fetched += 1
        return value

    def forget(self, access: PlatformAccess) -> None:
        """Drop a platform's cached tokens (after the platform refused one)."""
        with self._lock:
            for cached in [k for k in self._cache if k[0] == access.platform_id]:
                del self._cache[cached]

    def _request(self, access: PlatformAccess, key: SigningKey, scopes: Collection[str]) -> tuple[str, int]:
        form = {
            "grant_type": "client_credentials",
            "client_assertion_type": v.CLIENT_ASSERTION_TYPE,
            "client_assertion": client_assertion(access, key),
            "scope": " ".join(sorted(scopes)),
        }
        response = _call(lambda: self.http.post(access.token_url, data=form, timeout=self.timeout),
                         "access token")
        try:
            body = response.json()
            value = str(body["access_token"])
            lifetime = int(body.get("expires_in") or DEFAULT_TOKEN_SECONDS)
        except (ValueError, KeyError, TypeError) as exc:
            raise ServiceError("access token: the platform's answer has no access_token",
                               retryable=True) from exc
        return value, lifetime


def client_assertion(access: PlatformAccess, key: SigningKey) -> str:
    """Return the signed JWT that authenticates the tool at the platform's token endpoint."""
    now = dt.datetime.now(dt.UTC)
    claims = {
        "iss": access.client_id, "sub": access.client_id,
        "aud": access.audience or access.token_url,
        "iat": int(now.timestamp()), "exp": int((now + ASSERTION_LIFETIME).timestamp()),
        "jti": uuid.uuid4().hex,
    }
    return jwt.encode(claims, key.private_key_pem, algorithm="RS256", headers={"kid": key.kid})


@dataclass
class GradeService:
    """Assignment and Grade Services: find or create line items, post scores."""

    http: requests.Session
    tokens: ServiceTokens
    timeout: float
    _line_items: dict[tuple[str, str], str] = field(default_factory=dict)

    def _headers(self, access: PlatformAccess, key: SigningKey, media: str) -> dict[str, str]:
        # One token for both scopes the tool uses, so a worker needs one token per platform.
        token = self.tokens.token(access, key, GRADE_SCOPES)
        return {"Authorization": f"Bearer {token}", "Accept": media}

    def line_item_for(self, access: PlatformAccess, key: SigningKey, lineitems_url: str,
                      item: Mapping[str, Any]) -> str:
        """Return the URL of the line item with ``item``'s resourceId and tag, creating it if needed."""
        cache_key = (lineitems_url, f"{item['resourceId']}|{item['tag']}")
        if cache_key in self._line_items:
            return self._line_items[cache_key]
        headers = self._headers(access, key, v.MEDIA_LINEITEM_CONTAINER)
        params = {"resource_id": item["resourceId"], "tag": item["tag"]}
        found = _call(lambda: self.http.get(lineitems_url, params=params, headers=headers,
                                            timeout=self.timeout), "line items").json()
        url = next((str(i["id"]) for i in found if isinstance(i, dict) and i.get("id")), None) \
            if isinstance(found, list) else None
        if url is None:
            headers = {**headers, "Content-Type": v.MEDIA_LINEITEM, "Accept": v.MEDIA_LINEITEM}
            created = _call(lambda: self.http.post(lineitems_url, json=dict(item), headers=headers,
                                                   timeout=self.timeout), "create line item").json()
            url = str(created["id"])
        self._line_items[cache_key] = url
        return url

    def post_score(self, access: PlatformAccess, key: SigningKey, line_item_url: str,
                   score: Mapping[str, Any]) -> None:
        """POST a score to a line item's scores endpoint."""
        headers = {**self._headers(access, key, "application/json"),
                   "Content-Type": v.MEDIA_SCORE}
        base, _, query = line_item_url.partition("?")
        url = base.rstrip("/") + "/scores" + (f"?{query}" if query else "")
        _call(lambda: self.http.post(url, json=dict(score), headers=headers, timeout=self.timeout),
              "score")

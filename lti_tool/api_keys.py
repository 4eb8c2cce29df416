"""API keys for ``/api/v1``: create, list, revoke, and authenticate a bearer token.

A token reads ``l2i_<key id>_<secret>``. The key id (12 URL-safe characters) is the public half,
shown in lists and logs; the secret (``secrets.token_urlsafe(32)``) is shown once, when the key is
created, and only its SHA-256 is stored. Each key belongs to one platform and sees only its data.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import re
import secrets

from sqlalchemy import select
from sqlalchemy.orm import Session, joinedload

from l2i_db import utcnow
from lti_tool.access_models import ApiKey
from lti_tool.models import Platform

TOKEN_PREFIX = "l2i_"  # noqa: S105 (the tokens' public prefix, not a secret)
KEY_ID_LENGTH = 12
SECRET_BYTES = 32
MAX_NAME = 200
MAX_TOKEN_LENGTH = 200
LAST_USED_RESOLUTION = dt.timedelta(minutes=1)
TOKEN_PATTERN = re.compile(r"l2i_(?P<key_id>[A-Za-z0-9_-]{12})_(?P<secret>[A-Za-z0-9_-]{20,150})")
# Compared against when the key id is unknown, so that an unknown key costs as much as a wrong secret.
_NO_HASH = hashlib.sha256(b"no such key").hexdigest()


class ApiKeyError(ValueError):
    """A key that cannot be created, found or used; the message says why and what to do."""


def hash_secret(secret: str) -> str:
    """Return the SHA-256 hex digest of a token's secret half (what the database stores)."""
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def _new_key_id(session: Session) -> str:
    while True:
        key_id = secrets.token_urlsafe(9)  # 9 bytes: exactly 12 URL-safe characters
        if session.scalar(select(ApiKey.id).where(ApiKey.key_id == key_id)) is None:
            return key_id


def create_api_key(session: Session, platform: Platform, name: str) -> tuple[ApiKey, str]:
    """Make a key for ``platform``; return it and the whole token, which is never shown again."""
    name = name.strip()
    if not name:
        raise ApiKeyError("Give the key a name that says who uses it, e.g. 'Power BI, planning office'.")
    if len(name) > MAX_NAME:
        raise ApiKeyError(f"The key's name can be at most {MAX_NAME} characters.")
    secret = secrets.token_urlsafe(SECRET_BYTES)
    key = ApiKey(platform_id=platform.id, key_id=_new_key_id(session), secret_hash=hash_secret(secret),
                 name=name)
    session.add(key)
    session.flush()
    return key, f"{TOKEN_PREFIX}{key.key_id}_{secret}"


def find_api_key(session: Session, key_id: str) -> ApiKey | None:
    """Return the key with this public id (revoked or not), or None."""
    return session.scalar(select(ApiKey).options(joinedload(ApiKey.platform)).where(ApiKey.key_id == key_id))


def revoke_api_key(session: Session, key_id: str, now: dt.datetime | None = None) -> ApiKey:
    """Revoke a key (at ``now``, default the current time); revoking twice keeps the first time.

    :class:`ApiKeyError` if there is no key with this id.
    """
    key = find_api_key(session, key_id.strip())
    if key is None:
        raise ApiKeyError(f"There is no API key {key_id[:40]!r}. `l2i apikey list` shows the keys.")
    if key.revoked_at is None:
        key.revoked_at = now or utcnow()
        session.flush()
    return key


def list_api_keys(session: Session, platform: Platform | None = None) -> list[ApiKey]:
    """Return the keys (of one platform, or of all), oldest first, with their platforms loaded."""
    query = select(ApiKey).options(joinedload(ApiKey.platform)).order_by(ApiKey.created_at, ApiKey.id)
    if platform is not None:
        query = query.where(ApiKey.platform_id == platform.id)
    return list(session.scalars(query))


def authenticate(session: Session, token: str, now: dt.datetime) -> ApiKey:
    """Return the active key a bearer token names, noting its use (at most once a minute).

    :class:`ApiKeyError` says whether the token is malformed, unknown (or its secret wrong),
    revoked (and when), or belongs to a disabled platform.
    """
    match = TOKEN_PATTERN.fullmatch(token.strip()) if len(token) <= MAX_TOKEN_LENGTH else None
    if match is None:
        raise ApiKeyError("The API key is malformed: it should read l2i_<key id>_<secret>, exactly as "
                          "`l2i apikey create` printed it.")
    key = find_api_key(session, match["key_id"])
    given = hash_secret(match["secret"])
    if not hmac.compare_digest(given, key.secret_hash if key else _NO_HASH) or key is None:
        raise ApiKeyError(f"The API key {match['key_id']} is not known or its secret is wrong. Check "
                          "that the whole key was copied, or ask the tool's administrator for a new one.")
    if key.revoked_at is not None:
        raise ApiKeyError(f"The API key {key.key_id} was revoked on "
                          f"{key.revoked_at.astimezone(dt.UTC):%Y-%m-%d %H:%M} UTC. "
                          "Ask the tool's administrator for a new one.")
    if key.platform.disabled_at is not None:
        raise ApiKeyError(f"The API key {key.key_id} belongs to {key.platform.name}, whose registration "
                          "is disabled. Ask the tool's administrator.")
    if key.last_used_at is None or now - key.last_used_at >= LAST_USED_RESOLUTION:
        key.last_used_at = now
        session.flush()
    return key

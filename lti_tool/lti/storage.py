"""pylti1p3 launch-data storage in the database, so every worker sees the same state and nonces."""

from __future__ import annotations

import datetime as dt
from typing import Any

from pylti1p3.launch_data_storage.base import LaunchDataStorage
from sqlalchemy import delete
from sqlalchemy.orm import Session

from l2i_db import utcnow
from lti_tool.models import LtiValue

DEFAULT_LIFETIME = 600
NONCE_PREFIX = "lti1p3-nonce-"


class DatabaseLaunchDataStorage(LaunchDataStorage[Any]):
    """Keeps OIDC state, issued nonces and validated launches in the ``lti_value`` table.

    Writes go through the caller's session and are committed with the launch, so a
    refused launch leaves nothing behind.
    """

    _session_cookie_name = ""

    def __init__(self, session: Session) -> None:
        super().__init__()
        self._session = session

    def get_session_cookie_name(self) -> str | None:
        """Return None: values are keyed by state and nonce, not by a browser session id."""
        return None

    def can_set_keys_expiration(self) -> bool:
        """Report that each value carries its own expiry."""
        return True

    def get_value(self, key: str) -> Any:
        """Return the unexpired value stored under ``key``, or None."""
        row = self._session.get(LtiValue, self._prepare_key(key))
        if row is None or row.expires_at <= utcnow():
            return None
        return row.value

    def set_value(self, key: str, value: Any, exp: int | None = None) -> None:
        """Store ``value`` under ``key`` for ``exp`` seconds."""
        lifetime = exp if exp is not None else DEFAULT_LIFETIME
        expires_at = utcnow() + dt.timedelta(seconds=min(lifetime, 86400))
        self._session.merge(LtiValue(key=self._prepare_key(key), value=value, expires_at=expires_at))
        self._session.flush()

    def check_value(self, key: str) -> bool:
        """Return whether an unexpired value is stored under ``key``."""
        return self.get_value(key) is not None

    def remove_value(self, key: str) -> None:
        """Delete the value stored under ``key``."""
        self._session.execute(delete(LtiValue).where(LtiValue.key == self._prepare_key(key)))


def consume_nonce(session: Session, nonce: str) -> bool:
    """Mark an issued nonce as used; return False if it was not issued or already used.

    The delete is conditional, so of two concurrent launches with the same id_token
    exactly one succeeds, on SQLite and PostgreSQL alike.
    """
    result = session.execute(
        delete(LtiValue).where(LtiValue.key == NONCE_PREFIX + nonce, LtiValue.expires_at > utcnow())
    )
    return getattr(result, "rowcount", 0) == 1


def purge_expired_values(session: Session) -> int:
    """Delete expired launch data; return how many rows went."""
    result = session.execute(delete(LtiValue).where(LtiValue.expires_at <= utcnow()))
    return int(getattr(result, "rowcount", 0))

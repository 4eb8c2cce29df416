"""pylti1p3 launch-data storage in the database, so every worker sees the same state and nonces."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

from pylti1p3.launch_data_storage.base import LaunchDataStorage
from sqlalchemy import delete, select
from sqlalchemy.orm import Session
from sqlalchemy.orm.util import identity_key
from sqlalchemy.sql.expression import Executable

from l2i_db import utcnow
from l2i_db.dialect import insert_for
from lti_tool.models import LtiValue

DEFAULT_LIFETIME = 600
NONCE_PREFIX = "lti1p3-nonce-"


class DatabaseLaunchDataStorage(LaunchDataStorage[Any]):
    """Keeps OIDC state, issued nonces and validated launches in the ``lti_value`` table.

    Writes go through the caller's session and are committed with the launch, so a
    refused launch leaves nothing behind. Each write is one upsert; values a launch reads
    together can be fetched with one query first (:meth:`prefetch`).
    """

    _session_cookie_name = ""

    def __init__(self, session: Session) -> None:
        super().__init__()
        self._session = session
        self._fetched: dict[str, LtiValue | None] = {}

    def get_session_cookie_name(self) -> str | None:
        """Return None: values are keyed by state and nonce, not by a browser session id."""
        return None

    def can_set_keys_expiration(self) -> bool:
        """Report that each value carries its own expiry."""
        return True

    def prefetch(self, keys: Iterable[str]) -> None:
        """Read the values stored under ``keys`` with one query; reading them afterwards costs none."""
        wanted = {self._prepare_key(key) for key in keys} - self._fetched.keys()
        if not wanted:
            return
        rows = self._session.scalars(select(LtiValue).where(LtiValue.key.in_(wanted)))
        found = {row.key: row for row in rows}
        self._fetched.update({key: found.get(key) for key in wanted})

    def get_value(self, key: str) -> Any:
        """Return the unexpired value stored under ``key``, or None."""
        prepared = self._prepare_key(key)
        row = self._fetched[prepared] if prepared in self._fetched else self._session.get(LtiValue, prepared)
        if row is None or row.expires_at <= utcnow():
            return None
        return row.value

    def set_value(self, key: str, value: Any, exp: int | None = None) -> None:
        """Store ``value`` under ``key`` for ``exp`` seconds (one upsert)."""
        lifetime = exp if exp is not None else DEFAULT_LIFETIME
        expires_at = utcnow() + dt.timedelta(seconds=min(lifetime, 86400))
        prepared = self._prepare_key(key)
        self._session.execute(upsert_value(self._session, prepared, value, expires_at))
        self._forget(prepared)

    def check_value(self, key: str) -> bool:
        """Return whether an unexpired value is stored under ``key``."""
        return self.get_value(key) is not None

    def remove_value(self, key: str) -> None:
        """Delete the value stored under ``key``."""
        prepared = self._prepare_key(key)
        self._session.execute(delete(LtiValue).where(LtiValue.key == prepared))
        self._forget(prepared)

    def _forget(self, key: str) -> None:
        """Drop what this storage or the session hold of ``key``: the database has changed it."""
        self._fetched.pop(key, None)
        held = self._session.identity_map.get(identity_key(LtiValue, key))
        if held is not None:
            self._session.expire(held)


def upsert_value(session: Session, key: str, value: Any, expires_at: dt.datetime) -> Executable:
    """Return the statement that stores ``value`` under ``key``, replacing what was there."""
    statement = insert_for(session, LtiValue).values(key=key, value=value, expires_at=expires_at)
    upsert: Executable = statement.on_conflict_do_update(
        index_elements=[LtiValue.key],
        set_={"value": statement.excluded.value, "expires_at": statement.excluded.expires_at},
    )
    return upsert


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

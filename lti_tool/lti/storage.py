"""pylti1p3 launch-data storage in the database, so every worker sees the same state and nonces."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any, cast

from pylti1p3.launch_data_storage.base import LaunchDataStorage
from sqlalchemy import Table, bindparam, delete, select
from sqlalchemy.orm import Session
from sqlalchemy.orm.util import identity_key
from sqlalchemy.sql.expression import Executable

from l2i_db import utcnow
from l2i_db.dialect import insert_for
from lti_tool.models import LtiValue

DEFAULT_LIFETIME = 600
NONCE_PREFIX = "lti1p3-nonce-"

# Statements every login and launch runs, built once per process (SQLAlchemy then reuses their
# cache keys instead of building and hashing a new statement each time).
VALUES_BY_KEY = select(LtiValue).where(LtiValue.key.in_(bindparam("keys", expanding=True)))
LTI_VALUE = cast(Table, LtiValue.__table__)
# A plain table DELETE (the ORM's bulk delete costs more, and its in-Python evaluation ignores
# bound parameters): :func:`consume_nonce` drops the spent row from the session itself.
SPEND_NONCE = delete(LTI_VALUE).where(LTI_VALUE.c.key == bindparam("key"),
                                      LTI_VALUE.c.expires_at > bindparam("now"))


class DatabaseLaunchDataStorage(LaunchDataStorage[Any]):
    """Keeps OIDC state, issued nonces and validated launches in the ``lti_value`` table.

    Writes go through the caller's session and are committed with the launch, so a
    refused launch leaves nothing behind. Each write is one upsert, and the writes made
    inside :meth:`batched_writes` (a login's state and nonce) are one upsert together; values
    a launch reads together can be fetched with one query first (:meth:`prefetch`).
    """

    _session_cookie_name = ""

    def __init__(self, session: Session) -> None:
        super().__init__()
        self._session = session
        self._fetched: dict[str, LtiValue | None] = {}
        self._pending: dict[str, dict[str, Any]] | None = None  # writes held by batched_writes

    @contextmanager
    def batched_writes(self) -> Iterator[None]:
        """Hold the values set inside the block and store them with one upsert when it ends.

        Reading or removing a held value inside the block stores the held values first. If the
        block raises, nothing is stored (the caller's transaction is refused anyway).
        """
        self._pending = {}
        try:
            yield
            self._write_pending()
        finally:
            self._pending = None

    def _write_pending(self) -> None:
        if not self._pending:
            return
        rows = list(self._pending.values())
        self._pending.clear()
        self._session.execute(*upsert_values(self._session, rows))

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
        self._write_pending()
        rows = self._session.scalars(VALUES_BY_KEY, {"keys": sorted(wanted)})
        found = {row.key: row for row in rows}
        self._fetched.update({key: found.get(key) for key in wanted})

    def get_value(self, key: str) -> Any:
        """Return the unexpired value stored under ``key``, or None."""
        prepared = self._prepare_key(key)
        self._write_pending()
        row = self._fetched[prepared] if prepared in self._fetched else self._session.get(LtiValue, prepared)
        if row is None or row.expires_at <= utcnow():
            return None
        return row.value

    def set_value(self, key: str, value: Any, exp: int | None = None) -> None:
        """Store ``value`` under ``key`` for ``exp`` seconds (one upsert)."""
        lifetime = exp if exp is not None else DEFAULT_LIFETIME
        expires_at = utcnow() + dt.timedelta(seconds=min(lifetime, 86400))
        prepared = self._prepare_key(key)
        self._forget(prepared)
        row = {"key": prepared, "value": value, "expires_at": expires_at}
        if self._pending is not None:
            self._pending[prepared] = row
        else:
            self._session.execute(*upsert_values(self._session, [row]))

    def check_value(self, key: str) -> bool:
        """Return whether an unexpired value is stored under ``key``."""
        return self.get_value(key) is not None

    def remove_value(self, key: str) -> None:
        """Delete the value stored under ``key``."""
        prepared = self._prepare_key(key)
        self._write_pending()
        self._session.execute(delete(LtiValue).where(LtiValue.key == prepared))
        self._forget(prepared)

    def _forget(self, key: str) -> None:
        """Drop what this storage or the session hold of ``key``: the database has changed it."""
        self._fetched.pop(key, None)
        held = self._session.identity_map.get(identity_key(LtiValue, key))
        if held is not None:
            self._session.expire(held)


VALUE_COLUMNS = ("key", "value", "expires_at")
_UPSERTS: dict[tuple[str, int], Executable] = {}  # by database and number of rows: built once each


def _build_upsert(session: Session, count: int) -> Executable:
    statement = insert_for(session, LTI_VALUE).values([
        {name: bindparam(f"{name}_{n}", type_=LTI_VALUE.c[name].type) for name in VALUE_COLUMNS}
        for n in range(count)
    ])
    upsert: Executable = statement.on_conflict_do_update(
        index_elements=[LTI_VALUE.c.key],
        set_={"value": statement.excluded.value, "expires_at": statement.excluded.expires_at},
    )
    return upsert


def upsert_values(session: Session, rows: list[dict[str, Any]]) -> tuple[Executable, dict[str, Any]]:
    """Return one statement (and its parameters) storing each row's ``value`` under its ``key``.

    What was stored under a key is replaced. The statement is a plain table INSERT (no ORM
    bookkeeping is needed for rows the session does not hold) and is built once per database
    and number of rows.
    """
    shape = (session.get_bind().dialect.name, len(rows))
    statement = _UPSERTS.get(shape)
    if statement is None:
        statement = _UPSERTS[shape] = _build_upsert(session, len(rows))
    params = {f"{name}_{n}": row[name] for n, row in enumerate(rows) for name in VALUE_COLUMNS}
    return statement, params


def consume_nonce(session: Session, nonce: str) -> bool:
    """Mark an issued nonce as used; return False if it was not issued or already used.

    The delete is conditional, so of two concurrent launches with the same id_token
    exactly one succeeds, on SQLite and PostgreSQL alike.
    """
    key = NONCE_PREFIX + nonce
    result = session.execute(SPEND_NONCE, {"key": key, "now": utcnow()})
    spent = session.identity_map.get(identity_key(LtiValue, key))
    if spent is not None:
        session.expunge(spent)
    return getattr(result, "rowcount", 0) == 1


def purge_expired_values(session: Session) -> int:
    """Delete expired launch data; return how many rows went."""
    result = session.execute(delete(LtiValue).where(LtiValue.expires_at <= utcnow()))
    return int(getattr(result, "rowcount", 0))

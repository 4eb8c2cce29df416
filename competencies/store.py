"""The active competency framework, stored in the database (``l2i framework import`` writes it).

A stored framework is the native document (:func:`competencies.framework.framework_to_dict`), so
whatever was imported (YAML, CASE, Moodle CSV) is kept with its identifiers. With nothing stored,
the bundled ``framework/l2i.yaml`` is active.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, String, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from competencies.framework import (
    Framework,
    framework_from_dict,
    framework_to_dict,
    load_framework,
)
from l2i_db import Base, utcnow

PREFERRED_IDNUMBER = "L2I-FW"
MAX_SOURCE = 255
CACHE_SIZE = 8
_PARSED: dict[tuple[int, str, dt.datetime], Framework] = {}


class StoredFramework(Base):
    """One imported framework, as its native document; one row per framework idnumber."""

    __tablename__ = "competency_framework"

    id: Mapped[int] = mapped_column(primary_key=True)
    idnumber: Mapped[str] = mapped_column(String(100), unique=True)
    document: Mapped[dict[str, Any]] = mapped_column(JSON)
    imported_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    source: Mapped[str] = mapped_column(String(MAX_SOURCE))


def save_framework(session: Session, fw: Framework, source: str) -> None:
    """Store ``fw`` (replacing a stored framework with the same idnumber); flush, don't commit."""
    stored = session.scalar(select(StoredFramework).where(StoredFramework.idnumber == fw.idnumber))
    if stored is None:
        stored = StoredFramework(idnumber=fw.idnumber)
        session.add(stored)
    stored.document = framework_to_dict(fw)
    stored.source = source[-MAX_SOURCE:]
    stored.imported_at = utcnow()
    session.flush()


def _pick(session: Session) -> tuple[int, str, dt.datetime] | None:
    """Return (id, idnumber, imported_at) of the active stored framework, if any."""
    columns = select(StoredFramework.id, StoredFramework.idnumber, StoredFramework.imported_at)
    row = session.execute(columns.where(StoredFramework.idnumber == PREFERRED_IDNUMBER)).first()
    if row is None:
        row = session.execute(
            columns.order_by(StoredFramework.imported_at.desc(), StoredFramework.id.desc()).limit(1)
        ).first()
    return None if row is None else (row[0], row[1], row[2])


def active_framework(session: Session) -> Framework:
    """Return the framework in use: the stored one (L2I-FW first, else the latest), else the bundled one.

    A stored document is parsed and checked once per import (cached by row and import time).
    """
    picked = _pick(session)
    if picked is None:
        return load_framework()
    cached = _PARSED.get(picked)
    if cached is None:
        document = session.scalar(select(StoredFramework.document).where(StoredFramework.id == picked[0]))
        cached = framework_from_dict(document, source=f"stored framework {picked[1]}")
        if len(_PARSED) >= CACHE_SIZE:
            _PARSED.pop(next(iter(_PARSED)))
        _PARSED[picked] = cached
    return cached

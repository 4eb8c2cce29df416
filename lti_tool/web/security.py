"""Security headers on every response.

The tool lives inside LMS iframes, so ``frame-ancestors`` lists the registered
platforms' origins (and nothing else may frame it).
"""

from __future__ import annotations

import logging
import threading
import time
from urllib.parse import urlsplit

from flask import Response
from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from lti_tool.models import Platform

ORIGIN_CACHE_SECONDS = 30.0
log = logging.getLogger(__name__)


def origin_of(url: str) -> str | None:
    """Return ``scheme://host[:port]`` of ``url``, or None if it has none."""
    parts = urlsplit(url)
    if parts.scheme in ("http", "https") and parts.netloc:
        return f"{parts.scheme}://{parts.netloc}"
    return None


class FrameAncestors:
    """The origins allowed to frame the tool, read from the platform table and cached briefly."""

    def __init__(self, session_factory: sessionmaker[Session]) -> None:
        self._session_factory = session_factory
        self._origins: tuple[str, ...] = ()
        self._read_at = -ORIGIN_CACHE_SECONDS
        self._lock = threading.Lock()

    def origins(self) -> tuple[str, ...]:
        """Return the allowed origins, re-reading the database every few seconds."""
        if time.monotonic() - self._read_at > ORIGIN_CACHE_SECONDS:
            with self._lock:
                self._read_at = time.monotonic()
                try:
                    self._origins = self._read_origins()
                except SQLAlchemyError:
                    log.warning("could not read platform origins; keeping the last known ones")
        return self._origins

    def _read_origins(self) -> tuple[str, ...]:
        with self._session_factory() as session:
            rows = session.execute(
                select(Platform.issuer, Platform.auth_login_url).where(Platform.disabled_at.is_(None))
            )
            found = {origin_of(u) for row in rows for u in row}
        return tuple(sorted(o for o in found if o))


def content_security_policy(frame_origins: tuple[str, ...]) -> str:
    """Return the tool's CSP: own resources only, framed only by registered platforms."""
    ancestors = " ".join(("'self'", *frame_origins))
    return (
        "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
        "object-src 'none'; base-uri 'none'; "
        f"form-action {ancestors}; "
        f"frame-ancestors {ancestors}"
    )


def apply_security_headers(response: Response, frame_origins: tuple[str, ...]) -> Response:
    """Set CSP, nosniff and referrer headers on ``response``."""
    response.headers.setdefault("Content-Security-Policy", content_security_policy(frame_origins))
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "same-origin"
    if response.mimetype == "text/html":
        response.headers.setdefault("Cache-Control", "no-store")
    return response

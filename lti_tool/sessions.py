"""The tool's own sessions after a launch.

A session is a database row; the browser holds a signed, short-lived token naming it.
The token travels in the tool's links and forms (so the session works in an LMS
iframe whose browser blocks third-party cookies) and also in a cookie where the
browser keeps one (so it works in a new window).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets

from itsdangerous import BadSignature, URLSafeTimedSerializer
from sqlalchemy import bindparam, delete, select
from sqlalchemy.orm import Session, joinedload

from l2i_db import utcnow
from lti_tool.models import ToolSession
from lti_tool.principal import Launch
from lti_tool.sync import SyncedLaunch

# Every request of a session reads its user, platform, course and link: load them with the session.
SESSION_ROWS = (
    joinedload(ToolSession.user), joinedload(ToolSession.platform), joinedload(ToolSession.context),
    joinedload(ToolSession.resource_link),
)
# Every request after a launch runs this statement: built once per process.
LIVE_SESSION = (
    select(ToolSession).options(*SESSION_ROWS)
    .where(ToolSession.id == bindparam("session_id"), ToolSession.expires_at > bindparam("now"))
)


class SessionTokens:
    """Signs and reads session tokens with the tool's secret key."""

    def __init__(self, secret_key: str, lifetime: int) -> None:
        self._serializer = URLSafeTimedSerializer(secret_key, salt="l2i-session")
        self._secret = secret_key.encode()
        self.lifetime = lifetime

    def sign(self, session_id: str) -> str:
        """Return the token for ``session_id``."""
        return self._serializer.dumps(session_id)

    def read(self, token: str) -> str | None:
        """Return the session id in ``token``, or None if it is forged, malformed or expired."""
        if not token or len(token) > 512:
            return None
        try:
            session_id = self._serializer.loads(token, max_age=self.lifetime)
        except BadSignature:
            return None
        return session_id if isinstance(session_id, str) else None

    def csrf_token(self, session_id: str) -> str:
        """Return the CSRF token of the tool's forms for this session."""
        return hmac.new(self._secret, b"csrf:" + session_id.encode(), hashlib.sha256).hexdigest()

    def check_csrf(self, session_id: str, token: str | None) -> bool:
        """Return whether ``token`` is this session's CSRF token."""
        return bool(token) and hmac.compare_digest(self.csrf_token(session_id), token or "")


def create_tool_session(
    session: Session, synced: SyncedLaunch, *, lifetime: int, launch_id: str | None
) -> ToolSession:
    """Start a tool session for a validated, synced launch."""
    now = utcnow()
    row = ToolSession(
        id=secrets.token_urlsafe(32),
        user_id=synced.user.id,
        platform_id=synced.platform.id,
        context_id=synced.context.id if synced.context else None,
        resource_link_id=synced.resource_link.id if synced.resource_link else None,
        roles=list(synced.roles),
        message_type=synced.message_type,
        launch_id=launch_id,
        locale=synced.locale,
        custom=synced.custom,
        created_at=now,
        expires_at=now + dt.timedelta(seconds=lifetime),
    )
    session.add(row)
    session.flush()
    return row


def find_launch(session: Session, session_id: str) -> Launch | None:
    """Return the launch for an unexpired tool session, or None (one query, its rows joined in)."""
    row = session.scalars(LIVE_SESSION, {"session_id": session_id, "now": utcnow()}).first()
    if row is None:
        return None
    return Launch(
        session_id=row.id,
        user=row.user,
        platform=row.platform,
        context=row.context,
        resource_link=row.resource_link,
        roles=tuple(row.roles),
        message_type=row.message_type,
        locale=row.locale,
        custom=dict(row.custom),
    )


def purge_expired_sessions(session: Session) -> int:
    """Delete expired tool sessions; return how many went."""
    result = session.execute(delete(ToolSession).where(ToolSession.expires_at <= utcnow()))
    return int(getattr(result, "rowcount", 0))

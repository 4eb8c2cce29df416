"""The tool's RSA signing keys: creation, rotation with a grace period, and the public JWKS.

Private keys live in the database (never in the repository or a config file). The
newest unretired key signs; retired keys stay in the JWKS until ``published_until``
so that platforms holding a cached copy can still verify what we signed before.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from jwcrypto.jwk import JWK
from jwt.algorithms import RSAAlgorithm
from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from l2i_db import utcnow
from lti_tool.models import ToolKey

KEY_SIZE = 2048


@dataclass(frozen=True)
class SigningKey:
    """The key the tool signs with now."""

    kid: str
    private_key_pem: str

    @property
    def public_key_pem(self) -> str:
        """Return the public half in PEM form."""
        private_key = serialization.load_pem_private_key(self.private_key_pem.encode(), None)
        return private_key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        ).decode("ascii")


def _generate_key() -> tuple[str, dict[str, Any], str]:
    private_key = rsa.generate_private_key(public_exponent=65537, key_size=KEY_SIZE)
    pem = private_key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode("ascii")
    kid = JWK.from_pem(pem.encode("ascii")).thumbprint()  # RFC 7638, as pylti1p3 computes it
    jwk: dict[str, Any] = json.loads(RSAAlgorithm.to_jwk(private_key.public_key()))
    jwk.update({"kid": kid, "alg": "RS256", "use": "sig"})
    return kid, jwk, pem


def create_key(session: Session) -> ToolKey:
    """Create a new signing key and add it to ``session``."""
    kid, jwk, pem = _generate_key()
    key = ToolKey(kid=kid, private_key_pem=pem, public_jwk=jwk)
    session.add(key)
    session.flush()
    return key


def find_signing_key(session: Session) -> ToolKey | None:
    """Return the current signing key, or None when the tool has none yet."""
    stmt = (
        select(ToolKey)
        .where(ToolKey.retired_at.is_(None))
        .order_by(ToolKey.created_at.desc(), ToolKey.id.desc())
        .limit(1)
    )
    return session.scalars(stmt).first()


def ensure_signing_key(session: Session) -> SigningKey:
    """Return the current signing key, creating the first one if there is none."""
    key = find_signing_key(session) or create_key(session)
    return SigningKey(kid=key.kid, private_key_pem=key.private_key_pem)


def rotate_keys(session: Session, grace: dt.timedelta) -> tuple[ToolKey, list[ToolKey]]:
    """Make a new signing key and retire the current ones, keeping them published for ``grace``.

    Returns the new key and the keys it retired.
    """
    now = utcnow()
    retired = list(session.scalars(select(ToolKey).where(ToolKey.retired_at.is_(None))))
    for key in retired:
        key.retired_at = now
        key.published_until = now + grace
    new_key = create_key(session)
    return new_key, retired


def published_jwks(session: Session) -> dict[str, list[dict[str, Any]]]:
    """Return the public JWKS: the signing key plus retired keys still in their grace period.

    The shape is exactly ``{"keys": [...]}``, with public parts only.
    """
    now = utcnow()
    stmt = (
        select(ToolKey)
        .where(or_(ToolKey.retired_at.is_(None), ToolKey.published_until > now))
        .order_by(ToolKey.created_at.desc(), ToolKey.id.desc())
    )
    public_fields = ("kty", "n", "e", "kid", "alg", "use")
    keys = [{f: key.public_jwk[f] for f in public_fields} for key in session.scalars(stmt)]
    return {"keys": keys}


def purge_expired_keys(session: Session) -> int:
    """Delete retired keys whose grace period has ended; return how many went."""
    now = utcnow()
    expired = list(
        session.scalars(
            select(ToolKey).where(ToolKey.retired_at.is_not(None), ToolKey.published_until <= now)
        )
    )
    for key in expired:
        session.delete(key)
    return len(expired)

"""The OAuth2 token endpoint (client_credentials + private_key_jwt) and bearer checks.

As in the LTI Security Framework 1.0: the tool authenticates with an RS256
``client_assertion`` whose iss and sub are its client_id and whose aud is the
token URL; the platform checks it against the tool's JWKS and answers an access
token for the LTI Advantage scopes it asked for.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import Any

from lms_emulator import vocabulary as v
from lms_emulator.errors import ServiceError
from lms_emulator.platform import ACCESS_TOKEN_LIFETIME_SECONDS, AccessToken, Institution
from lms_emulator.tool_keys import ToolJwtError, ToolKeyError, ToolKeySet, decode_tool_jwt

ASSERTION_REQUIRED_CLAIMS = ("iss", "sub", "aud", "iat", "exp", "jti")


def _check_grant(form: Mapping[str, str]) -> str:
    if form.get("grant_type") != v.GRANT_CLIENT_CREDENTIALS:
        raise ServiceError(400, "unsupported_grant_type", "grant_type must be client_credentials")
    if form.get("client_assertion_type") != v.CLIENT_ASSERTION_TYPE_JWT_BEARER:
        raise ServiceError(
            400,
            "invalid_request",
            f"client_assertion_type must be {v.CLIENT_ASSERTION_TYPE_JWT_BEARER}",
        )
    assertion = form.get("client_assertion", "")
    if not assertion:
        raise ServiceError(400, "invalid_request", "client_assertion is missing")
    return assertion


def verify_client_assertion(institution: Institution, keys: ToolKeySet, assertion: str) -> dict[str, Any]:
    """Check a client assertion's signature and claims; return its claims.

    Refusals raise ServiceError(401, "invalid_client").
    """
    try:
        claims = decode_tool_jwt(
            keys,
            assertion,
            audience=[institution.auth_token_url, institution.issuer],
            issuer=institution.client_id,
            required=ASSERTION_REQUIRED_CLAIMS,
        )
    except (ToolJwtError, ToolKeyError) as exc:
        raise ServiceError(401, "invalid_client", f"client_assertion refused: {exc}") from exc
    if claims["sub"] != institution.client_id:
        raise ServiceError(401, "invalid_client", "client_assertion sub must be the client_id")
    if not institution.consume_jti(str(claims["jti"]), float(claims["exp"])):
        raise ServiceError(401, "invalid_client", "client_assertion jti was already used")
    return claims


def grant_scopes(requested: str | None) -> frozenset[str]:
    """Return the scopes granted for a request: those asked for that the platform offers."""
    if not requested:
        return frozenset(v.SERVICE_SCOPES)
    asked = set(requested.split())
    granted = frozenset(asked & set(v.SERVICE_SCOPES))
    if not granted:
        raise ServiceError(400, "invalid_scope", f"none of the scopes {requested!r} is offered")
    return granted


def issue_token_response(
    institution: Institution, keys: ToolKeySet, form: Mapping[str, str]
) -> dict[str, Any]:
    """Handle a token request; return the RFC 6749 JSON body or raise ServiceError."""
    entry: dict[str, Any] = {
        "grant_type": form.get("grant_type"),
        "scopes_requested": form.get("scope", ""),
    }
    try:
        assertion = _check_grant(form)
        claims = verify_client_assertion(institution, keys, assertion)
        scopes = grant_scopes(form.get("scope"))
    except ServiceError as exc:
        institution.append_record(
            "token_requests", {**entry, "outcome": "refused", "error": exc.error, "reason": exc.description}
        )
        raise
    token = institution.issue_access_token(scopes)
    granted = " ".join(sorted(scopes))
    institution.append_record(
        "token_requests",
        {**entry, "outcome": "ok", "jti": claims["jti"], "scopes_granted": granted},
    )
    return {
        "access_token": token.value,
        "token_type": "Bearer",
        "expires_in": ACCESS_TOKEN_LIFETIME_SECONDS,
        "scope": granted,
    }


def authorize_bearer(
    institution: Institution, authorization: str | None, *, any_of: Collection[str]
) -> AccessToken:
    """Check an ``Authorization: Bearer`` header grants one of ``any_of`` scopes.

    Raises ServiceError 401 (no or unknown token) or 403 (token lacks the scope).
    """
    scheme, _, value = (authorization or "").partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        raise ServiceError(401, "invalid_token", "an Authorization: Bearer token is required")
    token = institution.find_access_token(value.strip())
    if token is None:
        raise ServiceError(401, "invalid_token", "the access token is unknown or expired")
    if not token.scopes & set(any_of):
        raise ServiceError(403, "insufficient_scope", f"this call needs one of the scopes {sorted(any_of)}")
    return token

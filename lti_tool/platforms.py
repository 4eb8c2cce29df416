"""Platform registrations and their deployments: add, list, remove and look up.

One issuer may have several client_ids (one per registration); one registration may
have several deployments.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import urlsplit

from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from l2i_db import utcnow
from lti_tool.models import Context, Deployment, Platform

MAX_ID_LENGTH = 255
MAX_URL_LENGTH = 1024


PASSWORD_ENV = re.compile(r"[A-Z_][A-Z0-9_]{0,99}")


class PlatformError(ValueError):
    """A registration request that cannot be carried out; the message says why."""


@dataclass(frozen=True)
class PlatformSpec:
    """What an administrator gives to register a platform (``l2i platform add``)."""

    issuer: str
    client_id: str
    auth_login_url: str
    auth_token_url: str
    key_set_url: str
    deployment_ids: tuple[str, ...]
    name: str | None = None
    auth_audience: str | None = None


def _check_url(label: str, value: str) -> None:
    parts = urlsplit(value)
    if parts.scheme not in ("https", "http") or not parts.netloc:
        raise PlatformError(f"{label} must be an absolute http(s) URL, got {value!r}")
    if len(value) > MAX_URL_LENGTH:
        raise PlatformError(f"{label} is longer than {MAX_URL_LENGTH} characters")


def _check_id(label: str, value: str) -> None:
    if not value or not value.strip():
        raise PlatformError(f"{label} must not be empty")
    if len(value) > MAX_ID_LENGTH:
        raise PlatformError(f"{label} is longer than {MAX_ID_LENGTH} characters")


def validate_spec(spec: PlatformSpec) -> None:
    """Check a registration request; raise :class:`PlatformError` naming the faulty field."""
    _check_url("--issuer", spec.issuer)
    _check_id("--client-id", spec.client_id)
    _check_url("--auth-login-url", spec.auth_login_url)
    _check_url("--auth-token-url", spec.auth_token_url)
    _check_url("--key-set-url", spec.key_set_url)
    if spec.auth_audience:
        _check_url("--auth-audience", spec.auth_audience)
    if not spec.deployment_ids:
        raise PlatformError("give at least one --deployment-id")
    for deployment_id in spec.deployment_ids:
        _check_id("--deployment-id", deployment_id)


def find_platform(session: Session, issuer: str, client_id: str) -> Platform | None:
    """Return the registration for ``issuer`` and ``client_id``, or None."""
    stmt = select(Platform).where(Platform.issuer == issuer, Platform.client_id == client_id)
    return session.scalars(stmt).first()


def find_platforms_by_issuer(session: Session, issuer: str) -> list[Platform]:
    """Return every registration of ``issuer`` (one per client_id)."""
    stmt = select(Platform).where(Platform.issuer == issuer).order_by(Platform.id)
    return list(session.scalars(stmt))


def set_email_trust(session: Session, issuer: str, trusted: bool) -> int:
    """Set whether the platform ``issuer`` (all its registrations) is trusted for linking by email.

    Returns how many registrations changed or matched; 0 means no such platform.
    """
    found = find_platforms_by_issuer(session, issuer)
    for platform in found:
        platform.trusts_email = trusted
    session.flush()
    return len(found)


def find_deployment(session: Session, platform: Platform, deployment_id: str) -> Deployment | None:
    """Return the platform's deployment with ``deployment_id``, or None."""
    stmt = select(Deployment).where(
        Deployment.platform_id == platform.id, Deployment.deployment_id == deployment_id
    )
    return session.scalars(stmt).first()


def add_platform(session: Session, spec: PlatformSpec) -> Platform:
    """Register a platform, or add deployments to an existing registration.

    Adding the same issuer and client_id again updates its URLs and adds any new
    deployment ids, so the command is safe to repeat.
    """
    validate_spec(spec)
    platform = find_platform(session, spec.issuer, spec.client_id)
    if platform is None:
        platform = Platform(issuer=spec.issuer, client_id=spec.client_id)
        session.add(platform)
    platform.name = spec.name or platform.name or urlsplit(spec.issuer).netloc
    platform.auth_login_url = spec.auth_login_url
    platform.auth_token_url = spec.auth_token_url
    platform.key_set_url = spec.key_set_url
    platform.auth_audience = spec.auth_audience
    platform.disabled_at = None
    session.flush()
    for deployment_id in spec.deployment_ids:
        if find_deployment(session, platform, deployment_id) is None:
            session.add(Deployment(platform_id=platform.id, deployment_id=deployment_id))
    session.flush()
    session.refresh(platform)
    return platform


def set_platform_lrs(session: Session, platform: Platform, endpoint: str | None, username: str | None,
                     password_env: str | None, actor: str = "account") -> None:
    """Point a platform's statements at the institution's own LRS (``endpoint`` None: stop)."""
    if endpoint is None:
        platform.lrs_endpoint = platform.lrs_username = platform.lrs_password_env = None
        platform.xapi_actor = "account"
        return
    _check_url("--endpoint", endpoint)
    if (username is None) != (password_env is None):
        raise PlatformError("--username and --password-env go together: give both or neither")
    if password_env is not None and not PASSWORD_ENV.fullmatch(password_env):
        raise PlatformError("--password-env must name an environment variable, e.g. L2I_LRS_PASSWORD_UNI, "
                            f"got {password_env!r}")
    if actor not in ("account", "mbox", "mbox_sha1sum"):
        raise PlatformError(f"--actor must be account, mbox or mbox_sha1sum, got {actor!r}")
    platform.lrs_endpoint, platform.lrs_username = endpoint, username
    platform.lrs_password_env, platform.xapi_actor = password_env, actor
    session.flush()


def list_platforms(session: Session) -> list[Platform]:
    """Return every registration with its deployments loaded."""
    stmt = select(Platform).options(selectinload(Platform.deployments)).order_by(Platform.id)
    return list(session.scalars(stmt))


def count_contexts(session: Session, platform: Platform) -> int:
    """Return how many courses of this platform have launched the tool."""
    stmt = (
        select(func.count(Context.id))
        .join(Deployment, Context.deployment_id == Deployment.id)
        .where(Deployment.platform_id == platform.id)
    )
    return int(session.scalar(stmt) or 0)


def remove_platform(session: Session, platform: Platform, *, disable_only: bool = False) -> str:
    """Remove a registration, or disable it when learners' records depend on it.

    A platform whose courses have launched the tool holds learners' work, so it is
    only removed when ``disable_only`` is false and no course refers to it; otherwise
    it is disabled (launches refused, records kept). Returns ``"removed"`` or ``"disabled"``.
    """
    contexts = count_contexts(session, platform)
    if disable_only or contexts:
        if contexts and not disable_only:
            raise PlatformError(
                f"platform {platform.name!r} has {contexts} course(s) with learners' records; "
                "run again with --disable to stop its launches and keep the records"
            )
        platform.disabled_at = utcnow()
        session.flush()
        return "disabled"
    session.delete(platform)
    session.flush()
    return "removed"

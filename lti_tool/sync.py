"""Sync a validated launch's claims into users, contexts, memberships and resource links.

This runs once per launch, in the launch's transaction. Everything after the launch
reads these rows, never the raw claims.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

from sqlalchemy import select
from sqlalchemy.orm import Session

from l2i_db import utcnow
from l2i_db.dialect import insert_for
from lti_tool import vocabulary as v
from lti_tool.models import (
    Context,
    Deployment,
    Learner,
    Membership,
    Platform,
    PlatformUser,
    ResourceLink,
)

MAX_TEXT = 255
RowT = TypeVar("RowT", Context, ResourceLink, Membership, PlatformUser)


def insert_once(session: Session, model: type[RowT], values: Mapping[str, Any] | None = None, /,
                **key: Any) -> RowT:
    """Insert the row with this unique ``key`` (and other ``values``) unless it exists; return the row.

    Learners entering a new course at the same moment each try to create its rows, and two first
    launches of one person (a double click, two tabs) both try to create the person: the insert
    does nothing for all but the first (waiting for it to commit), and each reads the one row.
    """
    statement = insert_for(session, model).values(**key, **(values or {}))
    session.execute(statement.on_conflict_do_nothing(index_elements=list(key)))
    found: RowT = session.scalars(select(model).filter_by(**key)).one()
    return found


@dataclass(frozen=True)
class SyncedLaunch:
    """The rows a launch touched."""

    platform: Platform
    deployment: Deployment
    user: PlatformUser
    context: Context | None
    membership: Membership | None
    resource_link: ResourceLink | None
    roles: tuple[str, ...]
    custom: dict[str, str]
    locale: str | None
    message_type: str


def _text(value: Any, limit: int = MAX_TEXT) -> str | None:
    if not isinstance(value, str) or not value.strip():
        return None
    return value.strip()[:limit]


def normalise_roles(roles: list[str]) -> tuple[str, ...]:
    """Expand LTI short role names to full LIS URIs and drop duplicates, keeping order."""
    seen: dict[str, None] = {}
    for role in roles:
        seen[v.SHORT_CONTEXT_ROLES.get(role, role)[:MAX_TEXT]] = None
    return tuple(seen)


def read_custom(claims: Mapping[str, Any]) -> dict[str, str]:
    """Return the custom parameters as short strings (other value types are dropped)."""
    custom = claims.get(v.CLAIM_CUSTOM) or {}
    return {
        str(k)[:64]: str(val)[:1024]
        for k, val in custom.items()
        if isinstance(val, str | int | float) and not isinstance(val, bool)
    }


def read_locale(claims: Mapping[str, Any]) -> str | None:
    """Return the launch's ``launch_presentation.locale``, if it looks like a language tag."""
    presentation = claims.get(v.CLAIM_LAUNCH_PRESENTATION)
    locale = presentation.get("locale") if isinstance(presentation, dict) else None
    if not isinstance(locale, str) or not 0 < len(locale) <= 35:
        return None
    return locale if locale.replace("-", "").replace("_", "").isalnum() else None


def sync_user(session: Session, issuer: str, claims: Mapping[str, Any]) -> PlatformUser:
    """Create or update the user ``issuer`` + ``sub`` with the names the launch carries."""
    sub = str(claims["sub"])
    user = session.scalars(
        select(PlatformUser).where(PlatformUser.issuer == issuer, PlatformUser.sub == sub)
    ).first()
    if user is None:
        learner = Learner()
        session.add(learner)
        session.flush()
        user = insert_once(session, PlatformUser, {"learner_id": learner.id}, issuer=issuer, sub=sub)
        if user.learner_id != learner.id:  # a launch at the same time created the user first
            session.delete(learner)
    for field in ("name", "given_name", "family_name"):
        value = _text(claims.get(field))
        if value is not None:
            setattr(user, field, value)
    email = _text(claims.get("email"), 320)
    if email is not None and "@" in email:
        user.email, user.email_key = email, email.strip().lower()
    user.locale = read_locale(claims) or user.locale
    user.last_launch_at = utcnow()
    session.flush()
    return user


def sync_context(session: Session, deployment: Deployment, claims: Mapping[str, Any]) -> Context | None:
    """Create or update the launch's course, if it has one."""
    claim = claims.get(v.CLAIM_CONTEXT)
    if not isinstance(claim, dict):
        return None
    context_id = str(claim["id"])
    context = session.scalars(
        select(Context).where(Context.deployment_id == deployment.id, Context.context_id == context_id)
    ).first()
    if context is None:
        context = insert_once(session, Context, deployment_id=deployment.id, context_id=context_id)
    context.title = _text(claim.get("title")) or context.title
    context.label = _text(claim.get("label")) or context.label
    types = claim.get("type")
    if isinstance(types, list):
        context.types = [str(t)[:MAX_TEXT] for t in types if isinstance(t, str)][:10]
    session.flush()
    return context


def sync_membership(
    session: Session, user: PlatformUser, context: Context, roles: tuple[str, ...]
) -> Membership:
    """Record the user's roles in the context as of this launch."""
    membership = session.scalars(
        select(Membership).where(Membership.user_id == user.id, Membership.context_id == context.id)
    ).first()
    if membership is None:
        membership = insert_once(session, Membership, user_id=user.id, context_id=context.id)
    membership.roles = list(roles)
    membership.studies = v.ROLE_LEARNER in roles
    session.flush()
    return membership


def sync_resource_link(
    session: Session,
    deployment: Deployment,
    context: Context | None,
    claims: Mapping[str, Any],
    custom: dict[str, str],
) -> ResourceLink | None:
    """Create or update the placement the launch came from (resource-link launches only)."""
    claim = claims.get(v.CLAIM_RESOURCE_LINK)
    if not isinstance(claim, dict):
        return None
    link_id = str(claim["id"])
    link = session.scalars(
        select(ResourceLink).where(
            ResourceLink.deployment_id == deployment.id, ResourceLink.link_id == link_id
        )
    ).first()
    if link is None:
        link = insert_once(session, ResourceLink, deployment_id=deployment.id, link_id=link_id)
    link.context_id = context.id if context else None
    link.title = _text(claim.get("title")) or link.title
    link.custom = custom
    ags = claims.get(v.CLAIM_AGS_ENDPOINT)
    if isinstance(ags, dict):
        link.lineitem_url = _text(ags.get("lineitem"), 1024)
        link.lineitems_url = _text(ags.get("lineitems"), 1024)
    nrps = claims.get(v.CLAIM_NRPS)
    if isinstance(nrps, dict):
        link.memberships_url = _text(nrps.get("context_memberships_url"), 1024)
    session.flush()
    return link


def sync_launch(
    session: Session, platform: Platform, deployment: Deployment, claims: Mapping[str, Any]
) -> SyncedLaunch:
    """Sync every row a validated launch touches and return them."""
    roles = normalise_roles(list(claims.get(v.CLAIM_ROLES) or []))
    custom = read_custom(claims)
    user = sync_user(session, platform.issuer, claims)
    context = sync_context(session, deployment, claims)
    membership = sync_membership(session, user, context, roles) if context else None
    link = sync_resource_link(session, deployment, context, claims, custom)
    return SyncedLaunch(
        platform=platform,
        deployment=deployment,
        user=user,
        context=context,
        membership=membership,
        resource_link=link,
        roles=roles,
        custom=custom,
        locale=read_locale(claims),
        message_type=str(claims[v.CLAIM_MESSAGE_TYPE]),
    )

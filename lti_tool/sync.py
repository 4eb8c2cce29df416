"""Sync a validated launch's claims into users, contexts, memberships and resource links.

This runs once per launch, in the launch's transaction. Everything after the launch
reads these rows, never the raw claims.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

from sqlalchemy import and_, bindparam, select
from sqlalchemy.orm import Session, contains_eager
from sqlalchemy.orm.attributes import set_committed_value

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
    does nothing for all but the first (waiting for it to commit), and each reads the one row: the
    first from the insert itself (``RETURNING``), the others with a query.
    """
    statement = insert_for(session, model).values(**key, **(values or {}))
    inserted = session.scalars(statement.on_conflict_do_nothing(index_elements=list(key)).returning(model))
    found: RowT | None = inserted.first()  # the new row, unless another launch inserted it first
    if found is None:
        found = session.scalars(select(model).filter_by(**key)).one()
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


def _claim_id(claims: Mapping[str, Any], name: str) -> str | None:
    """Return the ``id`` of an object claim (the context, the resource link), or None without one."""
    claim = claims.get(name)
    return str(claim["id"]) if isinstance(claim, dict) else None


# A launch reads the rows it syncs with one statement, built once per process: the person (and
# their learner record, which the launch's xAPI statement names), the course, the person's
# membership in it and the link. Each is None when the launch has none or creates it.
KNOWN_ROWS = (
    select(PlatformUser, Context, Membership, ResourceLink)
    .select_from(Deployment)
    .outerjoin(PlatformUser, and_(PlatformUser.issuer == bindparam("issuer"),
                                  PlatformUser.sub == bindparam("sub")))
    .outerjoin(PlatformUser.learner)
    .outerjoin(Context, and_(Context.deployment_id == Deployment.id,
                             Context.context_id == bindparam("context_id")))
    .outerjoin(Membership, and_(Membership.user_id == PlatformUser.id, Membership.context_id == Context.id))
    .outerjoin(ResourceLink, and_(ResourceLink.deployment_id == Deployment.id,
                                  ResourceLink.link_id == bindparam("link_id")))
    .where(Deployment.id == bindparam("deployment_id"))
    .options(contains_eager(PlatformUser.learner))
)


@dataclass(frozen=True)
class KnownRows:
    """The rows a launch touches that exist already (None: not yet, or not in this launch)."""

    user: PlatformUser | None
    context: Context | None
    membership: Membership | None
    resource_link: ResourceLink | None


def read_known_rows(
    session: Session, issuer: str, deployment: Deployment, claims: Mapping[str, Any]
) -> KnownRows:
    """Read the user, course, membership and link a launch names, with one query."""
    row = session.execute(KNOWN_ROWS, {
        "issuer": issuer, "sub": str(claims["sub"]), "deployment_id": deployment.id,
        "context_id": _claim_id(claims, v.CLAIM_CONTEXT),
        "link_id": _claim_id(claims, v.CLAIM_RESOURCE_LINK),
    }).one()
    user, context, membership, link = row
    return KnownRows(user=user, context=context, membership=membership, resource_link=link)


def _set_all(row: Any, values: Mapping[str, Any]) -> None:
    for name, value in values.items():
        setattr(row, name, value)


def _user_values(claims: Mapping[str, Any]) -> dict[str, Any]:
    """Return what a launch says about its user: the names, email and locale it carries."""
    values: dict[str, Any] = {}
    for field in ("name", "given_name", "family_name"):
        value = _text(claims.get(field))
        if value is not None:
            values[field] = value
    email = _text(claims.get("email"), 320)
    if email is not None and "@" in email:
        values["email"], values["email_key"] = email, email.strip().lower()
    locale = read_locale(claims)
    if locale is not None:
        values["locale"] = locale
    values["last_launch_at"] = utcnow()
    return values


def sync_user(
    session: Session, issuer: str, claims: Mapping[str, Any], known: PlatformUser | None
) -> PlatformUser:
    """Create (``known`` None) or update the user ``issuer`` + ``sub`` with the names the launch carries."""
    values = _user_values(claims)
    user = known
    if user is None:
        learner = Learner()
        session.add(learner)
        session.flush()
        user = insert_once(session, PlatformUser, {"learner_id": learner.id, **values},
                           issuer=issuer, sub=str(claims["sub"]))
        if user.learner_id != learner.id:  # a launch at the same time created the user first
            session.delete(learner)
        else:
            set_committed_value(user, "learner", learner)  # known: no query to read it back
    _set_all(user, values)
    return user


def _context_values(claim: Mapping[str, Any]) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for field in ("title", "label"):
        value = _text(claim.get(field))
        if value is not None:
            values[field] = value
    types = claim.get("type")
    if isinstance(types, list):
        values["types"] = [str(t)[:MAX_TEXT] for t in types if isinstance(t, str)][:10]
    return values


def sync_context(
    session: Session, deployment: Deployment, claims: Mapping[str, Any], known: Context | None
) -> Context | None:
    """Create (``known`` None) or update the launch's course, if it has one."""
    claim = claims.get(v.CLAIM_CONTEXT)
    if not isinstance(claim, dict):
        return None
    values = _context_values(claim)
    context = known
    if context is None:
        context = insert_once(session, Context, values, deployment_id=deployment.id,
                              context_id=str(claim["id"]))
    _set_all(context, values)
    return context


def sync_membership(
    session: Session, user: PlatformUser, context: Context, roles: tuple[str, ...],
    known: Membership | None,
) -> Membership:
    """Record the user's roles in the context as of this launch (``known``: the membership so far)."""
    values = {"roles": list(roles), "studies": v.ROLE_LEARNER in roles}
    membership = known
    if membership is None:
        membership = insert_once(session, Membership, values, user_id=user.id, context_id=context.id)
    _set_all(membership, values)
    return membership


def _link_values(claim: Mapping[str, Any], claims: Mapping[str, Any], context: Context | None,
                 custom: dict[str, str]) -> dict[str, Any]:
    values: dict[str, Any] = {"context_id": context.id if context else None, "custom": custom}
    title = _text(claim.get("title"))
    if title is not None:
        values["title"] = title
    ags = claims.get(v.CLAIM_AGS_ENDPOINT)
    if isinstance(ags, dict):
        values["lineitem_url"] = _text(ags.get("lineitem"), 1024)
        values["lineitems_url"] = _text(ags.get("lineitems"), 1024)
    nrps = claims.get(v.CLAIM_NRPS)
    if isinstance(nrps, dict):
        values["memberships_url"] = _text(nrps.get("context_memberships_url"), 1024)
    return values


def sync_resource_link(
    session: Session,
    deployment: Deployment,
    context: Context | None,
    claims: Mapping[str, Any],
    custom: dict[str, str],
    known: ResourceLink | None,
) -> ResourceLink | None:
    """Create (``known`` None) or update the placement the launch came from (resource-link launches only)."""
    claim = claims.get(v.CLAIM_RESOURCE_LINK)
    if not isinstance(claim, dict):
        return None
    values = _link_values(claim, claims, context, custom)
    link = known
    if link is None:
        link = insert_once(session, ResourceLink, values, deployment_id=deployment.id,
                           link_id=str(claim["id"]))
    _set_all(link, values)
    return link


def sync_launch(
    session: Session, platform: Platform, deployment: Deployment, claims: Mapping[str, Any]
) -> SyncedLaunch:
    """Sync every row a validated launch touches and return them.

    A returning person's launch reads its rows with one query and updates what changed; a new
    row is inserted with its values, so that creating it costs no second write.
    """
    roles = normalise_roles(list(claims.get(v.CLAIM_ROLES) or []))
    custom = read_custom(claims)
    known = read_known_rows(session, platform.issuer, deployment, claims)
    user = sync_user(session, platform.issuer, claims, known.user)
    context = sync_context(session, deployment, claims, known.context)
    membership = sync_membership(session, user, context, roles, known.membership) if context else None
    link = sync_resource_link(session, deployment, context, claims, custom, known.resource_link)
    session.flush()
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

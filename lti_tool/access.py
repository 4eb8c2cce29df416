"""Who may see which course and which learner: the rules every dashboard, export and API call applies.

- A trainer sees the course they launched from, and every other course where the LMS told us they
  teach (their membership there grants the course dashboard).
- Programme access (``l2i trainer grant``, or an LMS institution or system administrator role) adds
  every course of every platform.
- Drilling down to a learner of another institution than one's own needs the learner's consent to
  share across institutions; so does seeing evidence a learner earned at another institution.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from competencies.models import Evidence
from lti_tool import vocabulary as v
from lti_tool.access_models import ProgrammeGrant
from lti_tool.models import Context, Deployment, Learner, Membership, PlatformUser
from lti_tool.principal import Capability, Launch, capabilities_for

PROGRAMME_ROLES = frozenset({v.ROLE_INSTITUTION_ADMINISTRATOR, v.ROLE_SYSTEM_ADMINISTRATOR})


class GrantError(ValueError):
    """A programme grant that cannot be made or removed."""


def has_programme_access(session: Session, launch: Launch) -> bool:
    """Return whether this launch may see the whole programme (a grant, or an institution admin role)."""
    if PROGRAMME_ROLES.intersection(launch.roles):
        return True
    return session.scalar(select(ProgrammeGrant.id).where(
        ProgrammeGrant.issuer == launch.user.issuer, ProgrammeGrant.sub == launch.user.sub)) is not None


def taught_contexts(session: Session, user_id: int) -> list[Context]:
    """Return the courses where the LMS said this user may see the course dashboard."""
    rows = session.execute(
        select(Context, Membership.roles).join(Membership, Membership.context_id == Context.id)
        .where(Membership.user_id == user_id).order_by(Context.title, Context.id)
    )
    return [context for context, roles in rows
            if Capability.VIEW_COURSE_DASHBOARD in capabilities_for(roles or ())]


def may_view_context(session: Session, launch: Launch, context_id: int) -> bool:
    """Return whether this launch may see the dashboard of course ``context_id``."""
    if launch.context is not None and launch.context.id == context_id and launch.is_instructor:
        return True
    if any(context.id == context_id for context in taught_contexts(session, launch.user.id)):
        return True
    return has_programme_access(session, launch)



def learner_platform_ids(session: Session, learner_id: int) -> set[int]:
    """Return the platforms (institutions) where this learner has launched."""
    rows = session.scalars(
        select(Deployment.platform_id).join(Context, Context.deployment_id == Deployment.id)
        .join(Membership, Membership.context_id == Context.id)
        .join(PlatformUser, PlatformUser.id == Membership.user_id)
        .where(PlatformUser.learner_id == learner_id).distinct()
    )
    return set(rows)


def shares_evidence(session: Session, learner_id: int) -> bool:
    """Return whether the learner agreed that their other institutions' trainers may see their evidence."""
    learner = session.get(Learner, learner_id)
    return learner is not None and learner.shares_evidence_since is not None


def may_drill_down(session: Session, viewer_platform_id: int, learner_id: int) -> bool:
    """Return whether a trainer of ``viewer_platform_id`` may open this learner's record.

    Learners who launched at the trainer's own institution, yes; others only with their consent.
    """
    if viewer_platform_id in learner_platform_ids(session, learner_id):
        return True
    return shares_evidence(session, learner_id)


def visible_evidence(session: Session, evidence: Sequence[Evidence], viewer_platform_id: int,
                     learner_id: int) -> list[Evidence]:
    """Keep the evidence a trainer of ``viewer_platform_id`` may see.

    That is their own institution's, and the rest only if the learner shares it.
    """
    if shares_evidence(session, learner_id):
        return list(evidence)
    return [e for e in evidence if e.platform_id == viewer_platform_id]


def grant_programme(session: Session, issuer: str, sub: str, note: str | None = None) -> ProgrammeGrant:
    """Grant programme access to the platform identity (issuer, sub); granting twice keeps one grant."""
    if not issuer.strip() or not sub.strip():
        raise GrantError("Give both the platform's issuer and the person's sub (their LMS user id).")
    grant = session.scalar(select(ProgrammeGrant).where(ProgrammeGrant.issuer == issuer,
                                                        ProgrammeGrant.sub == sub))
    if grant is None:
        grant = ProgrammeGrant(issuer=issuer, sub=sub, note=note)
        session.add(grant)
    elif note:
        grant.note = note
    session.flush()
    return grant


def revoke_programme(session: Session, issuer: str, sub: str) -> None:
    """Withdraw a programme grant; :class:`GrantError` if there is none."""
    grant = session.scalar(select(ProgrammeGrant).where(ProgrammeGrant.issuer == issuer,
                                                        ProgrammeGrant.sub == sub))
    if grant is None:
        raise GrantError(f"No programme grant for sub {sub!r} at {issuer}.")
    session.delete(grant)
    session.flush()


def list_grants(session: Session) -> Iterable[ProgrammeGrant]:
    """Return every programme grant, oldest first."""
    return session.scalars(select(ProgrammeGrant).order_by(ProgrammeGrant.id))

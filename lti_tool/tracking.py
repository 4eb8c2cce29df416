"""Queue xAPI statements about a learner, in the caller's transaction, for every LRS that wants them.

Two kinds of destination: the programme's LRS (``L2I_LRS_ENDPOINT``) and an institution's own
(``l2i platform lrs``). The programme's always sees the pseudonymous account; an institution
may ask for its learners' ``mbox`` or ``mbox_sha1sum`` instead. No Flask here: views build a
:class:`Tracker` from the launch (or, for a trainer's grading, from the attempt).
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from competencies.framework import Framework
from competencies.models import Proficiency
from l2i_db import utcnow
from lti_tool.models import Context, Learner, Platform, PlatformUser
from lti_tool.settings import Settings
from xapi.delivery import LrsTarget
from xapi.events import Scene
from xapi.outbox import Envelope, enqueue
from xapi.statements import ACTOR_FORMS, ActorForm, ActorRef

PROGRAMME_DESTINATION = "lrs:programme"
_LANGUAGE_TAG = re.compile(r"[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8})*")
Statement = dict[str, Any]
Build = Callable[[Scene], Sequence[Statement]]


def platform_destination(platform_id: int) -> str:
    """Return the outbox destination of a platform's own LRS."""
    return f"lrs:platform:{platform_id}"


def language_tag(locale: str | None) -> str | None:
    """Turn an LMS locale (``en_US``, ``sl``) into an RFC 5646 tag, or None when it is not one."""
    if not locale:
        return None
    tag = locale.strip().replace("_", "-")
    return tag if _LANGUAGE_TAG.fullmatch(tag) and len(tag) <= 35 else None


def lrs_targets(session: Session, settings: Settings,
                env: Mapping[str, str] | None = None) -> dict[str, LrsTarget]:
    """Return every configured LRS by destination name; platform passwords come from ``env``."""
    env = os.environ if env is None else env
    targets: dict[str, LrsTarget] = {}
    if settings.lrs_endpoint:
        targets[PROGRAMME_DESTINATION] = LrsTarget(
            PROGRAMME_DESTINATION, settings.lrs_endpoint, settings.lrs_username, settings.lrs_password)
    for platform in session.scalars(select(Platform).where(Platform.lrs_endpoint.is_not(None))):
        assert platform.lrs_endpoint is not None
        name = platform_destination(platform.id)
        password = env.get(platform.lrs_password_env) if platform.lrs_password_env else None
        targets[name] = LrsTarget(name, platform.lrs_endpoint, platform.lrs_username, password)
    return targets


@dataclass(frozen=True)
class Subject:
    """The learner a statement is about, and the LMS course they act in."""

    learner_id: int
    learner_key: str
    platform: Platform
    context: Context | None
    email: str | None
    locale: str | None


def subject_of(user: PlatformUser, platform: Platform, context: Context | None,
               locale: str | None) -> Subject:
    """Return the subject of a launch: its user, platform and course."""
    return Subject(learner_id=user.learner_id, learner_key=user.learner.key, platform=platform,
                   context=context, email=user.email, locale=locale or user.locale)


def subject_of_learner(session: Session, learner_id: int, platform: Platform,
                       context: Context | None) -> Subject:
    """Return the subject of work a trainer grades: the learner as the attempt's platform knows them."""
    learner = session.get(Learner, learner_id)
    assert learner is not None
    user = session.scalars(select(PlatformUser).where(
        PlatformUser.learner_id == learner_id, PlatformUser.issuer == platform.issuer)).first()
    return Subject(learner_id=learner_id, learner_key=learner.key, platform=platform,
                   context=context, email=user.email if user else None,
                   locale=user.locale if user else None)


@dataclass(frozen=True)
class Tracker:
    """Queues the statements of one subject's events to each LRS that wants them."""

    settings: Settings
    framework: Framework
    subject: Subject

    @property
    def active(self) -> bool:
        """Whether any LRS wants this subject's statements (else there is nothing to build)."""
        return bool(self.settings.lrs_endpoint or self.subject.platform.lrs_endpoint)

    def destinations(self) -> list[tuple[str, ActorForm]]:
        """Return the destinations of this subject's statements, each with the actor form it wants."""
        found: list[tuple[str, ActorForm]] = []
        if self.settings.lrs_endpoint:
            found.append((PROGRAMME_DESTINATION, "account"))
        platform = self.subject.platform
        if platform.lrs_endpoint:
            form: ActorForm = next((f for f in ACTOR_FORMS if f == platform.xapi_actor), "account")
            found.append((platform_destination(platform.id), form))
        return found

    def scene(self, form: ActorForm = "account") -> Scene:
        """Return the scene of this subject's statements, with the learner shown as ``form``."""
        subject = self.subject
        actor = ActorRef(key=subject.learner_key, home_page=self.settings.actor_home_page,
                         form=form, email=subject.email)
        context = subject.context
        return Scene(
            base_url=self.settings.base_url, actor=actor, platform_name=subject.platform.name,
            issuer=subject.platform.issuer, context_key=context.id if context else None,
            lti_context_id=context.context_id if context else None,
            course_title=context.title if context else None, language=language_tag(subject.locale),
        )

    def envelopes(self, build: Build) -> list[Envelope]:
        """Build the event's statements once per actor form, each addressed to every LRS wanting that form."""
        built: dict[ActorForm, Sequence[Statement]] = {}
        envelopes: list[Envelope] = []
        for destination, form in self.destinations():
            if form not in built:
                built[form] = build(self.scene(form))
            envelopes.extend(Envelope(destination, statement, self.subject.learner_id)
                             for statement in built[form])
        return envelopes

    def queue(self, session: Session, build: Build) -> int:
        """Build the event's statements once per actor form and queue them; return how many rows."""
        envelopes = self.envelopes(build)
        return enqueue(session, envelopes, now=utcnow()) if envelopes else 0


def levels_of(session: Session, learner_id: int, competency_ids: Iterable[str]) -> dict[str, int | None]:
    """Return a learner's current level in each of ``competency_ids`` (None where there is none)."""
    wanted = sorted(set(competency_ids))
    rows = session.execute(select(Proficiency.competency_id, Proficiency.level).where(
        Proficiency.learner_id == learner_id, Proficiency.competency_id.in_(wanted)))
    levels: dict[str, int | None] = dict.fromkeys(wanted)
    levels.update({competency_id: level for competency_id, level in rows})
    return levels


def newly_proficient(before: Mapping[str, int | None], after: Mapping[str, int | None],
                     proficient_level: int) -> list[str]:
    """Return the competencies that reached ``proficient_level`` between ``before`` and ``after``."""
    return sorted(
        competency_id for competency_id, level in after.items()
        if level is not None and level >= proficient_level
        and (before.get(competency_id) or 0) < proficient_level
    )

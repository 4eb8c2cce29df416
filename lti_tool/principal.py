"""Who is asking, and what they may do: roles mapped to capabilities.

Roles come from the LIS vocabulary. Each known role grants a set of capabilities;
an unknown role grants only the least: reading the programme's content.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import StrEnum

from lti_tool import vocabulary as v
from lti_tool.models import Context, Platform, PlatformUser, ResourceLink


class Capability(StrEnum):
    """Something a person may do in the tool."""

    VIEW_UNITS = "view_units"
    STUDY = "study"
    VIEW_COURSE_DASHBOARD = "view_course_dashboard"
    ASSESS_WORK = "assess_work"
    PLACE_CONTENT = "place_content"
    ADMINISTER = "administer"


C = Capability
ROLE_CAPABILITIES: dict[str, frozenset[Capability]] = {
    v.ROLE_LEARNER: frozenset({C.VIEW_UNITS, C.STUDY}),
    v.ROLE_INSTRUCTOR: frozenset({C.VIEW_UNITS, C.VIEW_COURSE_DASHBOARD, C.ASSESS_WORK, C.PLACE_CONTENT}),
    v.ROLE_TEACHING_ASSISTANT: frozenset({C.VIEW_UNITS, C.VIEW_COURSE_DASHBOARD, C.ASSESS_WORK}),
    v.ROLE_CONTENT_DEVELOPER: frozenset({C.VIEW_UNITS, C.PLACE_CONTENT}),
    v.ROLE_CONTEXT_ADMINISTRATOR: frozenset(C),
    v.ROLE_INSTITUTION_ADMINISTRATOR: frozenset(C),
    v.ROLE_SYSTEM_ADMINISTRATOR: frozenset(C),
}
LEAST_PRIVILEGE: frozenset[Capability] = frozenset({C.VIEW_UNITS})


def capabilities_for(roles: Iterable[str]) -> frozenset[Capability]:
    """Return the union of what the roles grant; unknown roles (or none) grant the least."""
    granted: set[Capability] = set()
    for role in roles:
        granted |= ROLE_CAPABILITIES.get(role, frozenset())
    return frozenset(granted) if granted else LEAST_PRIVILEGE


@dataclass(frozen=True)
class Launch:
    """The typed launch a view works with: who, where, and what they may do."""

    session_id: str
    user: PlatformUser
    platform: Platform
    context: Context | None
    resource_link: ResourceLink | None
    roles: tuple[str, ...]
    message_type: str
    locale: str | None = None
    custom: dict[str, str] = field(default_factory=dict)

    @property
    def capabilities(self) -> frozenset[Capability]:
        """What this launch's roles allow."""
        return capabilities_for(self.roles)

    def can(self, capability: Capability) -> bool:
        """Return whether this launch allows ``capability``."""
        return capability in self.capabilities

    @property
    def is_present(self) -> bool:
        """True: this is a real launch."""
        return True

    @property
    def is_instructor(self) -> bool:
        """Whether the person teaches (or administers) this context."""
        return self.can(C.VIEW_COURSE_DASHBOARD)

    @property
    def is_learner(self) -> bool:
        """Whether the person studies in this context."""
        return self.can(C.STUDY)

    @property
    def is_admin(self) -> bool:
        """Whether the person administers the platform or the context."""
        return self.can(C.ADMINISTER)


@dataclass(frozen=True)
class AbsentLaunch:
    """The stand-in when a request carries no valid launch session: it may do nothing."""

    is_present: bool = False
    is_instructor: bool = False
    is_learner: bool = False
    is_admin: bool = False
    capabilities: frozenset[Capability] = frozenset()

    def can(self, capability: Capability) -> bool:
        """Return False: no launch, no capability."""
        return False

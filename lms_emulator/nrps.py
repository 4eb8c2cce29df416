"""Names and Role Provisioning Services 2.0: the course roster, paged.

Members are shaped like Moodle 4.5's (see ``nrps_members_response.json``) but with
roles as full LIS v2 URIs. Roster-only learners, who never launch, are listed too.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from lms_emulator.paging import Page, paginate
from lms_emulator.platform import Course, EmulatorConfig, Institution, User

MEMBERSHIP_ROLE_PREFIX = "http://purl.imsglobal.org/vocab/lis/v2/membership#"


def member_json(user: User) -> dict[str, Any]:
    """One member of the roster."""
    return {
        "status": "Active",
        "user_id": user.sub,
        "roles": list(user.roles),
        "name": user.name,
        "given_name": user.given_name,
        "family_name": user.family_name,
        "email": user.email,
        "ext_user_username": user.username,
        "lis_person_sourcedid": "",
    }


def has_role(user: User, role: str) -> bool:
    """Whether the user holds ``role``: a full URI, or a short context role like "Learner"."""
    full = role if ":" in role else MEMBERSHIP_ROLE_PREFIX + role
    return full in user.roles


def membership_page(
    config: EmulatorConfig, institution: Institution, course: Course, args: Mapping[str, str]
) -> tuple[dict[str, Any], str | None]:
    """One page of the membership container and the URL of the next page, if any."""
    members = institution.course_members(course)
    role = args.get("role")
    if role:
        members = [user for user in members if has_role(user, role)]
    url = institution.memberships_url(course)
    page: Page[User] = paginate(members, args, base_url=url, default_limit=config.nrps_page_size)
    body = {
        "id": url,
        "context": {"id": course.context_id, "label": course.label, "title": course.title},
        "members": [member_json(user) for user in page.items],
    }
    return body, page.next_url

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from lms_emulator import vocabulary as v
from lms_emulator.platform import Institution

Bearer = Callable[..., dict[str, str]]
MEMBERSHIPS = "http://lms.test/linkoping/nrps/c-101/memberships"
NEXT_LINK = re.compile(r'<([^>]+)>;\s*rel="next"')


def next_url(response: TestResponse) -> str | None:
    match = NEXT_LINK.search(response.headers.get("Link", ""))
    return match.group(1) if match else None


def follow_all(client: FlaskClient, url: str, headers: dict[str, str]) -> tuple[list[dict[str, Any]], int]:
    members: list[dict[str, Any]] = []
    pages = 0
    next_page: str | None = url
    while next_page:
        response = client.get(next_page, headers=headers)
        assert response.status_code == 200
        assert response.mimetype == v.MEDIA_MEMBERSHIP_CONTAINER
        members.extend(response.get_json()["members"])
        pages += 1
        next_page = next_url(response)
    return members, pages


def test_paging_follows_rel_next_over_all_members(
    client: FlaskClient, bearer: Bearer, institution: Institution
) -> None:
    headers = bearer(v.SCOPE_NRPS)
    first = client.get(MEMBERSHIPS, headers=headers)
    body = first.get_json()
    assert body["context"] == {"id": "c-101", "label": "L2I-PILOT", "title": "Learning 2 Innovate pilot"}
    assert len(body["members"]) == 2, "the default page size is 2, so paging is exercised"
    assert next_url(first) is not None

    members, pages = follow_all(client, MEMBERSHIPS, headers)
    assert pages == 5
    assert [member["user_id"] for member in members] == [user.sub for user in institution.users]
    roster_only = {user.sub for user in institution.users if not user.launches}
    assert roster_only <= {member["user_id"] for member in members}


def test_member_shape(client: FlaskClient, bearer: Bearer) -> None:
    members, _ = follow_all(client, MEMBERSHIPS, bearer(v.SCOPE_NRPS))
    ana = next(member for member in members if member["user_id"] == "4")
    assert ana == {
        "status": "Active",
        "user_id": "4",
        "roles": [v.ROLE_LEARNER],
        "name": "Ana Novak",
        "given_name": "Ana",
        "family_name": "Novak",
        "email": "ana.novak@example.net",
        "ext_user_username": "ana.novak",
        "lis_person_sourcedid": "",
    }
    assert all(
        role.startswith("http://purl.imsglobal.org/vocab/lis/v2/") for m in members for role in m["roles"]
    )


def test_role_filter_and_limit(client: FlaskClient, bearer: Bearer) -> None:
    headers = bearer(v.SCOPE_NRPS)
    learners, _ = follow_all(client, f"{MEMBERSHIPS}?role=Learner&limit=3", headers)
    assert {member["user_id"] for member in learners} == {"4", "5", "6", "9", "10"}
    by_uri, pages = follow_all(
        client, f"{MEMBERSHIPS}?{urlencode({'role': v.ROLE_INSTRUCTOR, 'limit': 10})}", headers
    )
    assert {member["user_id"] for member in by_uri} == {"3", "7"}, (
        "the TA carries Instructor as principal role"
    )
    assert pages == 1


def test_bad_limit_is_refused(client: FlaskClient, bearer: Bearer) -> None:
    response = client.get(f"{MEMBERSHIPS}?limit=0", headers=bearer(v.SCOPE_NRPS))
    assert response.status_code == 400
    assert response.get_json()["error"] == "invalid_request"


def test_memberships_need_the_nrps_scope(client: FlaskClient, bearer: Bearer) -> None:
    assert client.get(MEMBERSHIPS).status_code == 401
    assert client.get(MEMBERSHIPS, headers=bearer(v.SCOPE_AGS_SCORE)).status_code == 403

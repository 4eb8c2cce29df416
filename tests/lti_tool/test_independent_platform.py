"""Launches from an independent LTI 1.3 platform: lti1p3platform 0.1.8 from PyPI.

The platform's login initiation, the id_token (claims and RS256 signature) and its JWKS
come from the library; the tool sees it only through HTTP, as it would a real LMS.
"""

from __future__ import annotations

import html
from urllib.parse import parse_qs, urlsplit

import jwt
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from lti_tool import vocabulary as v
from lti_tool.models import Context, Membership, PlatformUser, ResourceLink, ToolSession
from tests.fixtures.platforms import LibraryLaunch, LibraryLaunchDriver

LEARNER = LibraryLaunch(
    user_id="lib-learner-1", roles=(v.ROLE_LEARNER,), full_name="Ana Learner",
    email="ana@example.org",
)
INSTRUCTOR = LibraryLaunch(
    user_id="lib-teacher-1", roles=(v.ROLE_INSTRUCTOR,), full_name="Tomas Trainer",
)


def _session_token(location: str) -> str:
    return parse_qs(urlsplit(location).query)["s"][0]


def test_learner_launch_lands_on_the_five_units(
    library_driver: LibraryLaunchDriver, db_session: Session
) -> None:
    platform = library_driver.platform
    login = library_driver.start_login(LEARNER)
    fields = library_driver.authorize(login)
    header = jwt.get_unverified_header(fields["id_token"])
    body = jwt.decode(fields["id_token"], options={"verify_signature": False})
    assert header["kid"] == platform.registration.get_kid()
    assert (body["iss"], body["aud"], body["nonce"]) == (platform.url, platform.client_id, login.nonce)

    response = library_driver.post_launch(fields)
    assert response.status_code == 303, html.unescape(response.get_data(as_text=True))
    page = library_driver.client.get(response.headers["Location"])
    text = page.get_data(as_text=True)
    assert page.status_code == 200
    assert text.count('<li class="unit') == 5
    assert "Ana Learner" in text
    assert "Open the trainer dashboard" not in text

    user = db_session.scalars(select(PlatformUser).where(PlatformUser.sub == LEARNER.user_id)).one()
    assert (user.issuer, user.name, user.email) == (platform.url, "Ana Learner", "ana@example.org")
    context = db_session.scalars(select(Context)).one()
    assert (context.context_id, context.title, context.label) == (
        "course-101", "Social innovation in care", "SI-101"
    )
    assert context.types == list(LEARNER.context_types)
    assert context.deployment.deployment_id == platform.deployment_id
    assert context.deployment.platform.client_id == platform.client_id
    membership = db_session.scalars(select(Membership)).one()
    assert (membership.user_id, membership.context_id) == (user.id, context.id)
    assert membership.roles == [v.ROLE_LEARNER]
    link = db_session.scalars(select(ResourceLink)).one()
    assert (link.link_id, link.title, link.context_id) == ("rl-1", "Learning 2 Innovate", context.id)


def test_instructor_reaches_the_trainer_dashboard_and_a_learner_does_not(
    library_driver: LibraryLaunchDriver,
) -> None:
    response = library_driver.launch(INSTRUCTOR)
    assert response.status_code == 303, html.unescape(response.get_data(as_text=True))
    page = library_driver.client.get(response.headers["Location"])
    assert page.status_code == 200
    assert "Open the trainer dashboard" in page.get_data(as_text=True)

    # A browser without the tool's cookie: only the token in the URL carries the session.
    no_cookies = library_driver.client.application.test_client()
    assert no_cookies.get("/trainer").status_code == 401
    trainer_page = no_cookies.get(f"/trainer?s={_session_token(response.headers['Location'])}")
    assert trainer_page.status_code == 200
    assert "Trainer dashboard" in trainer_page.get_data(as_text=True)

    learner_response = library_driver.launch(LEARNER)
    assert learner_response.status_code == 303
    learner_token = _session_token(learner_response.headers["Location"])
    assert no_cookies.get(f"/trainer?s={learner_token}").status_code == 403


def test_custom_unit_parameter_opens_that_unit(library_driver: LibraryLaunchDriver) -> None:
    launch = LibraryLaunch(
        user_id="lib-learner-2", roles=(v.ROLE_LEARNER,), resource_link_id="rl-labs",
        custom={"unit": "u3-labs"},
    )
    response = library_driver.launch(launch)
    assert response.status_code == 303, html.unescape(response.get_data(as_text=True))
    assert urlsplit(response.headers["Location"]).path == "/units/u3-labs"
    text = library_driver.client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Unit 3:" in text
    assert "Setting up and running" in html.unescape(text)


def test_custom_activity_parameter_opens_that_activity(library_driver: LibraryLaunchDriver) -> None:
    launch = LibraryLaunch(
        user_id="lib-learner-3", roles=(v.ROLE_LEARNER,), resource_link_id="rl-canvas",
        custom={"activity": "u3-lab-canvas"},
    )
    response = library_driver.launch(launch)
    assert response.status_code == 303, html.unescape(response.get_data(as_text=True))
    assert urlsplit(response.headers["Location"]).path == "/units/u3-labs/activities/u3-lab-canvas"


def test_unknown_custom_unit_lands_on_the_list_with_a_notice(library_driver: LibraryLaunchDriver) -> None:
    launch = LibraryLaunch(
        user_id="lib-learner-4", roles=(v.ROLE_LEARNER,), resource_link_id="rl-bad",
        custom={"unit": "u9-<script>"},
    )
    response = library_driver.launch(launch)
    assert response.status_code == 303
    assert urlsplit(response.headers["Location"]).path == "/"
    text = library_driver.client.get(response.headers["Location"]).get_data(as_text=True)
    assert "points at a unit this tool does not have (u9-&lt;script&gt;)" in text
    assert text.count('<li class="unit') == 5


def test_replayed_library_token_is_refused(
    library_driver: LibraryLaunchDriver, db_session: Session
) -> None:
    fields = library_driver.authorize(library_driver.start_login(LEARNER))
    assert library_driver.post_launch(fields).status_code == 303
    replay = library_driver.post_launch(fields)
    text = html.unescape(replay.get_data(as_text=True))
    assert replay.status_code == 401, text
    assert "already been used" in text
    assert db_session.scalar(select(func.count(ToolSession.id))) == 1

"""Deep Linking 2.0: the picker, the signed response, and the platforms that receive it.

The emulator is a real platform: it verifies the response with the tool's published key
(fetched from the tool's ``/lti/jwks``), checks the ``data`` it sent and places the links
in its course. Moodle 4.5's captured request is replayed for the response's shape, and
the independent ``lti1p3platform`` platform builds a request with its own code and checks
the response with its own validator.
"""

from __future__ import annotations

import html
import json
import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import flask
import jwt
import pytest
import requests
from flask import Flask
from flask.testing import FlaskClient
from markupsafe import escape
from sqlalchemy import select
from sqlalchemy.orm import Session
from werkzeug.test import TestResponse

from course_units.loader import CONTENT_DIR, load_catalog
from lms_emulator.server import start_emulator
from lti_tool import vocabulary as v
from lti_tool.models import LtiValue
from lti_tool.settings import Settings
from lti_tool.web.state import app_state
from tests.fixtures.captures import moodle_captures_dir
from tests.fixtures.lti import LaunchDriver, make_settings, parse_form
from tests.fixtures.platforms import (
    MOODLE_CLIENT_ID,
    MOODLE_DEPLOYMENT_ID,
    MOODLE_ISSUER,
    TOOL_LAUNCH_URL,
    LibraryLaunch,
    LibraryLaunchDriver,
    LibraryPlatform,
    ReplayPlatform,
    _MessageLaunch,
    read_login_redirect,
)
from tests.fixtures.servers import TOOL_BASE_URL, Emulator

NEVER_SAW = "A deep-linking response to a request the tool never saw"
HOSTILE = '<script>window.__xss=1</script> & "quoted"'
DL_SETTINGS = v.CLAIM_DL_SETTINGS


# --- fixtures -----------------------------------------------------------------------------


@pytest.fixture
def content_dir(request: pytest.FixtureRequest, tmp_path: Path) -> Path:
    """The tool's units: the bundled ones, or (param ``"hostile"``) a copy with hostile titles."""
    if getattr(request, "param", None) != "hostile":
        return Path(CONTENT_DIR)
    copy = tmp_path / "content"
    shutil.copytree(CONTENT_DIR, copy)
    title = json.dumps(HOSTILE)
    for path, old in ((copy / "u1-challenges" / "unit.yaml", "title: {en: "),
                      (copy / "u1-challenges" / "activities" / "u1-quiz.yaml", "title: {en: ")):
        lines = path.read_text().splitlines()
        at = next(i for i, line in enumerate(lines) if line.startswith(old))
        lines[at] = f"title: {{en: {title}}}"
        path.write_text("\n".join(lines) + "\n")
    return copy


@pytest.fixture
def tool_settings(database_url: str, tmp_path: Path, content_dir: Path) -> Settings:
    """The tool under test, serving ``content_dir``."""
    return make_settings(database_url, tmp_path, content_dir=content_dir)


@pytest.fixture
def emulator(app: Flask) -> Iterator[Emulator]:
    """The emulator, fetching the tool's JWKS from the in-process tool (it is not on a socket)."""

    def fetch_tool_jwks(url: str) -> dict[str, Any]:
        assert url == f"{TOOL_BASE_URL}/lti/jwks"
        document: dict[str, Any] = app.test_client().get("/lti/jwks").get_json()
        return document

    running = start_emulator(TOOL_BASE_URL, institutions=2, jwks_fetcher=fetch_tool_jwks)
    yield Emulator(running)
    running.stop()


# --- helpers ------------------------------------------------------------------------------


def trainer(driver: LaunchDriver) -> Any:
    """The course's trainer (an Instructor who may place content)."""
    return next(u for u in driver.institution().users if u.role_label == "Trainer")


def learner(driver: LaunchDriver) -> Any:
    """The course's first learner who launches."""
    return next(u for u in driver.institution().users if u.role_label == "Learner")


def open_picker(driver: LaunchDriver) -> TestResponse:
    """Launch a deep-linking request as the trainer and open the page it lands on."""
    launched = driver.launch(trainer(driver), message="deeplink")
    assert launched.status_code == 303, launched.get_data(as_text=True)
    assert urlsplit(launched.headers["Location"]).path == "/deep-linking"
    page = driver.client.get(launched.headers["Location"])
    assert page.status_code == 200, page.get_data(as_text=True)
    return page


def place(client: FlaskClient, picker: TestResponse, values: list[str], **extra: Any) -> TestResponse:
    """Submit the picker's form with ``values`` chosen."""
    action, fields = parse_form(picker.get_data(as_text=True))
    return client.post(html.unescape(action), data={"csrf_token": fields["csrf_token"], "item": values,
                                                    **extra})


def returned_jwt(response: TestResponse) -> tuple[str, str]:
    """Return (the return URL, the JWT) of the self-submitting page."""
    assert response.status_code == 200, response.get_data(as_text=True)
    action, fields = parse_form(response.get_data(as_text=True))
    return html.unescape(action), fields["JWT"]


def csrf_of(client: FlaskClient, token: str) -> str:
    """The CSRF token of the session behind ``token``, as the tool's own forms carry it."""
    tokens = app_state(client.application).tokens
    session_id = tokens.read(token)
    assert session_id is not None
    return tokens.csrf_token(session_id)


def verify_with_tool_key(app: Flask, token: str, audience: str) -> dict[str, Any]:
    """Verify ``token`` with the key the tool publishes at /lti/jwks (found by kid)."""
    kid = jwt.get_unverified_header(token)["kid"]
    published = app.test_client().get("/lti/jwks").get_json()["keys"]
    jwk = next(k for k in published if k["kid"] == kid)
    claims: dict[str, Any] = jwt.decode(token, jwt.PyJWK(jwk, algorithm="RS256").key,
                                        algorithms=["RS256"], audience=audience)
    return claims


# --- through the emulator -----------------------------------------------------------------


def test_the_picker_lists_units_activities_and_their_competencies(driver: LaunchDriver, app: Flask) -> None:
    text = open_picker(driver).get_data(as_text=True)
    state = app_state(app)
    assert text.count('<fieldset class="dl-unit"') == 5
    for unit in state.catalog.units:
        assert f'value="unit:{unit.id}"' in text
        for activity in unit.activities:
            assert f'value="activity:{activity.id}"' in text
            for weight in activity.competencies:
                node = state.framework.node(weight.id)
                assert node is not None
                assert f"<code>{weight.id}</code> {escape(node.shortname)}" in text
    assert 'type="checkbox"' in text and 'type="radio"' not in text  # the emulator accepts several
    assert "Place in my course" in text
    assert 'name="csrf_token"' in text


def test_two_chosen_items_are_placed_in_the_emulator_course(driver: LaunchDriver, app: Flask) -> None:
    institution = driver.institution()
    course = institution.courses[0]
    before = len(course.links)
    picker = open_picker(driver)
    response = place(driver.client, picker, ["unit:u3-labs", "activity:u1-quiz"])
    return_url, token = returned_jwt(response)
    assert return_url == institution.deep_link_return_url
    page = response.get_data(as_text=True)
    assert 'class="auto-submit"' in page and "auto-submit.js" in page
    assert "Return to my course" in page  # the button, for browsers without JavaScript
    assert "form-action" in response.headers["Content-Security-Policy"]
    assert driver.emulator.url in response.headers["Content-Security-Policy"]

    claims = verify_with_tool_key(app, token, institution.issuer)
    assert claims["iss"] == institution.client_id
    assert claims[v.CLAIM_DEPLOYMENT_ID] == institution.deployment_id
    items = claims[v.CLAIM_DL_CONTENT_ITEMS]
    assert [item["custom"] for item in items] == [{"unit": "u3-labs"}, {"activity": "u1-quiz"}]
    assert items[0]["lineItem"] == {"scoreMaximum": 100, "label": items[0]["title"],
                                    "resourceId": "u3-labs", "tag": "l2i"}
    assert items[0]["title"].startswith("Unit 3: ")

    answered = requests.post(return_url, data={"JWT": token}, timeout=5)
    assert answered.status_code == 200, answered.text
    assert "Content placed in" in answered.text
    placed = [link for link in course.links[before:] if link.placed_by_deep_linking]
    assert [link.custom for link in placed] == [{"unit": "u3-labs"}, {"activity": "u1-quiz"}]
    assert all(link.url == f"{TOOL_BASE_URL}/lti/launch" for link in placed)
    columns = [course.line_item_for_link(link.id) for link in placed]
    assert [(c.resource_id, c.tag, c.score_maximum) for c in columns if c] == [
        ("u3-labs", "l2i", 100.0), ("u1-quiz", "l2i", 100.0)]

    # A learner launching the new links lands on that unit and that activity.
    student = LaunchDriver(app.test_client(), driver.emulator)
    unit_launch = student.launch(learner(driver), placed[0])
    assert unit_launch.status_code == 303
    assert urlsplit(unit_launch.headers["Location"]).path == "/units/u3-labs"
    activity_launch = student.launch(learner(driver), placed[1])
    assert urlsplit(activity_launch.headers["Location"]).path == "/units/u1-challenges/activities/u1-quiz"


def test_a_replayed_placement_gets_no_second_response(driver: LaunchDriver) -> None:
    picker = open_picker(driver)
    returned_jwt(place(driver.client, picker, ["unit:u1-challenges"]))
    again = place(driver.client, picker, ["unit:u2-social-innovation"])
    assert again.status_code == 409
    assert 'name="JWT"' not in again.get_data(as_text=True)
    assert "already been answered" in html.unescape(again.get_data(as_text=True))
    reopened = driver.client.get(html.unescape(parse_form(picker.get_data(as_text=True))[0]))
    assert reopened.status_code == 409


def test_an_empty_selection_is_refused_and_nothing_is_lost(driver: LaunchDriver) -> None:
    picker = open_picker(driver)
    refused = place(driver.client, picker, [])
    assert refused.status_code == 422
    text = refused.get_data(as_text=True)
    assert "Choose at least one unit or activity" in text
    assert 'name="JWT"' not in text and "Place in my course" in text
    returned_jwt(place(driver.client, refused, ["unit:u5-impact"]))  # the request is still pending


def test_an_unknown_choice_is_refused_and_nothing_is_signed(driver: LaunchDriver) -> None:
    picker = open_picker(driver)
    for values in (["unit:u9-nowhere"], ["activity:u1-challenges"], ["u1-challenges"],
                   ["unit:u1-challenges", "activity:../../etc"], ["unit:x"] * 101):
        refused = place(driver.client, picker, values)
        assert refused.status_code == 422, values
        text = refused.get_data(as_text=True)
        assert 'name="JWT"' not in text
        assert "does not have" in text
    # The valid part of the last good attempt is kept ticked.
    kept = place(driver.client, picker, ["unit:u1-challenges", "activity:../../etc"]).get_data(as_text=True)
    assert 'value="unit:u1-challenges" checked' in kept


def test_a_resource_link_session_cannot_place_content(driver: LaunchDriver) -> None:
    launched = driver.launch(trainer(driver), driver.link(None))
    assert launched.status_code == 303
    location = launched.headers["Location"]
    token = location.split("s=", 1)[1]
    page = driver.client.get(f"/deep-linking?s={token}")
    assert page.status_code == 403
    assert NEVER_SAW in html.unescape(page.get_data(as_text=True))
    posted = driver.client.post(f"/deep-linking?s={token}", data={
        "csrf_token": csrf_of(driver.client, token), "item": "unit:u1-challenges"})
    assert posted.status_code == 403
    text = html.unescape(posted.get_data(as_text=True))
    assert NEVER_SAW in text and 'name="JWT"' not in text


def test_without_a_session_or_token_nothing_is_placed(driver: LaunchDriver, app: Flask) -> None:
    stranger = app.test_client()
    assert stranger.post("/deep-linking", data={"item": "unit:u1-challenges"}).status_code == 401
    assert stranger.get("/deep-linking").status_code == 401
    picker = open_picker(driver)
    action, _ = parse_form(picker.get_data(as_text=True))
    no_csrf = driver.client.post(html.unescape(action), data={"item": "unit:u1-challenges"})
    assert no_csrf.status_code == 400


def test_a_learner_may_not_open_the_picker(driver: LaunchDriver) -> None:
    launched = driver.launch(learner(driver), driver.link(None))
    token = launched.headers["Location"].split("s=", 1)[1]
    assert driver.client.get(f"/deep-linking?s={token}").status_code == 403


def test_an_oversized_form_is_refused(driver: LaunchDriver, app: Flask) -> None:
    picker = open_picker(driver)
    limit = app_state(app).settings.max_request_bytes
    response = place(driver.client, picker, ["unit:u1-challenges"], filler="x" * (limit + 10))
    assert response.status_code == 413


@pytest.mark.parametrize("content_dir", ["hostile"], indirect=True)
def test_hostile_titles_are_escaped_on_the_page_and_plain_in_the_response(
    driver: LaunchDriver, app: Flask,
) -> None:
    picker = open_picker(driver)
    text = picker.get_data(as_text=True)
    assert "<script>window.__xss" not in text
    assert "&lt;script&gt;window.__xss=1&lt;/script&gt; &amp; &#34;quoted&#34;" in text
    response = place(driver.client, picker, ["unit:u1-challenges", "activity:u1-quiz"])
    assert "<script>window.__xss" not in response.get_data(as_text=True)
    _, token = returned_jwt(response)
    items = verify_with_tool_key(app, token, driver.institution().issuer)[v.CLAIM_DL_CONTENT_ITEMS]
    assert items[0]["title"] == f"Unit 1: {HOSTILE}"
    assert items[1]["title"] == HOSTILE  # plain text in the JWT; the LMS escapes it
    assert load_catalog(app_state(app).settings.content_dir).unit("u1-challenges") is not None


# --- Moodle 4.5's captured request, replayed ----------------------------------------------


def moodle_capture(name: str) -> dict[str, Any]:
    """One captured Moodle claim set; skips when the captures are absent."""
    path = moodle_captures_dir() / name
    if not path.is_file():
        pytest.skip(f"the Moodle 4.5 captures are not at {path.parent}")
    claims: dict[str, Any] = json.loads(path.read_text())
    return claims


def launch_moodle_request(client: FlaskClient, platform: ReplayPlatform, **settings: Any) -> TestResponse:
    """Replay Moodle's deep-linking request (its settings changed by ``settings``) at the launch."""
    claims = moodle_capture("teacher_deep_linking_request.claims.json")
    login_params = json.loads((moodle_captures_dir() / "oidc_login_initiation.json").read_text())["params"]
    login = read_login_redirect(client.post("/lti/login", data={
        **login_params, "target_link_uri": TOOL_LAUNCH_URL, "login_hint": claims["sub"]}))
    now = int(time.time())
    body = {**claims, "iat": now, "exp": now + 60, "nonce": login.nonce,
            v.CLAIM_TARGET_LINK_URI: TOOL_LAUNCH_URL,
            DL_SETTINGS: {**claims[DL_SETTINGS], **settings}}
    return client.post("/lti/launch", data={"id_token": platform.sign(body), "state": login.state})


def replay_moodle_request(client: FlaskClient, platform: ReplayPlatform, **settings: Any) -> TestResponse:
    """Replay Moodle's deep-linking request (its settings changed by ``settings``); open the picker."""
    launched = launch_moodle_request(client, platform, **settings)
    assert launched.status_code == 303, launched.get_data(as_text=True)
    return client.get(launched.headers["Location"])


@pytest.fixture
def moodle_client(app: Flask) -> FlaskClient:
    """A fresh browser for the Moodle replays."""
    return app.test_client()


def test_the_response_to_moodle_has_the_shape_moodle_accepts(
    moodle_client: FlaskClient, moodle_platform: ReplayPlatform, app: Flask,
) -> None:
    picker = replay_moodle_request(moodle_client, moodle_platform)
    assert picker.status_code == 200
    return_url, token = returned_jwt(place(moodle_client, picker, ["activity:u3-lab-canvas"]))
    request = moodle_capture("teacher_deep_linking_request.claims.json")
    assert return_url == request[DL_SETTINGS]["deep_link_return_url"]
    claims = verify_with_tool_key(app, token, MOODLE_ISSUER)
    answer = moodle_capture("tool_deep_linking_response.claims.json")
    # Moodle's request has no data claim, so the response has none to echo.
    assert set(claims) == set(answer) - {v.CLAIM_DL_DATA}
    assert (claims["iss"], claims["aud"]) == (MOODLE_CLIENT_ID, [MOODLE_ISSUER])
    assert claims[v.CLAIM_DEPLOYMENT_ID] == MOODLE_DEPLOYMENT_ID
    assert claims[v.CLAIM_MESSAGE_TYPE] == v.MESSAGE_DEEP_LINKING_RESPONSE
    assert claims[v.CLAIM_VERSION] == "1.3.0"
    assert claims["exp"] - claims["iat"] == answer["exp"] - answer["iat"]
    assert claims["nonce"]
    (item,) = claims[v.CLAIM_DL_CONTENT_ITEMS]
    assert item["type"] == "ltiResourceLink" == answer[v.CLAIM_DL_CONTENT_ITEMS][0]["type"]
    assert item["url"] == TOOL_LAUNCH_URL
    assert item["custom"] == {"activity": "u3-lab-canvas"}


def test_the_data_claim_is_echoed_exactly(
    moodle_client: FlaskClient, moodle_platform: ReplayPlatform, app: Flask,
) -> None:
    data = {"opaque": ["value", 1, None], "with": "<chars> & \"quotes\""}
    picker = replay_moodle_request(moodle_client, moodle_platform, data=data)
    _, token = returned_jwt(place(moodle_client, picker, ["unit:u2-social-innovation"]))
    assert verify_with_tool_key(app, token, MOODLE_ISSUER)[v.CLAIM_DL_DATA] == data


def test_one_item_only_when_the_platform_accepts_one(
    moodle_client: FlaskClient, moodle_platform: ReplayPlatform, app: Flask,
) -> None:
    picker = replay_moodle_request(moodle_client, moodle_platform, accept_multiple=False)
    text = picker.get_data(as_text=True)
    assert 'type="radio"' in text and 'type="checkbox"' not in text
    refused = place(moodle_client, picker, ["unit:u1-challenges", "unit:u2-social-innovation"])
    assert refused.status_code == 422
    assert "accepts only one item" in refused.get_data(as_text=True)
    _, token = returned_jwt(place(moodle_client, picker, ["unit:u2-social-innovation"]))
    assert len(verify_with_tool_key(app, token, MOODLE_ISSUER)[v.CLAIM_DL_CONTENT_ITEMS]) == 1


def test_nothing_can_be_placed_when_resource_links_are_not_accepted(
    moodle_client: FlaskClient, moodle_platform: ReplayPlatform, db_session: Session,
) -> None:
    # The launch itself refuses such a request (pylti1p3's deep-linking validator)...
    refused = launch_moodle_request(moodle_client, moodle_platform, accept_types=["link", "html"])
    assert refused.status_code == 400
    assert "resource link placement" in refused.get_data(as_text=True)
    # ...and should a kept request ever lack ltiResourceLink, the picker says so and places nothing.
    picker = replay_moodle_request(moodle_client, moodle_platform)
    held = db_session.scalars(select(LtiValue).where(LtiValue.key.startswith("l2i-deep-link-"))).one()
    held.value = {**held.value, "settings": {**held.value["settings"], "accept_types": ["link"]}}
    db_session.commit()
    again = moodle_client.get(picker.request.full_path)
    text = html.unescape(again.get_data(as_text=True))
    assert again.status_code == 200
    assert "does not accept links to activities (ltiResourceLink)" in text
    assert "Place in my course" not in text and "<form" not in text
    token = urlsplit(picker.request.url).query.split("s=", 1)[1]
    posted = moodle_client.post(f"/deep-linking?s={token}", data={
        "csrf_token": csrf_of(moodle_client, token), "item": "unit:u1-challenges"})
    assert posted.status_code == 422
    assert 'name="JWT"' not in posted.get_data(as_text=True)


# --- the independent lti1p3platform platform ----------------------------------------------


class _DeepLinkingLaunch(_MessageLaunch):
    """The library's message launch, asked (through its ``set_dl``) for a deep-linking request."""

    return_url = ""
    data: dict[str, Any] = {}  # noqa: RUF012

    def prepare_launch(self, preflight_response: dict[str, Any]) -> None:
        super().prepare_launch(preflight_response)
        self.set_dl(self.return_url, title="Add L2I content", accept_types={"ltiResourceLink"},
                    extra_data=self.data)


def test_the_lti1p3platform_platform_accepts_the_response(
    library_driver: LibraryLaunchDriver, independent_platform: LibraryPlatform, app: Flask,
) -> None:
    platform = independent_platform
    platform.registration.set_deeplink_launch_url(TOOL_LAUNCH_URL)
    _DeepLinkingLaunch.return_url = f"{platform.url}/dl/return"
    _DeepLinkingLaunch.data = {"placement": "week-3"}
    instructor = LibraryLaunch(user_id="t-1", roles=(v.ROLE_INSTRUCTOR,), full_name="Tia Trainer")
    login = library_driver.start_login(instructor)
    # The library builds and signs the request itself; only the HTTP hop is done in-process.
    web = Flask("lti1p3platform_deep_linking")
    auth = urlsplit(login.auth_url)
    with web.test_request_context(f"{auth.path}?{auth.query}"):
        form = _DeepLinkingLaunch(flask.request, platform.conf, platform.launches).lti_launch()
    action, fields = parse_form(form)
    assert action == TOOL_LAUNCH_URL
    launched = library_driver.post_launch(fields)
    assert launched.status_code == 303, launched.get_data(as_text=True)
    picker = library_driver.client.get(launched.headers["Location"])
    return_url, token = returned_jwt(place(library_driver.client, picker, ["unit:u4-teams-and-users"]))
    assert return_url == f"{platform.url}/dl/return"

    platform.registration.set_tool_key_set(app.test_client().get("/lti/jwks").get_json())
    items = platform.conf.validate_deeplinking_resp({"JWT": token})
    assert [item["custom"] for item in items] == [{"unit": "u4-teams-and-users"}]
    claims = jwt.decode(token, options={"verify_signature": False})
    assert claims["aud"] == [platform.url] and claims["iss"] == platform.client_id
    assert claims[v.CLAIM_DEPLOYMENT_ID] == platform.deployment_id
    assert claims[v.CLAIM_DL_DATA] == {"placement": "week-3"}

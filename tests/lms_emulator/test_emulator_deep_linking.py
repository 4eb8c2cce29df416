from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from flask.testing import FlaskClient

from lms_emulator import vocabulary as v
from lms_emulator.platform import Institution

MakeResponse = Callable[..., str]
DL_RETURN = "/linkoping/dl/return"

UNIT_ITEM = {
    "type": "ltiResourceLink",
    "title": "Unit 3: labs (placed)",
    "text": "Set up a Learning & Innovation Lab",
    "url": "http://tool.test/lti/launch",
    "custom": {"unit": "u3-labs"},
    "lineItem": {"scoreMaximum": 50, "label": "Unit 3 quiz", "resourceId": "u3-quiz", "tag": "quiz"},
}


@pytest.fixture
def dl_data(launch_id_token: Callable[..., str]) -> str:
    """The data claim of a real Deep Linking launch by the trainer."""
    token = launch_id_token(user="3", link="", message="deeplink")
    claims = jwt.decode(token, options={"verify_signature": False})
    return str(claims[v.CLAIM_DL_SETTINGS]["data"])


def test_valid_response_places_links_and_line_items(
    client: FlaskClient, institution: Institution, make_dl_response: MakeResponse, dl_data: str
) -> None:
    plain = {"type": "ltiResourceLink", "title": "L2I programme (again)", "url": None, "custom": None}
    token = make_dl_response(dl_data, [UNIT_ITEM, plain], **{v.CLAIM_DL_MSG: "Two activities added"})
    response = client.post(DL_RETURN, data={"JWT": token})
    assert response.status_code == 200, response.get_data(as_text=True)
    html = response.get_data(as_text=True)
    assert "Unit 3: labs (placed)" in html and "L2I programme (again)" in html
    assert "Two activities added" in html

    course = institution.courses[0]
    placed = [link for link in course.links if link.placed_by_deep_linking]
    assert [link.title for link in placed] == ["Unit 3: labs (placed)", "L2I programme (again)"]
    assert placed[0].custom == {"unit": "u3-labs"}
    assert placed[0].url == "http://tool.test/lti/launch"
    assert placed[0].description == "Set up a Learning & Innovation Lab"
    line_item = course.line_item_for_link(placed[0].id)
    assert line_item is not None
    assert (line_item.label, line_item.score_maximum, line_item.resource_id, line_item.tag) == (
        "Unit 3 quiz",
        50.0,
        "u3-quiz",
        "quiz",
    )
    assert course.line_item_for_link(placed[1].id) is None

    record = client.get("/linkoping/_record").get_json()["deep_linking_responses"]
    assert record[-1]["outcome"] == "ok"
    assert record[-1]["items"] == [UNIT_ITEM, plain]


def test_placed_link_launches_with_its_custom_and_line_item(
    client: FlaskClient,
    institution: Institution,
    make_dl_response: MakeResponse,
    dl_data: str,
    launch_id_token: Callable[..., str],
) -> None:
    client.post(DL_RETURN, data={"JWT": make_dl_response(dl_data, [UNIT_ITEM])})
    placed = institution.courses[0].links[-1]
    claims = jwt.decode(launch_id_token(user="4", link=placed.id), options={"verify_signature": False})
    assert claims[v.CLAIM_RESOURCE_LINK]["id"] == placed.id
    assert claims[v.CLAIM_CUSTOM] == {"unit": "u3-labs"}
    line_item = institution.courses[0].line_item_for_link(placed.id)
    assert line_item is not None
    assert (
        claims[v.CLAIM_AGS_ENDPOINT]["lineitem"]
        == f"http://lms.test/linkoping/ags/c-101/lineitems/{line_item.id}"
    )


def test_empty_response_places_nothing(
    client: FlaskClient, make_dl_response: MakeResponse, dl_data: str
) -> None:
    response = client.post(DL_RETURN, data={"JWT": make_dl_response(dl_data, [])})
    assert response.status_code == 200
    assert "nothing was placed" in response.get_data(as_text=True)


def assert_refused(client: FlaskClient, token: str | None, words: str) -> None:
    response = client.post(DL_RETURN, data={} if token is None else {"JWT": token})
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert words in html, html
    record = client.get("/linkoping/_record").get_json()["deep_linking_responses"]
    assert record[-1]["outcome"] == "refused"


def test_wrong_signature_is_refused(
    client: FlaskClient, make_dl_response: MakeResponse, dl_data: str, other_key: rsa.RSAPrivateKey
) -> None:
    assert_refused(
        client, make_dl_response(dl_data, [UNIT_ITEM], key=other_key), "Signature verification failed"
    )


def test_wrong_data_is_refused(client: FlaskClient, make_dl_response: MakeResponse, dl_data: str) -> None:
    assert_refused(client, make_dl_response(dl_data + "x", [UNIT_ITEM]), "data claim is not the one")
    assert_refused(client, make_dl_response("made-up", [UNIT_ITEM]), "data claim is not the one")
    assert_refused(client, make_dl_response(None, [UNIT_ITEM]), "data claim")


def test_data_is_accepted_only_once(
    client: FlaskClient, make_dl_response: MakeResponse, dl_data: str
) -> None:
    assert client.post(DL_RETURN, data={"JWT": make_dl_response(dl_data, [UNIT_ITEM])}).status_code == 200
    assert_refused(client, make_dl_response(dl_data, [UNIT_ITEM]), "already used")


def test_non_resource_link_items_are_refused(
    client: FlaskClient, institution: Institution, make_dl_response: MakeResponse, dl_data: str
) -> None:
    links_before = len(institution.courses[0].links)
    html_item = {"type": "html", "html": "<p>hi</p>"}
    assert_refused(client, make_dl_response(dl_data, [UNIT_ITEM, html_item]), "Only ltiResourceLink")
    assert len(institution.courses[0].links) == links_before, "a refused response places nothing"
    assert_refused(
        client,
        make_dl_response(dl_data, [{"type": "link", "url": "https://x.example"}]),
        "not &#39;link&#39;",
    )


@pytest.mark.parametrize(
    ("overrides", "words"),
    [
        ({v.CLAIM_MESSAGE_TYPE: "LtiResourceLinkRequest"}, "LtiDeepLinkingResponse"),
        ({v.CLAIM_VERSION: "1.1"}, "1.3.0"),
        ({v.CLAIM_DEPLOYMENT_ID: "42"}, "deployment_id"),
        ({"iss": "someone-else"}, "Invalid issuer"),
        ({"aud": ["http://lms.test/ljubljana"]}, "Audience"),
        ({"exp": int(time.time()) - 120, "iat": int(time.time()) - 600}, "expired"),
        ({"nonce": None}, "nonce"),
    ],
)
def test_bad_claims_are_refused(
    client: FlaskClient, make_dl_response: MakeResponse, dl_data: str, overrides: dict[str, Any], words: str
) -> None:
    assert_refused(client, make_dl_response(dl_data, [UNIT_ITEM], **overrides), words)


@pytest.mark.parametrize(
    ("item", "words"),
    [
        ({**UNIT_ITEM, "url": "https://elsewhere.example/launch"}, "origin"),
        ({**UNIT_ITEM, "custom": {"unit": 3}}, "custom parameters"),
        ({**UNIT_ITEM, "lineItem": {"scoreMaximum": 0}}, "scoreMaximum"),
        ({**UNIT_ITEM, "title": ["list"]}, "title"),
    ],
)
def test_bad_items_are_refused(
    client: FlaskClient, make_dl_response: MakeResponse, dl_data: str, item: dict[str, Any], words: str
) -> None:
    assert_refused(client, make_dl_response(dl_data, [item]), words)


def test_missing_jwt_and_garbage_are_refused(client: FlaskClient) -> None:
    assert_refused(client, None, "no JWT")
    assert_refused(client, "not.a.jwt", "malformed")


def test_placed_titles_are_escaped_on_the_course_page(
    client: FlaskClient, make_dl_response: MakeResponse, dl_data: str
) -> None:
    item = {"type": "ltiResourceLink", "title": "<script>alert('x')</script>"}
    response = client.post(DL_RETURN, data={"JWT": make_dl_response(dl_data, [item])})
    assert response.status_code == 200
    for html in (response.get_data(as_text=True), client.get("/linkoping/").get_data(as_text=True)):
        assert "<script>alert" not in html
        assert "&lt;script&gt;alert" in html

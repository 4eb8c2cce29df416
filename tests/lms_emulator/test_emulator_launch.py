from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs, urlsplit

import jwt
import pytest
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from lms_emulator import vocabulary as v
from lms_emulator.platform import Institution

TOOL_LAUNCH = "http://tool.test/lti/launch"


def verify_id_token(client: FlaskClient, institution: Institution, token: str) -> dict[str, Any]:
    """Verify as a tool would: against the JWKS the platform serves over HTTP."""
    jwks = jwt.PyJWKSet.from_dict(client.get(f"/{institution.slug}/jwks").get_json())
    key = jwks[jwt.get_unverified_header(token)["kid"]]
    claims: dict[str, Any] = jwt.decode(
        token, key.key, algorithms=["RS256"], audience=institution.client_id, issuer=institution.issuer
    )
    return claims


def test_jwks_is_exactly_a_key_set(client: FlaskClient, institution: Institution) -> None:
    response = client.get("/linkoping/jwks")
    assert response.status_code == 200
    assert response.mimetype == "application/json"
    body = response.get_json()
    assert list(body) == ["keys"]
    (key,) = body["keys"]
    assert key["kid"] == institution.kid
    assert set(key) == {"kty", "alg", "kid", "use", "e", "n"}, "public parts only, as Moodle publishes"
    assert (key["kty"], key["alg"], key["use"]) == ("RSA", "RS256", "sig")


def test_each_institution_serves_its_own_jwks(client: FlaskClient) -> None:
    first = client.get("/linkoping/jwks").get_json()["keys"][0]["kid"]
    second = client.get("/ljubljana/jwks").get_json()["keys"][0]["kid"]
    assert first != second
    assert client.get("/nowhere/jwks").status_code == 404


def test_launch_redirects_to_tool_login(client: FlaskClient, institution: Institution) -> None:
    response = client.get("/linkoping/launch?user=5&link=3")
    assert response.status_code == 302
    location = urlsplit(response.headers["Location"])
    assert f"{location.scheme}://{location.netloc}{location.path}" == "http://tool.test/lti/login"
    params = {name: values[0] for name, values in parse_qs(location.query).items()}
    assert set(params) == {
        "iss",
        "login_hint",
        "target_link_uri",
        "lti_message_hint",
        "client_id",
        "lti_deployment_id",
    }
    assert params["iss"] == institution.issuer
    assert params["login_hint"] == "5"
    assert params["target_link_uri"] == TOOL_LAUNCH
    assert params["client_id"] == institution.client_id
    assert params["lti_deployment_id"] == institution.deployment_id
    hint = institution.read_message_hint(params["lti_message_hint"])
    assert (hint.user_sub, hint.link_id, hint.message_type) == ("5", "3", v.MESSAGE_RESOURCE_LINK)


@pytest.mark.parametrize(
    ("query", "status"),
    [
        ("user=99&link=2", 404),
        ("user=4&link=99", 404),
        ("user=4", 400),
        ("user=4&link=2&message=bogus", 400),
        ("user=4&link=2&target=popup", 400),
    ],
)
def test_launch_refuses_unknown_things(client: FlaskClient, query: str, status: int) -> None:
    response = client.get(f"/linkoping/launch?{query}")
    assert response.status_code == status
    assert "Location" not in response.headers
    assert response.mimetype == "text/html"


def test_auth_happy_path_posts_a_verifiable_id_token(
    client: FlaskClient,
    institution: Institution,
    auth_params: Callable[..., dict[str, str]],
    read_form: Callable[[TestResponse], dict[str, Any]],
) -> None:
    params = auth_params(user="6", link="4")
    response = client.get("/linkoping/auth", query_string=params)
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    html = response.get_data(as_text=True)
    assert '<html lang="en">' in html
    assert "<noscript>" in html and 'type="submit"' in html
    form = read_form(response)
    assert form["action"] == TOOL_LAUNCH
    assert form["method"] == "post"
    assert set(form["inputs"]) == {"id_token", "state"}
    assert form["inputs"]["state"] == params["state"]

    claims = verify_id_token(client, institution, form["inputs"]["id_token"])
    assert claims["sub"] == "6"
    assert claims["nonce"] == params["nonce"]
    assert claims["name"] == "Marta Puig"
    assert claims[v.CLAIM_MESSAGE_TYPE] == v.MESSAGE_RESOURCE_LINK
    assert claims[v.CLAIM_RESOURCE_LINK]["id"] == "4"
    assert claims[v.CLAIM_CUSTOM] == {"unit": "u3-labs"}
    assert claims[v.CLAIM_DEPLOYMENT_ID] == institution.deployment_id
    assert claims[v.CLAIM_LAUNCH_PRESENTATION]["locale"] == "es"
    assert claims[v.CLAIM_LAUNCH_PRESENTATION]["document_target"] == "iframe"
    assert claims["exp"] - claims["iat"] == 60

    record = client.get("/linkoping/_record").get_json()
    assert record["auth_requests"][-1]["outcome"] == "ok"
    assert record["launches"][-1]["claims"]["nonce"] == params["nonce"]


def test_auth_accepts_post_and_window_target(
    client: FlaskClient,
    institution: Institution,
    auth_params: Callable[..., dict[str, str]],
    read_form: Callable[[TestResponse], dict[str, Any]],
) -> None:
    params = auth_params(user="3", link="1", target="window", locale="sv")
    form = read_form(client.post("/linkoping/auth", data=params))
    claims = verify_id_token(client, institution, form["inputs"]["id_token"])
    assert claims[v.CLAIM_ROLES] == [v.ROLE_INSTRUCTOR]
    assert claims[v.CLAIM_LAUNCH_PRESENTATION]["document_target"] == "window"
    assert claims[v.CLAIM_LAUNCH_PRESENTATION]["locale"] == "sv"
    assert v.CLAIM_CUSTOM not in claims


def test_deep_linking_launch(
    client: FlaskClient,
    institution: Institution,
    auth_params: Callable[..., dict[str, str]],
    read_form: Callable[[TestResponse], dict[str, Any]],
) -> None:
    params = auth_params(user="3", link="", message="deeplink", course="c-101")
    form = read_form(client.get("/linkoping/auth", query_string=params))
    claims = verify_id_token(client, institution, form["inputs"]["id_token"])
    assert claims[v.CLAIM_MESSAGE_TYPE] == v.MESSAGE_DEEP_LINKING
    assert v.CLAIM_RESOURCE_LINK not in claims
    assert claims[v.CLAIM_DL_SETTINGS]["deep_link_return_url"] == "http://lms.test/linkoping/dl/return"
    assert claims[v.CLAIM_DL_SETTINGS]["data"]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"redirect_uri": "https://evil.example/steal"}, "redirect_uri"),
        ({"redirect_uri": TOOL_LAUNCH + "?x=1"}, "redirect_uri"),
        ({"client_id": "someone-else"}, "client_id"),
        ({"login_hint": "5"}, "login_hint"),
        ({"nonce": ""}, "nonce"),
        ({"state": ""}, "state"),
        ({"scope": "profile"}, "scope"),
        ({"response_type": "code"}, "response_type"),
        ({"response_mode": "query"}, "response_mode"),
        ({"prompt": "login"}, "prompt"),
        ({"lti_message_hint": "forged.value"}, "lti_message_hint"),
    ],
)
def test_auth_refuses_bad_requests(
    client: FlaskClient,
    auth_params: Callable[..., dict[str, str]],
    change: dict[str, str],
    message: str,
) -> None:
    params = {**auth_params(user="4", link="2"), **change}
    response = client.get("/linkoping/auth", query_string=params)
    assert response.status_code == 400
    assert "Location" not in response.headers
    html = response.get_data(as_text=True)
    assert message in html
    assert 'name="id_token"' not in html
    assert "<form" not in html
    record = client.get("/linkoping/_record").get_json()
    assert record["auth_requests"][-1]["outcome"] == "refused"
    assert record["launches"] == []


def test_auth_refuses_missing_nonce_parameter(
    client: FlaskClient, auth_params: Callable[..., dict[str, str]]
) -> None:
    params = auth_params()
    del params["nonce"]
    response = client.get("/linkoping/auth", query_string=params)
    assert response.status_code == 400
    assert "nonce" in response.get_data(as_text=True)


def test_hint_of_one_institution_is_refused_by_another(
    client: FlaskClient, auth_params: Callable[..., dict[str, str]]
) -> None:
    params = auth_params()
    params["client_id"] = "l2i-demo-ljubljana"
    response = client.get("/ljubljana/auth", query_string=params)
    assert response.status_code == 400
    assert "lti_message_hint" in response.get_data(as_text=True)


def test_refusal_page_escapes_what_it_echoes(
    client: FlaskClient, auth_params: Callable[..., dict[str, str]]
) -> None:
    params = {**auth_params(), "redirect_uri": "<script>alert(1)</script>"}
    html = client.get("/linkoping/auth", query_string=params).get_data(as_text=True)
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;" in html

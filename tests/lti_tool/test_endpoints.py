"""The tool's public endpoints: JWKS, health, the welcome page and security headers."""

from __future__ import annotations

import secrets
from pathlib import Path

from flask import Flask

from lti_tool.app import create_app
from lti_tool.settings import Settings
from lti_tool.web.state import app_state
from tests.fixtures.lti import LaunchDriver


def test_jwks_is_exactly_a_key_list_with_public_parts(app: Flask) -> None:
    response = app.test_client().get("/lti/jwks")
    assert response.status_code == 200
    body = response.get_json()
    assert list(body) == ["keys"]
    [key] = body["keys"]
    assert set(key) == {"kty", "n", "e", "kid", "alg", "use"}
    assert (key["kty"], key["alg"], key["use"]) == ("RSA", "RS256", "sig")
    again = app.test_client().get("/lti/jwks").get_json()
    assert again == body


def test_healthz_answers_ok(app: Flask) -> None:
    response = app.test_client().get("/healthz")
    assert response.status_code == 200 and response.get_json()["status"] == "ok"


def test_healthz_says_when_the_database_is_unreachable(tmp_path: Path) -> None:
    settings = Settings(base_url="http://localhost", secret_key=secrets.token_urlsafe(48),
                        database_url="postgresql+psycopg://nobody@127.0.0.1:9/none",
                        instance_path=tmp_path)
    broken = create_app(settings)
    client = broken.test_client()
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.get_json()["database"] == "unreachable"
    token = app_state(broken).tokens.sign("a-session-id")
    page = client.get(f"/trainer?s={token}")
    assert page.status_code == 503
    assert "cannot reach its database" in page.get_data(as_text=True)


def test_welcome_page_without_a_launch(app: Flask) -> None:
    response = app.test_client().get("/")
    assert response.status_code == 200
    assert "opens from your learning platform" in response.get_data(as_text=True)


def test_security_headers_frame_only_registered_platforms(driver: LaunchDriver) -> None:
    response = driver.client.get("/")
    csp = response.headers["Content-Security-Policy"]
    assert "frame-ancestors 'self' " + driver.emulator.url in csp
    assert "script-src 'self'" in csp and "object-src 'none'" in csp
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "same-origin"


def test_login_refuses_an_off_site_target(driver: LaunchDriver) -> None:
    inst = driver.institution()
    response = driver.client.get("/lti/login", query_string={
        "iss": inst.issuer, "login_hint": "4", "client_id": inst.client_id,
        "target_link_uri": "https://evil.example/phish",
    })
    assert response.status_code == 400
    assert "Location" not in response.headers
    assert "outside this tool" in response.get_data(as_text=True)


def test_login_from_unknown_deployment_says_what_to_do(driver: LaunchDriver) -> None:
    inst = driver.institution()
    response = driver.client.post("/lti/login", data={
        "iss": inst.issuer, "login_hint": "4", "client_id": inst.client_id,
        "target_link_uri": "http://localhost/lti/launch", "lti_deployment_id": "77",
    })
    text = response.get_data(as_text=True)
    assert response.status_code == 403
    assert "l2i platform add" in text and "--deployment-id 77" in text


def test_login_without_issuer_or_hint(app: Flask) -> None:
    client = app.test_client()
    assert client.get("/lti/login?target_link_uri=http://localhost/lti/launch").status_code == 400
    response = client.get("/lti/login", query_string={
        "iss": "https://unknown.example", "login_hint": "1",
        "target_link_uri": "http://localhost/lti/launch"})
    assert response.status_code == 400
    assert "not registered" in response.get_data(as_text=True)

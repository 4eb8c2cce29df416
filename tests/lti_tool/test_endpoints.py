"""The tool's public endpoints: JWKS, health, the welcome page and security headers."""

from __future__ import annotations

import secrets
from pathlib import Path

from flask import Flask

from lti_tool.app import create_app
from lti_tool.demo import register_emulator
from lti_tool.models import PlatformUser
from lti_tool.settings import Settings
from lti_tool.web.auth import current_launch, launch_required
from lti_tool.web.state import app_state, db
from tests.fixtures.lti import LaunchDriver, make_settings
from tests.fixtures.servers import Emulator


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


def test_a_server_error_mid_transaction_still_gets_the_tools_page_and_headers(
    database_url: str, tmp_path: Path, emulator: Emulator,
) -> None:
    """A view that fails in the middle of a flush: the error page can still read who is signed in."""
    application = create_app(make_settings(database_url, tmp_path), TESTING=True)
    application.config["PROPAGATE_EXCEPTIONS"] = False   # answer as production does

    @application.post("/test-only/clash")
    @launch_required()
    def clash() -> str:
        session = db()
        launch = current_launch()
        session.add(PlatformUser(issuer=launch.user.issuer, sub=launch.user.sub))
        session.flush()   # violates the unique (issuer, sub): IntegrityError, session needs a rollback
        return "unreachable"

    state = app_state(application)
    with state.session_factory() as session:
        register_emulator(session, emulator.config)
        session.commit()
    driver = LaunchDriver(application.test_client(), emulator)
    login = driver.start_login(driver.user("Learner"), driver.link(None))
    launched = driver.post_launch(driver.authorize(login))
    token = launched.headers["Location"].split("s=")[1].split("&")[0]
    csrf = state.tokens.csrf_token(state.tokens.read(token) or "")
    response = driver.client.post("/test-only/clash", headers={"X-L2I-Session": token, "X-CSRF-Token": csrf})
    text = response.get_data(as_text=True)
    assert response.status_code == 500
    assert "Signed in as" in text and "Traceback" not in text and "IntegrityError" not in text
    assert "frame-ancestors" in response.headers["Content-Security-Policy"]
    state.engine.dispose()

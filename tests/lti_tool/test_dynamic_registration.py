"""Dynamic Registration, replaying the exchange a real Moodle 4.5 had with a tool."""

from __future__ import annotations

import html
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from flask import Flask, Response, jsonify, request
from sqlalchemy import select
from sqlalchemy.orm import Session

from lti_tool.models import Deployment, Platform
from tests.fixtures.captures import read_capture
from tests.fixtures.servers import LiveServer, serve

TOKEN = "moodle-registration-token"


@dataclass
class FakeMoodle:
    """Moodle 4.5's registration endpoints, answering with what a real one answered."""

    token: str = TOKEN
    issuer_override: str | None = None
    received: list[dict[str, Any]] = field(default_factory=list)
    auth_headers: list[str | None] = field(default_factory=list)

    def app(self) -> Flask:
        app = Flask("fake-moodle")
        captured = read_capture("openid_configuration.json")
        answer = read_capture("dynamic_registration_response.json")

        @app.get("/mod/lti/openid-configuration.php")
        def configuration() -> Response:
            self.auth_headers.append(request.headers.get("Authorization"))
            base = request.host_url.rstrip("/")
            text = json.dumps(captured).replace("http://127.0.0.1:8080", base)
            config = json.loads(text)
            if self.issuer_override:
                config["issuer"] = self.issuer_override
            return jsonify(config)

        @app.post("/mod/lti/openid-registration.php")
        def registration() -> tuple[Response, int]:
            if request.headers.get("Authorization") != f"Bearer {self.token}":
                return jsonify(error="invalid token"), 401
            self.received.append(request.get_json())
            return jsonify(answer), 200

        return app


@pytest.fixture
def moodle() -> Iterator[tuple[FakeMoodle, LiveServer]]:
    fake = FakeMoodle()
    live = serve(fake.app())
    yield fake, live
    live.stop()


def _register(app: Flask, live: LiveServer, token: str | None = TOKEN) -> Any:
    query: dict[str, str] = {"openid_configuration": live.url + "/mod/lti/openid-configuration.php"}
    if token is not None:
        query["registration_token"] = token
    return app.test_client().get("/lti/register", query_string=query)


def test_moodle_registration_stores_the_platform(
    app: Flask, moodle: tuple[FakeMoodle, LiveServer], db_session: Session
) -> None:
    fake, live = moodle
    response = _register(app, live)
    page = html.unescape(response.get_data(as_text=True))
    assert response.status_code == 200, page
    assert "pending" in page and "close-registration.js" in page
    platform = db_session.scalars(select(Platform)).one()
    assert platform.issuer == live.url and platform.client_id == "txMlaCOJiQLwGxa"
    assert platform.key_set_url == live.url + "/mod/lti/certs.php"
    assert platform.auth_login_url == live.url + "/mod/lti/auth.php"
    assert db_session.scalars(select(Deployment.deployment_id)).one() == "2"
    [sent] = fake.received
    assert sent["initiate_login_uri"] == "http://localhost/lti/login"
    assert sent["redirect_uris"] == ["http://localhost/lti/launch"]
    assert sent["jwks_uri"] == "http://localhost/lti/jwks"
    assert "https://purl.imsglobal.org/spec/lti-nrps/scope/contextmembership.readonly" in sent["scope"]
    messages = sent["https://purl.imsglobal.org/spec/lti-tool-configuration"]["messages"]
    assert {m["type"] for m in messages} == {"LtiResourceLinkRequest", "LtiDeepLinkingRequest"}
    assert fake.auth_headers == [f"Bearer {TOKEN}"]


def test_missing_token_is_refused(app: Flask, moodle: tuple[FakeMoodle, LiveServer],
                                  db_session: Session) -> None:
    _fake, live = moodle
    response = _register(app, live, token=None)
    assert response.status_code == 400
    assert "registration_token" in response.get_data(as_text=True)
    assert db_session.scalars(select(Platform)).first() is None


def test_expired_token_is_refused(app: Flask, moodle: tuple[FakeMoodle, LiveServer],
                                  db_session: Session) -> None:
    _fake, live = moodle
    response = _register(app, live, token="expired")
    assert response.status_code == 400
    assert "expired" in response.get_data(as_text=True)
    assert db_session.scalars(select(Platform)).first() is None


def test_issuer_from_another_host_is_refused(app: Flask, moodle: tuple[FakeMoodle, LiveServer],
                                             db_session: Session) -> None:
    fake, live = moodle
    fake.issuer_override = "https://evil.example"
    response = _register(app, live)
    assert response.status_code == 400
    assert "does not match" in html.unescape(response.get_data(as_text=True))
    assert fake.received == []
    assert db_session.scalars(select(Platform)).first() is None


def test_without_parameters_the_page_explains_itself(app: Flask) -> None:
    response = app.test_client().get("/lti/register")
    assert response.status_code == 400
    assert "Dynamic Registration URL" in response.get_data(as_text=True)


def test_unreachable_configuration_is_a_clear_error(app: Flask) -> None:
    response = app.test_client().get(
        "/lti/register",
        query_string={"openid_configuration": "http://127.0.0.1:9/x", "registration_token": "t"},
    )
    assert response.status_code == 502
    assert "could not be fetched" in response.get_data(as_text=True)

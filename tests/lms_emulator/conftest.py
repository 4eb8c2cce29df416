"""Fixtures for the LMS emulator's tests.

The tool's side is played by the test itself: a throwaway RSA key whose JWKS the
emulator fetches through ``jwks_fetcher``, and helpers that do what a tool does
(answer the login initiation, sign client assertions and Deep Linking responses).
"""

from __future__ import annotations

import itertools
import secrets
import time
import uuid
from collections.abc import Callable
from html.parser import HTMLParser
from typing import Any
from urllib.parse import parse_qs, urlsplit

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from flask import Flask
from flask.testing import FlaskClient
from jwt.algorithms import RSAAlgorithm
from werkzeug.test import TestResponse

from lms_emulator import platform
from lms_emulator import vocabulary as v
from lms_emulator.app import create_emulator_app
from lms_emulator.platform import EmulatorConfig, Institution, SigningKey, default_seed

LMS_BASE = "http://lms.test"
TOOL_BASE = "http://tool.test"
TOOL_KID = "tool-key-1"


class FormParser(HTMLParser):
    """Collects the forms of a page: action, method and input name -> value."""

    def __init__(self) -> None:
        super().__init__()
        self.forms: list[dict[str, Any]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if tag == "form":
            self.forms.append({"action": values.get("action"), "method": values.get("method"), "inputs": {}})
        elif tag == "input" and self.forms and values.get("name"):
            self.forms[-1]["inputs"][values["name"]] = values.get("value")


def parse_forms(html: str) -> list[dict[str, Any]]:
    parser = FormParser()
    parser.feed(html)
    return parser.forms


def query_of(url: str) -> dict[str, str]:
    return {name: values[0] for name, values in parse_qs(urlsplit(url).query).items()}


@pytest.fixture(scope="session")
def rsa_key_pool() -> list[rsa.RSAPrivateKey]:
    return [rsa.generate_private_key(public_exponent=65537, key_size=2048) for _ in range(6)]


@pytest.fixture(autouse=True)
def reuse_platform_keys(monkeypatch: pytest.MonkeyPatch, rsa_key_pool: list[rsa.RSAPrivateKey]) -> None:
    """Hand institutions real 2048-bit keys from a pool instead of generating each (~0.1 s apiece).

    Kids stay fresh, and a test sees up to six different keys before one repeats.
    """
    keys = itertools.cycle(rsa_key_pool)

    def pooled_key() -> SigningKey:
        return SigningKey(kid=secrets.token_urlsafe(12), private_key=next(keys))

    monkeypatch.setattr(platform, "generate_signing_key", pooled_key)


@pytest.fixture
def read_form() -> Callable[[TestResponse | str], dict[str, Any]]:
    """The one form of an HTML response (or page text): action, method and its inputs."""

    def read(response: TestResponse | str) -> dict[str, Any]:
        forms = parse_forms(response if isinstance(response, str) else response.get_data(as_text=True))
        assert len(forms) == 1, forms
        return forms[0]

    return read


@pytest.fixture(scope="session")
def tool_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture(scope="session")
def other_key() -> rsa.RSAPrivateKey:
    """A key the tool does not publish."""
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture
def tool_jwks(tool_key: rsa.RSAPrivateKey) -> dict[str, Any]:
    jwk = dict(RSAAlgorithm.to_jwk(tool_key.public_key(), as_dict=True))
    jwk.update({"kid": TOOL_KID, "alg": "RS256", "use": "sig"})
    return {"keys": [jwk]}


@pytest.fixture
def jwks_fetches() -> list[str]:
    """URLs the emulator fetched the tool's JWKS from, in order."""
    return []


@pytest.fixture
def emulator_config(tool_jwks: dict[str, Any], jwks_fetches: list[str]) -> EmulatorConfig:
    def fetch(url: str) -> dict[str, Any]:
        jwks_fetches.append(url)
        return tool_jwks

    return default_seed(LMS_BASE, TOOL_BASE, institutions=2, jwks_fetcher=fetch)


@pytest.fixture
def institution(emulator_config: EmulatorConfig) -> Institution:
    return emulator_config.institutions[0]


@pytest.fixture
def app(emulator_config: EmulatorConfig) -> Flask:
    return create_emulator_app(emulator_config)


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def sign_as_tool(tool_key: rsa.RSAPrivateKey) -> Callable[..., str]:
    """Sign claims the way the tool does (RS256, its kid), or with another key/kid."""

    def sign(claims: dict[str, Any], *, key: Any = None, kid: str = TOOL_KID) -> str:
        return jwt.encode(claims, key or tool_key, algorithm="RS256", headers={"kid": kid})

    return sign


@pytest.fixture
def make_client_assertion(institution: Institution, sign_as_tool: Callable[..., str]) -> Callable[..., str]:
    """A client assertion for the token endpoint; keyword arguments override claims."""

    def make(*, key: Any = None, kid: str = TOOL_KID, **overrides: Any) -> str:
        now = int(time.time())
        claims: dict[str, Any] = {
            "iss": institution.client_id,
            "sub": institution.client_id,
            "aud": institution.auth_token_url,
            "iat": now,
            "exp": now + 300,
            "jti": uuid.uuid4().hex,
        }
        claims.update(overrides)
        claims = {name: value for name, value in claims.items() if value is not None}
        return sign_as_tool(claims, key=key, kid=kid)

    return make


@pytest.fixture
def request_token(client: FlaskClient, institution: Institution) -> Callable[..., TestResponse]:
    """POST a client_credentials token request with the given assertion and scopes."""

    def post(
        assertion: str, scopes: tuple[str, ...] = v.SERVICE_SCOPES, slug: str | None = None
    ) -> TestResponse:
        return client.post(
            f"/{slug or institution.slug}/token",
            data={
                "grant_type": "client_credentials",
                "client_assertion_type": v.CLIENT_ASSERTION_TYPE_JWT_BEARER,
                "client_assertion": assertion,
                "scope": " ".join(scopes),
            },
        )

    return post


@pytest.fixture
def bearer(
    request_token: Callable[..., TestResponse], make_client_assertion: Callable[..., str]
) -> Callable[..., dict[str, str]]:
    """Authorization headers with a fresh access token for ``scopes``."""

    def headers(*scopes: str) -> dict[str, str]:
        response = request_token(make_client_assertion(), scopes or v.SERVICE_SCOPES)
        assert response.status_code == 200, response.get_data(as_text=True)
        return {"Authorization": f"Bearer {response.get_json()['access_token']}"}

    return headers


@pytest.fixture
def auth_params(client: FlaskClient, institution: Institution) -> Callable[..., dict[str, str]]:
    """Start a launch and answer it as the tool's /lti/login would: the auth request's params."""

    def start(user: str = "4", link: str = "2", **launch_args: str) -> dict[str, str]:
        response = client.get(
            f"/{institution.slug}/launch", query_string={"user": user, "link": link, **launch_args}
        )
        assert response.status_code == 302
        login = query_of(response.headers["Location"])
        return {
            "scope": "openid",
            "response_type": "id_token",
            "response_mode": "form_post",
            "prompt": "none",
            "client_id": login["client_id"],
            "redirect_uri": f"{TOOL_BASE}/lti/launch",
            "login_hint": login["login_hint"],
            "lti_message_hint": login["lti_message_hint"],
            "state": "state-" + uuid.uuid4().hex,
            "nonce": "nonce-" + uuid.uuid4().hex,
        }

    return start


@pytest.fixture
def launch_id_token(
    client: FlaskClient, institution: Institution, auth_params: Callable[..., dict[str, str]]
) -> Callable[..., str]:
    """Run a full launch and return the id_token the platform form-posts."""

    def launch(user: str = "4", link: str = "2", **launch_args: str) -> str:
        response = client.get(
            f"/{institution.slug}/auth", query_string=auth_params(user, link, **launch_args)
        )
        assert response.status_code == 200, response.get_data(as_text=True)
        (form,) = parse_forms(response.get_data(as_text=True))
        return str(form["inputs"]["id_token"])

    return launch


@pytest.fixture
def make_dl_response(institution: Institution, sign_as_tool: Callable[..., str]) -> Callable[..., str]:
    """A signed LtiDeepLinkingResponse for ``data``; keyword arguments override claims (None drops one)."""

    def make(data: str | None, items: list[dict[str, Any]], *, key: Any = None, **overrides: Any) -> str:
        now = int(time.time())
        claims: dict[str, Any] = {
            "iss": institution.client_id,
            "aud": [institution.issuer],
            "iat": now,
            "exp": now + 600,
            "nonce": uuid.uuid4().hex,
            v.CLAIM_DEPLOYMENT_ID: institution.deployment_id,
            v.CLAIM_MESSAGE_TYPE: v.MESSAGE_DEEP_LINKING_RESPONSE,
            v.CLAIM_VERSION: v.LTI_VERSION,
            v.CLAIM_DL_CONTENT_ITEMS: items,
            v.CLAIM_DL_DATA: data,
        }
        claims.update(overrides)
        dropped = {name for name, value in overrides.items() if value is None}
        return sign_as_tool({name: value for name, value in claims.items() if name not in dropped}, key=key)

    return make

"""The emulator over real sockets, with the default JWKS fetcher (requests) and a live tool JWKS."""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

import jwt
import pytest
import requests
from cryptography.hazmat.primitives.asymmetric import rsa
from werkzeug.serving import BaseWSGIServer, make_server

from lms_emulator import vocabulary as v
from lms_emulator.__main__ import platform_add_command
from lms_emulator.app import create_emulator_app
from lms_emulator.platform import default_seed
from lms_emulator.server import RunningEmulator, start_emulator


def serve_tool_jwks(jwks: dict[str, Any]) -> tuple[BaseWSGIServer, threading.Thread]:
    """A stand-in for the tool: just its /lti/jwks, over HTTP."""

    def tool(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        if environ["PATH_INFO"] != "/lti/jwks":
            start_response("404 Not Found", [("Content-Type", "text/plain")])
            return [b"not found"]
        start_response("200 OK", [("Content-Type", "application/json")])
        return [json.dumps(jwks).encode()]

    server = make_server("127.0.0.1", 0, tool, threaded=True)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    return server, thread


@pytest.fixture
def live(tool_jwks: dict[str, Any]) -> Iterator[RunningEmulator]:
    tool_server, tool_thread = serve_tool_jwks(tool_jwks)
    running = start_emulator(f"http://127.0.0.1:{tool_server.server_port}")
    try:
        yield running
    finally:
        running.stop()
        tool_server.shutdown()
        tool_server.server_close()
        tool_thread.join(timeout=5)


def test_launch_and_token_over_http(
    live: RunningEmulator, tool_key: rsa.RSAPrivateKey, read_form: Callable[..., dict[str, Any]]
) -> None:
    config, lms_base = live.config, live.base_url
    assert lms_base.startswith("http://127.0.0.1:")
    institution = config.institutions[0]
    with requests.Session() as http:
        start = http.get(
            f"{lms_base}/linkoping/launch", params={"user": "4", "link": "2"}, allow_redirects=False
        )
        assert start.status_code == 302
        login = {k: vals[0] for k, vals in parse_qs(urlsplit(start.headers["Location"]).query).items()}
        auth = http.get(
            institution.auth_login_url,
            params={
                "scope": "openid",
                "response_type": "id_token",
                "response_mode": "form_post",
                "prompt": "none",
                "client_id": login["client_id"],
                "redirect_uri": f"{config.tool_base_url}/lti/launch",
                "login_hint": login["login_hint"],
                "lti_message_hint": login["lti_message_hint"],
                "state": "s-1",
                "nonce": "n-1",
            },
        )
        assert auth.status_code == 200
        jwks = jwt.PyJWKSet.from_dict(http.get(institution.key_set_url).json())
        form = read_form(auth.text)
        assert form["action"] == f"{config.tool_base_url}/lti/launch"
        id_token = form["inputs"]["id_token"]
        key = jwks[jwt.get_unverified_header(id_token)["kid"]].key
        claims = jwt.decode(id_token, key, algorithms=["RS256"], audience=institution.client_id)
        assert claims["nonce"] == "n-1"

        now = int(time.time())
        assertion = jwt.encode(
            {
                "iss": institution.client_id,
                "sub": institution.client_id,
                "aud": institution.auth_token_url,
                "iat": now,
                "exp": now + 60,
                "jti": uuid.uuid4().hex,
            },
            tool_key,
            algorithm="RS256",
            headers={"kid": "tool-key-1"},
        )
        token = http.post(
            institution.auth_token_url,
            data={
                "grant_type": "client_credentials",
                "client_assertion_type": v.CLIENT_ASSERTION_TYPE_JWT_BEARER,
                "client_assertion": assertion,
                "scope": v.SCOPE_NRPS,
            },
        )
        assert token.status_code == 200, token.text
        roster = http.get(
            claims[v.CLAIM_NRPS]["context_memberships_url"],
            headers={"Authorization": f"Bearer {token.json()['access_token']}"},
        )
        assert roster.status_code == 200
        assert roster.links["next"]["url"].startswith(f"{lms_base}/linkoping/nrps/c-101/memberships?")


def test_unreachable_tool_jwks_refuses_the_assertion(tool_key: rsa.RSAPrivateKey) -> None:
    config = default_seed("http://lms.test", "http://127.0.0.1:9")
    client = create_emulator_app(config).test_client()
    institution = config.institutions[0]
    now = int(time.time())
    assertion = jwt.encode(
        {
            "iss": institution.client_id,
            "sub": institution.client_id,
            "aud": institution.auth_token_url,
            "iat": now,
            "exp": now + 60,
            "jti": "j",
        },
        tool_key,
        algorithm="RS256",
        headers={"kid": "tool-key-1"},
    )
    response = client.post(
        "/linkoping/token",
        data={
            "grant_type": "client_credentials",
            "client_assertion_type": v.CLIENT_ASSERTION_TYPE_JWT_BEARER,
            "client_assertion": assertion,
        },
    )
    assert response.status_code == 401
    assert "could not fetch the tool's JWKS" in response.get_json()["error_description"]


def test_platform_add_command_quotes_the_name(live: RunningEmulator) -> None:
    command = platform_add_command(live.config.institutions[0])
    assert command.startswith(
        f"l2i platform add --issuer {live.base_url}/linkoping --client-id l2i-demo-linkoping"
    )
    assert f"--key-set-url {live.base_url}/linkoping/jwks" in command
    assert command.endswith("--name 'Linköping R&D Centre (demo)'")

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from flask.testing import FlaskClient
from jwt.algorithms import RSAAlgorithm
from werkzeug.test import TestResponse

from lms_emulator import vocabulary as v
from lms_emulator.jws import encode_jws
from lms_emulator.platform import Institution

Post = Callable[..., TestResponse]
Make = Callable[..., str]


def assert_refused(response: TestResponse, status: int, error: str, words: str) -> None:
    assert response.status_code == status, response.get_data(as_text=True)
    body = response.get_json()
    assert body["error"] == error
    assert words in body["error_description"]
    assert "access_token" not in body


def test_valid_assertion_gets_a_token(request_token: Post, make_client_assertion: Make) -> None:
    response = request_token(make_client_assertion(), (v.SCOPE_AGS_SCORE, v.SCOPE_NRPS))
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    body = response.get_json()
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == 3600
    assert set(body["scope"].split()) == {v.SCOPE_AGS_SCORE, v.SCOPE_NRPS}
    assert len(body["access_token"]) >= 32


def test_issuer_is_accepted_as_audience(
    request_token: Post, make_client_assertion: Make, institution: Institution
) -> None:
    response = request_token(make_client_assertion(aud=institution.issuer))
    assert response.status_code == 200


def test_unknown_scopes_are_dropped_and_only_unknown_refused(
    request_token: Post, make_client_assertion: Make
) -> None:
    mixed = request_token(make_client_assertion(), (v.SCOPE_AGS_SCORE, "https://example.org/scope/admin"))
    assert mixed.get_json()["scope"] == v.SCOPE_AGS_SCORE
    only_unknown = request_token(make_client_assertion(), ("https://example.org/scope/admin",))
    assert_refused(only_unknown, 400, "invalid_scope", "scope")


def test_expired_assertion_is_refused(request_token: Post, make_client_assertion: Make) -> None:
    now = int(time.time())
    response = request_token(make_client_assertion(iat=now - 600, exp=now - 300))
    assert_refused(response, 401, "invalid_client", "expired")


def test_assertion_signed_with_another_key_is_refused(
    request_token: Post, make_client_assertion: Make, other_key: rsa.RSAPrivateKey
) -> None:
    response = request_token(make_client_assertion(key=other_key))
    assert_refused(response, 401, "invalid_client", "Signature verification failed")


def test_replayed_jti_is_refused(request_token: Post, make_client_assertion: Make) -> None:
    assertion = make_client_assertion(jti="only-once")
    assert request_token(assertion).status_code == 200
    assert_refused(request_token(assertion), 401, "invalid_client", "jti was already used")
    assert_refused(request_token(make_client_assertion(jti="only-once")), 401, "invalid_client", "jti")


@pytest.mark.parametrize(
    ("overrides", "words"),
    [
        ({"iss": "someone-else"}, "Invalid issuer"),
        ({"sub": "someone-else"}, "sub must be the client_id"),
        ({"aud": "http://lms.test/ljubljana/token"}, "Audience"),
        ({"jti": None}, "jti"),
        ({"exp": None}, "exp"),
    ],
)
def test_assertion_with_wrong_claims_is_refused(
    request_token: Post, make_client_assertion: Make, overrides: dict[str, Any], words: str
) -> None:
    assert_refused(request_token(make_client_assertion(**overrides)), 401, "invalid_client", words)


def test_unknown_kid_triggers_one_refetch_then_refusal(
    request_token: Post, make_client_assertion: Make, jwks_fetches: list[str]
) -> None:
    assert request_token(make_client_assertion()).status_code == 200
    assert jwks_fetches == ["http://tool.test/lti/jwks"]
    assert request_token(make_client_assertion()).status_code == 200
    assert len(jwks_fetches) == 1, "the tool's JWKS is cached"
    response = request_token(make_client_assertion(kid="rotated-away"))
    assert_refused(response, 401, "invalid_client", "rotated-away")
    assert len(jwks_fetches) == 2, "an unknown kid makes the platform fetch the JWKS again"


def test_key_rotation_on_the_tool_side_is_picked_up(
    request_token: Post,
    make_client_assertion: Make,
    tool_jwks: dict[str, Any],
    other_key: rsa.RSAPrivateKey,
) -> None:
    assert request_token(make_client_assertion()).status_code == 200
    new_jwk = dict(RSAAlgorithm.to_jwk(other_key.public_key(), as_dict=True))
    new_jwk.update({"kid": "tool-key-2", "alg": "RS256", "use": "sig"})
    tool_jwks["keys"].append(new_jwk)
    response = request_token(make_client_assertion(key=other_key, kid="tool-key-2"))
    assert response.status_code == 200, response.get_data(as_text=True)


def test_grant_and_assertion_type_are_checked(
    client: FlaskClient, institution: Institution, make_client_assertion: Make
) -> None:
    form = {
        "grant_type": "password",
        "client_assertion_type": v.CLIENT_ASSERTION_TYPE_JWT_BEARER,
        "client_assertion": make_client_assertion(),
    }
    assert_refused(
        client.post("/linkoping/token", data=form), 400, "unsupported_grant_type", "client_credentials"
    )
    form.update(grant_type="client_credentials", client_assertion_type="urn:other")
    assert_refused(
        client.post("/linkoping/token", data=form), 400, "invalid_request", "client_assertion_type"
    )
    del form["client_assertion"]
    form["client_assertion_type"] = v.CLIENT_ASSERTION_TYPE_JWT_BEARER
    assert_refused(client.post("/linkoping/token", data=form), 400, "invalid_request", "missing")


def test_alg_none_assertion_is_refused(request_token: Post, institution: Institution) -> None:
    now = int(time.time())
    claims = {
        "iss": institution.client_id,
        "sub": institution.client_id,
        "aud": institution.auth_token_url,
        "iat": now,
        "exp": now + 60,
        "jti": "x",
    }
    unsigned = encode_jws({"alg": "none", "kid": "tool-key-1"}, claims, "none", None)
    assert_refused(request_token(unsigned), 401, "invalid_client", "RS256")


def test_token_requests_are_recorded(
    client: FlaskClient, request_token: Post, make_client_assertion: Make
) -> None:
    request_token(make_client_assertion())
    request_token(make_client_assertion(key=None, kid="nope"))
    entries = client.get("/linkoping/_record").get_json()["token_requests"]
    assert [entry["outcome"] for entry in entries] == ["ok", "refused"]
    assert entries[1]["error"] == "invalid_client"

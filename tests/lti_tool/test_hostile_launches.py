"""Every known-bad id_token is refused with a 4xx and a clear message, and leaves no trace.

Cases come from 1EdTech's LTI 1.3 certification bad-payload list and its Security
Framework, plus the gaps pylti1p3 2.0.0 leaves (nonce replay, aud/azp, unknown issuer,
oversized tokens). Each case runs a real login with the emulator first, so the state
cookie and nonce are genuine; only the id_token is tampered with.
"""

from __future__ import annotations

import html
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from lti_tool import vocabulary as v
from lti_tool.models import Context, LtiValue, Membership, PlatformUser, ToolSession
from tests.fixtures.lti import LaunchDriver, LoginStarted

Claims = dict[str, Any]
Signer = Callable[..., str]


@dataclass(frozen=True)
class Attack:
    """One hostile id_token: how to make it, the status expected, words the message must hold."""

    name: str
    make: Callable[[Claims, Signer, LoginStarted], str]
    status: int
    says: str


def _claims(change: Callable[[Claims], None]) -> Callable[[Claims, Signer, LoginStarted], str]:
    def make(claims: Claims, sign: Signer, _login: LoginStarted) -> str:
        change(claims)
        return sign(claims)

    return make


def _drop(*names: str) -> Callable[[Claims, Signer, LoginStarted], str]:
    def change(claims: Claims) -> None:
        for name in names:
            claims.pop(name, None)

    return _claims(change)


def _set(name: str, value: Any) -> Callable[[Claims, Signer, LoginStarted], str]:
    return _claims(lambda c: c.__setitem__(name, value))


def _other_key_pem() -> bytes:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def _drop_link_id(claims: Claims) -> None:
    claims[v.CLAIM_RESOURCE_LINK] = {"title": "no id"}


ATTACKS = [
    Attack("not a JWT", lambda c, s, _login: "this-is-not-a-jwt", 400, "well-formed JWT"),
    Attack("two-part token", lambda c, s, _login: s(c).rsplit(".", 1)[0], 400, "well-formed JWT"),
    Attack("no kid", lambda c, s, _login: s(c, headers={"kid": None}), 400, "key id"),
    Attack("unknown kid", lambda c, s, _login: s(c, kid="no-such-key"), 401, "does not publish"),
    Attack("alg none", lambda c, s, _login: s(c, alg="none"), 400, "only RS256"),
    Attack("HS256 with the platform's public key as secret",
           lambda c, s, _login: s(c, alg="HS256", key=b"public-key-confusion"), 400, "only RS256"),
    Attack("signed with another key under the right kid",
           lambda c, s, _login: s(c, key=_other_key_pem()), 401, "signature"),
    Attack("payload edited after signing",
           lambda c, s, _login: _tamper_payload(s(c)), 401, "signature"),
    Attack("wrong LTI version", _set(v.CLAIM_VERSION, "1.1.0"), 400, "LTI version"),
    Attack("missing LTI version", _drop(v.CLAIM_VERSION), 400, "LTI version"),
    Attack("missing message_type", _drop(v.CLAIM_MESSAGE_TYPE), 400, "message"),
    Attack("unknown message_type", _set(v.CLAIM_MESSAGE_TYPE, "LtiSubmissionReviewRequest"), 400,
           "does not handle"),
    Attack("missing deployment_id", _drop(v.CLAIM_DEPLOYMENT_ID), 400, "deployment"),
    Attack("unknown deployment_id", _set(v.CLAIM_DEPLOYMENT_ID, "999"), 403, "l2i platform add"),
    Attack("missing resource_link id", _claims(_drop_link_id), 400, "resource link id"),
    Attack("missing sub", _drop("sub"), 400, "'sub'"),
    Attack("missing roles", _drop(v.CLAIM_ROLES), 400, "roles"),
    Attack("iat in the future", _set("iat", int(time.time()) + 3600), 401, "future"),
    Attack("expired", _claims(lambda c: c.update(iat=int(time.time()) - 400,
                                                 exp=int(time.time()) - 300)), 401, "expired"),
    Attack("missing exp", _drop("exp"), 400, "'exp'"),
    Attack("wrong aud", _set("aud", "someone-else"), 400, "client_id"),
    Attack("several aud without azp", _claims(lambda c: c.update(aud=[c["aud"], "other"])), 400,
           "azp"),
    Attack("several aud with a wrong azp",
           _claims(lambda c: c.update(aud=[c["aud"], "other"], azp="other")), 400, "client_id"),
    Attack("azp not among aud", _claims(lambda c: c.update(azp="elsewhere")), 400, "azp"),
    Attack("unknown issuer", _set("iss", "https://evil.example"), 400, "not registered"),
    Attack("nonce never issued", _set("nonce", "made-up-nonce"), 401, "nonce"),
    Attack("target_link_uri off-site", _set(v.CLAIM_TARGET_LINK_URI, "https://evil.example/x"), 400,
           "target_link_uri"),
    Attack("context without id", _set(v.CLAIM_CONTEXT, {"title": "x"}), 400, "context"),
    Attack("oversized id_token", _claims(lambda c: c.update(pad="x" * 70_000)), 413, "larger"),
]


def _tamper_payload(token: str) -> str:
    import base64
    import json

    header, payload, signature = token.split(".")
    body = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    body["name"] = "Mallory"
    new_payload = base64.urlsafe_b64encode(json.dumps(body).encode()).rstrip(b"=").decode()
    return f"{header}.{new_payload}.{signature}"


def _footprint(session: Session) -> dict[str, int]:
    session.expire_all()
    return {
        model.__name__: int(session.scalar(select(func.count()).select_from(model)) or 0)
        for model in (PlatformUser, ToolSession, Membership, Context, LtiValue)
    }


@pytest.mark.parametrize("attack", ATTACKS, ids=[a.name for a in ATTACKS])
def test_attack_is_refused_without_trace(
    attack: Attack, driver: LaunchDriver, db_session: Session
) -> None:
    learner = driver.user("Learner")
    link = driver.link(None)
    login = driver.start_login(learner, link)
    claims, sign = driver.forge(login, learner, link)
    token = attack.make(claims, sign, login)
    before = _footprint(db_session)
    response = driver.post_launch({"id_token": token, "state": login.state})
    text = html.unescape(response.get_data(as_text=True))
    assert response.status_code == attack.status, text
    assert attack.says.lower() in text.lower(), text
    assert "Traceback" not in text
    assert _footprint(db_session) == before


def test_count_of_attacks() -> None:
    assert len(ATTACKS) >= 25


def test_replayed_id_token_is_refused(driver: LaunchDriver, db_session: Session) -> None:
    login = driver.start_login(driver.user("Learner"), driver.link(None))
    fields = driver.authorize(login)
    assert driver.post_launch(fields).status_code == 303
    before = _footprint(db_session)
    replay = driver.post_launch(fields)
    assert replay.status_code == 401
    assert "already been used" in replay.get_data(as_text=True) or "nonce" in replay.get_data(
        as_text=True
    )
    assert _footprint(db_session) == before


def test_replay_from_another_browser_is_refused(driver: LaunchDriver, db_session: Session) -> None:
    login = driver.start_login(driver.user("Learner"), driver.link(None))
    fields = driver.authorize(login)
    assert driver.post_launch(fields).status_code == 303
    other_browser = driver.client.application.test_client()
    other_browser.set_cookie(f"lti1p3-{login.state}", login.state, domain="localhost")
    before = _footprint(db_session)
    replay = other_browser.post("/lti/launch", data=fields)
    assert replay.status_code == 401
    assert _footprint(db_session) == before


def test_state_from_another_browser_is_refused(driver: LaunchDriver, db_session: Session) -> None:
    login = driver.start_login(driver.user("Learner"), driver.link(None))
    fields = driver.authorize(login)
    other_browser = driver.client.application.test_client()
    before = _footprint(db_session)
    response = other_browser.post("/lti/launch", data=fields)
    assert response.status_code == 401
    assert "new window" in response.get_data(as_text=True)
    assert _footprint(db_session) == before


def test_id_token_of_one_login_with_the_state_of_another(driver: LaunchDriver) -> None:
    learner, link = driver.user("Learner"), driver.link(None)
    first = driver.start_login(learner, link)
    second = driver.start_login(learner, link)
    fields = driver.authorize(first)
    response = driver.post_launch({"id_token": fields["id_token"], "state": second.state})
    assert response.status_code == 401
    assert "another login" in response.get_data(as_text=True)


def test_request_body_over_the_limit_gets_413(driver: LaunchDriver) -> None:
    response = driver.client.post("/lti/launch", data={"id_token": "x" * 2_000_000, "state": "s"})
    assert response.status_code == 413


@dataclass(frozen=True)
class LoginAttack:
    """One hostile OIDC login initiation: what it changes, the status expected, words it must say."""

    name: str
    change: Callable[[dict[str, str]], None]
    status: int
    says: str


def _login_set(name: str, value: str) -> Callable[[dict[str, str]], None]:
    return lambda params: params.__setitem__(name, value)


def _login_drop(name: str) -> Callable[[dict[str, str]], None]:
    def change(params: dict[str, str]) -> None:
        params.pop(name, None)

    return change


LOGIN_ATTACKS = [
    LoginAttack("login without iss", _login_drop("iss"), 400, "iss"),
    LoginAttack("login from an unknown issuer", _login_set("iss", "https://evil.example"), 400,
                "not registered"),
    LoginAttack("login without login_hint", _login_drop("login_hint"), 400, "login_hint"),
    LoginAttack("login without target_link_uri", _login_drop("target_link_uri"), 400,
                "target_link_uri"),
    LoginAttack("target_link_uri on another site",
                _login_set("target_link_uri", "https://evil.example/lti/launch"), 400, "outside this tool"),
    LoginAttack("target_link_uri scheme-relative",
                _login_set("target_link_uri", "//evil.example/lti/launch"), 400, "outside this tool"),
    LoginAttack("target_link_uri with the tool as user info",
                _login_set("target_link_uri", "http://localhost@evil.example/lti/launch"), 400,
                "outside this tool"),
    LoginAttack("target_link_uri on a look-alike host",
                _login_set("target_link_uri", "http://localhost.evil.example/lti/launch"), 400,
                "outside this tool"),
    LoginAttack("target_link_uri javascript:",
                _login_set("target_link_uri", "javascript:alert(document.domain)"), 400,
                "outside this tool"),
    LoginAttack("target_link_uri on another port",
                _login_set("target_link_uri", "http://localhost:8081/lti/launch"), 400, "outside this tool"),
    LoginAttack("unknown client_id", _login_set("client_id", "not-our-client"), 400, "client"),
    LoginAttack("unknown lti_deployment_id", _login_set("lti_deployment_id", "77"), 403,
                "l2i platform add"),
    LoginAttack("markup as lti_storage_target",
                _login_set("lti_storage_target", "\"><script>alert(1)</script>"), 400,
                "lti_storage_target"),
]


def _login_params(driver: LaunchDriver) -> dict[str, str]:
    inst = driver.institution()
    return {
        "iss": inst.issuer, "login_hint": driver.user("Learner").sub, "client_id": inst.client_id,
        "target_link_uri": "http://localhost/lti/launch",
        "lti_message_hint": driver.link(None).id,
    }


@pytest.mark.parametrize("method", ["GET", "POST"])
@pytest.mark.parametrize("attack", LOGIN_ATTACKS, ids=[a.name for a in LOGIN_ATTACKS])
def test_login_attack_is_refused_without_trace(
    attack: LoginAttack, method: str, driver: LaunchDriver, db_session: Session
) -> None:
    params = _login_params(driver)
    attack.change(params)
    before = _footprint(db_session)
    if method == "GET":
        response = driver.client.get("/lti/login", query_string=params)
    else:
        response = driver.client.post("/lti/login", data=params)
    text = html.unescape(response.get_data(as_text=True))
    assert response.status_code == attack.status, text
    assert attack.says.lower() in text.lower(), text
    assert "Location" not in response.headers
    assert "Traceback" not in text
    assert not [c for c in response.headers.getlist("Set-Cookie") if c.startswith("lti1p3-")]
    assert _footprint(db_session) == before


def test_the_untampered_login_is_accepted(driver: LaunchDriver, db_session: Session) -> None:
    """The login attacks above differ from this accepted login in one parameter each."""
    before = _footprint(db_session)
    response = driver.client.get("/lti/login", query_string=_login_params(driver))
    assert response.status_code == 302
    assert response.headers["Location"].startswith(driver.emulator.url)
    assert _footprint(db_session)["LtiValue"] > before["LtiValue"]


def test_count_of_attacks_of_both_kinds() -> None:
    assert len(ATTACKS) + len(LOGIN_ATTACKS) >= 40

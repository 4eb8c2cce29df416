"""Open Badges 3.0 credentials after real launches: issuing, public checks, tampering, revoking, bundles.

Learners and trainers launch from the emulator's two institutions; a trainer's override makes a
learner proficient, as in a course. Runs on SQLite and PostgreSQL.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import io
import json
import re
import secrets
from typing import Any
from urllib.parse import urlsplit

import jwt
from click.testing import CliRunner, Result
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from badges.models import Credential
from badges.signing import credential_of, decode_unverified, jwt_payload
from competencies.models import Proficiency
from lti_tool import keys
from lti_tool.cli import main
from lti_tool.credentials import issue_credential, key_url, status_url
from lti_tool.models import Learner, PlatformUser, ToolKey
from lti_tool.web.state import app_state
from tests.fixtures.lti import LaunchDriver
from tests.fixtures.servers import TOOL_BASE_URL
from tests.lti_tool.test_dashboards import text_of, trainer
from tests.lti_tool.test_learning_flow import csrf_of, enter

BASE = TOOL_BASE_URL   # the tool under test


# -- drivers ------------------------------------------------------------------------------------

def competencies(app: Flask, count: int = 2) -> list[str]:
    """Return the ids of the framework's first ``count`` competencies."""
    return [node.idnumber for node in app_state(app).framework.competencies()[:count]]


def learner_id_of(db_session: Session, driver: LaunchDriver, index: int = 0, institution: int = 0) -> int:
    """Return the tool's learner id of a seeded learner."""
    user = driver.user("Learner", index, institution)
    return db_session.scalars(select(PlatformUser.learner_id).where(
        PlatformUser.sub == user.sub, PlatformUser.issuer == driver.institution(institution).issuer)).one()


def learner(driver: LaunchDriver, db_session: Session, index: int = 0) -> tuple[FlaskClient, int]:
    """Launch a learner with a fresh browser; return it and their learner id."""
    client, _ = enter(driver, "Learner", index=index)
    return client, learner_id_of(db_session, driver, index)


def override(driver: LaunchDriver, learner_id: int, competency: str, level: int = 3) -> FlaskClient:
    """Have the course's trainer set the learner's level in ``competency``; return the trainer's browser."""
    client = trainer(driver)
    page = client.get(f"/trainer/learners/{learner_id}")
    assert page.status_code == 200, page.get_data(as_text=True)
    rated = client.post(f"/trainer/learners/{learner_id}/ratings", data={
        "competency": competency, "level": str(level), "action": "override", "note": "Observed in practice",
        "csrf_token": csrf_of(page.get_data(as_text=True))})
    assert rated.status_code == 303, rated.get_data(as_text=True)
    return client


def issue(client: FlaskClient, competency: str | None = None) -> Any:
    """Press "Issue credential" on the learner's page (for one competency, or all)."""
    page = client.get("/competencies")
    assert page.status_code == 200
    form = {"csrf_token": csrf_of(page.get_data(as_text=True))}
    if competency:
        form["competency"] = competency
    return client.post("/competencies/credentials", data=form)


def stored(db_session: Session, learner_id: int) -> list[Credential]:
    """Return the learner's credential rows, oldest first."""
    db_session.expire_all()
    return list(db_session.scalars(select(Credential).where(Credential.learner_id == learner_id)
                                   .order_by(Credential.issued_at, Credential.id)))


def check(client: FlaskClient, text: str) -> tuple[int, str]:
    """Paste ``text`` into the public verification form; return the status and the page's text."""
    response = client.post("/credentials/verify", data={"token": text})
    return response.status_code, text_of(response.get_data(as_text=True))


def upload(client: FlaskClient, content: bytes, name: str = "credential.jwt") -> tuple[int, str]:
    """Upload a file to the public verification form."""
    response = client.post("/credentials/verify", data={"file": (io.BytesIO(content), name)},
                           content_type="multipart/form-data")
    return response.status_code, text_of(response.get_data(as_text=True))


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def segment(document: Any) -> str:
    return b64(json.dumps(document, separators=(",", ":")).encode())


def new_private_pem() -> str:
    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return private.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                 serialization.NoEncryption()).decode()


def proficient_learner(driver: LaunchDriver, db_session: Session, app: Flask,
                       count: int = 1) -> tuple[FlaskClient, int, list[str]]:
    """A learner made proficient by their trainer in the first ``count`` competencies."""
    client, learner_id = learner(driver, db_session)
    ids = competencies(app, count)
    for competency in ids:
        override(driver, learner_id, competency)
    return client, learner_id, ids


def issue_for_matrix(app: Flask, db_session: Session, learner_id: int) -> tuple[str, str]:
    """Make the learner proficient in the first competency and issue its credential; return (id, kid).

    For tests that need a credential without the pages (the authorisation matrix).
    """
    competency = competencies(app, 1)[0]
    level = app_state(app).framework.scale.proficient_level
    db_session.add(Proficiency(learner_id=learner_id, competency_id=competency, level=level, sources=2,
                               overridden=True))
    db_session.flush()
    state = app_state(app)
    credential = issue_credential(db_session, state.framework, state.settings.base_url, learner_id,
                                  competency)
    db_session.commit()
    return credential.id, credential.kid


# -- issuing and verifying ------------------------------------------------------------------------

def test_a_learner_with_nothing_proficient_sees_an_empty_state_and_gets_no_credential(
    app: Flask, driver: LaunchDriver, db_session: Session,
) -> None:
    client, learner_id = learner(driver, db_session)
    page = text_of(client.get("/competencies").get_data(as_text=True))
    assert "Credentials for your competencies" in page
    assert "You have no competency at Proficient or above yet" in page
    refused = issue(client, competencies(app, 1)[0])
    assert refused.status_code == 422
    assert "once your level in it is Proficient or above" in text_of(refused.get_data(as_text=True))
    everything = issue(client)
    assert everything.status_code == 422
    assert "You have no competency at Proficient or above yet" in text_of(everything.get_data(as_text=True))
    override(driver, learner_id, competencies(app, 1)[0], level=2)   # Developing: still below
    assert issue(client, competencies(app, 1)[0]).status_code == 422
    unknown = issue(client, "NOT-A-COMPETENCY")
    assert unknown.status_code == 422 and "Choose a competency" in text_of(unknown.get_data(as_text=True))
    assert stored(db_session, learner_id) == []
    bundle = client.get("/competencies/credentials/bundle.json")
    assert bundle.status_code == 409 and "no credential yet" in text_of(bundle.get_data(as_text=True))


def test_a_proficient_learner_issues_a_credential_that_verifies(
    app: Flask, driver: LaunchDriver, db_session: Session,
) -> None:
    client, learner_id, (competency,) = proficient_learner(driver, db_session, app)
    page = client.get("/competencies").get_data(as_text=True)
    assert "Issue credential" in page
    issued = issue(client, competency)
    assert issued.status_code == 303 and urlsplit(issued.headers["Location"]).fragment == "credentials"
    (credential,) = stored(db_session, learner_id)
    assert (credential.competency_id, credential.level, credential.revoked_at) == (competency, 3, None)
    page = client.get(issued.headers["Location"]).get_data(as_text=True)
    assert f"/credentials/{credential.id}.jwt" in page and f"/credentials/{credential.id}\"" in page
    assert "Download all (CLR bundle)" in page and "Your credential is ready" in page

    assert issue(client, competency).status_code == 303            # issuing again: the same one
    assert issue(client).status_code == 303
    assert [c.id for c in stored(db_session, learner_id)] == [credential.id]

    public = app.test_client()   # a verifier: no session, no cookies
    shown = public.get(f"/credentials/{credential.id}")
    assert shown.status_code == 200
    text = text_of(shown.get_data(as_text=True))
    assert "Valid: this credential was issued by this tool, is unchanged, and has not been revoked." in text
    assert "Signature Passed" in text and "Issuer Passed" in text and "not revoked" in text
    download = public.get(f"/credentials/{credential.id}.jwt")
    assert download.status_code == 200 and download.mimetype == "text/plain"
    assert download.get_data(as_text=True) == credential.token
    assert "attachment" in download.headers["Content-Disposition"]
    status, text = check(public, credential.token)
    assert status == 200 and "Valid:" in text
    status, text = upload(public, credential.token.encode() + b"\n")
    assert status == 200 and "Valid:" in text


def test_a_credential_follows_open_badges_3_and_an_outside_verifier_can_check_it(
    app: Flask, driver: LaunchDriver, db_session: Session,
) -> None:
    client, learner_id, (competency,) = proficient_learner(driver, db_session, app)
    assert issue(client, competency).status_code == 303
    (credential,) = stored(db_session, learner_id)
    header, payload = decode_unverified(credential.token)
    document = credential_of(payload)
    key = db_session.scalars(select(ToolKey).where(ToolKey.kid == credential.kid)).one()
    learner_key = db_session.get(Learner, learner_id).key   # type: ignore[union-attr]
    user = db_session.scalars(select(PlatformUser).where(PlatformUser.learner_id == learner_id)).first()
    assert user is not None

    assert header == {"alg": "RS256", "typ": "JWT", "kid": key_url(BASE, key.kid)}
    assert payload["iss"] == document["issuer"]["id"] == f"{BASE}/credentials/issuer"
    assert payload["jti"] == document["id"] == f"{BASE}/credentials/{credential.id}"
    assert payload["sub"] == document["credentialSubject"]["id"]
    assert learner_key not in json.dumps(payload) and payload["sub"].startswith("urn:uuid:")
    assert [item["identityType"] for item in document["credentialSubject"]["identifier"]] == ["name"]
    assert document["credentialStatus"] == {"id": status_url(BASE, credential.id),
                                            "type": "1EdTechRevocationList"}
    node = app_state(app).framework.node(competency)
    assert node is not None
    alignment = document["credentialSubject"]["achievement"]["alignment"][0]
    assert (alignment["targetCode"], alignment["targetType"]) == (competency, "CFItem")
    assert alignment["targetUrl"] == f"{BASE}/ims/case/v1p1/CFItems/{node.uuid}"
    identifier = document["credentialSubject"]["identifier"][0]
    assert identifier["identityType"] == "name" and identifier["hashed"] is False
    assert identifier["identityHash"] == user.display_name
    assert not identifier["identityHash"].startswith("User ")   # never the "User <sub>" stand-in

    outside = app.test_client()
    jwk = outside.get(urlsplit(header["kid"]).path)
    assert jwk.status_code == 200 and set(jwk.get_json()) == {"kty", "n", "e", "kid", "alg", "use"}
    public = jwt.algorithms.RSAAlgorithm.from_jwk(jwk.get_json())
    assert jwt.decode(credential.token, public, algorithms=["RS256"]) == payload
    profile = outside.get(urlsplit(payload["iss"]).path)
    assert profile.status_code == 200
    assert profile.get_json()["id"] == payload["iss"] and profile.get_json()["type"] == ["Profile"]
    assert profile.get_json()["@context"] == ["https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json"]
    listing = outside.get(urlsplit(document["credentialStatus"]["id"]).path)
    assert listing.status_code == 200 and listing.headers["Cache-Control"] == "no-store"
    assert listing.get_json() == {"id": document["credentialStatus"]["id"], "issuer": payload["iss"],
                                  "revokedCredentials": []}
    assert outside.get("/credentials/keys/not-a-key").status_code == 404


# -- what a verifier is told -----------------------------------------------------------------------

def issued_token(app: Flask, driver: LaunchDriver, db_session: Session) -> tuple[Credential, FlaskClient]:
    client, learner_id, (competency,) = proficient_learner(driver, db_session, app)
    assert issue(client, competency).status_code == 303
    (credential,) = stored(db_session, learner_id)
    return credential, client


def test_an_edited_payload_is_reported_with_the_fields_that_changed(
    app: Flask, driver: LaunchDriver, db_session: Session,
) -> None:
    credential, _ = issued_token(app, driver, db_session)
    header, _payload, signature = credential.token.split(".")
    claims = decode_unverified(credential.token)[1]
    edited = {**claims, "name": "Leading everything"}
    edited["credentialSubject"] = {**claims["credentialSubject"], "id": "urn:uuid:someone-else"}
    status, text = check(app.test_client(), f"{header}.{segment(edited)}.{signature}")
    assert status == 422
    assert "Not valid: the credential was changed after it was issued." in text
    assert "these parts differ: credentialSubject, name" in text
    assert "Signature Failed" in text


def test_a_credential_signed_with_another_key_says_so(
    app: Flask, driver: LaunchDriver, db_session: Session,
) -> None:
    credential, _ = issued_token(app, driver, db_session)
    header, payload = decode_unverified(credential.token)
    foreign = new_private_pem()
    for kid in (header["kid"], f"{BASE}/credentials/keys/made-up", "https://elsewhere.example/key"):
        token = jwt.encode(payload, foreign, algorithm="RS256", headers={"kid": kid})
        status, text = check(app.test_client(), token)
        assert status == 422 and "Not valid: it was not signed with this tool's key." in text, kid
    original_head, original_body, _ = credential.token.split(".")
    damaged = f"{original_head}.{original_body}.{b64(b'x' * 256)}"
    status, text = check(app.test_client(), damaged)
    assert status == 422 and "not signed with this tool's key" in text


def test_a_credential_of_another_issuer_says_so(
    app: Flask, driver: LaunchDriver, db_session: Session,
) -> None:
    credential, _ = issued_token(app, driver, db_session)
    _header, payload = decode_unverified(credential.token)
    document = credential_of(payload)
    theirs = {**document, "issuer": {"id": "https://elsewhere.example/issuer", "type": ["Profile"],
                                     "name": "Elsewhere"}}
    foreign = jwt.encode(jwt_payload(theirs), new_private_pem(), algorithm="RS256",
                         headers={"kid": "https://elsewhere.example/keys/1"})
    status, text = check(app.test_client(), foreign)
    assert status == 422 and "this credential was not issued by this tool" in text
    assert "https://elsewhere.example/issuer" in text
    key = db_session.scalars(select(ToolKey).where(ToolKey.kid == credential.kid)).one()
    ours_signed = jwt.encode(jwt_payload(theirs), key.private_key_pem, algorithm="RS256",
                             headers={"kid": key_url(BASE, key.kid)})
    status, text = check(app.test_client(), ours_signed)
    assert status == 422 and "this credential was not issued by this tool" in text


def test_alg_none_and_hs256_with_the_public_key_are_refused(
    app: Flask, driver: LaunchDriver, db_session: Session,
) -> None:
    credential, _ = issued_token(app, driver, db_session)
    header, payload = decode_unverified(credential.token)
    body = segment(payload)
    none = f"{segment({**header, 'alg': 'none'})}.{body}."
    status, text = check(app.test_client(), none)
    assert status == 400 and "uses a signature method this tool does not accept" in text and "none" in text
    jwk = app.test_client().get(urlsplit(header["kid"]).path).get_data()
    public_pem = jwt.algorithms.RSAAlgorithm.from_jwk(jwk.decode()).public_bytes(   # type: ignore[union-attr]
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    head = segment({**header, "alg": "HS256"})
    for secret in (public_pem, jwk):
        mac = hmac.new(secret, f"{head}.{body}".encode(), hashlib.sha256).digest()
        status, text = check(app.test_client(), f"{head}.{body}.{b64(mac)}")
        assert status == 400 and "signs with RS256 and accepts nothing else" in text and "HS256" in text


def test_bad_input_answers_4xx_with_a_message_never_500(app: Flask) -> None:
    public = app.test_client()
    assert public.get("/credentials/verify").status_code == 200
    status, text = check(public, "")
    assert status == 400 and "Paste a credential" in text
    assert public.post("/credentials/verify").status_code == 400
    junk = public.post("/credentials/verify", data=secrets.token_bytes(2048),
                       content_type="application/octet-stream")
    assert junk.status_code == 400
    status, text = upload(public, secrets.token_bytes(4096) + b"\xff\xfe")
    assert status == 400 and "This file is not a credential" in text
    for text_in in ("hello", "a.b.c", "\u2603.\u2603.\u2603", "{\"compactJwsString\": 3}", "{not json",
                    "eyJhbGciOiJSUzI1NiJ9.eyJ.sig", "." * 5000):
        status, text = check(public, text_in)
        assert status == 400 and "not a credential this page can read" in text, text_in
    too_big = public.post("/credentials/verify", data={"token": "a" * (1024 * 1024 + 10)})
    assert too_big.status_code == 413
    assert "larger than this tool accepts" in text_of(too_big.get_data(as_text=True))
    part = (b'--B\r\nContent-Disposition: form-data; name="file"; filename="x.jwt"\r\n\r\n'
            + b"a" * (1024 * 1024 + 10) + b"\r\n--B--\r\n")   # built by hand: the test client spools big ones
    big_file = public.post("/credentials/verify", data=part, content_type="multipart/form-data; boundary=B")
    assert big_file.status_code == 413
    for path in ("/credentials/not-a-uuid", "/credentials/0f8c1d2e-3b4a-4c5d-8e6f-7a8b9c0d1e2f",
                 "/credentials/0f8c1d2e-3b4a-4c5d-8e6f-7a8b9c0d1e2f.jwt",
                 "/credentials/0f8c1d2e-3b4a-4c5d-8e6f-7a8b9c0d1e2f/status"):
        assert public.get(path).status_code == 404, path


# -- revoking -----------------------------------------------------------------------------------

def revoke(client: FlaskClient, learner_id: int, credential_id: str, reason: str | None) -> Any:
    """Use the revoke form on the trainer's learner page."""
    page = client.get(f"/trainer/learners/{learner_id}")
    form = {"csrf_token": csrf_of(page.get_data(as_text=True))}
    if reason is not None:
        form["reason"] = reason
    return client.post(f"/trainer/learners/{learner_id}/credentials/{credential_id}/revoke", data=form)


def test_a_trainer_revokes_with_a_reason_and_verifiers_see_it(
    app: Flask, driver: LaunchDriver, db_session: Session,
) -> None:
    client, learner_id, (competency,) = proficient_learner(driver, db_session, app)
    assert issue(client, competency).status_code == 303
    (credential,) = stored(db_session, learner_id)
    teacher = trainer(driver)
    page = text_of(teacher.get(f"/trainer/learners/{learner_id}").get_data(as_text=True))
    assert "Credentials issued to this learner" in page and "Reason for revoking" in page

    missing = revoke(teacher, learner_id, credential.id, "  ")
    assert missing.status_code == 422 and "Give the reason" in text_of(missing.get_data(as_text=True))
    assert revoke(teacher, learner_id, credential.id, None).status_code == 422
    long = revoke(teacher, learner_id, credential.id, "x" * 501)
    assert long.status_code == 422 and "at most 500 characters" in text_of(long.get_data(as_text=True))
    assert stored(db_session, learner_id)[0].revoked_at is None

    reason = "Awarded in error: the override was meant for another learner <script>"
    done = revoke(teacher, learner_id, credential.id, reason)
    assert done.status_code == 303 and "done=revoked" in done.headers["Location"]
    (credential,) = stored(db_session, learner_id)
    assert credential.revoked_at is not None and credential.revocation_reason == reason
    assert credential.revoked_by_id is not None
    assert revoke(teacher, learner_id, credential.id, "again").status_code == 409

    public = app.test_client()
    shown = public.get(f"/credentials/{credential.id}")
    html = shown.get_data(as_text=True)
    assert shown.status_code == 200 and "<script>" not in html and "&lt;script&gt;" in html
    text = text_of(html)
    day = credential.revoked_at.strftime("%Y-%m-%d")
    assert "Revoked: this credential was issued by this tool, but has since been withdrawn." in text
    assert f"Revoked on {day}. Reason given: {reason}" in text
    status, text = check(public, credential.token)
    assert status == 422 and f"Revoked on {day}. Reason given: {reason}" in text
    listing = public.get(f"/credentials/{credential.id}/status").get_json()
    assert listing["revokedCredentials"] == [{"id": f"{BASE}/credentials/{credential.id}", "revoked": True,
                                              "revocationReason": reason}]
    mine = text_of(client.get("/competencies").get_data(as_text=True))
    assert f"Revoked on {day}." in mine and "Issue credential" in mine
    assert issue(client, competency).status_code == 303   # a revoked one does not count as issued
    assert len(stored(db_session, learner_id)) == 2


def test_learners_and_trainers_of_another_institution_cannot_revoke(
    app: Flask, driver: LaunchDriver, db_session: Session,
) -> None:
    client, learner_id, (competency,) = proficient_learner(driver, db_session, app)
    assert issue(client, competency).status_code == 303
    (credential,) = stored(db_session, learner_id)
    path = f"/trainer/learners/{learner_id}/credentials/{credential.id}/revoke"

    other, _ = learner(driver, db_session, index=1)
    page = other.get("/competencies").get_data(as_text=True)
    assert other.post(path, data={"csrf_token": csrf_of(page), "reason": "mine now"}).status_code == 403
    own_page = client.get("/competencies").get_data(as_text=True)
    assert client.post(path, data={"csrf_token": csrf_of(own_page), "reason": "oops"}).status_code == 403

    foreign = trainer(driver, institution=1)
    page = foreign.get("/trainer").get_data(as_text=True)
    refused = foreign.post(path, data={"csrf_token": csrf_of(page), "reason": "not yours"})
    assert refused.status_code == 403
    assert "has not agreed to share their record" in text_of(refused.get_data(as_text=True))
    no_csrf = trainer(driver).post(path, data={"reason": "forged"})
    assert no_csrf.status_code == 400
    assert stored(db_session, learner_id)[0].revoked_at is None


def test_the_trainer_page_of_another_learner_does_not_reach_this_credential(
    app: Flask, driver: LaunchDriver, db_session: Session,
) -> None:
    client, learner_id, (competency,) = proficient_learner(driver, db_session, app)
    assert issue(client, competency).status_code == 303
    (credential,) = stored(db_session, learner_id)
    _, other_id = learner(driver, db_session, index=1)
    teacher = trainer(driver)
    page = teacher.get(f"/trainer/learners/{other_id}").get_data(as_text=True)
    wrong = teacher.post(f"/trainer/learners/{other_id}/credentials/{credential.id}/revoke",
                         data={"csrf_token": csrf_of(page), "reason": "wrong learner"})
    assert wrong.status_code == 404


# -- the bundle, erasure and keys ----------------------------------------------------------------

def test_the_bundle_holds_only_unrevoked_credentials_and_verifies(
    app: Flask, driver: LaunchDriver, db_session: Session,
) -> None:
    client, learner_id, ids = proficient_learner(driver, db_session, app, count=3)
    assert issue(client).status_code == 303
    first, second, third = stored(db_session, learner_id)
    assert {c.competency_id for c in (first, second, third)} == set(ids)
    teacher = trainer(driver)
    assert revoke(teacher, learner_id, second.id, "Wrong competency").status_code == 303

    download = client.get("/competencies/credentials/bundle.json")
    assert download.status_code == 200 and "attachment" in download.headers["Content-Disposition"]
    (token,) = download.get_json()["compactJwsString"]
    header, payload = decode_unverified(token)
    clr = credential_of(payload)
    assert clr["type"] == ["VerifiableCredential", "ClrCredential"] and header["alg"] == "RS256"
    held = clr["credentialSubject"]["verifiableCredential"]
    assert [c["id"] for c in held] == [f"{BASE}/credentials/{c.id}" for c in (first, third)]
    assert held[0] == credential_of(decode_unverified(first.token)[1])
    assert payload["sub"] == clr["credentialSubject"]["id"] == held[0]["credentialSubject"]["id"]

    public = app.test_client()
    status, text = check(public, token)
    assert status == 200, text
    assert "Valid: this bundle was issued by this tool, is unchanged, and none of its credentials" in text
    status, text = upload(public, download.get_data(), "l2i-credentials-clr.json")
    assert status == 200 and "Valid:" in text

    assert revoke(teacher, learner_id, third.id, "Level lowered after review").status_code == 303
    status, text = check(public, token)
    assert status == 422 and "a credential in this bundle has been revoked" in text
    assert "Level lowered after review" in text
    head, _body, signature = token.split(".")
    edited = {**payload, "name": "Everything, mastered"}
    status, text = check(public, f"{head}.{segment(edited)}.{signature}")
    assert status == 422 and "not signed with this tool's key" in text


def test_an_erased_credential_is_correctly_signed_but_unknown(
    app: Flask, driver: LaunchDriver, db_session: Session,
) -> None:
    credential, _ = issued_token(app, driver, db_session)
    token, credential_id = credential.token, credential.id
    db_session.delete(credential)
    db_session.commit()
    public = app.test_client()
    status, text = check(public, token)
    assert status == 422 and "this tool no longer holds this credential" in text
    assert "erased at the learner's request" in text
    assert public.get(f"/credentials/{credential_id}").status_code == 404


def test_a_retired_key_still_verifies_until_it_is_purged(
    app: Flask, driver: LaunchDriver, db_session: Session,
) -> None:
    credential, client = issued_token(app, driver, db_session)
    public = app.test_client()
    _new, retired = keys.rotate_keys(db_session, dt.timedelta(days=14))
    db_session.commit()
    assert [k.kid for k in retired] == [credential.kid]
    assert check(public, credential.token)[0] == 200
    for key in retired:
        key.published_until = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1)
    db_session.commit()
    assert check(public, credential.token)[0] == 200   # past its grace, but not yet purged
    assert keys.purge_expired_keys(db_session) == 1
    db_session.commit()
    status, text = check(public, credential.token)
    assert status == 422 and "the key that signed this credential has been deleted" in text
    assert "deleted" in text_of(public.get(f"/credentials/{credential.id}").get_data(as_text=True))
    assert issue(client, credential.competency_id).status_code == 303   # a new copy, with the new key
    (newest,) = [c for c in stored(db_session, credential.learner_id) if c.id != credential.id]
    assert newest.kid != credential.kid and check(public, newest.token)[0] == 200


def test_the_command_line_lists_and_revokes(
    app: Flask, driver: LaunchDriver, db_session: Session, database_url: str,
) -> None:
    credential, _ = issued_token(app, driver, db_session)
    learner_key = db_session.get(Learner, credential.learner_id).key   # type: ignore[union-attr]

    def run(*args: str) -> Result:
        env = {"L2I_DATABASE_URL": database_url, "L2I_SECRET_KEY": secrets.token_urlsafe(48),
               "L2I_BASE_URL": BASE}
        return CliRunner().invoke(main, list(args), env=env)

    listing = run("credential", "list", "--learner-key", learner_key)
    assert listing.exit_code == 0, listing.output
    assert credential.id in listing.output and "valid" in listing.output
    assert f"{BASE}/credentials/{credential.id}" in listing.output
    assert run("credential", "list", "--learner-key", "nobody").exit_code == 1
    assert run("credential", "revoke", credential.id, "--reason", "").exit_code == 2
    assert run("credential", "revoke", credential.id, "--reason", "x" * 501).exit_code == 2
    done = run("credential", "revoke", credential.id, "--reason", "Requested by the programme board")
    assert done.exit_code == 0, done.output
    assert run("credential", "revoke", credential.id, "--reason", "twice").exit_code == 1
    assert run("credential", "revoke", "0f8c1d2e-3b4a-4c5d-8e6f-7a8b9c0d1e2f", "--reason", "x").exit_code == 1
    listing = run("credential", "list", "--learner-key", learner_key)
    assert re.search(r"revoked \d{4}-\d\d-\d\d: Requested by the programme board", listing.output)
    db_session.expire_all()
    refreshed = db_session.get(Credential, credential.id)
    assert refreshed is not None and refreshed.revoked_by_id is None

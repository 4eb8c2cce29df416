"""VC-JWT signing and verification: the claim mapping of OB 3.0 §8.2, and every way a token is refused."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import json
from typing import Any

import jwt
from hypothesis import given, settings
from hypothesis import strategies as st

from badges.credential import subject_id
from badges.signing import (
    Outcome,
    changed_fields,
    claim_problems,
    credential_of,
    decode_unverified,
    jwt_payload,
    public_jwk,
    sign_credential,
    verify_token,
)
from tests.badges.support import CREDENTIAL_ID, ISSUER_ID, first_key, keys, other_key, sample_credential


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def segment(document: Any) -> str:
    return b64(json.dumps(document, separators=(",", ":")).encode())


def signed() -> str:
    return sign_credential(sample_credential(), first_key().kid, first_key().private_pem)


def with_payload(token: str, payload: dict[str, Any]) -> str:
    header, _payload, signature = token.split(".")
    return f"{header}.{segment(payload)}.{signature}"


def test_the_jose_header_has_alg_typ_and_a_kid_uri_only() -> None:
    header, _payload = decode_unverified(signed())
    assert header == {"alg": "RS256", "typ": "JWT", "kid": first_key().kid}


def test_the_payload_is_the_credential_with_its_registered_claims() -> None:
    credential = sample_credential()
    _header, payload = decode_unverified(signed())
    assert payload["iss"] == ISSUER_ID == credential["issuer"]["id"]
    assert payload["jti"] == CREDENTIAL_ID == credential["id"]
    assert payload["sub"] == credential["credentialSubject"]["id"]
    assert payload["sub"] == subject_id("4f2d9c0a6b1e8d3f5a7c9e1b3d5f7a9c")
    assert payload["nbf"] == int(dt.datetime(2026, 11, 20, 9, 30, 15, tzinfo=dt.UTC).timestamp())
    assert "exp" not in payload and "vc" not in payload   # VC Data Model 2.0: no vc wrapper, no expiry
    assert credential_of(payload) == credential
    assert jwt_payload(credential) == payload


def test_a_signed_credential_verifies() -> None:
    check = verify_token(signed(), keys())
    assert check.ok and check.outcome is Outcome.VALID, check.problems
    assert check.kid == first_key().kid and check.algorithm == "RS256"
    assert check.credential == sample_credential()


def test_an_edited_payload_fails_the_signature_and_the_fields_can_be_named() -> None:
    token = signed()
    _header, payload = decode_unverified(token)
    edited = {**payload, "name": "Leading everything", "validFrom": "2020-01-01T00:00:00Z"}
    check = verify_token(with_payload(token, edited), keys())
    assert check.outcome is Outcome.SIGNATURE
    assert changed_fields(check.payload or {}, payload) == ("name", "validFrom")
    deeper = json.loads(json.dumps(payload))
    deeper["credentialSubject"]["result"][0]["achievedLevel"] += "x"
    assert verify_token(with_payload(token, deeper), keys()).outcome is Outcome.SIGNATURE
    assert changed_fields(deeper, payload) == ("credentialSubject",)
    assert changed_fields({**payload, "extra": 1}, {k: x for k, x in payload.items() if k != "name"}) \
        == ("extra", "name")


def test_a_token_signed_with_another_key_is_refused() -> None:
    unknown = sign_credential(sample_credential(), other_key().kid, other_key().private_pem)
    assert verify_token(unknown, keys()).outcome is Outcome.UNKNOWN_KEY
    impostor = sign_credential(sample_credential(), first_key().kid, other_key().private_pem)
    assert verify_token(impostor, keys()).outcome is Outcome.SIGNATURE
    no_kid = jwt.encode(jwt_payload(sample_credential()), first_key().private_pem, algorithm="RS256")
    assert verify_token(no_kid, keys()).outcome is Outcome.UNKNOWN_KEY


def test_alg_none_is_refused_before_any_key_is_looked_at() -> None:
    _header, payload = decode_unverified(signed())
    for header in ({"alg": "none", "typ": "JWT", "kid": first_key().kid}, {"alg": "None"}, {"typ": "JWT"}):
        check = verify_token(f"{segment(header)}.{segment(payload)}.", keys())
        assert check.outcome is Outcome.ALGORITHM, header


def test_hs256_with_the_public_key_as_secret_is_refused() -> None:
    _header, payload = decode_unverified(signed())
    for secret in (first_key().public_pem.encode(), json.dumps(first_key().jwk).encode()):
        head = segment({"alg": "HS256", "typ": "JWT", "kid": first_key().kid})
        body = segment(payload)
        mac = hmac.new(secret, f"{head}.{body}".encode(), hashlib.sha256).digest()
        check = verify_token(f"{head}.{body}.{b64(mac)}", keys())
        assert check.outcome is Outcome.ALGORITHM and check.algorithm == "HS256"
    for alg in ("RS512", "PS256", "ES256", "EdDSA"):
        head = segment({"alg": alg, "kid": first_key().kid})
        assert verify_token(f"{head}.{segment(payload)}.AAAA", keys()).outcome is Outcome.ALGORITHM


def test_unreadable_input_is_reported_as_such() -> None:
    good = signed()
    header, payload, signature = good.split(".")
    not_utf8 = b64(bytes([0xFF, 0xFE]))
    for junk in ("", "   ", "a.b", "a.b.c.d", good + "\x00", "\u00e9\u00e9.\u00e9.x", "!!!.???.***",
                 f"{header}.{b64(b'not json')}.{signature}", f"{segment([1, 2])}.{payload}.{signature}",
                 f"{header}.{segment('a string')}.{signature}", f"{header}.x.{signature}",
                 f"{not_utf8}.{payload}.{signature}"):
        assert verify_token(junk, keys()).outcome is Outcome.UNREADABLE, junk


def test_a_deeply_nested_payload_is_unreadable_not_a_crash() -> None:
    deep = "[" * 100_000 + "]" * 100_000
    token = f"{segment({'alg': 'RS256'})}.{b64(deep.encode())}.AAAA"
    assert verify_token(token, keys()).outcome is Outcome.UNREADABLE


def test_claims_that_disagree_with_the_credential_are_reported() -> None:
    credential = sample_credential()
    key = first_key()

    def sign(payload: dict[str, Any]) -> str:
        return jwt.encode(payload, key.private_pem, algorithm="RS256", headers={"kid": key.kid})

    base = jwt_payload(credential)
    cases = {
        "iss": {**base, "iss": "https://elsewhere.example/issuer"},
        "sub": {**base, "sub": "urn:uuid:someone-else"},
        "jti": {**base, "jti": "https://tool.example.org/credentials/other"},
        "nbf": {**base, "nbf": base["nbf"] + 3600},
        "future": {**jwt_payload({**credential, "validFrom": "2999-01-01T00:00:00Z"})},
        "expired": {**jwt_payload({**credential, "validUntil": "2001-01-01T00:00:00Z"})},
        "missing": {k: x for k, x in base.items() if k not in ("iss", "sub", "jti", "nbf")},
    }
    for name, payload in cases.items():
        check = verify_token(sign(payload), keys())
        assert check.outcome is Outcome.CLAIMS and check.problems, name
    later = jwt_payload({**credential, "validUntil": "2999-01-01T00:00:00Z"})
    assert verify_token(sign(later), keys()).ok


def test_a_vc_data_model_1_1_token_carries_the_credential_in_the_vc_claim() -> None:
    credential = sample_credential()
    legacy = {"vc": credential, "iss": ISSUER_ID, "jti": CREDENTIAL_ID,
              "sub": credential["credentialSubject"]["id"], "nbf": jwt_payload(credential)["nbf"]}
    assert credential_of(legacy) == credential and claim_problems(legacy) == []


def test_public_jwk_never_carries_private_members() -> None:
    private = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(
        jwt.algorithms.RSAAlgorithm.from_jwk(first_key().jwk)))
    leaky = {**private, "d": "secret", "p": "x", "q": "y", "kid": "k", "alg": "RS256", "use": "sig"}
    assert set(public_jwk(leaky)) == {"kty", "n", "e", "kid", "alg", "use"}


@settings(max_examples=300, deadline=None)
@given(st.one_of(st.text(max_size=300), st.binary(max_size=300).map(lambda b: b.decode("latin-1")),
                 st.lists(st.text(alphabet="AZaz09-_=.", max_size=40), min_size=3, max_size=3).map(".".join)))
def test_no_input_makes_verification_raise(text: str) -> None:
    check = verify_token(text, keys())
    assert check.outcome is not Outcome.VALID

from __future__ import annotations

import hashlib
import hmac
import json
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from lms_emulator import vocabulary as v
from lms_emulator.jws import b64url_decode
from lms_emulator.platform import EmulatorConfig, Institution, default_seed

# Top-level claims of the Moodle 4.5.6 captures in /work/shared/moodle-4.5/ (basicoutcome, LTI 1.1, left out).
MOODLE_RESOURCE_LINK_CLAIMS = (
    "aud",
    "email",
    "exp",
    "family_name",
    "given_name",
    "https://purl.imsglobal.org/spec/lti-ags/claim/endpoint",
    "https://purl.imsglobal.org/spec/lti-nrps/claim/namesroleservice",
    "https://purl.imsglobal.org/spec/lti/claim/context",
    "https://purl.imsglobal.org/spec/lti/claim/custom",
    "https://purl.imsglobal.org/spec/lti/claim/deployment_id",
    "https://purl.imsglobal.org/spec/lti/claim/ext",
    "https://purl.imsglobal.org/spec/lti/claim/launch_presentation",
    "https://purl.imsglobal.org/spec/lti/claim/lis",
    "https://purl.imsglobal.org/spec/lti/claim/message_type",
    "https://purl.imsglobal.org/spec/lti/claim/resource_link",
    "https://purl.imsglobal.org/spec/lti/claim/roles",
    "https://purl.imsglobal.org/spec/lti/claim/target_link_uri",
    "https://purl.imsglobal.org/spec/lti/claim/tool_platform",
    "https://purl.imsglobal.org/spec/lti/claim/version",
    "iat",
    "iss",
    "name",
    "nonce",
    "sub",
)
MOODLE_DEEP_LINKING_CLAIMS = (
    "aud",
    "email",
    "exp",
    "family_name",
    "given_name",
    "https://purl.imsglobal.org/spec/lti-ags/claim/endpoint",
    "https://purl.imsglobal.org/spec/lti-dl/claim/deep_linking_settings",
    "https://purl.imsglobal.org/spec/lti-nrps/claim/namesroleservice",
    "https://purl.imsglobal.org/spec/lti/claim/context",
    "https://purl.imsglobal.org/spec/lti/claim/custom",
    "https://purl.imsglobal.org/spec/lti/claim/deployment_id",
    "https://purl.imsglobal.org/spec/lti/claim/ext",
    "https://purl.imsglobal.org/spec/lti/claim/launch_presentation",
    "https://purl.imsglobal.org/spec/lti/claim/lis",
    "https://purl.imsglobal.org/spec/lti/claim/message_type",
    "https://purl.imsglobal.org/spec/lti/claim/roles",
    "https://purl.imsglobal.org/spec/lti/claim/target_link_uri",
    "https://purl.imsglobal.org/spec/lti/claim/tool_platform",
    "https://purl.imsglobal.org/spec/lti/claim/version",
    "iat",
    "iss",
    "name",
    "nonce",
    "sub",
)
ROLE_BASE = "http://purl.imsglobal.org/vocab/lis/v2/"


def decode_part(token: str, index: int) -> dict[str, Any]:
    decoded: dict[str, Any] = json.loads(b64url_decode(token.split(".")[index]))
    return decoded


def verify_with_jwks(institution: Institution, token: str) -> dict[str, Any]:
    jwks = jwt.PyJWKSet.from_dict(institution.public_jwks())
    key = jwks[jwt.get_unverified_header(token)["kid"]]
    claims: dict[str, Any] = jwt.decode(token, key.key, algorithms=["RS256"], audience=institution.client_id)
    return claims


def test_default_seed_has_one_institution_unless_asked() -> None:
    one = default_seed("http://lms.test/", "http://tool.test/")
    two = default_seed("http://lms.test", "http://tool.test", institutions=2)
    assert [inst.slug for inst in one.institutions] == ["linkoping"]
    assert [inst.slug for inst in two.institutions] == ["linkoping", "ljubljana"]
    assert one.institutions[0].issuer == "http://lms.test/linkoping"
    assert one.institutions[0].name == "Linköping R&D Centre (demo)"
    assert one.tool_jwks_url == "http://tool.test/lti/jwks"
    with pytest.raises(ValueError, match="institutions"):
        default_seed("http://lms.test", "http://tool.test", institutions=3)


def test_institutions_have_distinct_keys_and_clients(emulator_config: EmulatorConfig) -> None:
    first, second = emulator_config.institutions
    assert first.kid != second.kid
    assert first.client_id != second.client_id
    assert first.public_key_pem() != second.public_key_pem()


def test_seeded_course_links_and_people(institution: Institution) -> None:
    (course,) = institution.courses
    assert (course.context_id, course.label, course.title) == (
        "c-101",
        "L2I-PILOT",
        "Learning 2 Innovate pilot",
    )
    customs = [link.custom for link in course.links]
    assert customs[0] == {}
    assert [custom["unit"] for custom in customs[1:]] == [
        "u1-challenges",
        "u2-social-innovation",
        "u3-labs",
        "u4-teams-and-users",
        "u5-impact",
    ]
    by_label = {user.role_label: user for user in institution.users}
    assert by_label["Trainer"].roles == (v.ROLE_INSTRUCTOR,)
    assert set(by_label["Administrator"].roles) == {
        ROLE_BASE + "membership#Administrator",
        ROLE_BASE + "institution/person#Administrator",
    }
    assert v.ROLE_TEACHING_ASSISTANT in by_label["Teaching assistant"].roles
    assert by_label["Content developer"].roles == (v.ROLE_CONTENT_DEVELOPER,)
    learners = [user.name for user in institution.users if user.role_label == "Learner"]
    assert {"Ana Novak", "Lars Berg", "Marta Puig"} <= set(learners)
    roster_only = [user for user in institution.users if not user.launches]
    assert len(roster_only) == 2
    assert all(user.sub.isdigit() for user in institution.users)
    assert len({user.sub for user in institution.users}) == len(institution.users)


def test_registration_is_what_platform_add_takes(institution: Institution) -> None:
    assert institution.registration() == {
        "issuer": "http://lms.test/linkoping",
        "client_id": institution.client_id,
        "deployment_id": institution.deployment_id,
        "auth_login_url": "http://lms.test/linkoping/auth",
        "auth_token_url": "http://lms.test/linkoping/token",
        "key_set_url": "http://lms.test/linkoping/jwks",
        "name": "Linköping R&D Centre (demo)",
    }


def test_resource_link_claims_follow_moodle_shape(institution: Institution) -> None:
    user = institution.find_user("4")
    found = institution.find_link("2")
    assert user is not None and found is not None
    course, link = found
    claims = institution.build_launch_claims(user, link, nonce="n-1", locale="sl")

    assert set(MOODLE_RESOURCE_LINK_CLAIMS) <= set(claims)
    assert claims["aud"] == institution.client_id
    assert claims["exp"] - claims["iat"] == 60
    assert claims["sub"] == "4"
    assert claims["nonce"] == "n-1"
    assert claims[v.CLAIM_TARGET_LINK_URI] == "http://tool.test/lti/launch"
    assert claims[v.CLAIM_ROLES] == [v.ROLE_LEARNER]
    assert claims[v.CLAIM_CONTEXT] == {
        "id": "c-101",
        "label": "L2I-PILOT",
        "title": "Learning 2 Innovate pilot",
        "type": ["CourseSection"],
    }
    assert claims[v.CLAIM_RESOURCE_LINK] == {"id": "2", "title": link.title, "description": link.description}
    assert claims[v.CLAIM_CUSTOM] == {"unit": "u1-challenges"}
    assert claims[v.CLAIM_LAUNCH_PRESENTATION]["locale"] == "sl"
    assert claims[v.CLAIM_LAUNCH_PRESENTATION]["document_target"] == "iframe"
    ags = claims[v.CLAIM_AGS_ENDPOINT]
    assert ags["lineitems"] == "http://lms.test/linkoping/ags/c-101/lineitems"
    line_item = course.line_item_for_link("2")
    assert line_item is not None
    assert ags["lineitem"] == f"http://lms.test/linkoping/ags/c-101/lineitems/{line_item.id}"
    assert set(ags["scope"]) == set(v.AGS_SCOPES)
    assert claims[v.CLAIM_NRPS] == {
        "context_memberships_url": "http://lms.test/linkoping/nrps/c-101/memberships",
        "service_versions": ["1.0", "2.0"],
    }
    assert v.CLAIM_DL_SETTINGS not in claims


def test_programme_link_has_no_custom_and_no_line_item(institution: Institution) -> None:
    user = institution.find_user("4")
    found = institution.find_link("1")
    assert user is not None and found is not None
    claims = institution.build_launch_claims(user, found[1], nonce="n")
    assert v.CLAIM_CUSTOM not in claims
    assert "lineitem" not in claims[v.CLAIM_AGS_ENDPOINT]


def test_deep_linking_claims(institution: Institution) -> None:
    trainer = institution.find_user("3")
    assert trainer is not None
    claims = institution.build_launch_claims(trainer, None, nonce="n", message_type=v.MESSAGE_DEEP_LINKING)
    # Moodle sends its tool-level custom parameters here; the emulator has none, so no custom claim.
    assert set(MOODLE_DEEP_LINKING_CLAIMS) - {v.CLAIM_CUSTOM} <= set(claims)
    assert v.CLAIM_CUSTOM not in claims
    assert v.CLAIM_RESOURCE_LINK not in claims
    assert "lineitem" not in claims[v.CLAIM_AGS_ENDPOINT]
    settings = claims[v.CLAIM_DL_SETTINGS]
    assert settings["deep_link_return_url"] == "http://lms.test/linkoping/dl/return"
    assert settings["accept_types"] == ["ltiResourceLink"]
    assert settings["accept_presentation_document_targets"] == ["iframe", "window"]
    assert settings["accept_multiple"] is True
    assert settings["auto_create"] is False
    assert institution.consume_deep_linking_data(settings["data"]) == ("3", "c-101")
    with pytest.raises(ValueError, match="already used"):
        institution.consume_deep_linking_data(settings["data"])


def test_resource_link_launch_needs_a_link(institution: Institution) -> None:
    user = institution.users[0]
    with pytest.raises(ValueError, match="resource link"):
        institution.build_launch_claims(user, None, nonce="n")


def test_sign_id_token_default_verifies_against_jwks(institution: Institution) -> None:
    token = institution.sign_id_token({"aud": institution.client_id, "sub": "4"})
    assert jwt.get_unverified_header(token) == {"typ": "JWT", "alg": "RS256", "kid": institution.kid}
    assert verify_with_jwks(institution, token)["sub"] == "4"


def test_sign_id_token_hostile_variants(institution: Institution, other_key: rsa.RSAPrivateKey) -> None:
    claims = {"aud": institution.client_id, "sub": "4"}

    unsigned = institution.sign_id_token(claims, alg="none")
    assert unsigned.endswith(".")
    assert decode_part(unsigned, 0)["alg"] == "none"
    assert decode_part(unsigned, 1) == claims

    confused = institution.sign_id_token(claims, alg="HS256", key=institution.public_key_pem())
    signing_input, _, signature = confused.rpartition(".")
    expected = hmac.new(institution.public_key_pem(), signing_input.encode(), hashlib.sha256).digest()
    assert b64url_decode(signature) == expected
    assert decode_part(confused, 0)["alg"] == "HS256"

    foreign = institution.sign_id_token(claims, key=other_key)
    assert jwt.get_unverified_header(foreign)["kid"] == institution.kid
    with pytest.raises(jwt.InvalidSignatureError):
        verify_with_jwks(institution, foreign)

    wrong_kid = institution.sign_id_token(claims, kid="no-such-kid")
    assert jwt.get_unverified_header(wrong_kid)["kid"] == "no-such-kid"

    no_kid = institution.sign_id_token(claims, headers={"kid": None, "x-test": "1"})
    assert jwt.get_unverified_header(no_kid) == {"typ": "JWT", "alg": "RS256", "x-test": "1"}

    with pytest.raises(ValueError, match="HS256 needs"):
        institution.sign_id_token(claims, alg="HS256")


def test_rotate_key_keeps_previous_key_published(institution: Institution) -> None:
    old_kid = institution.kid
    new_kid = institution.rotate_key()
    assert institution.kid == new_kid != old_kid
    assert [key["kid"] for key in institution.public_jwks()["keys"]] == [old_kid, new_kid]
    institution.rotate_key(keep_previous=False)
    assert [key["kid"] for key in institution.public_jwks()["keys"]] == [institution.kid]


def test_message_hint_cannot_be_forged(institution: Institution) -> None:
    with pytest.raises(ValueError, match="not issued"):
        institution.read_message_hint("eyJ1IjoiNCJ9.AAAA")
    data = institution.issue_deep_linking_data(institution.users[1], institution.courses[0])
    with pytest.raises(ValueError, match="another purpose"):
        institution.read_message_hint(data)


def test_record_is_json_able(institution: Institution) -> None:
    record = institution.record()
    assert json.loads(json.dumps(record)) == record
    assert record["registration"] == institution.registration()
    assert set(record) >= {"auth_requests", "launches", "deep_linking_responses", "scores", "token_requests"}

"""The Open Badges 3.0 and CLR 2.0 documents: what a credential for a competency says, and how."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest

from badges import vocabulary as v
from badges.credential import (
    RevokedEntry,
    achievement_id,
    build_clr,
    build_profile,
    build_revocation_list,
    criterion_uri,
    embedded_credentials,
    is_clr,
    issuer_id_of,
    level_uri,
    subject_id,
    timestamp,
)
from competencies.exchange.case import case_uri, export_case
from tests.badges.support import BASE, CREDENTIAL_ID, ISSUER_ID, framework, sample_award, sample_credential


def test_a_credential_is_an_open_badge_credential_under_vc_data_model_2() -> None:
    credential = sample_credential()
    assert credential["@context"] == ["https://www.w3.org/ns/credentials/v2",
                                      "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json"]
    assert credential["type"] == ["VerifiableCredential", "OpenBadgeCredential"]
    assert credential["id"] == CREDENTIAL_ID
    assert credential["name"] == f"{framework().competencies()[0].shortname}: Proficient"
    assert credential["issuer"] == {"id": ISSUER_ID, "type": ["Profile"], "name": "Learning 2 Innovate",
                                    "url": BASE}
    assert credential["validFrom"] == "2026-11-20T09:30:15Z"   # whole seconds, so nbf can equal it
    assert credential["credentialStatus"] == {"id": f"{CREDENTIAL_ID}/status",
                                              "type": "1EdTechRevocationList"}
    assert credential["credentialSchema"] == [{
        "id": "https://purl.imsglobal.org/spec/ob/v3p0/schema/json/ob_v3p0_achievementcredential_schema.json",
        "type": "1EdTechJsonSchemaValidator2019"}]
    assert "validUntil" not in credential and "proof" not in credential


def test_the_achievement_is_the_competency_aligned_to_its_case_item() -> None:
    fw = framework()
    node = fw.competencies()[0]
    achievement = sample_credential()["credentialSubject"]["achievement"]
    assert achievement["type"] == ["Achievement"]
    assert achievement["achievementType"] == "Competency"
    assert achievement["id"] == achievement_id(fw, node) and achievement["id"].startswith("urn:uuid:")
    assert (achievement["name"], achievement["humanCode"]) == (node.shortname, node.idnumber)
    assert achievement["description"] and achievement["criteria"]["narrative"]
    assert achievement["alignment"] == [{
        "type": ["Alignment"], "targetName": node.shortname,
        "targetUrl": case_uri(BASE, "CFItems", node.uuid), "targetCode": node.idnumber,
        "targetFramework": fw.shortname, "targetType": "CFItem", "targetDescription": node.description,
    }]


def test_the_result_description_is_the_scale_with_the_proficient_level_required() -> None:
    fw = framework()
    node = fw.competencies()[0]
    subject = sample_credential(sample_award(level=4))["credentialSubject"]
    (described,) = subject["achievement"]["resultDescription"]
    assert described["type"] == ["ResultDescription"]
    assert described["resultType"] == "RubricCriterionLevel"
    assert [lvl["name"] for lvl in described["rubricCriterionLevel"]] == list(fw.scale.names)
    assert all(lvl["type"] == ["RubricCriterionLevel"] for lvl in described["rubricCriterionLevel"])
    assert described["requiredLevel"] == level_uri(fw, node, fw.scale.proficient_level, BASE)
    assert subject["result"] == [{"type": ["Result"], "resultDescription": described["id"],
                                  "achievedLevel": level_uri(fw, node, 4, BASE)}]
    levels = {lvl["id"] for lvl in described["rubricCriterionLevel"]}
    assert subject["result"][0]["achievedLevel"] in levels and described["requiredLevel"] in levels


def test_the_rubric_ids_are_those_of_the_case_export() -> None:
    fw = framework()
    package = export_case(fw, BASE)
    criteria = {c["CFItemURI"]["identifier"]: c for c in package["CFRubrics"][0]["CFRubricCriteria"]}
    for node in fw.competencies():
        criterion = criteria[node.uuid]
        assert criterion_uri(fw, node, BASE) == criterion["uri"]
        assert [level_uri(fw, node, lvl["score"], BASE) for lvl in criterion["CFRubricCriterionLevels"]] \
            == [lvl["uri"] for lvl in criterion["CFRubricCriterionLevels"]]


def test_the_subject_is_a_pseudonym_of_the_learner_key() -> None:
    key = "4f2d9c0a6b1e8d3f5a7c9e1b3d5f7a9c"
    pseudonym = subject_id(key)
    assert pseudonym == f"urn:uuid:{uuid.UUID(pseudonym.removeprefix('urn:uuid:'))}"
    assert key not in pseudonym and subject_id(key) == pseudonym and subject_id(key + "0") != pseudonym
    assert sample_credential()["credentialSubject"]["id"] == subject_id(key)


def test_the_name_is_a_plain_identity_object_only_when_the_lms_gave_one() -> None:
    named = sample_credential()["credentialSubject"]
    assert named["identifier"] == [{"type": "IdentityObject", "identityHash": "Ana Novak",
                                    "identityType": "name", "hashed": False}]
    assert "identifier" not in sample_credential(sample_award(name=None))["credentialSubject"]


def test_a_clr_bundles_credentials_of_one_subject() -> None:
    credential = sample_credential()
    issuer = build_profile(ISSUER_ID, "Learning 2 Innovate", BASE)
    clr = build_clr("urn:uuid:11111111-2222-4333-8444-555555555555", issuer, subject_id("k"), [credential],
                    dt.datetime(2026, 11, 21, tzinfo=dt.UTC), "Ana Novak")
    assert clr["@context"] == ["https://www.w3.org/ns/credentials/v2",
                               "https://purl.imsglobal.org/spec/clr/v2p0/context-2.0.1.json",
                               "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json"]
    assert clr["type"] == ["VerifiableCredential", "ClrCredential"]
    assert clr["credentialSubject"]["type"] == ["ClrSubject"]
    assert embedded_credentials(clr) == [credential] and is_clr(clr) and not is_clr(credential)
    assert clr["name"] and clr["validFrom"] == "2026-11-21T00:00:00Z" and issuer_id_of(clr) == ISSUER_ID
    assert clr["credentialSchema"][0]["id"].endswith("clr_v2p0_clrcredential_schema.json")
    with pytest.raises(ValueError, match="at least one"):
        build_clr("urn:uuid:x", issuer, subject_id("k"), [], dt.datetime.now(dt.UTC))


def test_a_revocation_list_names_revoked_credentials_with_their_reason() -> None:
    document = build_revocation_list(f"{CREDENTIAL_ID}/status", ISSUER_ID,
                                     [RevokedEntry(CREDENTIAL_ID, "Awarded in error")])
    assert document == {"id": f"{CREDENTIAL_ID}/status", "issuer": ISSUER_ID, "revokedCredentials": [
        {"id": CREDENTIAL_ID, "revoked": True, "revocationReason": "Awarded in error"}]}
    assert build_revocation_list("x", ISSUER_ID, [])[v.REVOKED_CREDENTIALS] == []


def test_helpers_read_malformed_documents_without_failing() -> None:
    assert issuer_id_of({"issuer": ISSUER_ID}) == ISSUER_ID
    assert issuer_id_of({"issuer": 3}) is None and issuer_id_of({}) is None
    assert embedded_credentials({"credentialSubject": "nope"}) == []
    assert embedded_credentials({"credentialSubject": {"verifiableCredential": {"id": "x"}}}) == [{"id": "x"}]
    assert not is_clr({"type": 7})
    assert timestamp(dt.datetime(2026, 1, 2, 3, 4, 5, 999, tzinfo=dt.timezone(dt.timedelta(hours=2)))) \
        == "2026-01-02T01:04:05Z"

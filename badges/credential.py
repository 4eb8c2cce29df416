"""Building Open Badges 3.0 and CLR 2.0 documents for competencies: pure functions, no database, no Flask.

A credential says that a learner reached a level of the framework's scale in one competency:

- the **issuer** is a Profile (OB 3.0 B.1 "Profile");
- the **achievement** is the competency, ``achievementType`` "Competency", aligned to its CASE item
  (``targetType`` "CFItem", ``targetUrl`` its CASE URI, ``targetCode`` its idnumber);
- its **resultDescription** is the scale as ``RubricCriterionLevel`` entries with ``requiredLevel``
  the proficient level; the ids are the CASE URIs of the framework's rubric criterion and levels,
  derived exactly as :mod:`competencies.exchange.case` derives them, so a CASE consumer finds them;
- the **subject** is a pseudonym derived from the learner record's random key, never an LMS user id,
  with its ``result`` (``achievedLevel``: the level's id) and, when the LMS gave one, the learner's
  name as a plain IdentityObject (OB 3.0 B.1 "IdentityObject": ``identityHash`` is "either the
  IdentityHash of the identity or the plaintext value", ``hashed`` false);
- **credentialStatus** is a 1EdTech Revocation List.

Signing (VC-JWT) is :mod:`badges.signing`'s job.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from badges import vocabulary as v
from competencies.exchange.case import case_uri
from competencies.framework import Framework, Node, derived_uuid, isoformat_utc

Json = dict[str, Any]

# Fixed forever: changing either would change every learner's or achievement's identifier.
SUBJECT_NAMESPACE = uuid.UUID("0b6f3c1e-5a8d-4f0e-9d2b-7c41e6a9b350")
ACHIEVEMENT_PREFIX = "ob3-achievement"


@dataclass(frozen=True)
class Award:
    """What one credential asserts: ``subject_id`` reached ``level`` in ``competency``."""

    credential_id: str
    subject_id: str
    framework: Framework
    competency: Node
    level: int
    valid_from: dt.datetime
    recipient_name: str | None = None


@dataclass(frozen=True)
class RevokedEntry:
    """One revoked credential in a revocation list."""

    credential_id: str
    reason: str | None


def timestamp(value: dt.datetime) -> str:
    """Format an aware datetime as the credentials do: UTC, whole seconds, ``Z`` (e.g. validFrom)."""
    return isoformat_utc(value.replace(microsecond=0))


def subject_id(learner_key: str) -> str:
    """Return a learner record's pseudonymous ``credentialSubject.id``: ``urn:uuid:`` + UUIDv5 of its key."""
    return f"urn:uuid:{uuid.uuid5(SUBJECT_NAMESPACE, learner_key)}"


def achievement_id(framework: Framework, node: Node) -> str:
    """Return the stable id of the achievement "this competency of this framework"."""
    return f"urn:uuid:{derived_uuid(ACHIEVEMENT_PREFIX, framework.uuid, node.uuid)}"


def criterion_identifier(framework: Framework, node: Node) -> str:
    """Return the CASE identifier of the competency's rubric criterion (as the CASE export derives it)."""
    rubric = derived_uuid(framework.uuid, "CFRubric")
    return derived_uuid(rubric, node.uuid)


def criterion_uri(framework: Framework, node: Node, case_base_url: str) -> str:
    """Return the CASE URI of the competency's rubric criterion: the id of its ResultDescription."""
    return case_uri(case_base_url, "CFRubricCriteria", criterion_identifier(framework, node))


def level_uri(framework: Framework, node: Node, level: int, case_base_url: str) -> str:
    """Return the CASE URI of a level of the competency's rubric criterion: a RubricCriterionLevel's id."""
    identifier = derived_uuid(criterion_identifier(framework, node), str(level))
    return case_uri(case_base_url, "CFRubricCriterionLevels", identifier)


def build_profile(issuer_id: str, name: str, url: str, description: str | None = None) -> Json:
    """Return the issuer's Profile (also served, with a ``@context``, at ``issuer_id``)."""
    profile: Json = {"id": issuer_id, "type": [v.TYPE_PROFILE], "name": name, "url": url}
    if description:
        profile["description"] = description
    return profile


def build_alignment(framework: Framework, node: Node, case_base_url: str) -> Json:
    """Return the alignment of a competency to its CASE item."""
    alignment: Json = {
        "type": [v.TYPE_ALIGNMENT],
        "targetName": node.shortname,
        "targetUrl": case_uri(case_base_url, "CFItems", node.uuid),
        "targetCode": node.idnumber,
        "targetFramework": framework.shortname,
        "targetType": v.TARGET_TYPE_CF_ITEM,
    }
    if node.description:
        alignment["targetDescription"] = node.description
    return alignment


def build_result_description(framework: Framework, node: Node, case_base_url: str) -> Json:
    """Return the scale as the competency's ResultDescription: its levels, and the level required."""
    scale = framework.scale
    rubric_id = criterion_uri(framework, node, case_base_url)
    return {
        "id": rubric_id,
        "type": [v.TYPE_RESULT_DESCRIPTION],
        "name": scale.name,
        "resultType": v.RESULT_TYPE_RUBRIC_CRITERION_LEVEL,
        "requiredLevel": level_uri(framework, node, scale.proficient_level, case_base_url),
        "rubricCriterionLevel": [{
            "id": level_uri(framework, node, level.level, case_base_url),
            "type": [v.TYPE_RUBRIC_CRITERION_LEVEL],
            "name": level.name,
            "description": level.descriptor,
            "level": str(level.level),
        } for level in scale.levels],
        "alignment": [{
            "type": [v.TYPE_ALIGNMENT],
            "targetName": f"{node.shortname}: {scale.name}",
            "targetUrl": rubric_id,
            "targetFramework": framework.shortname,
            "targetType": v.TARGET_TYPE_CF_RUBRIC_CRITERION,
        }],
    }


def criteria_narrative(framework: Framework) -> str:
    """Return how the achievement is earned, in words."""
    scale = framework.scale
    required = scale.level(scale.proficient_level)
    return (
        f"Reach level {required.level} ({required.name}) or above on the {scale.name} scale in this "
        f"competency ({framework.shortname}). The level comes from quiz results, written work "
        "assessed by a trainer against a rubric, and trainers' ratings."
    )


def build_achievement(framework: Framework, node: Node, case_base_url: str) -> Json:
    """Return the Achievement for a competency (``achievementType`` "Competency")."""
    return {
        "id": achievement_id(framework, node),
        "type": [v.TYPE_ACHIEVEMENT],
        "achievementType": v.ACHIEVEMENT_TYPE_COMPETENCY,
        "name": node.shortname,
        "description": node.description or node.shortname,
        "criteria": {"narrative": criteria_narrative(framework)},
        "humanCode": node.idnumber,
        "alignment": [build_alignment(framework, node, case_base_url)],
        "resultDescription": [build_result_description(framework, node, case_base_url)],
    }


def build_identity(name: str) -> Json:
    """Return the learner's name as a plain (unhashed) IdentityObject."""
    return {"type": v.TYPE_IDENTITY_OBJECT, "identityHash": name, "identityType": v.IDENTIFIER_TYPE_NAME,
            "hashed": False}


def build_subject(award: Award, case_base_url: str) -> Json:
    """Return the AchievementSubject: the pseudonymous learner, the achievement and the level reached."""
    framework, node = award.framework, award.competency
    subject: Json = {"id": award.subject_id, "type": [v.TYPE_ACHIEVEMENT_SUBJECT]}
    if award.recipient_name:
        subject["identifier"] = [build_identity(award.recipient_name)]
    subject["achievement"] = build_achievement(framework, node, case_base_url)
    subject["result"] = [{
        "type": [v.TYPE_RESULT],
        "resultDescription": criterion_uri(framework, node, case_base_url),
        "achievedLevel": level_uri(framework, node, award.level, case_base_url),
    }]
    return subject


def credential_name(award: Award) -> str:
    """Return the credential's display name: the competency and the level reached."""
    return f"{award.competency.shortname}: {award.framework.scale.level(award.level).name}"


def build_credential(award: Award, issuer: Json, status_id: str, case_base_url: str) -> Json:
    """Return the OpenBadgeCredential for ``award``, before signing.

    ``issuer`` is the Profile (:func:`build_profile`); ``status_id`` the URL of the revocation list
    that will list this credential if it is revoked.
    """
    framework, node = award.framework, award.competency
    level = framework.scale.level(award.level)
    return {
        "@context": list(v.OB_CONTEXTS),
        "id": award.credential_id,
        "type": [v.TYPE_VERIFIABLE_CREDENTIAL, v.TYPE_OPEN_BADGE_CREDENTIAL],
        "name": credential_name(award),
        "description": (f"Reached level {level.level} ({level.name}) in the competency {node.idnumber} "
                        f"{node.shortname} ({framework.shortname})."),
        "issuer": issuer,
        "validFrom": timestamp(award.valid_from),
        "credentialSubject": build_subject(award, case_base_url),
        "credentialStatus": {"id": status_id, "type": v.STATUS_REVOCATION_LIST},
        "credentialSchema": [{"id": v.SCHEMA_OB_ACHIEVEMENT_CREDENTIAL, "type": v.SCHEMA_VALIDATOR}],
    }


def build_clr(clr_id: str, issuer: Json, subject: str, credentials: Sequence[Json], valid_from: dt.datetime,
              recipient_name: str | None = None) -> Json:
    """Return a ClrCredential bundling ``credentials`` (OpenBadgeCredential objects) of one learner."""
    if not credentials:
        raise ValueError("a ClrCredential holds at least one credential")
    clr_subject: Json = {"id": subject, "type": [v.TYPE_CLR_SUBJECT]}
    if recipient_name:
        clr_subject["identifier"] = [build_identity(recipient_name)]
    clr_subject["verifiableCredential"] = list(credentials)
    return {
        "@context": list(v.CLR_CONTEXTS),
        "id": clr_id,
        "type": [v.TYPE_VERIFIABLE_CREDENTIAL, v.TYPE_CLR_CREDENTIAL],
        "name": f"Competency record from {issuer.get('name', 'the issuer')}",
        "issuer": issuer,
        "validFrom": timestamp(valid_from),
        "credentialSubject": clr_subject,
        "credentialSchema": [{"id": v.SCHEMA_CLR_CREDENTIAL, "type": v.SCHEMA_VALIDATOR}],
    }


def build_revocation_list(list_id: str, issuer_id: str, revoked: Sequence[RevokedEntry]) -> Json:
    """Return a 1EdTech Revocation List: the revoked credentials' ids, each with its reason."""
    entries: list[Json] = []
    for entry in revoked:
        item: Json = {"id": entry.credential_id, "revoked": True}
        if entry.reason:
            item[v.REVOCATION_REASON] = entry.reason
        entries.append(item)
    return {"id": list_id, "issuer": issuer_id, v.REVOKED_CREDENTIALS: entries}


def types_of(document: Json) -> set[str]:
    """Return a document's ``type`` as a set (a single string or a list)."""
    kind = document.get("type")
    if isinstance(kind, str):
        return {kind}
    if isinstance(kind, list):
        return {item for item in kind if isinstance(item, str)}
    return set()


def is_clr(document: Json) -> bool:
    """Return whether a document is a ClrCredential."""
    return v.TYPE_CLR_CREDENTIAL in types_of(document)


def issuer_id_of(document: Json) -> str | None:
    """Return a credential's ``issuer.id`` (the issuer may be given as a Profile or as its id)."""
    issuer = document.get("issuer")
    if isinstance(issuer, dict):
        issuer = issuer.get("id")
    return issuer if isinstance(issuer, str) else None


def embedded_credentials(clr: Json) -> list[Json]:
    """Return the credential objects a ClrCredential holds (none if it is malformed)."""
    subject = clr.get("credentialSubject")
    held = subject.get("verifiableCredential") if isinstance(subject, dict) else None
    if isinstance(held, dict):
        held = [held]
    return [item for item in held if isinstance(item, dict)] if isinstance(held, list) else []

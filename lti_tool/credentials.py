"""Open Badges 3.0 credentials for competencies: issuing, listing, revoking, verifying and bundling them.

The application side of :mod:`badges`: it picks the signing key (the tool's own, :mod:`lti_tool.keys`),
stores each credential (:class:`badges.models.Credential`) and answers the questions a verifier asks.

- A learner may have a credential for each competency where their level is at or above the
  framework's proficient level: one per learner, competency and level. Issuing again returns the
  unrevoked one, unless the key that signed it has since been purged (it could no longer be
  verified), in which case a new one is signed.
- Every verification says which check failed (:class:`Finding`), so a page can say it in words.
- Functions take a session, flush and never commit: the caller owns the transaction.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from badges.credential import (
    Award,
    RevokedEntry,
    build_clr,
    build_credential,
    build_profile,
    build_revocation_list,
    embedded_credentials,
    is_clr,
    issuer_id_of,
    subject_id,
)
from badges.models import Credential
from badges.signing import (
    Outcome,
    SignatureCheck,
    changed_fields,
    credential_of,
    decode_unverified,
    public_jwk,
    sign_credential,
    verify_token,
)
from badges.vocabulary import COMPACT_JWS_STRING, PROFILE_CONTEXTS
from competencies.framework import UUID_PATTERN, Framework, Node
from competencies.proficiency import proficiencies_of
from course_units.i18n import N_, Message, ReadableError
from l2i_db import utcnow
from lti_tool.keys import ensure_signing_key
from lti_tool.models import Learner, PlatformUser, ToolKey
from lti_tool.registration import TOOL_DESCRIPTION, TOOL_LABEL

Json = dict[str, Any]
MAX_REASON = 500   # the column's width


# -- errors a person can act on ---------------------------------------------------------------

class CredentialError(ReadableError):
    """A credential request that cannot be done; ``status`` is the HTTP status a view answers with."""

    status = 422


class UnknownCompetencyError(CredentialError):
    """The competency is not one of the framework's."""


class NotEligibleError(CredentialError):
    """The learner's level in the competency is below the proficient level."""


class UnknownCredentialError(CredentialError):
    """No credential with this id (never issued, or erased with the learner's record)."""

    status = 404


class AlreadyRevokedError(CredentialError):
    """The credential was revoked before."""

    status = 409


class InvalidReasonError(CredentialError):
    """A revocation without a reason, or with one longer than the column holds."""


class NothingToBundleError(CredentialError):
    """The learner has no unrevoked credential to bundle."""

    status = 409


class UnknownLearnerError(CredentialError):
    """No learner record with this key."""

    status = 404


# -- addresses (the routes of lti_tool/web/credential_views.py) --------------------------------

def _root(base_url: str) -> str:
    return base_url.rstrip("/") + "/credentials"


def issuer_url(base_url: str) -> str:
    """Return the issuer Profile's id, served as JSON at that address."""
    return _root(base_url) + "/issuer"


def credential_url(base_url: str, credential_id: str) -> str:
    """Return a credential's id: the address of its public verification page."""
    return f"{_root(base_url)}/{credential_id}"


def status_url(base_url: str, credential_id: str) -> str:
    """Return the address of a credential's revocation list (its ``credentialStatus.id``)."""
    return f"{credential_url(base_url, credential_id)}/status"


def key_url(base_url: str, kid: str) -> str:
    """Return the URI of one of the tool's public keys (a VC-JWT's ``kid``), served as a JWK."""
    return f"{_root(base_url)}/keys/{kid}"


def credential_id_in(base_url: str, url: object) -> str | None:
    """Return the credential id in one of this tool's credential URLs, or None."""
    prefix = _root(base_url) + "/"
    if not isinstance(url, str) or not url.startswith(prefix):
        return None
    rest = url[len(prefix):]
    return rest.lower() if UUID_PATTERN.match(rest) else None


# -- the issuer ---------------------------------------------------------------------------------

def issuer_profile(base_url: str) -> Json:
    """Return the tool's issuer Profile, as credentials embed it."""
    return build_profile(issuer_url(base_url), TOOL_LABEL, base_url.rstrip("/"), TOOL_DESCRIPTION)


def issuer_document(base_url: str) -> Json:
    """Return the issuer Profile as a JSON-LD document, for its public address."""
    return {"@context": list(PROFILE_CONTEXTS), **issuer_profile(base_url)}


def published_key(session: Session, kid: str) -> Json | None:
    """Return the public JWK of one of the tool's keys (kept in ``tool_key``), or None."""
    key = session.scalar(select(ToolKey).where(ToolKey.kid == kid))
    return public_jwk(key.public_jwk) if key is not None else None


def verification_keys(session: Session, base_url: str) -> dict[str, Json]:
    """Return every key the tool still keeps, by the ``kid`` URI its tokens carry."""
    return {key_url(base_url, key.kid): public_jwk(key.public_jwk)
            for key in session.scalars(select(ToolKey))}


def key_is_kept(session: Session, kid: str) -> bool:
    """Return whether the key ``kid`` is still in the ``tool_key`` table (not purged)."""
    return session.scalar(select(ToolKey.id).where(ToolKey.kid == kid)) is not None


# -- who may get what ---------------------------------------------------------------------------

@dataclass(frozen=True)
class Eligible:
    """A competency where the learner is at or above the proficient level."""

    competency: Node
    level: int


def eligible_competencies(session: Session, framework: Framework, learner_id: int) -> list[Eligible]:
    """Return the competencies, in framework order, where the learner's level is at least proficient."""
    standings = proficiencies_of(session, learner_id)
    scale_levels = {level.level for level in framework.scale.levels}
    found = []
    for node in framework.competencies():
        row = standings.get(node.idnumber)
        if row is not None and row.level in scale_levels and row.level >= framework.scale.proficient_level:
            found.append(Eligible(node, row.level))
    return found


def recipient_name(session: Session, learner_id: int) -> str | None:
    """Return the learner's name from their latest launch that gave one (never a "User <sub>" stand-in)."""
    users = session.scalars(select(PlatformUser).where(PlatformUser.learner_id == learner_id)).all()
    never = dt.datetime.min.replace(tzinfo=dt.UTC)
    for user in sorted(users, key=lambda u: (u.last_launch_at or never, u.id), reverse=True):
        name = (user.name or " ".join(p for p in (user.given_name, user.family_name) if p)).strip()
        if name:
            return name
    return None


# -- listing --------------------------------------------------------------------------------------

def find_credential(session: Session, credential_id: str) -> Credential | None:
    """Return the credential with this id, or None (also for text that is not a UUID)."""
    if not UUID_PATTERN.match(credential_id):
        return None
    return session.get(Credential, credential_id.lower())


def credentials_of(session: Session, learner_id: int) -> list[Credential]:
    """Return all of a learner's credentials, revoked ones too, newest first."""
    return list(session.scalars(select(Credential).where(Credential.learner_id == learner_id)
                                .order_by(Credential.issued_at.desc(), Credential.id)))


def current_credential(session: Session, learner_id: int, competency_id: str,
                       level: int) -> Credential | None:
    """Return the learner's newest unrevoked credential for this competency and level, or None."""
    return session.scalars(select(Credential).where(
        Credential.learner_id == learner_id, Credential.competency_id == competency_id,
        Credential.level == level, Credential.revoked_at.is_(None),
    ).order_by(Credential.issued_at.desc()).limit(1)).first()


@dataclass(frozen=True)
class CredentialRow:
    """A competency the learner may get a credential for, and the one they hold at that level (if any)."""

    competency: Node
    level: int
    credential: Credential | None


@dataclass(frozen=True)
class LearnerCredentials:
    """What the learner's page shows: eligible competencies and every credential issued."""

    rows: list[CredentialRow] = field(default_factory=list)
    issued: list[Credential] = field(default_factory=list)

    @property
    def to_issue(self) -> list[CredentialRow]:
        """The eligible competencies without a credential yet."""
        return [row for row in self.rows if row.credential is None]

    @property
    def bundle_ready(self) -> bool:
        """Whether there is at least one unrevoked credential to bundle."""
        return any(c.revoked_at is None for c in self.issued)


def learner_credentials(session: Session, framework: Framework, learner_id: int) -> LearnerCredentials:
    """Return the eligible competencies with their current credential, and every credential issued."""
    rows = []
    for eligible in eligible_competencies(session, framework, learner_id):
        held = current_credential(session, learner_id, eligible.competency.idnumber, eligible.level)
        if held is not None and not key_is_kept(session, held.kid):
            held = None   # it can no longer be verified: issuing signs a new one
        rows.append(CredentialRow(eligible.competency, eligible.level, held))
    return LearnerCredentials(rows, credentials_of(session, learner_id))


# -- issuing --------------------------------------------------------------------------------------

def _competency(framework: Framework, competency_id: str) -> Node:
    node = framework.node(competency_id)
    if node is None or node.kind != "competency":
        raise UnknownCompetencyError(Message(N_("Choose a competency from the list.")))
    return node


def _eligible_level(session: Session, framework: Framework, learner_id: int, node: Node) -> int:
    for eligible in eligible_competencies(session, framework, learner_id):
        if eligible.competency.idnumber == node.idnumber:
            return eligible.level
    required = framework.scale.level(framework.scale.proficient_level)
    raise NotEligibleError(Message(
        N_("You can get a credential for %(competency)s once your level in it is %(level)s or above. "
           "Keep working on the activities that give evidence for it."),
        competency=node.shortname, level=required.name))


def _sign_new(session: Session, framework: Framework, base_url: str, learner: Learner, node: Node,
              level: int, now: dt.datetime | None) -> Credential:
    key = ensure_signing_key(session)
    credential_id = str(uuid.uuid4())
    issued_at = (now or utcnow()).replace(microsecond=0)
    award = Award(credential_url(base_url, credential_id), subject_id(learner.key), framework, node, level,
                  issued_at, recipient_name(session, learner.id))
    document = build_credential(award, issuer_profile(base_url), status_url(base_url, credential_id),
                                base_url)
    token = sign_credential(document, key_url(base_url, key.kid), key.private_key_pem)
    row = Credential(id=credential_id, learner_id=learner.id, competency_id=node.idnumber, level=level,
                     kid=key.kid, token=token, issued_at=issued_at)
    session.add(row)
    session.flush()
    return row


def issue_credential(session: Session, framework: Framework, base_url: str, learner_id: int,
                     competency_id: str, now: dt.datetime | None = None) -> Credential:
    """Issue (or return the existing) credential for the learner's current level in one competency.

    Raises :class:`UnknownCompetencyError` or :class:`NotEligibleError`.
    """
    node = _competency(framework, competency_id)
    # one issuer at a time per learner (PostgreSQL locks the row; SQLite serialises writers anyway)
    learner = session.get(Learner, learner_id, with_for_update=True)
    if learner is None:
        raise UnknownLearnerError(Message(N_("There is no learner record with this key.")))
    level = _eligible_level(session, framework, learner_id, node)
    existing = current_credential(session, learner_id, node.idnumber, level)
    if existing is not None and key_is_kept(session, existing.kid):
        return existing
    return _sign_new(session, framework, base_url, learner, node, level, now)


def issue_all_eligible(session: Session, framework: Framework, base_url: str, learner_id: int,
                       now: dt.datetime | None = None) -> list[Credential]:
    """Issue a credential for every eligible competency; :class:`NotEligibleError` if there is none."""
    eligible = eligible_competencies(session, framework, learner_id)
    if not eligible:
        required = framework.scale.level(framework.scale.proficient_level)
        raise NotEligibleError(Message(
            N_("You have no competency at %(level)s or above yet, so there is no credential to issue."),
            level=required.name))
    return [issue_credential(session, framework, base_url, learner_id, e.competency.idnumber, now)
            for e in eligible]


# -- revoking -------------------------------------------------------------------------------------

def checked_reason(reason: str | None) -> str:
    """Return the reason, trimmed; :class:`InvalidReasonError` if it is empty or over 500 characters."""
    text = (reason or "").strip()
    if not text:
        raise InvalidReasonError(Message(N_("Give the reason for revoking the credential: it is shown to "
                                       "anyone who checks it.")))
    if len(text) > MAX_REASON:
        raise InvalidReasonError(Message(N_("The reason can be at most %(max)s characters; shorten it."),
                                    max=MAX_REASON))
    return text


def revoke_credential(session: Session, credential_id: str, reason: str | None,
                      revoked_by_id: int | None = None, now: dt.datetime | None = None) -> Credential:
    """Revoke a credential, recording when, by whom (None: from the command line) and why."""
    text = checked_reason(reason)
    credential = find_credential(session, credential_id)
    if credential is None:
        raise UnknownCredentialError(Message(N_("There is no credential with this id.")))
    if credential.revoked_at is not None:
        raise AlreadyRevokedError(Message(N_("This credential was already revoked.")))
    credential.revoked_at = now or utcnow()
    credential.revoked_by_id = revoked_by_id
    credential.revocation_reason = text
    session.flush()
    return credential


def revocation_status(base_url: str, credential: Credential) -> Json:
    """Return the 1EdTech Revocation List at the credential's ``credentialStatus.id``."""
    revoked = [RevokedEntry(credential_url(base_url, credential.id), credential.revocation_reason)] \
        if credential.revoked_at is not None else []
    return build_revocation_list(status_url(base_url, credential.id), issuer_url(base_url), revoked)


# -- verifying ------------------------------------------------------------------------------------

class Finding(StrEnum):
    """The outcome of a verification: valid, or the first thing wrong with it."""

    VALID = "valid"
    UNREADABLE = "unreadable"      # not a JWT at all
    ALGORITHM = "algorithm"        # not RS256 (alg none, HS256...)
    EDITED = "edited"              # ours, but the payload was changed after it was issued
    FOREIGN_KEY = "foreign_key"    # signed with a key that is not this tool's
    WRONG_ISSUER = "wrong_issuer"  # issued by someone else
    INCONSISTENT = "inconsistent"  # signed by us, but its claims or dates do not hold
    REVOKED = "revoked"
    ERASED = "erased"              # correctly signed by us, but the tool no longer holds it
    KEY_GONE = "key_gone"          # ours, but signed with a key that has since been purged


@dataclass(frozen=True)
class Verification:
    """The answer to "is this credential (or bundle) genuine and still valid?"."""

    finding: Finding
    check: SignatureCheck
    document: Json | None = None            # the credential (or bundle) as presented
    credential: Credential | None = None    # the stored credential it names, when there is one
    issuer_ok: bool = False
    changed: tuple[str, ...] = ()           # top-level fields edited since issue (EDITED)
    parts: tuple[Verification, ...] = ()    # a bundle's credentials, each checked

    @property
    def ok(self) -> bool:
        """Whether every check passed."""
        return self.finding is Finding.VALID

    @property
    def is_bundle(self) -> bool:
        """Whether this is a CLR bundle rather than one credential."""
        return self.document is not None and is_clr(self.document)

    @property
    def signature_ok(self) -> bool:
        """Whether the signature verified with one of this tool's keys."""
        return self.check.outcome in (Outcome.VALID, Outcome.CLAIMS)

    @property
    def revoked(self) -> bool:
        """Whether the stored credential has been revoked."""
        return self.credential is not None and self.credential.revoked_at is not None


def stored_payload(credential: Credential) -> Json:
    """Return the JWT payload of a stored credential, as issued."""
    return decode_unverified(credential.token)[1]


def _stored_for(session: Session, base_url: str, url: object) -> Credential | None:
    credential_id = credential_id_in(base_url, url)
    return session.get(Credential, credential_id) if credential_id else None


def _unsigned_by_us(check: SignatureCheck, stored: Credential | None, base_url: str,
                    issuer_ok: bool) -> tuple[Finding, tuple[str, ...]]:
    """Say why a readable RS256 token does not verify with our keys."""
    payload = check.payload or {}
    if check.outcome is Outcome.UNKNOWN_KEY:
        if stored is not None and check.kid == key_url(base_url, stored.kid) \
                and payload == stored_payload(stored):
            return Finding.KEY_GONE, ()
        return (Finding.FOREIGN_KEY if issuer_ok else Finding.WRONG_ISSUER), ()
    changed = changed_fields(payload, stored_payload(stored)) if stored is not None else ()
    return (Finding.EDITED, changed) if changed else (Finding.FOREIGN_KEY, ())


def _verify_embedded(session: Session, base_url: str, check: SignatureCheck, item: Json) -> Verification:
    stored = _stored_for(session, base_url, item.get("id"))
    if stored is None:
        return Verification(Finding.ERASED, check, item, issuer_ok=True)
    if item != credential_of(stored_payload(stored)):
        changed = changed_fields(item, credential_of(stored_payload(stored)))
        return Verification(Finding.EDITED, check, item, stored, True, changed)
    finding = Finding.REVOKED if stored.revoked_at is not None else Finding.VALID
    return Verification(finding, check, item, stored, True)


def _verify_bundle(session: Session, base_url: str, check: SignatureCheck, issuer_ok: bool) -> Verification:
    document = check.credential
    if check.outcome in (Outcome.UNKNOWN_KEY, Outcome.SIGNATURE):
        finding = Finding.FOREIGN_KEY if issuer_ok else Finding.WRONG_ISSUER
        return Verification(finding, check, document, issuer_ok=issuer_ok)
    if not issuer_ok:
        return Verification(Finding.WRONG_ISSUER, check, document)
    parts = tuple(_verify_embedded(session, base_url, check, item)
                  for item in embedded_credentials(document or {}))
    if check.outcome is Outcome.CLAIMS or not parts:
        return Verification(Finding.INCONSISTENT, check, document, issuer_ok=True, parts=parts)
    failed = [part.finding for part in parts if not part.ok]
    return Verification(failed[0] if failed else Finding.VALID, check, document, issuer_ok=True, parts=parts)


def verify_presented(session: Session, base_url: str, token: str) -> Verification:
    """Verify a compact JWT someone presents: a credential or a CLR bundle of this tool's.

    Nothing is written. The checks, in order: readable, RS256, signed with one of this tool's keys
    (else: edited, if it names a credential we issued and its payload differs from ours; signed
    with another key, or issued by someone else), issued by this tool, claims consistent, still
    held (not erased), not revoked.
    """
    check = verify_token(token.strip(), verification_keys(session, base_url))
    if check.outcome is Outcome.UNREADABLE:
        return Verification(Finding.UNREADABLE, check)
    document = check.credential or {}
    if check.outcome is Outcome.ALGORITHM:
        return Verification(Finding.ALGORITHM, check, document)
    ours = issuer_url(base_url)
    issuer_ok = (check.payload or {}).get("iss") == ours and issuer_id_of(document) == ours
    if is_clr(document):
        return _verify_bundle(session, base_url, check, issuer_ok)
    stored = _stored_for(session, base_url, (check.payload or {}).get("jti"))
    if check.outcome in (Outcome.UNKNOWN_KEY, Outcome.SIGNATURE):
        finding, changed = _unsigned_by_us(check, stored, base_url, issuer_ok)
        return Verification(finding, check, document, stored, issuer_ok, changed)
    if not issuer_ok:
        return Verification(Finding.WRONG_ISSUER, check, document, stored)
    if check.outcome is Outcome.CLAIMS:
        return Verification(Finding.INCONSISTENT, check, document, stored, True)
    if stored is None:
        return Verification(Finding.ERASED, check, document, issuer_ok=True)
    finding = Finding.REVOKED if stored.revoked_at is not None else Finding.VALID
    return Verification(finding, check, document, stored, True)


def verify_stored(session: Session, base_url: str, credential: Credential) -> Verification:
    """Verify a credential the tool holds, as a verifier would check its token."""
    return verify_presented(session, base_url, credential.token)


# -- the CLR bundle -------------------------------------------------------------------------------

def bundle_credentials(session: Session, learner_id: int) -> list[Credential]:
    """Return the learner's unrevoked credentials, oldest first (what a bundle holds)."""
    return list(session.scalars(select(Credential).where(
        Credential.learner_id == learner_id, Credential.revoked_at.is_(None),
    ).order_by(Credential.issued_at, Credential.id)))


def build_bundle(session: Session, base_url: str, learner_id: int, now: dt.datetime | None = None) -> str:
    """Return a ClrCredential of all the learner's unrevoked credentials, signed as a VC-JWT.

    Raises :class:`NothingToBundleError` when there is none.
    """
    held = bundle_credentials(session, learner_id)
    learner = session.get(Learner, learner_id)
    if not held or learner is None:
        raise NothingToBundleError(Message(N_("You have no credential yet: get one for a competency first.")))
    documents: Sequence[Json] = [credential_of(stored_payload(c)) for c in held]
    clr = build_clr(f"urn:uuid:{uuid.uuid4()}", issuer_profile(base_url), subject_id(learner.key), documents,
                    now or utcnow(), recipient_name(session, learner_id))
    key = ensure_signing_key(session)
    return sign_credential(clr, key_url(base_url, key.kid), key.private_key_pem)


def bundle_response(token: str) -> Json:
    """Return the bundle as the CLR 2.0 API's GetClrCredentialsResponse: ``{"compactJwsString": [token]}``."""
    return {COMPACT_JWS_STRING: [token]}


def token_in(text: str) -> str:
    """Return the compact JWT in what someone pasted or uploaded.

    That is the text itself, or the first ``compactJwsString`` of a bundle download
    (:func:`bundle_response`).
    """
    text = text.strip()
    if not text.startswith("{"):
        return text
    try:
        document = json.loads(text)
    except (ValueError, RecursionError):
        return text
    found = document.get(COMPACT_JWS_STRING) if isinstance(document, dict) else None
    if isinstance(found, list) and found:
        found = found[0]
    return found.strip() if isinstance(found, str) else text

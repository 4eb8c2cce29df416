"""Open Badges 3.0 credentials on the web: public checks, the learner's issuing, the trainer's revoking.

Public: the issuer Profile, the tool's keys, each credential's verification page, download and
revocation list, and a form to check a credential someone presents. The public pages read no
launch session (links to them are shared with employers and other institutions), so they build
their links with ``url_for``, not ``tool_url``.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from dataclasses import dataclass
from typing import Any, NoReturn

from flask import Blueprint, Response, abort, redirect, render_template, request
from sqlalchemy import select
from werkzeug.utils import secure_filename

from badges.credential import Json, issuer_id_of
from badges.models import Credential
from competencies.framework import parse_utc
from lti_tool.access import may_drill_down, may_view_context
from lti_tool.credentials import (
    CredentialError,
    Finding,
    Verification,
    build_bundle,
    bundle_response,
    find_credential,
    issue_all_eligible,
    issue_credential,
    issuer_document,
    published_key,
    revocation_status,
    revoke_credential,
    token_in,
    verify_presented,
    verify_stored,
)
from lti_tool.models import Membership, PlatformUser
from lti_tool.principal import Capability, Launch
from lti_tool.web.auth import launch_required, launched, tool_url
from lti_tool.web.state import app_state, db
from lti_tool.web.translation import gettext, message_of

bp = Blueprint("credentials", __name__)
FIELD_TOKEN = "token"  # noqa: S105 (a form field's name)
FIELD_FILE = "file"


def _base_url() -> str:
    return app_state().settings.base_url


def _json(document: Json, *, mimetype: str = "application/json", max_age: int | None = None) -> Response:
    response = Response(json.dumps(document, ensure_ascii=False, indent=2), mimetype=mimetype)
    if max_age is None:
        response.cache_control.no_store = True
    else:
        response.cache_control.public = True
        response.cache_control.max_age = max_age
    return response


# -- public: the issuer, its keys, each credential and its status -------------------------------

@bp.get("/credentials/issuer")
def issuer() -> Response:
    """Publish the issuer Profile that every credential names (``issuer.id``)."""
    return _json(issuer_document(_base_url()), mimetype="application/ld+json", max_age=3600)


@bp.get("/credentials/keys/<kid>")
def public_key(kid: str) -> Response:
    """Publish one of the tool's public keys as a JWK: what a credential's ``kid`` dereferences to."""
    jwk = published_key(db(), kid)
    if jwk is None:
        abort(404, description=gettext("This tool has no key with this id. Credentials signed with a key "
                                       "that was deleted after a key rotation can no longer be verified."))
    return _json(jwk, max_age=300)


def _stored(credential_id: uuid.UUID) -> Credential:
    credential = find_credential(db(), str(credential_id))
    if credential is None:
        abort(404, description=gettext("This tool holds no credential at this address. The address may be "
                                       "incomplete, or the credential was erased at the learner's request."))
    return credential


@dataclass(frozen=True)
class Summary:
    """What a credential says, for the page: all of it read from the document as presented or stored."""

    name: str | None
    issuer_name: str | None
    issuer_id: str | None
    valid_from: dt.datetime | None
    recipient: str | None
    subject_id: str | None
    competency_code: str | None


def _text(value: object) -> str | None:
    return value if isinstance(value, str) and value.strip() else None


def _date(value: object) -> dt.datetime | None:
    try:
        return parse_utc(value)
    except ValueError:
        return None


def _recipient(subject: dict[str, Any]) -> str | None:
    identifiers = subject.get("identifier")
    for item in identifiers if isinstance(identifiers, list) else []:
        if isinstance(item, dict) and item.get("identityType") == "name" and item.get("hashed") is False:
            return _text(item.get("identityHash"))
    return None


def summary_of(document: Json | None) -> Summary | None:
    """Return the parts of a credential a person reads, or None when there is no readable document."""
    if not document:
        return None
    subject = document.get("credentialSubject")
    subject = subject if isinstance(subject, dict) else {}
    achievement = subject.get("achievement")
    achievement = achievement if isinstance(achievement, dict) else {}
    issuer = document.get("issuer")
    return Summary(
        name=_text(document.get("name")),
        issuer_name=_text(issuer.get("name")) if isinstance(issuer, dict) else None,
        issuer_id=issuer_id_of(document),
        valid_from=_date(document.get("validFrom")),
        recipient=_recipient(subject),
        subject_id=_text(subject.get("id")),
        competency_code=_text(achievement.get("humanCode")),
    )


def _render_result(verification: Verification | None, *, credential: Credential | None = None,
                   problem: str | None = None, status: int = 200) -> tuple[str, int]:
    parts = [(part, summary_of(part.document)) for part in verification.parts] if verification else []
    return render_template(
        "credential.html", verification=verification, credential=credential, problem=problem,
        summary=summary_of(verification.document) if verification else None, parts=parts,
        framework=app_state().framework, base_url=_base_url(),
    ), status


@bp.get("/credentials/<uuid:credential_id>")
def show_credential(credential_id: uuid.UUID) -> Any:
    """Show a stored credential and whether it verifies: signature, issuer, revocation."""
    credential = _stored(credential_id)
    return _render_result(verify_stored(db(), _base_url(), credential), credential=credential)


@bp.get("/credentials/<uuid:credential_id>.jwt")
def download_credential(credential_id: uuid.UUID) -> Response:
    """Download a credential as issued: its compact JWS (OB 3.0 §5.2, a ``.jwt`` file)."""
    credential = _stored(credential_id)
    name = secure_filename(f"l2i-{credential.competency_id}-{credential.id[:8]}.jwt") or "credential.jwt"
    return Response(credential.token, mimetype="text/plain",
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})


@bp.get("/credentials/<uuid:credential_id>/status")
def credential_status(credential_id: uuid.UUID) -> Response:
    """Publish the credential's 1EdTech Revocation List: empty, or the credential with its reason."""
    return _json(revocation_status(_base_url(), _stored(credential_id)))


# -- public: checking a credential someone presents ----------------------------------------------

@bp.get("/credentials/verify")
def verify_form() -> Any:
    """Show the form to check a credential (or a bundle) someone presents."""
    return _render_result(None)


def _presented_text() -> str | None:
    """Return the pasted text, else the uploaded file's text; None if the file is not text."""
    pasted: str = request.form.get(FIELD_TOKEN, "")
    upload = request.files.get(FIELD_FILE)
    if pasted.strip() or upload is None:
        return pasted
    try:
        text: str = upload.read().decode("utf-8")
    except UnicodeDecodeError:
        return None
    return text


def _status_of(verification: Verification) -> int:
    if verification.ok:
        return 200
    return 400 if verification.finding in (Finding.UNREADABLE, Finding.ALGORITHM) else 422


@bp.post("/credentials/verify")
def verify_presented_credential() -> Any:
    """Check a credential or bundle pasted or uploaded as a compact JWT, and say which check failed.

    The form carries no CSRF token on purpose: it reads no session and changes nothing, so a forged
    request could only make someone's browser check a credential, which anyone may do anyway.
    """
    text = _presented_text()
    if text is None:
        return _render_result(None, problem=gettext(
            "This file is not a credential: a credential file (.jwt) holds text, three parts separated "
            "by dots. Choose the file you downloaded, or paste its text."), status=400)
    if not text.strip():
        return _render_result(None, problem=gettext(
            "Paste a credential (the text of its .jwt file) or choose its file, then press Check."),
            status=400)
    verification = verify_presented(db(), _base_url(), token_in(text))
    return _render_result(verification, status=_status_of(verification))


# -- the learner: issuing and the bundle -------------------------------------------------------------

def _refuse(error: CredentialError) -> NoReturn:
    db().rollback()
    abort(error.status, description=message_of(error))


@bp.post("/competencies/credentials")
@launch_required(Capability.STUDY)
def issue() -> Any:
    """Issue a credential for one competency (``competency``), or for every eligible one."""
    state, learner_id = app_state(), launched().user.learner_id
    competency = (request.form.get("competency") or "").strip()
    try:
        if competency:
            issue_credential(db(), state.framework, state.settings.base_url, learner_id, competency)
        else:
            issue_all_eligible(db(), state.framework, state.settings.base_url, learner_id)
    except CredentialError as exc:
        _refuse(exc)
    db().commit()
    return redirect(tool_url("profile.my_competencies", done="credentials", _anchor="credentials"), code=303)


@bp.get("/competencies/credentials/bundle.json")
@launch_required(Capability.STUDY)
def download_bundle() -> Response:
    """Download all the learner's unrevoked credentials as one signed CLR 2.0 bundle."""
    try:
        token = build_bundle(db(), _base_url(), launched().user.learner_id)
    except CredentialError as exc:
        _refuse(exc)
    db().commit()   # the tool's first signing key, if this made it
    return Response(json.dumps(bundle_response(token)), mimetype="application/json",
                    headers={"Content-Disposition": 'attachment; filename="l2i-credentials-clr.json"'})


# -- the trainer: revoking -------------------------------------------------------------------------

def learner_contexts(learner_id: int) -> list[int]:
    """Return the courses where the learner has launched the tool."""
    return list(db().scalars(
        select(Membership.context_id).join(PlatformUser, PlatformUser.id == Membership.user_id)
        .where(PlatformUser.learner_id == learner_id).distinct()
    ))


def may_revoke_for(launch: Launch, learner_id: int) -> bool | None:
    """Return whether a trainer may act on this learner: True, False (no view), None (no consent)."""
    if not may_drill_down(db(), launch.platform.id, learner_id):
        return None
    return any(may_view_context(db(), launch, context_id) for context_id in learner_contexts(learner_id))


def _learner_page(launch: Launch, learner_id: int) -> str:
    if launch.context is not None and launch.context.id in learner_contexts(learner_id):
        return tool_url("trainer.learner_profile", learner_id=learner_id, done="revoked",
                        _anchor="credentials")
    return tool_url("trainer.dashboard")


@bp.post("/trainer/learners/<int:learner_id>/credentials/<uuid:credential_id>/revoke")
@launch_required(Capability.ASSESS_WORK)
def revoke(learner_id: int, credential_id: uuid.UUID) -> Any:
    """Revoke one of a learner's credentials, with the reason (at most 500 characters)."""
    launch = launched()
    allowed = may_revoke_for(launch, learner_id)
    if allowed is None:
        abort(403, description=gettext("This learner studies at another institution and has not agreed "
                                       "to share their record with trainers elsewhere."))
    if not allowed:
        abort(403, description=gettext("You can revoke the credentials of learners in the courses you "
                                       "teach. Open the tool from that course."))
    credential = find_credential(db(), str(credential_id))
    if credential is None or credential.learner_id != learner_id:
        abort(404, description=gettext("This learner has no credential with this id."))
    try:
        revoke_credential(db(), credential.id, request.form.get("reason"), launch.user.id)
    except CredentialError as exc:
        _refuse(exc)
    db().commit()
    return redirect(_learner_page(launch, learner_id), code=303)

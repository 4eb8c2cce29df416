"""The platform's half of the LTI 1.3 OIDC launch: third-party login initiation and authorization."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from lms_emulator import vocabulary as v
from lms_emulator.errors import PageError
from lms_emulator.platform import (
    DOCUMENT_TARGETS,
    Course,
    Institution,
    MessageHint,
    ResourceLink,
    User,
)

DEEP_LINKING_MESSAGE: str = "deeplink"

_REQUIRED_AUTH_VALUES: dict[str, str] = {
    "scope": "openid",
    "response_type": "id_token",
    "response_mode": "form_post",
    "prompt": "none",
}


@dataclass(frozen=True)
class AuthResponse:
    """What the authorization endpoint form-posts to the tool."""

    redirect_uri: str
    id_token: str
    state: str
    claims: dict[str, Any]
    storage_target: str | None = None


def _bad_request(description: str) -> PageError:
    return PageError(400, "invalid_request", description)


def _find_launch_user(institution: Institution, sub: str | None) -> User:
    user = institution.find_user(sub or "")
    if user is None:
        raise PageError(404, "not_found", f"No user with id {sub!r} at {institution.name}.")
    return user


def initiate_launch(
    institution: Institution,
    *,
    user_sub: str | None,
    link_id: str | None,
    course_id: str | None = None,
    message: str | None = None,
    document_target: str | None = None,
    locale: str | None = None,
    storage_target: str | None = None,
) -> str:
    """Return the tool's OIDC login URL that starts a launch of ``link_id`` as ``user_sub``.

    With ``message="deeplink"`` the launch is a Deep Linking request into the course of
    ``link_id`` or ``course_id`` (default: the first course). With ``storage_target`` (a
    frame name, usually ``_parent``) the login offers the platform's storage to the tool
    (``lti_storage_target``, LTI Client Side postMessages).
    """
    user = _find_launch_user(institution, user_sub)
    deep_linking = message == DEEP_LINKING_MESSAGE
    if message not in (None, "", DEEP_LINKING_MESSAGE):
        raise _bad_request(f"Unknown message {message!r}; use 'deeplink' or nothing.")
    course, link = _launch_place(institution, link_id, course_id, required=not deep_linking)
    target = document_target or "iframe"
    if target not in DOCUMENT_TARGETS:
        raise _bad_request(f"Unknown document target {target!r}.")
    hint = MessageHint(
        user_sub=user.sub,
        context_id=course.context_id,
        link_id=link.id if link is not None else None,
        message_type=v.MESSAGE_DEEP_LINKING if deep_linking else v.MESSAGE_RESOURCE_LINK,
        document_target=target,
        locale=locale or user.locale,
    )
    params = {
        "iss": institution.issuer,
        "login_hint": user.sub,
        "target_link_uri": institution.target_link_uri(None if deep_linking else link),
        "lti_message_hint": institution.issue_message_hint(hint),
        "client_id": institution.client_id,
        "lti_deployment_id": institution.deployment_id,
    }
    if storage_target:
        params["lti_storage_target"] = storage_target
    return f"{institution.tool_login_url}?{urlencode(params)}"


def _launch_place(
    institution: Institution, link_id: str | None, course_id: str | None, *, required: bool
) -> tuple[Course, ResourceLink | None]:
    if link_id:
        found = institution.find_link(link_id)
        if found is None:
            raise PageError(404, "not_found", f"No resource link {link_id!r} at {institution.name}.")
        return found
    if required:
        raise _bad_request("A launch needs a resource link: add link=<id>.")
    course = institution.find_course(course_id) if course_id else institution.courses[0]
    if course is None:
        raise PageError(404, "not_found", f"No course {course_id!r} at {institution.name}.")
    return course, None


def _check_auth_params(institution: Institution, params: Mapping[str, str]) -> None:
    for name, expected in _REQUIRED_AUTH_VALUES.items():
        if params.get(name) != expected:
            raise _bad_request(f"{name} must be {expected!r}, got {params.get(name)!r}.")
    if params.get("client_id") != institution.client_id:
        raise _bad_request(f"Unknown client_id {params.get('client_id')!r}.")
    if params.get("redirect_uri") != institution.tool_launch_url:
        raise _bad_request(
            f"redirect_uri {params.get('redirect_uri')!r} is not registered for this client; "
            "the platform will not redirect there."
        )
    for name in ("nonce", "state", "login_hint", "lti_message_hint"):
        if not params.get(name):
            raise _bad_request(f"The authorization request has no {name}.")


def _read_hint(institution: Institution, params: Mapping[str, str]) -> MessageHint:
    try:
        hint = institution.read_message_hint(params["lti_message_hint"])
    except (ValueError, KeyError) as exc:
        raise _bad_request(f"lti_message_hint is not valid: {exc}.") from exc
    if hint.user_sub != params["login_hint"]:
        raise _bad_request("login_hint does not match the user who started the launch.")
    return hint


def authorize(institution: Institution, params: Mapping[str, str]) -> AuthResponse:
    """Validate an OIDC authorization request and build the signed id_token to post back.

    Refusals raise PageError(400); every request is recorded with its outcome.
    """
    entry: dict[str, Any] = {"params": dict(params)}
    try:
        _check_auth_params(institution, params)
        hint = _read_hint(institution, params)
        response = _build_auth_response(institution, params, hint)
    except PageError as exc:
        institution.append_record("auth_requests", {**entry, "outcome": "refused", "reason": exc.description})
        raise
    institution.append_record("auth_requests", {**entry, "outcome": "ok"})
    institution.append_record(
        "launches",
        {
            "user": hint.user_sub,
            "link": hint.link_id,
            "context": hint.context_id,
            "message_type": hint.message_type,
            "kid": institution.kid,
            "claims": response.claims,
        },
    )
    return response


def _build_auth_response(
    institution: Institution, params: Mapping[str, str], hint: MessageHint
) -> AuthResponse:
    user = _find_launch_user(institution, hint.user_sub)
    course = institution.find_course(hint.context_id)
    if course is None:
        raise _bad_request("The launch's course no longer exists.")
    link = None
    if hint.link_id is not None:
        found = institution.find_link(hint.link_id)
        if found is None:
            raise _bad_request("The launch's resource link no longer exists.")
        link = found[1]
    claims = institution.build_launch_claims(
        user,
        link,
        nonce=params["nonce"],
        message_type=hint.message_type,
        locale=hint.locale,
        course=course,
        document_target=hint.document_target,
    )
    return AuthResponse(
        redirect_uri=institution.tool_launch_url,
        id_token=institution.sign_id_token(claims),
        state=params["state"],
        claims=claims,
        storage_target=params.get("lti_storage_target") or None,
    )

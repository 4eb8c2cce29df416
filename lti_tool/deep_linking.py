"""LTI Deep Linking 2.0: the request a platform sent, the items chosen, and the signed response.

A deep-linking launch leaves its validated claims in the launch data (keyed by the launch
id). When the picker first opens, the request's ``deep_linking_settings`` and deployment are
copied to a value of their own, bound to that launch and kept as long as its tool session.
Placing content consumes that value, so one request gets at most one response. Nothing a
browser sends back (return URL, accepted types, ``data``) is trusted: all of it is read here.
"""

from __future__ import annotations

import re
import secrets
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import jwt
from sqlalchemy import delete
from sqlalchemy.orm import Session

from course_units.content import Activity, Catalog, Unit
from course_units.text import localise
from l2i_db import utcnow
from lti_tool import vocabulary as v
from lti_tool.keys import SigningKey
from lti_tool.lti.storage import DatabaseLaunchDataStorage
from lti_tool.models import LtiValue, ToolSession

PENDING_PREFIX = "l2i-deep-link-"
RESPONSE_LIFETIME = 600
SCORE_MAXIMUM = 100
LINE_ITEM_TAG = "l2i"
MAX_TEXT = 500
MAX_CHOICE_VALUES = 100
UNIT_CHOICE = "unit"
ACTIVITY_CHOICE = "activity"


class UnknownChoiceError(ValueError):
    """A chosen value names no unit or activity of the catalogue (or is malformed)."""


@dataclass(frozen=True)
class DeepLinkRequest:
    """What a platform's deep-linking request asked for, as the tool kept it."""

    return_url: str
    accept_types: tuple[str, ...]
    accept_multiple: bool
    deployment_id: str
    has_data: bool = False
    data: Any = None

    @property
    def accepts_resource_links(self) -> bool:
        """Whether the platform takes ``ltiResourceLink`` items, the only kind this tool places."""
        return v.CONTENT_ITEM_RESOURCE_LINK in self.accept_types


@dataclass(frozen=True)
class Choice:
    """A unit, or one activity of a unit, chosen to be placed in the course."""

    unit: Unit
    activity: Activity | None = None

    @property
    def custom_key(self) -> str:
        """The custom parameter the placed link carries."""
        return v.CUSTOM_ACTIVITY if self.activity else v.CUSTOM_UNIT

    @property
    def resource_id(self) -> str:
        """The id of the unit or activity (also the line item's ``resourceId``)."""
        return self.activity.id if self.activity else self.unit.id

    @property
    def value(self) -> str:
        """The form value that chooses this, e.g. ``unit:u1-challenges``."""
        return choice_value(self.unit, self.activity)


def choice_value(unit: Unit, activity: Activity | None = None) -> str:
    """Return the form value choosing ``unit`` or its ``activity``."""
    return f"{ACTIVITY_CHOICE}:{activity.id}" if activity else f"{UNIT_CHOICE}:{unit.id}"


# --- the request, kept server-side --------------------------------------------------------


def _is_web_url(url: object) -> bool:
    if not isinstance(url, str) or len(url) > 2048:
        return False
    parts = urlsplit(url)
    return parts.scheme in ("http", "https") and bool(parts.netloc)


def _is_true(value: object) -> bool:
    return value is True or value == "true"


def read_request(settings: Mapping[str, Any], deployment_id: str) -> DeepLinkRequest | None:
    """Read a ``deep_linking_settings`` claim; None if it has no usable return URL.

    ``accept_multiple`` counts only when the platform says true.
    """
    if not _is_web_url(settings.get("deep_link_return_url")):
        return None
    types = settings.get("accept_types")
    accept_types = tuple(t for t in types if isinstance(t, str)) if isinstance(types, list) else ()
    return DeepLinkRequest(
        return_url=str(settings["deep_link_return_url"]),
        accept_types=accept_types,
        accept_multiple=_is_true(settings.get("accept_multiple")),
        deployment_id=deployment_id,
        has_data="data" in settings,
        data=settings.get("data"),
    )


def _pending_key(launch_id: str) -> str:
    return PENDING_PREFIX + launch_id


def _deep_linking_row(session: Session, tool_session_id: str) -> ToolSession | None:
    row = session.get(ToolSession, tool_session_id)
    if row is None or row.message_type != v.MESSAGE_DEEP_LINKING or not row.launch_id:
        return None
    return row


def _hold_request(session: Session, row: ToolSession) -> dict[str, Any] | None:
    """Copy the request out of the launch data into a value living as long as the tool session."""
    assert row.launch_id is not None
    claims = DatabaseLaunchDataStorage(session).get_value(row.launch_id)
    if not isinstance(claims, dict) or not isinstance(claims.get(v.CLAIM_DL_SETTINGS), dict):
        return None
    kept = {"settings": claims[v.CLAIM_DL_SETTINGS],
            "deployment_id": str(claims.get(v.CLAIM_DEPLOYMENT_ID, ""))}
    session.merge(LtiValue(key=_pending_key(row.launch_id), value=kept, expires_at=row.expires_at))
    session.flush()
    return kept


def pending_request(session: Session, tool_session_id: str) -> DeepLinkRequest | None:
    """Return the unanswered deep-linking request of a tool session, or None.

    None when the session's launch was not a deep-linking request, when the request was
    answered already, or when it expired.
    """
    row = _deep_linking_row(session, tool_session_id)
    if row is None:
        return None
    assert row.launch_id is not None
    held = session.get(LtiValue, _pending_key(row.launch_id))
    kept = held.value if held is not None and held.expires_at > utcnow() else _hold_request(session, row)
    if not isinstance(kept, dict) or not isinstance(kept.get("settings"), dict):
        return None
    return read_request(kept["settings"], str(kept.get("deployment_id", "")))


def consume_request(session: Session, tool_session_id: str) -> bool:
    """Mark the session's request as answered; False if it was not pending (a replay or a race).

    The delete is conditional, so of two concurrent placements exactly one goes on. The
    launch data goes too, so the request cannot be picked up again from it.
    """
    row = _deep_linking_row(session, tool_session_id)
    if row is None:
        return False
    assert row.launch_id is not None
    result = session.execute(delete(LtiValue).where(
        LtiValue.key == _pending_key(row.launch_id), LtiValue.expires_at > utcnow()))
    DatabaseLaunchDataStorage(session).remove_value(row.launch_id)
    return getattr(result, "rowcount", 0) == 1


# --- what was chosen ----------------------------------------------------------------------


def _find_choice(catalog: Catalog, value: str) -> Choice:
    kind, _, item_id = value.partition(":")
    if kind == UNIT_CHOICE:
        unit = catalog.unit(item_id)
        if unit is not None:
            return Choice(unit)
    if kind == ACTIVITY_CHOICE:
        owner = catalog.unit_of_activity(item_id)
        activity = owner.activity(item_id) if owner else None
        if owner is not None and activity is not None:
            return Choice(owner, activity)
    raise UnknownChoiceError(value[:80])


def read_choices(catalog: Catalog, values: Sequence[str]) -> tuple[Choice, ...]:
    """Return the chosen units and activities in the order given, without repeats.

    Raises :class:`UnknownChoiceError` for a value naming nothing in the catalogue, or for too
    many values.
    """
    if len(values) > MAX_CHOICE_VALUES:
        raise UnknownChoiceError(f"{len(values)} values")
    found: dict[str, Choice] = {}
    for value in values:
        choice = _find_choice(catalog, value)
        found.setdefault(choice.value, choice)
    return tuple(found.values())


def _first_paragraph(text: str) -> str:
    paragraph = re.split(r"\n\s*\n", text.strip(), maxsplit=1)[0]
    plain = re.sub(r"[*_`#>]+", "", " ".join(paragraph.split()))
    return plain if len(plain) <= MAX_TEXT else plain[: MAX_TEXT - 1].rstrip() + "…"


def summary_text(choice: Choice, locale: str | None) -> str:
    """Return the item's ``text``: a unit's summary, or the first paragraph of an activity's instructions."""
    source = choice.activity.instructions if choice.activity else choice.unit.summary
    return _first_paragraph(localise(source, locale))


# --- the response -------------------------------------------------------------------------


def content_item(choice: Choice, *, title: str, text: str, launch_url: str) -> dict[str, Any]:
    """Return the ``ltiResourceLink`` content item placing ``choice``, with its gradebook column."""
    return {
        "type": v.CONTENT_ITEM_RESOURCE_LINK,
        "title": title,
        "text": text,
        "url": launch_url,
        "custom": {choice.custom_key: choice.resource_id},
        "lineItem": {
            "scoreMaximum": SCORE_MAXIMUM,
            "label": title,
            "resourceId": choice.resource_id,
            "tag": LINE_ITEM_TAG,
        },
    }


def response_claims(
    request: DeepLinkRequest,
    items: Sequence[Mapping[str, Any]],
    *,
    client_id: str,
    issuer: str,
    now: int | None = None,
) -> dict[str, Any]:
    """Return the claims of the ``LtiDeepLinkingResponse`` answering ``request``.

    The tool is the issuer (its client_id) and the platform the audience, as Moodle 4.5
    expects; ``data`` is echoed exactly when the request had it.
    """
    issued = int(time.time()) if now is None else now
    claims: dict[str, Any] = {
        "iss": client_id,
        "aud": [issuer],
        "iat": issued,
        "exp": issued + RESPONSE_LIFETIME,
        "nonce": secrets.token_urlsafe(24),
        v.CLAIM_DEPLOYMENT_ID: request.deployment_id,
        v.CLAIM_MESSAGE_TYPE: v.MESSAGE_DEEP_LINKING_RESPONSE,
        v.CLAIM_VERSION: v.LTI_VERSION,
        v.CLAIM_DL_CONTENT_ITEMS: [dict(item) for item in items],
    }
    if request.has_data:
        claims[v.CLAIM_DL_DATA] = request.data
    return claims


def sign_response(claims: Mapping[str, Any], key: SigningKey) -> str:
    """Sign the response claims with RS256 and the tool's current key (its kid as published)."""
    return jwt.encode(dict(claims), key.private_key_pem, algorithm="RS256", headers={"kid": key.kid})


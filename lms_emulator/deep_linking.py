"""The Deep Linking 2.0 return: verify the tool's response and place its resource links.

The response is refused (PageError 400) unless it is signed by the tool, addressed to
this platform, fresh, of the right message type, version and deployment, and carries
the ``data`` value the request sent. Only ``ltiResourceLink`` items are accepted, as
in Moodle 4.5. Each placed item becomes a resource link in the course and, when it
has a ``lineItem``, a gradebook column bound to that link.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from lms_emulator import vocabulary as v
from lms_emulator.ags import is_number
from lms_emulator.errors import PageError
from lms_emulator.platform import Course, EmulatorConfig, Institution, LineItem, ResourceLink
from lms_emulator.tool_keys import ToolJwtError, ToolKeyError, decode_tool_jwt

RESPONSE_REQUIRED_CLAIMS = ("iss", "aud", "exp", "iat", "nonce")
UNTITLED = "Untitled activity"


@dataclass(frozen=True)
class ItemToPlace:
    """A content item that passed validation, not yet placed."""

    title: str
    url: str | None
    text: str
    custom: dict[str, str]
    line_item: dict[str, Any] | None


@dataclass(frozen=True)
class Placement:
    """What a Deep Linking response placed, and the messages the tool sent along."""

    course: Course
    links: list[ResourceLink]
    line_items: list[LineItem]
    message: str | None
    error_message: str | None


def _refuse(description: str) -> PageError:
    return PageError(400, "invalid_request", description)


def _verify_token(config: EmulatorConfig, institution: Institution, token: str) -> dict[str, Any]:
    try:
        return decode_tool_jwt(
            config.tool_keys,
            token,
            audience=institution.issuer,
            issuer=institution.client_id,
            required=RESPONSE_REQUIRED_CLAIMS,
        )
    except (ToolJwtError, ToolKeyError) as exc:
        raise _refuse(f"The Deep Linking response was refused: {exc}.") from exc


def _check_message(institution: Institution, claims: Mapping[str, Any]) -> None:
    expected = {
        v.CLAIM_MESSAGE_TYPE: v.MESSAGE_DEEP_LINKING_RESPONSE,
        v.CLAIM_VERSION: v.LTI_VERSION,
        v.CLAIM_DEPLOYMENT_ID: institution.deployment_id,
    }
    for claim, value in expected.items():
        if claims.get(claim) != value:
            raise _refuse(f"Claim {claim} must be {value!r}, got {claims.get(claim)!r}.")
    if not isinstance(claims.get("nonce"), str) or not claims["nonce"]:
        raise _refuse("The Deep Linking response has no nonce.")


def _optional_text(item: Mapping[str, Any], name: str) -> str | None:
    value = item.get(name)
    if value is not None and not isinstance(value, str):
        raise _refuse(f"Content item field {name!r} must be a string.")
    return value


def _read_url(institution: Institution, item: Mapping[str, Any]) -> str | None:
    url = _optional_text(item, "url")
    if url is None:
        return None
    tool, given = urlsplit(institution.tool_base_url), urlsplit(url)
    if (given.scheme, given.netloc) != (tool.scheme, tool.netloc):
        raise _refuse(f"Content item url {url!r} is not on the tool's origin.")
    return url


def _read_custom(item: Mapping[str, Any]) -> dict[str, str]:
    custom = item.get("custom")
    if custom is None:
        return {}
    if not isinstance(custom, dict) or not all(
        isinstance(key, str) and isinstance(value, str) for key, value in custom.items()
    ):
        raise _refuse("Content item custom parameters must be an object of strings.")
    return dict(custom)


def _read_line_item(item: Mapping[str, Any]) -> dict[str, Any] | None:
    line_item = item.get("lineItem")
    if line_item is None:
        return None
    if not isinstance(line_item, dict):
        raise _refuse("Content item lineItem must be an object.")
    maximum = line_item.get("scoreMaximum")
    if not is_number(maximum) or maximum <= 0:
        raise _refuse("lineItem.scoreMaximum must be a number greater than 0.")
    for name in ("label", "resourceId", "tag"):
        _optional_text(line_item, name)
    return dict(line_item)


def _read_item(institution: Institution, item: Any) -> ItemToPlace:
    if not isinstance(item, dict):
        raise _refuse("Each content item must be an object.")
    if item.get("type") != v.CONTENT_ITEM_RESOURCE_LINK:
        raise _refuse(
            f"Only {v.CONTENT_ITEM_RESOURCE_LINK} content items can be placed, not {item.get('type')!r}."
        )
    return ItemToPlace(
        title=_optional_text(item, "title") or UNTITLED,
        url=_read_url(institution, item),
        text=_optional_text(item, "text") or "",
        custom=_read_custom(item),
        line_item=_read_line_item(item),
    )


def read_content_items(institution: Institution, claims: Mapping[str, Any]) -> list[ItemToPlace]:
    """Validate every content item of the response; refuse the whole response on one bad item."""
    items = claims.get(v.CLAIM_DL_CONTENT_ITEMS, [])
    if items is None:
        items = []
    if not isinstance(items, list):
        raise _refuse("content_items must be a list.")
    return [_read_item(institution, item) for item in items]


def _consume_data(institution: Institution, claims: Mapping[str, Any]) -> Course:
    data = claims.get(v.CLAIM_DL_DATA)
    if not isinstance(data, str) or not data:
        raise _refuse("The Deep Linking response does not return the request's data claim.")
    try:
        _user_sub, context_id = institution.consume_deep_linking_data(data)
    except ValueError as exc:
        raise _refuse(f"The data claim is not the one this platform sent: {exc}.") from exc
    course = institution.find_course(context_id)
    if course is None:
        raise _refuse("The course of this Deep Linking request no longer exists.")
    return course


def _place(
    institution: Institution, course: Course, item: ItemToPlace
) -> tuple[ResourceLink, LineItem | None]:
    link = institution.add_link(
        course,
        ResourceLink(
            id=institution.next_id("link"),
            title=item.title,
            description=item.text,
            custom=item.custom,
            url=item.url,
            placed_by_deep_linking=True,
        ),
    )
    if item.line_item is None:
        return link, None
    line_item = institution.add_line_item(
        course,
        LineItem(
            id=institution.next_id("lineitem"),
            label=item.line_item.get("label") or item.title,
            score_maximum=float(item.line_item["scoreMaximum"]),
            resource_link_id=link.id,
            resource_id=item.line_item.get("resourceId"),
            tag=item.line_item.get("tag"),
        ),
    )
    return link, line_item


def _verify_response(
    config: EmulatorConfig, institution: Institution, token: str
) -> tuple[dict[str, Any], list[ItemToPlace], Course]:
    claims = _verify_token(config, institution, token)
    _check_message(institution, claims)
    items = read_content_items(institution, claims)
    course = _consume_data(institution, claims)
    if not institution.consume_deep_linking_nonce(str(claims["nonce"]), float(claims["exp"])):
        raise _refuse("This Deep Linking response nonce was already used.")
    return claims, items, course


def receive_deep_linking_response(
    config: EmulatorConfig, institution: Institution, token: str | None
) -> Placement:
    """Verify a Deep Linking response JWT and place its items; PageError 400 if refused."""
    try:
        if not token:
            raise _refuse("The Deep Linking response has no JWT form field.")
        claims, items, course = _verify_response(config, institution, token)
    except PageError as exc:
        institution.append_record("deep_linking_responses", {"outcome": "refused", "reason": exc.description})
        raise
    placed = [_place(institution, course, item) for item in items]
    links = [link for link, _ in placed]
    line_items = [line_item for _, line_item in placed if line_item is not None]
    institution.append_record(
        "deep_linking_responses",
        {
            "outcome": "ok",
            "context": course.context_id,
            "items": claims.get(v.CLAIM_DL_CONTENT_ITEMS) or [],
            "placed_links": [link.id for link in links],
            "placed_line_items": [item.id for item in line_items],
        },
    )
    return Placement(
        course=course,
        links=links,
        line_items=line_items,
        message=_string_claim(claims, v.CLAIM_DL_MSG),
        error_message=_string_claim(claims, v.CLAIM_DL_ERRORMSG),
    )


def _string_claim(claims: Mapping[str, Any], name: str) -> str | None:
    value = claims.get(name)
    return value if isinstance(value, str) else None

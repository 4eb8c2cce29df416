"""Assignment and Grade Services 2.0: line items, scores and results, kept in memory.

Pure functions over an :class:`Institution`; refusals raise ServiceError. A score
replaces the gradebook's result only when its timestamp is not older than the one
on record (AGS 2.0, section 3.4); every score received is recorded verbatim.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, TypeGuard

from lms_emulator import vocabulary as v
from lms_emulator.errors import ServiceError
from lms_emulator.paging import Page, paginate
from lms_emulator.platform import Course, Institution, LineItem, Result, User

APPLIED = "applied"
IGNORED_OLDER = "ignored: older than the result on record"


def _invalid(description: str) -> ServiceError:
    return ServiceError(400, "invalid_request", description)


def is_number(value: object) -> TypeGuard[int | float]:
    """Tell whether ``value`` is a finite JSON number (not a boolean)."""
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _optional_str(body: Mapping[str, Any], name: str) -> str | None:
    value = body.get(name)
    if value is not None and not isinstance(value, str):
        raise _invalid(f"{name} must be a string")
    return value


def _optional_datetime_str(body: Mapping[str, Any], name: str) -> str | None:
    value = _optional_str(body, name)
    if value is not None:
        parse_timestamp(value, name)
    return value


def parse_timestamp(value: Any, name: str = "timestamp") -> dt.datetime:
    """Parse an ISO 8601 date-time with a UTC offset; ServiceError 400 otherwise."""
    if not isinstance(value, str):
        raise _invalid(f"{name} must be an ISO 8601 string")
    try:
        moment = dt.datetime.fromisoformat(value)
    except ValueError as exc:
        raise _invalid(f"{name} {value!r} is not ISO 8601") from exc
    if moment.tzinfo is None:
        raise _invalid(f"{name} {value!r} needs a UTC offset")
    return moment


def find_course(institution: Institution, context_id: str) -> Course:
    """Return the course or raise ServiceError 404."""
    course = institution.find_course(context_id)
    if course is None:
        raise ServiceError(404, "not_found", f"no course {context_id!r}")
    return course


def find_line_item(course: Course, item_id: str) -> LineItem:
    """Return the line item or raise ServiceError 404."""
    item = course.line_items.get(item_id)
    if item is None:
        raise ServiceError(404, "not_found", f"no line item {item_id!r} in {course.context_id}")
    return item


def line_item_json(institution: Institution, course: Course, item: LineItem) -> dict[str, Any]:
    """Return the AGS JSON of a line item (``application/vnd.ims.lis.v2.lineitem+json``)."""
    body: dict[str, Any] = {
        "id": institution.line_item_url(course, item),
        "label": item.label,
        "scoreMaximum": item.score_maximum,
    }
    optional = {
        "resourceLinkId": item.resource_link_id,
        "resourceId": item.resource_id,
        "tag": item.tag,
        "startDateTime": item.start_date_time,
        "endDateTime": item.end_date_time,
    }
    body.update({name: value for name, value in optional.items() if value is not None})
    return body


def list_line_items(
    institution: Institution, course: Course, args: Mapping[str, str]
) -> Page[dict[str, Any]]:
    """Return the course's line items, filtered by resource_link_id, resource_id and tag."""
    filters: dict[str, Callable[[LineItem], str | None]] = {
        "resource_link_id": lambda item: item.resource_link_id,
        "resource_id": lambda item: item.resource_id,
        "tag": lambda item: item.tag,
    }
    with institution.lock:
        items = list(course.line_items.values())
    for name, attribute in filters.items():
        if name in args:
            items = [item for item in items if attribute(item) == args[name]]
    bodies = [line_item_json(institution, course, item) for item in items]
    return paginate(bodies, args, base_url=institution.line_items_url(course), default_limit=None)


def _read_line_item(course: Course, body: Any) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise _invalid("the body must be a JSON object")
    label = body.get("label")
    if not isinstance(label, str) or not label.strip():
        raise _invalid("label is required and must be a non-empty string")
    maximum = body.get("scoreMaximum")
    if not is_number(maximum) or maximum <= 0:
        raise _invalid("scoreMaximum is required and must be a number greater than 0")
    link_id = _optional_str(body, "resourceLinkId")
    if link_id is not None and course.find_link(link_id) is None:
        raise _invalid(f"resourceLinkId {link_id!r} is not a resource link of this course")
    return {
        "label": label,
        "score_maximum": float(maximum),
        "resource_link_id": link_id,
        "resource_id": _optional_str(body, "resourceId"),
        "tag": _optional_str(body, "tag"),
        "start_date_time": _optional_datetime_str(body, "startDateTime"),
        "end_date_time": _optional_datetime_str(body, "endDateTime"),
    }


def create_line_item(institution: Institution, course: Course, body: Any) -> dict[str, Any]:
    """Create a line item from a tool's POST body; return its JSON."""
    fields = _read_line_item(course, body)
    item = LineItem(id=institution.next_id("lineitem"), **fields)
    institution.add_line_item(course, item)
    return line_item_json(institution, course, item)


def update_line_item(institution: Institution, course: Course, item_id: str, body: Any) -> dict[str, Any]:
    """Replace a line item's fields from a PUT body (its resource link stays); return its JSON."""
    fields = _read_line_item(course, body)
    with institution.lock:
        item = find_line_item(course, item_id)
        item.label = fields["label"]
        item.score_maximum = fields["score_maximum"]
        item.resource_id = fields["resource_id"]
        item.tag = fields["tag"]
        item.start_date_time = fields["start_date_time"]
        item.end_date_time = fields["end_date_time"]
    return line_item_json(institution, course, item)


def delete_line_item(institution: Institution, course: Course, item_id: str) -> None:
    """Remove a line item and its results."""
    with institution.lock:
        find_line_item(course, item_id)
        del course.line_items[item_id]


def _read_score(institution: Institution, course: Course, body: Any) -> Result:
    if not isinstance(body, dict):
        raise _invalid("the body must be a JSON object")
    user_id = body.get("userId")
    if not isinstance(user_id, str) or user_id not in course.member_subs:
        raise _invalid(f"userId {user_id!r} is not a member of {course.context_id}")
    activity = body.get("activityProgress")
    if activity not in v.ACTIVITY_PROGRESS:
        raise _invalid(f"activityProgress must be one of {sorted(v.ACTIVITY_PROGRESS)}")
    grading = body.get("gradingProgress")
    if grading not in v.GRADING_PROGRESS:
        raise _invalid(f"gradingProgress must be one of {sorted(v.GRADING_PROGRESS)}")
    given, maximum = _read_score_values(institution, body)
    return Result(
        user_id=user_id,
        score_given=given,
        score_maximum=maximum,
        comment=_optional_str(body, "comment"),
        activity_progress=str(activity),
        grading_progress=str(grading),
        timestamp=parse_timestamp(body.get("timestamp")),
        received_at=institution.clock(),
    )


def _read_score_values(
    institution: Institution, body: Mapping[str, Any]
) -> tuple[float | None, float | None]:
    given = body.get("scoreGiven")
    maximum = body.get("scoreMaximum")
    if maximum is not None and (not is_number(maximum) or maximum <= 0):
        raise _invalid("scoreMaximum must be a number greater than 0")
    if given is None:
        return None, None if maximum is None else float(maximum)
    if not is_number(given) or given < 0:
        raise _invalid("scoreGiven must be a number, 0 or more")
    if maximum is None:
        raise _invalid("scoreMaximum is required when scoreGiven is present")
    if given > maximum and not institution.allow_extra_credit:
        raise _invalid(f"scoreGiven {given} is greater than scoreMaximum {maximum}")
    return float(given), float(maximum)


def post_score(institution: Institution, course: Course, item_id: str, body: Any) -> str:
    """Record a score; update the gradebook unless an later result is on record.

    Returns APPLIED or IGNORED_OLDER; a refused score raises ServiceError 400/404.
    """
    entry = {"context": course.context_id, "line_item": item_id, "score": body}
    try:
        with institution.lock:
            item = find_line_item(course, item_id)
        result = _read_score(institution, course, body)
    except ServiceError as exc:
        institution.append_record("scores", {**entry, "outcome": f"refused: {exc.description}"})
        raise
    with institution.lock:
        current = item.results.get(result.user_id)
        outcome = IGNORED_OLDER if current and current.timestamp > result.timestamp else APPLIED
        if outcome == APPLIED:
            item.results[result.user_id] = result
        institution.append_record("scores", {**entry, "outcome": outcome})
    return outcome


def result_json(institution: Institution, course: Course, item: LineItem, result: Result) -> dict[str, Any]:
    """Return the AGS JSON of a result, its score scaled to the line item's maximum."""
    item_url = institution.line_item_url(course, item)
    body: dict[str, Any] = {
        "id": f"{item_url}/results/{result.user_id}",
        "scoreOf": item_url,
        "userId": result.user_id,
        "resultMaximum": item.score_maximum,
    }
    if result.score_given is not None and result.score_maximum:
        body["resultScore"] = result.score_given / result.score_maximum * item.score_maximum
    if result.comment is not None:
        body["comment"] = result.comment
    return body


def list_results(
    institution: Institution, course: Course, item_id: str, args: Mapping[str, str]
) -> Page[dict[str, Any]]:
    """Return the line item's results, optionally for one ``user_id``."""
    with institution.lock:
        item = find_line_item(course, item_id)
        results = list(item.results.values())
    if "user_id" in args:
        results = [result for result in results if result.user_id == args["user_id"]]
    bodies = [result_json(institution, course, item, result) for result in results]
    base_url = f"{institution.line_item_url(course, item)}/results"
    return paginate(bodies, args, base_url=base_url, default_limit=None)


@dataclass(frozen=True)
class GradebookRow:
    """One user's row in the gradebook: a result (or None) per line item."""

    user: User
    results: list[Result | None]


def gradebook(institution: Institution, course: Course) -> tuple[list[LineItem], list[GradebookRow]]:
    """Return the gradebook as line items (columns) and a row per course member."""
    with institution.lock:
        items = list(course.line_items.values())
        rows = [
            GradebookRow(user, [item.results.get(user.sub) for item in items])
            for user in institution.course_members(course)
        ]
    return items, rows

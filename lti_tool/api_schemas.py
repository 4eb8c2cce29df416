"""The marshmallow schemas of ``/api/v1``: its query arguments and its JSON, also read by apispec.

Schemas only load and dump: the views give them plain objects and dicts, and no hook queries.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from marshmallow import EXCLUDE, Schema, ValidationError, fields, validate

DEFAULT_PER_PAGE = 100
MAX_PER_PAGE = 1000
MAX_PAGE = 999_999_999
MAX_ID = 2**31 - 1
MAX_DATETIME_TEXT = 64
SUB = "The LMS's own user id (sub) at this platform."


def _describe(text: str, **extra: Any) -> dict[str, Any]:
    return {"description": text, **extra}


class IsoDateTimeArgument(fields.Field[dt.datetime]):
    """An ISO 8601 date or date-time query argument; without an offset it is taken as UTC."""

    default_error_messages = {  # noqa: RUF012 (marshmallow's own class attribute)
        "invalid": "Give an ISO 8601 date or time, e.g. 2026-03-01 or 2026-03-01T12:00:00Z "
                   "(write + in an offset as %2B).",
    }

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> dt.datetime:
        if not isinstance(value, str) or len(value) > MAX_DATETIME_TEXT:
            raise self.make_error("invalid")
        try:
            moment = dt.datetime.fromisoformat(value.strip())
            if moment.tzinfo is None:
                moment = moment.replace(tzinfo=dt.UTC)
            return moment.astimezone(dt.UTC)
        except (ValueError, OverflowError) as exc:
            raise self.make_error("invalid") from exc


def _whole_number(name: str, low: int, high: int, **kwargs: Any) -> fields.Integer:
    message = f"The query parameter {name} must be a whole number from {low} to {high}."
    return fields.Integer(strict=False, validate=validate.Range(low, high, error=message),
                          error_messages={"invalid": message}, **kwargs)


class PagingArgsSchema(Schema):
    """``page`` and ``per_page`` of a collection."""

    class Meta:
        """Other arguments belong to other readers (the dashboard filter)."""

        unknown = EXCLUDE

    page = _whole_number("page", 1, MAX_PAGE, load_default=1,
                         metadata=_describe("The page to return, from 1.", example=1))
    per_page = _whole_number("per_page", 1, MAX_PER_PAGE, load_default=DEFAULT_PER_PAGE,
                             metadata=_describe(f"Items per page, at most {MAX_PER_PAGE}.",
                                                example=DEFAULT_PER_PAGE))


class ProficiencyArgsSchema(PagingArgsSchema):
    """The arguments of ``/api/v1/proficiency``."""

    context = _whole_number("context", 1, MAX_ID, load_default=None, metadata=_describe(
        "Only the learners of this course (an id from /api/v1/contexts)."))
    updated_since = IsoDateTimeArgument(load_default=None, metadata=_describe(
        "Only rows changed at or after this time (ISO 8601; UTC if no offset is given).",
        type="string", format="date-time"))


class CourseFilterArgsSchema(Schema):
    """The course dashboard's filter, as query arguments (checked by ``lti_tool.cohorts.read_filter``)."""

    class Meta:
        """Other arguments belong to other readers (the dashboard filter)."""

        unknown = EXCLUDE

    unit = fields.String(metadata=_describe("Only this unit's progress and competencies (a unit id)."))
    competency = fields.String(metadata=_describe("Only this competency (an idnumber)."))
    level = fields.Integer(metadata=_describe(
        "Only learners at this level in a shown competency (0: no level yet)."))
    institution = fields.Integer(metadata=_describe("Only learners of this platform (institution) id."))
    group = fields.String(metadata=_describe("Only learners in this group (case-insensitive)."))
    q = fields.String(metadata=_describe("Only learners whose name contains this text."))
    sort = fields.String(metadata=_describe(
        "name (default), last (last activity), progress, or a competency idnumber."))
    desc = fields.String(metadata=_describe("1 to sort in descending order."))


class ErrorSchema(Schema):
    """A refusal: what went wrong and what to do."""

    error = fields.String(required=True, metadata=_describe("The HTTP status's name.", example="Bad Request"))
    message = fields.String(required=True, metadata=_describe("What is wrong, for a person to act on."))
    hint = fields.String(allow_none=True, metadata=_describe("What to try next, if anything."))


class CaseReferenceSchema(Schema):
    """A node's (or the framework's) place in the CASE package of ``l2i framework export --format case``."""

    identifier = fields.String(required=True, metadata=_describe("The CASE identifier (a UUID)."))
    uri = fields.String(required=True, metadata=_describe("The CASE URI."))


class ScaleLevelSchema(Schema):
    """One level of the proficiency scale."""

    level = fields.Integer(required=True, metadata=_describe("The level's number, from 1 (lowest)."))
    name = fields.String(required=True)
    descriptor = fields.String(required=True)


class ScaleSchema(Schema):
    """The framework's proficiency scale."""

    name = fields.String(required=True)
    proficient_level = fields.Integer(required=True, metadata=_describe("The expected standard."))
    levels = fields.List(fields.Nested(ScaleLevelSchema), required=True)


class FrameworkNodeSchema(Schema):
    """A domain or a competency of the framework."""

    idnumber = fields.String(required=True, metadata=_describe("The stable id, e.g. L2I-C3.1."))
    kind = fields.String(required=True, metadata=_describe("domain or competency."))
    shortname = fields.String(required=True)
    description = fields.String(required=True)
    parent = fields.String(allow_none=True, metadata=_describe("The parent's idnumber (none for a domain)."))
    sortorder = fields.Integer(required=True, metadata=_describe("Position among its siblings, from 1."))
    case = fields.Nested(CaseReferenceSchema, allow_none=True)


class FrameworkSchema(Schema):
    """The competency framework: its scale, domains and competencies."""

    idnumber = fields.String(required=True)
    version = fields.String(required=True)
    shortname = fields.String(required=True)
    case = fields.Nested(CaseReferenceSchema, allow_none=True)
    scale = fields.Nested(ScaleSchema, required=True)
    domains = fields.List(fields.Nested(FrameworkNodeSchema), required=True)
    competencies = fields.List(fields.Nested(FrameworkNodeSchema), required=True)


class PageSchema(Schema):
    """The envelope of one page of a collection."""

    page = fields.Integer(required=True)
    per_page = fields.Integer(required=True)
    total = fields.Integer(required=True, metadata=_describe("Items in the whole (filtered) collection."))
    next = fields.String(required=True, allow_none=True,
                         metadata=_describe("The next page's URL (none on the last page)."))


class ContextSchema(Schema):
    """One course of the platform."""

    id = fields.Integer(required=True, metadata=_describe("The tool's id, for /api/v1/contexts/{id}/..."))
    lms_context_id = fields.String(required=True, metadata=_describe("The LMS's own context id."))
    title = fields.String(allow_none=True)
    label = fields.String(allow_none=True)
    learners = fields.Integer(required=True, metadata=_describe("Members whose LMS roles include Learner."))


class ContextPageSchema(PageSchema):
    """One page of the platform's courses."""

    items = fields.List(fields.Nested(ContextSchema), required=True)


class UnitProgressSchema(Schema):
    """A learner's progress in one unit, as the trainer dashboard shows it."""

    percent = fields.Integer(required=True, metadata=_describe("0 to 100."))
    state = fields.String(required=True, metadata=_describe("not-started, in-progress or complete."))


class StandingSchema(Schema):
    """A learner's standing in one competency (level and score are none before any evidence)."""

    level = fields.Integer(required=True, allow_none=True, metadata=_describe("The level on the scale."))
    score = fields.Float(required=True, allow_none=True, metadata=_describe("The evidence's score, 0..1."))
    overridden = fields.Boolean(required=True, metadata=_describe("Whether a trainer set the level."))


class LearnerSchema(Schema):
    """One learner's line of the course dashboard."""

    user_id = fields.String(required=True, metadata=_describe(SUB))
    name = fields.String(required=True)
    group = fields.String(allow_none=True)
    institution = fields.String(required=True)
    last_activity = fields.DateTime(format="iso", allow_none=True, metadata=_describe("ISO 8601, UTC."))
    progress = fields.Dict(keys=fields.String(), values=fields.Nested(UnitProgressSchema), required=True,
                           metadata=_describe("By unit id."))
    competencies = fields.Dict(keys=fields.String(), values=fields.Nested(StandingSchema), required=True,
                               metadata=_describe("By competency idnumber."))


class LearnerPageSchema(PageSchema):
    """One page of a course's learners, filtered and sorted like the dashboard."""

    items = fields.List(fields.Nested(LearnerSchema), required=True)


class CompetencySummarySchema(Schema):
    """How the shown learners stand in one competency."""

    competency_id = fields.String(required=True)
    levels = fields.List(fields.Integer(), required=True, metadata=_describe(
        "Learners per level: index 0 is no level yet, index n is level n."))
    proficient_share = fields.Float(required=True, metadata=_describe(
        "Share of shown learners at or above the proficient level, 0..1."))


class UnitFunnelSchema(Schema):
    """How far the shown learners got in one unit."""

    unit_id = fields.String(required=True)
    in_course = fields.Integer(required=True)
    started = fields.Integer(required=True)
    handed_in = fields.Integer(required=True, metadata=_describe("Handed in at least one activity."))
    completed = fields.Integer(required=True)


class TrendPointSchema(Schema):
    """Proficiencies reached by the end of one week (cumulative)."""

    week = fields.Date(required=True, metadata=_describe("The Monday the week starts on."))
    reached = fields.Integer(required=True)


class CourseSummarySchema(Schema):
    """The course dashboard's aggregates."""

    context_id = fields.Integer(required=True)
    learners_shown = fields.Integer(required=True, metadata=_describe("Learners matching the filter."))
    learners_total = fields.Integer(required=True, metadata=_describe("All learners of the course."))
    proficient_level = fields.Integer(required=True)
    competencies = fields.List(fields.Nested(CompetencySummarySchema), required=True)
    units = fields.List(fields.Nested(UnitFunnelSchema), required=True)
    trend = fields.List(fields.Nested(TrendPointSchema), required=True)


class ProficiencySchema(Schema):
    """One learner's current standing in one competency."""

    user_id = fields.String(required=True, metadata=_describe(SUB))
    competency_id = fields.String(required=True)
    level = fields.Integer(required=True, allow_none=True)
    score = fields.Float(required=True, allow_none=True)
    overridden = fields.Boolean(required=True)
    sources = fields.Integer(required=True, metadata=_describe("Pieces of evidence behind it."))
    updated_at = fields.DateTime(format="iso", required=True, metadata=_describe("ISO 8601, UTC."))


class ProficiencyPageSchema(PageSchema):
    """One page of the platform's proficiency rows, ordered by learner then competency."""

    items = fields.List(fields.Nested(ProficiencySchema), required=True)


def load_args(schema: Schema, args: Any) -> dict[str, Any]:
    """Load query arguments; :class:`ArgumentError` names the first wrong one and says what it needs."""
    try:
        loaded: dict[str, Any] = schema.load(args)
    except ValidationError as exc:
        messages = exc.messages if isinstance(exc.messages, dict) else {"_schema": exc.messages}
        name = sorted(messages)[0]
        problem = messages[name]
        text = str(problem[0] if isinstance(problem, list) and problem else problem)
        if name not in text:
            text = f"The query parameter {name}: {text}"
        raise ArgumentError(name, text) from exc
    return loaded


class ArgumentError(ValueError):
    """A query argument that is not valid; ``name`` is the argument, ``message`` what it needs."""

    def __init__(self, name: str, message: str) -> None:
        super().__init__(message)
        self.name = name
        self.message = message

"""Marshmallow schemas for ``unit.yaml`` and ``activities/<id>.yaml`` (see docs/content-format.md).

The schemas check one file at a time: types, required fields, language maps, ids unique within the
file, quiz and rubric rules. Checks that need several files (ids unique across the programme, page
files, known competency ids) are the loader's. Loading an activity gives a ``dict`` of the
activity's fields, with its nested parts already built as ``course_units.content`` values.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Iterable, Mapping
from typing import Any

from marshmallow import Schema, ValidationError, fields, post_load, validate, validates_schema

from course_units.content import (
    ACTIVITY_KINDS,
    ITEM_TYPES,
    PAGE_KINDS,
    RUBRIC_SCORES,
    CanvasSection,
    CompetencyWeight,
    CompletionRule,
    Option,
    Pair,
    QuizItem,
    RubricCriterion,
    RubricLevel,
    Step,
)

LOCALE_PATTERN = re.compile(r"^[a-z]{2,3}(-[A-Z]{2}|-[A-Za-z][a-z]{3})?$")
ID_PATTERN = r"^[a-z0-9][a-z0-9-]{0,63}$"
COMPETENCY_ID_PATTERN = r"^[A-Z0-9][A-Za-z0-9.-]{0,63}$"
PAGE_FILE_PATTERN = r"^pages/[a-z0-9][a-z0-9-]{0,99}$"
MAX_TEXT_CHARS = 20_000

MIN_QUIZ_ITEMS = 6
MIN_OPTIONS, MAX_OPTIONS = 3, 6
MIN_PAIRS, MAX_PAIRS = 3, 8
MIN_STEPS, MAX_STEPS = 3, 8
CANVAS_SECTION_IDS = ("problem", "target-group", "members", "stakeholders", "methods", "evaluation")


# ---------------------------------------------------------------------------------------------
# Fields that refuse what YAML would silently coerce (a quoted "20" for a number, "yes" for true).


class StrictInteger(fields.Integer):
    """An integer written as a YAML integer: no strings, floats or booleans."""

    default_error_messages = {"invalid": "Not a whole number: write it without quotes, like 20."}  # noqa: RUF012

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(strict=True, **kwargs)

    def _validated(self, value: Any) -> int:
        if isinstance(value, bool):
            raise self.make_error("invalid", input=value)
        return super()._validated(value)


class StrictFloat(fields.Float):
    """A finite number written as a YAML number (``1`` or ``0.5``): no strings or booleans."""

    default_error_messages = {"invalid": "Not a number: write it without quotes, like 0.5."}  # noqa: RUF012

    def _validated(self, value: Any) -> float:
        if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
            raise self.make_error("invalid", input=value)
        return float(value)


class StrictBoolean(fields.Boolean):
    """``true`` or ``false`` as YAML booleans: no ``"yes"``, ``1`` or ``"true"`` strings."""

    default_error_messages = {"invalid": "Not true or false (without quotes)."}  # noqa: RUF012

    def _deserialize(
        self, value: Any, attr: str | None, data: Mapping[str, Any] | None, **kwargs: Any
    ) -> bool:
        if not isinstance(value, bool):
            raise self.make_error("invalid", input=value)
        return value


class LangMapField(fields.Field[dict[str, str]]):
    """A language map: ``{en: "...", sv: "..."}`` with ``en`` required and no empty text."""

    default_error_messages = {  # noqa: RUF012 (marshmallow's own class attribute)
        "invalid": 'Not a language map: write {{en: "..."}} with one text per locale.',
        "no_english": "The English text (en) is required.",
        "bad_locale": "Not a locale: {locale!r} (use codes like en, sv, sl, pt-BR).",
        "empty": "The {locale} text must be a non-empty string.",
        "too_long": "The {locale} text is longer than {limit} characters.",
    }

    def _deserialize(
        self, value: Any, attr: str | None, data: Mapping[str, Any] | None, **kwargs: Any
    ) -> dict[str, str]:
        if not isinstance(value, Mapping):
            raise self.make_error("invalid")
        for locale, text in value.items():
            self._check_entry(locale, text)
        if "en" not in value:
            raise self.make_error("no_english")
        return {str(k): str(v) for k, v in value.items()}

    def _check_entry(self, locale: Any, text: Any) -> None:
        if not isinstance(locale, str) or not LOCALE_PATTERN.match(locale):
            raise self.make_error("bad_locale", locale=locale)
        if not isinstance(text, str) or not text.strip():
            raise self.make_error("empty", locale=locale)
        if len(text) > MAX_TEXT_CHARS:
            raise self.make_error("too_long", locale=locale, limit=MAX_TEXT_CHARS)


def _id(**kwargs: Any) -> fields.String:
    return fields.String(
        validate=validate.Regexp(ID_PATTERN, error="Not an id: use lower-case letters, digits and '-'."),
        **kwargs,
    )


def _competency_id(**kwargs: Any) -> fields.String:
    return fields.String(
        validate=validate.Regexp(COMPETENCY_ID_PATTERN, error="Not a competency id (like L2I-C1.1)."),
        **kwargs,
    )


def _text(**kwargs: Any) -> LangMapField:
    return LangMapField(required=True, **kwargs)


def _duplicates(ids: Iterable[str]) -> list[str]:
    return sorted(i for i, n in Counter(ids).items() if n > 1)


def _check_unique(ids: Iterable[str], what: str, field_name: str) -> None:
    duplicates = _duplicates(ids)
    if duplicates:
        raise ValidationError(f"duplicate {what} id(s): {', '.join(duplicates)}", field_name=field_name)


def _tuples(data: dict[str, Any]) -> dict[str, Any]:
    return {k: tuple(v) if isinstance(v, list) else v for k, v in data.items()}


# ---------------------------------------------------------------------------------------------
# Parts shared by activities.


class CompetencyWeightSchema(Schema):
    """``{id: L2I-C1.1, weight: 0.5}``: a competency the activity gives evidence for."""

    id = _competency_id(required=True)
    weight = StrictFloat(
        required=True,
        validate=validate.Range(min=0, max=1, min_inclusive=False, error="must be > 0 and <= 1"),
    )

    @post_load
    def make(self, data: dict[str, Any], **kwargs: Any) -> CompetencyWeight:
        """Build the value."""
        return CompetencyWeight(**data)


class OptionSchema(Schema):
    """An option of a single- or multiple-choice item, with its explanation."""

    id = _id(required=True)
    text = _text()
    correct = StrictBoolean(required=True)
    explanation = _text()

    @post_load
    def make(self, data: dict[str, Any], **kwargs: Any) -> Option:
        """Build the value."""
        return Option(**data)


class PairSchema(Schema):
    """A pair of a matching item, with its explanation."""

    id = _id(required=True)
    left = _text()
    right = _text()
    explanation = _text()

    @post_load
    def make(self, data: dict[str, Any], **kwargs: Any) -> Pair:
        """Build the value."""
        return Pair(**data)


class StepSchema(Schema):
    """A step of an ordering item."""

    id = _id(required=True)
    text = _text()

    @post_load
    def make(self, data: dict[str, Any], **kwargs: Any) -> Step:
        """Build the value."""
        return Step(**data)


class QuizItemSchema(Schema):
    """A quiz item: ``single``, ``multiple``, ``matching`` or ``ordering``."""

    id = _id(required=True)
    type = fields.String(required=True, validate=validate.OneOf(ITEM_TYPES))
    prompt = _text()
    competencies = fields.List(_competency_id(), load_default=list)
    options = fields.List(fields.Nested(OptionSchema), load_default=list)
    pairs = fields.List(fields.Nested(PairSchema), load_default=list)
    steps = fields.List(fields.Nested(StepSchema), load_default=list)
    explanation = LangMapField(load_default=None)

    @validates_schema
    def check_parts(self, data: dict[str, Any], **kwargs: Any) -> None:
        """Check that the item has the parts its type needs, and only those."""
        kind = data["type"]
        needed = {"single": "options", "multiple": "options", "matching": "pairs", "ordering": "steps"}[kind]
        for part in ("options", "pairs", "steps"):
            if part != needed and data[part]:
                raise ValidationError(f"a {kind} item has no {part} (it has {needed})", field_name=part)
        _check_unique(data["competencies"], "competency", "competencies")
        _ITEM_CHECKS[kind](data)

    @post_load
    def make(self, data: dict[str, Any], **kwargs: Any) -> QuizItem:
        """Build the value."""
        return QuizItem(**_tuples(data))


def _check_choice(data: dict[str, Any]) -> None:
    options: list[Option] = data["options"]
    if not MIN_OPTIONS <= len(options) <= MAX_OPTIONS:
        raise ValidationError(
            f"a {data['type']}-choice item needs {MIN_OPTIONS} to {MAX_OPTIONS} options, not {len(options)}",
            field_name="options",
        )
    _check_unique((o.id for o in options), "option", "options")
    correct = sum(o.correct for o in options)
    if data["type"] == "single" and correct != 1:
        raise ValidationError(
            f"a single-choice item needs exactly one correct option, not {correct}", field_name="options"
        )
    if data["type"] == "multiple" and not 1 <= correct < len(options):
        raise ValidationError(
            f"a multiple-choice item needs at least one correct and one wrong option ({correct} of "
            f"{len(options)} are correct)",
            field_name="options",
        )


def _check_pairs(data: dict[str, Any]) -> None:
    pairs: list[Pair] = data["pairs"]
    if not MIN_PAIRS <= len(pairs) <= MAX_PAIRS:
        raise ValidationError(
            f"a matching item needs {MIN_PAIRS} to {MAX_PAIRS} pairs, not {len(pairs)}", field_name="pairs"
        )
    _check_unique((p.id for p in pairs), "pair", "pairs")
    same = _duplicates(p.right["en"] for p in pairs)
    if same:
        raise ValidationError(f"two pairs have the same right-hand text: {same[0]!r}", field_name="pairs")


def _check_steps(data: dict[str, Any]) -> None:
    steps: list[Step] = data["steps"]
    if not MIN_STEPS <= len(steps) <= MAX_STEPS:
        raise ValidationError(
            f"an ordering item needs {MIN_STEPS} to {MAX_STEPS} steps, not {len(steps)}", field_name="steps"
        )
    _check_unique((s.id for s in steps), "step", "steps")
    if data["explanation"] is None:
        raise ValidationError("an ordering item needs an explanation of the order", field_name="explanation")


_ITEM_CHECKS = {
    "single": _check_choice,
    "multiple": _check_choice,
    "matching": _check_pairs,
    "ordering": _check_steps,
}


class RubricLevelSchema(Schema):
    """``{score: 0..3, descriptor: {en: ...}}``."""

    score = StrictInteger(required=True, validate=validate.OneOf(RUBRIC_SCORES))
    descriptor = _text()

    @post_load
    def make(self, data: dict[str, Any], **kwargs: Any) -> RubricLevel:
        """Build the value."""
        return RubricLevel(**data)


class RubricCriterionSchema(Schema):
    """A rubric criterion with exactly four levels scored 0, 1, 2, 3 in that order."""

    id = _id(required=True)
    criterion = _text()
    levels = fields.List(fields.Nested(RubricLevelSchema), required=True)
    competencies = fields.List(_competency_id(), load_default=list)

    @validates_schema
    def check_levels(self, data: dict[str, Any], **kwargs: Any) -> None:
        """Check the four levels, lowest first."""
        scores = tuple(level.score for level in data["levels"])
        if scores != RUBRIC_SCORES:
            raise ValidationError(
                f"a criterion needs exactly 4 levels scored 0, 1, 2, 3 in that order, not {list(scores)}",
                field_name="levels",
            )
        _check_unique(data["competencies"], "competency", "competencies")

    @post_load
    def make(self, data: dict[str, Any], **kwargs: Any) -> RubricCriterion:
        """Build the value."""
        return RubricCriterion(**_tuples(data))


class CanvasSectionSchema(Schema):
    """A free-text section of a lab canvas."""

    id = _id(required=True)
    title = _text()
    guidance = _text()
    min_words = StrictInteger(required=True, validate=validate.Range(min=0, max=2000))

    @post_load
    def make(self, data: dict[str, Any], **kwargs: Any) -> CanvasSection:
        """Build the value."""
        return CanvasSection(**data)


# ---------------------------------------------------------------------------------------------
# Activities: common fields, then one schema per kind.


class ActivitySchema(Schema):
    """The fields every activity has. ``schema_for_kind`` picks the schema for a file's ``kind``."""

    id = _id(required=True)
    kind = fields.String(required=True, validate=validate.OneOf(ACTIVITY_KINDS))
    version = StrictInteger(required=True, validate=validate.Range(min=1))
    title = _text()
    instructions = _text()
    max_attempts = StrictInteger(required=True, validate=validate.Range(min=0, max=100))
    competencies = fields.List(
        fields.Nested(CompetencyWeightSchema), required=True, validate=validate.Length(min=1)
    )

    @validates_schema
    def check_competencies(self, data: dict[str, Any], **kwargs: Any) -> None:
        """Check that each competency is listed once."""
        _check_unique((c.id for c in data["competencies"]), "competency", "competencies")

    @post_load
    def make(self, data: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
        """Return the activity's fields, with tuples for lists (``Activity`` takes them, plus unit_id)."""
        return _tuples(data)


def _check_narrowing(data: dict[str, Any], parts: str, what: str) -> None:
    """Check that each part narrows to the activity's competencies, and each competency has a part."""
    declared = [c.id for c in data["competencies"]]
    errors: dict[int, dict[str, list[str]]] = {}
    for index, part in enumerate(data[parts]):
        extra = [c for c in part.competencies if c not in declared]
        if extra:
            message = f"{', '.join(extra)} not among the activity's competencies ({', '.join(declared)})"
            errors[index] = {"competencies": [message]}
    if errors:
        raise ValidationError({parts: errors})
    uncovered = [c for c in declared if not any(p.counts_for(c) for p in data[parts])]
    if uncovered:
        raise ValidationError(
            f"no {what} gives evidence for {', '.join(uncovered)}: narrow one to it or drop it",
            field_name="competencies",
        )


class QuizSchema(ActivitySchema):
    """``kind: quiz``: at least 6 items mixing single, multiple and matching or ordering."""

    pass_score = StrictFloat(
        required=True,
        validate=validate.Range(min=0, max=1, min_inclusive=False, error="must be > 0 and <= 1"),
    )
    items = fields.List(fields.Nested(QuizItemSchema), required=True)

    @validates_schema
    def check_items(self, data: dict[str, Any], **kwargs: Any) -> None:
        """Check the number and mix of items, their ids and their competencies."""
        items: list[QuizItem] = data["items"]
        if len(items) < MIN_QUIZ_ITEMS:
            raise ValidationError(
                f"a quiz needs at least {MIN_QUIZ_ITEMS} items, not {len(items)}", field_name="items"
            )
        types = {item.type for item in items}
        missing = [t for t in ("single", "multiple") if t not in types]
        if not types & {"matching", "ordering"}:
            missing.append("matching or ordering")
        if missing:
            raise ValidationError(
                f"a quiz needs at least one {' and one '.join(missing)} item", field_name="items"
            )
        _check_unique((item.id for item in items), "item", "items")
        _check_narrowing(data, "items", "item")


class _RubricMixin(Schema):
    rubric = fields.List(fields.Nested(RubricCriterionSchema), required=True, validate=validate.Length(min=1))

    @validates_schema
    def check_rubric(self, data: dict[str, Any], **kwargs: Any) -> None:
        """Check the criteria's ids and competencies."""
        _check_unique((c.id for c in data["rubric"]), "criterion", "rubric")
        _check_narrowing(data, "rubric", "rubric criterion")


class ReflectionSchema(ActivitySchema, _RubricMixin):
    """``kind: reflection``: a written answer to a prompt, assessed against a rubric."""

    prompt = _text()
    min_words = StrictInteger(required=True, validate=validate.Range(min=1, max=5000))
    max_words = StrictInteger(required=True, validate=validate.Range(min=1, max=5000))

    @validates_schema
    def check_words(self, data: dict[str, Any], **kwargs: Any) -> None:
        """Check that ``min_words`` < ``max_words``."""
        if data["min_words"] >= data["max_words"]:
            raise ValidationError("max_words must be greater than min_words", field_name="max_words")


class LabCanvasSchema(ActivitySchema, _RubricMixin):
    """``kind: lab-canvas``: the six sections of a lab plan, assessed against a rubric."""

    sections = fields.List(fields.Nested(CanvasSectionSchema), required=True)

    @validates_schema
    def check_sections(self, data: dict[str, Any], **kwargs: Any) -> None:
        """Check that the six documented sections are all there, once each."""
        ids = [s.id for s in data["sections"]]
        _check_unique(ids, "section", "sections")
        missing = [i for i in CANVAS_SECTION_IDS if i not in ids]
        if missing:
            raise ValidationError(
                f"missing lab-canvas section(s): {', '.join(missing)}", field_name="sections"
            )


ACTIVITY_SCHEMAS: dict[str, type[ActivitySchema]] = {
    "quiz": QuizSchema,
    "reflection": ReflectionSchema,
    "lab-canvas": LabCanvasSchema,
}


def schema_for_kind(kind: object) -> ActivitySchema:
    """Return the schema for an activity of ``kind``; an unknown kind gets the common fields only.

    With an unknown or missing kind, the common fields are still checked (and ``kind`` is
    reported), while the kind-specific fields are ignored until the kind is fixed.
    """
    schema_class = ACTIVITY_SCHEMAS.get(kind) if isinstance(kind, str) else None
    return schema_class() if schema_class else ActivitySchema(unknown="exclude")


# ---------------------------------------------------------------------------------------------
# unit.yaml


class PageRefSchema(Schema):
    """An entry of ``pages:`` in ``unit.yaml``."""

    id = _id(required=True)
    file = fields.String(
        required=True,
        validate=validate.Regexp(
            PAGE_FILE_PATTERN, error="Not a page file: write pages/<name> (no locale, no .md)."
        ),
    )
    title = _text()
    minutes = StrictInteger(required=True, validate=validate.Range(min=1, max=120))
    kind = fields.String(required=True, validate=validate.OneOf(PAGE_KINDS))


class CompletionSchema(Schema):
    """The unit's completion rule."""

    all_activities = StrictBoolean(required=True)
    min_quiz_score = StrictFloat(load_default=None, allow_none=True, validate=validate.Range(min=0, max=1))

    @post_load
    def make(self, data: dict[str, Any], **kwargs: Any) -> CompletionRule:
        """Build the value."""
        return CompletionRule(**data)


class UnitSchema(Schema):
    """``unit.yaml``: the unit's ids, texts, pages, activity ids and completion rule."""

    id = _id(required=True)
    order = StrictInteger(required=True, validate=validate.Range(min=1, max=5))
    version = StrictInteger(required=True, validate=validate.Range(min=1))
    title = _text()
    summary = _text()
    estimated_minutes = StrictInteger(required=True, validate=validate.Range(min=90, max=180))
    objectives = fields.List(LangMapField(), required=True, validate=validate.Length(min=3, max=6))
    pages = fields.List(fields.Nested(PageRefSchema), required=True, validate=validate.Length(min=1))
    activities = fields.List(_id(), required=True, validate=validate.Length(min=1))
    completion = fields.Nested(CompletionSchema, required=True)

    @validates_schema
    def check_ids(self, data: dict[str, Any], **kwargs: Any) -> None:
        """Check that pages, page files and activities are listed once each."""
        _check_unique((p["id"] for p in data["pages"]), "page", "pages")
        files = _duplicates(p["file"] for p in data["pages"])
        if files:
            raise ValidationError(f"page file(s) listed twice: {', '.join(files)}", field_name="pages")
        _check_unique(data["activities"], "activity", "activities")

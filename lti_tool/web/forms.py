"""Reading the learner's and trainer's HTML forms into the shapes the domain functions take.

Field names: a quiz item is ``item-<id>`` (single: one value, multiple: several), a matching pair
is ``item-<id>-<pair id>`` (the chosen pair id), an ordering step is ``item-<id>-<step id>`` (its
position, 1..n). A reflection is ``answer``; a lab-canvas section is ``section-<id>``. A rubric
criterion is ``criterion-<id>`` (0..3). Anything that does not fit raises AnswerError.
"""

from __future__ import annotations

from typing import Any

from werkzeug.datastructures import MultiDict

from course_units.content import Activity, QuizItem
from course_units.i18n import N_, Count, Message
from course_units.scoring import AnswerError

MAX_FIELD_CHARS = 50_000


def _text(form: MultiDict[str, str], name: str) -> str:
    value = form.get(name, "")
    if len(value) > MAX_FIELD_CHARS:
        raise AnswerError(Message(N_("One of your answers is %(chars)s characters long; the limit is "
                                     "%(limit)s. Shorten it and submit again."),
                                  chars=Count(len(value)), limit=Count(MAX_FIELD_CHARS)))
    return value


def _ordering_answer(item: QuizItem, form: MultiDict[str, str]) -> list[str] | None:
    positions: dict[str, int] = {}
    for step in item.steps:
        raw = form.get(f"item-{item.id}-{step.id}", "")
        if not raw:
            return None
        try:
            positions[step.id] = int(raw)
        except ValueError:
            raise AnswerError(Message(N_("Give each step a position number."))) from None
    if sorted(positions.values()) != list(range(1, len(item.steps) + 1)):
        raise AnswerError(Message(N_("Give each step a different position, from 1 to %(n)s, "
                                     "in question %(item)s."), n=len(item.steps), item=item.id))
    return sorted(positions, key=positions.__getitem__)


def _item_answer(item: QuizItem, form: MultiDict[str, str]) -> Any:
    name = f"item-{item.id}"
    if item.type == "single":
        return _text(form, name) or None
    if item.type == "multiple":
        return [v for v in form.getlist(name) if v] or None
    if item.type == "matching":
        chosen = {p.id: _text(form, f"{name}-{p.id}") for p in item.pairs}
        return {k: v for k, v in chosen.items() if v} or None
    return _ordering_answer(item, form)


def read_quiz_form(activity: Activity, form: MultiDict[str, str]) -> dict[str, Any]:
    """Return the quiz answers in the form (unanswered items left out)."""
    answers = {item.id: _item_answer(item, form) for item in activity.items}
    return {k: v for k, v in answers.items() if v is not None}


def read_open_form(activity: Activity, form: MultiDict[str, str]) -> Any:
    """Return a reflection's text, or a lab canvas's sections by id."""
    if activity.kind == "lab-canvas":
        return {section.id: _text(form, f"section-{section.id}") for section in activity.sections}
    return _text(form, "answer")


def read_rubric_form(activity: Activity, form: MultiDict[str, str]) -> dict[str, int]:
    """Return the trainer's rating (0..3) per rubric criterion."""
    ratings: dict[str, int] = {}
    for criterion in activity.rubric:
        raw = form.get(f"criterion-{criterion.id}", "")
        if not raw.isdigit():
            raise AnswerError(Message(N_("Choose a level for every criterion of the rubric before saving.")))
        ratings[criterion.id] = int(raw)
    return ratings

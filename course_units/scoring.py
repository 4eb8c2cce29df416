"""Scoring quizzes and rubrics, and checking open answers: pure functions, run on the server.

The browser never scores anything: it sends the learner's choices, these functions check that they
fit the activity (``AnswerError`` otherwise, with a message a person can act on) and score them.
The scoring rules are documented in docs/content-format.md (section ``kind: quiz``).
"""

from __future__ import annotations

import hashlib
import itertools
import random
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from course_units.content import MAX_RUBRIC_LEVEL, Activity, Pair, QuizItem, Step, count_words
from course_units.i18n import N_, Count, Message, ReadableError
from course_units.text import localise

__all__ = [
    "MAX_ANSWER_CHARS",
    "AnswerError",
    "ItemResult",
    "QuizResult",
    "RubricResult",
    "check_open_answer",
    "count_words",
    "score_quiz",
    "score_rubric",
    "shuffled_pairs",
    "shuffled_steps",
]

MAX_ANSWER_CHARS = 50_000
MAX_ID_CHARS = 64
_EPSILON = 1e-9

T = TypeVar("T")


class AnswerError(ReadableError):
    """The answers don't fit the activity (unknown ids, wrong shape, too long); the message says how."""


@dataclass(frozen=True)
class ItemResult:
    """The score of one quiz item: ``score`` from 0 to 1, ``correct`` when it is 1."""

    item_id: str
    score: float
    correct: bool
    chosen: Any


@dataclass(frozen=True)
class QuizResult:
    """A scored quiz: the mean item score, each item's result and the score per competency."""

    score: float
    items: tuple[ItemResult, ...]
    competency_scores: dict[str, float]
    passed: bool


@dataclass(frozen=True)
class RubricResult:
    """A rated rubric: the score (0..1), each criterion's rating and the score per competency."""

    score: float
    criteria: dict[str, int]
    competency_scores: dict[str, float]


# ---------------------------------------------------------------------------------------------
# Quizzes


def score_quiz(activity: Activity, answers: Mapping[str, Any]) -> QuizResult:
    """Score ``answers`` (item id -> answer) to a quiz; a missing or ``None`` answer scores 0.

    Answer shapes: single ``"a"``; multiple ``["a", "c"]``; matching ``{"p1": "p1", "p2": "p3"}``
    (left pair id -> the pair id whose right side was chosen); ordering ``["s2", "s1", "s3"]``.
    Raises ``AnswerError`` for anything that does not fit the quiz.
    """
    if activity.kind != "quiz":
        raise AnswerError(Message(N_("%(activity)s is not a quiz; it is assessed by a trainer."),
                                  activity=activity.id))
    if not isinstance(answers, Mapping):
        raise AnswerError(Message(N_("The answers must be given per question.")))
    _check_item_ids(activity, answers)
    results = tuple(_score_item(item, answers.get(item.id)) for item in activity.items)
    score = _mean([r.score for r in results])
    scores = {r.item_id: r.score for r in results}
    competency_scores = {
        c.id: _mean([scores[i.id] for i in activity.items if i.counts_for(c.id)])
        for c in activity.competencies
        if any(i.counts_for(c.id) for i in activity.items)
    }
    passed = score + _EPSILON >= (activity.pass_score or 0.0)
    return QuizResult(score=score, items=results, competency_scores=competency_scores, passed=passed)


def _check_item_ids(activity: Activity, answers: Mapping[Any, Any]) -> None:
    if len(answers) > len(activity.items):
        raise AnswerError(Message(N_("There are %(questions)s questions but %(answers)s answers."),
                                  questions=len(activity.items), answers=len(answers)))
    known = {item.id for item in activity.items}
    for key in answers:
        if not isinstance(key, str) or key not in known:
            raise AnswerError(Message(N_("There is no question %(id)s in this quiz."), id=_shown(key)))


def _score_item(item: QuizItem, answer: Any) -> ItemResult:
    if answer is None:
        return ItemResult(item.id, 0.0, False, None)
    scorer = _SCORERS[item.type]
    chosen, score = scorer(item, answer)
    return ItemResult(item.id, score, score >= 1.0 - _EPSILON, chosen)


def _score_single(item: QuizItem, answer: Any) -> tuple[str, float]:
    choice = _known_id(answer, [o.id for o in item.options], item, _OPTION)
    option = item.option(choice)
    return choice, 1.0 if option is not None and option.correct else 0.0


def _score_multiple(item: QuizItem, answer: Any) -> tuple[list[str], float]:
    """Score right choices minus wrong choices, each as a share of its kind, floored at 0."""
    chosen = _distinct_ids(answer, [o.id for o in item.options], item, _OPTION)
    right = [o for o in item.options if o.correct]
    wrong = [o for o in item.options if not o.correct]
    hits = sum(1 for o in right if o.id in chosen) / len(right) if right else 0.0
    misses = sum(1 for o in wrong if o.id in chosen) / len(wrong) if wrong else 0.0
    return chosen, max(0.0, hits - misses)


def _score_matching(item: QuizItem, answer: Any) -> tuple[dict[str, str], float]:
    """Score the share of pairs whose left side was matched to its own right side."""
    ids = [p.id for p in item.pairs]
    if not isinstance(answer, Mapping) or len(answer) > len(ids):
        raise AnswerError(Message(N_("Question %(item)s: match each item on the left to one on the right."),
                                  item=item.id))
    chosen: dict[str, str] = {}
    for left, right in answer.items():
        left_id = _known_id(left, ids, item, _LEFT)
        if right is not None and right != "":
            chosen[left_id] = _known_id(right, ids, item, _RIGHT)
    return chosen, sum(1 for left, right in chosen.items() if left == right) / len(ids)


def _score_ordering(item: QuizItem, answer: Any) -> tuple[list[str], float]:
    """Score the share of the correct 'A directly before B' links that the answer keeps."""
    ids = [s.id for s in item.steps]
    order = _distinct_ids(answer, ids, item, _STEP)
    if len(order) != len(ids):
        raise AnswerError(Message(N_("Question %(item)s: put all %(n)s steps in order, each once."),
                                  item=item.id, n=len(ids)))
    links = set(itertools.pairwise(ids))
    kept = sum(1 for link in itertools.pairwise(order) if link in links)
    return order, kept / len(links) if links else 1.0


_SCORERS: dict[str, Callable[[QuizItem, Any], tuple[Any, float]]] = {
    "single": _score_single,
    "multiple": _score_multiple,
    "matching": _score_matching,
    "ordering": _score_ordering,
}


@dataclass(frozen=True)
class _Part:
    """The messages about one kind of id in an answer (whole sentences, so that they translate)."""

    unknown: str
    not_a_list: str = ""
    too_many: str = ""
    repeated: str = ""


_OPTION = _Part(
    unknown=N_("Question %(item)s has no option %(id)s."),
    not_a_list=N_("Question %(item)s: give a list of options."),
    too_many=N_("Question %(item)s has only %(n)s options; %(given)s were given."),
    repeated=N_("Question %(item)s: each option can be given only once."),
)
_STEP = _Part(
    unknown=N_("Question %(item)s has no step %(id)s."),
    not_a_list=N_("Question %(item)s: give a list of steps."),
    too_many=N_("Question %(item)s has only %(n)s steps; %(given)s were given."),
    repeated=N_("Question %(item)s: each step can be given only once."),
)
_LEFT = _Part(unknown=N_("Question %(item)s has no item to match %(id)s."))
_RIGHT = _Part(unknown=N_("Question %(item)s has no match %(id)s."))


def _known_id(value: Any, ids: Sequence[str], item: QuizItem, part: _Part) -> str:
    if not isinstance(value, str) or value not in ids:
        raise AnswerError(Message(part.unknown, item=item.id, id=_shown(value)))
    return value


def _distinct_ids(value: Any, ids: Sequence[str], item: QuizItem, part: _Part) -> list[str]:
    if not isinstance(value, list | tuple):
        raise AnswerError(Message(part.not_a_list, item=item.id))
    if len(value) > len(ids):
        raise AnswerError(Message(part.too_many, item=item.id, n=len(ids), given=len(value)))
    chosen = [_known_id(v, ids, item, part) for v in value]
    if len(set(chosen)) != len(chosen):
        raise AnswerError(Message(part.repeated, item=item.id))
    return chosen


def _shown(value: Any) -> str:
    text = repr(value) if isinstance(value, str) else f"of type {type(value).__name__}"
    return text if len(text) <= MAX_ID_CHARS else text[: MAX_ID_CHARS - 3] + "..."


def _mean(values: Sequence[float]) -> float:
    return sum(values) / len(values) if values else 0.0


# ---------------------------------------------------------------------------------------------
# Rubrics


def score_rubric(activity: Activity, ratings: Mapping[str, int]) -> RubricResult:
    """Score a trainer's ratings (criterion id -> 0..3); every criterion must be rated.

    ``score`` is the sum of ratings over 3 x the number of criteria; a competency's score is the
    mean of ``rating / 3`` over the criteria counting for it (a criterion with no narrowing counts
    for all of the activity's competencies).
    """
    if not activity.rubric:
        raise AnswerError(Message(N_("%(activity)s has no rubric; it is scored automatically."),
                                  activity=activity.id))
    if not isinstance(ratings, Mapping):
        raise AnswerError(Message(N_("Give one rating per criterion of the rubric.")))
    known = {c.id for c in activity.rubric}
    for key in ratings:
        if not isinstance(key, str) or key not in known:
            raise AnswerError(Message(N_("The rubric has no criterion %(id)s."), id=_shown(key)))
    criteria = {c.id: _rating(ratings.get(c.id), c.id) for c in activity.rubric}
    score = sum(criteria.values()) / (MAX_RUBRIC_LEVEL * len(criteria))
    competency_scores = {
        c.id: _mean([criteria[r.id] / MAX_RUBRIC_LEVEL for r in activity.rubric if r.counts_for(c.id)])
        for c in activity.competencies
        if any(r.counts_for(c.id) for r in activity.rubric)
    }
    return RubricResult(score=score, criteria=criteria, competency_scores=competency_scores)


def _rating(value: Any, criterion_id: str) -> int:
    if value is None:
        raise AnswerError(Message(
            N_("Rate criterion %(criterion)s too: every criterion needs a level from 0 to %(max)s."),
            criterion=criterion_id, max=MAX_RUBRIC_LEVEL))
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_RUBRIC_LEVEL:
        raise AnswerError(Message(
            N_("Criterion %(criterion)s: the level must be a whole number from 0 to %(max)s."),
            criterion=criterion_id, max=MAX_RUBRIC_LEVEL))
    return value


# ---------------------------------------------------------------------------------------------
# Open answers


def check_open_answer(activity: Activity, answer: Any, locale: str | None = "en") -> list[Message]:
    """Return what stops a reflection or lab canvas from being handed in (empty when it can be).

    A reflection is a text of ``min_words`` to ``max_words`` words; a lab canvas is a mapping of
    section id -> text, each section at least its ``min_words``. A wrong shape, an unknown section
    or a text over ``MAX_ANSWER_CHARS`` characters raises ``AnswerError``.
    """
    if activity.kind == "reflection":
        return _check_reflection(activity, _text(answer))
    if activity.kind == "lab-canvas":
        return _check_canvas(activity, answer, locale)
    raise AnswerError(Message(N_("%(activity)s is a quiz: its answers are choices, not text."),
                              activity=activity.id))


def _text(value: Any, section_title: str | None = None) -> str:
    """Return ``value`` if it is a text within the limit: the reflection's, or a canvas section's."""
    if not isinstance(value, str):
        if section_title is None:
            raise AnswerError(Message(N_("Your answer must be text.")))
        raise AnswerError(Message(N_("The section '%(title)s' must be text."), title=section_title))
    if len(value) > MAX_ANSWER_CHARS:
        chars, limit = Count(len(value)), Count(MAX_ANSWER_CHARS)
        if section_title is None:
            raise AnswerError(Message(
                N_("Your answer is %(chars)s characters long; the limit is %(limit)s. Shorten it."),
                chars=chars, limit=limit))
        raise AnswerError(Message(
            N_("The section '%(title)s' is %(chars)s characters long; the limit is %(limit)s. Shorten it."),
            title=section_title, chars=chars, limit=limit))
    return value


def _check_reflection(activity: Activity, text: str) -> list[Message]:
    words = count_words(text)
    if words < activity.min_words:
        return [Message(N_("Your answer has %(words)s words; write at least %(min)s."),
                        words=words, min=activity.min_words)]
    if activity.max_words and words > activity.max_words:
        return [Message(N_("Your answer has %(words)s words; shorten it to at most %(max)s."),
                        words=words, max=activity.max_words)]
    return []


def _check_canvas(activity: Activity, answer: Any, locale: str | None) -> list[Message]:
    if not isinstance(answer, Mapping):
        raise AnswerError(Message(N_("A lab canvas is answered section by section.")))
    if len(answer) > len(activity.sections):
        raise AnswerError(Message(N_("The lab canvas has %(n)s sections; %(given)s were given."),
                                  n=len(activity.sections), given=len(answer)))
    for key in answer:
        if not isinstance(key, str) or activity.section(key) is None:
            raise AnswerError(Message(N_("The lab canvas has no section %(id)s."), id=_shown(key)))
    problems = []
    for section in activity.sections:
        title = localise(section.title, locale)
        value = answer.get(section.id)
        words = count_words(_text(value, title)) if value is not None else 0
        if words < section.min_words:
            problems.append(Message(
                N_("The section '%(title)s' has %(words)s words; write at least %(min)s."),
                title=title, words=words, min=section.min_words))
    return problems


# ---------------------------------------------------------------------------------------------
# Display order


def shuffled_steps(item: QuizItem, seed: str) -> tuple[Step, ...]:
    """Return the item's steps in a display order fixed by ``seed``, never the correct order."""
    return _shuffled(item.steps, f"{seed}:{item.id}:steps")


def shuffled_pairs(item: QuizItem, seed: str) -> tuple[Pair, ...]:
    """Return the item's pairs in a display order (for their right sides), never the listed order."""
    return _shuffled(item.pairs, f"{seed}:{item.id}:pairs")


def _shuffled(values: Sequence[T], seed: str) -> tuple[T, ...]:
    digest = hashlib.sha256(seed.encode("utf-8")).digest()
    order = list(range(len(values)))
    random.Random(int.from_bytes(digest[:8], "big")).shuffle(order)  # noqa: S311 (display order, not security)
    if len(order) >= 2 and order == sorted(order):
        order = order[1:] + order[:1]
    return tuple(values[i] for i in order)

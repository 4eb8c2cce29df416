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


class AnswerError(ValueError):
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
        raise AnswerError(f"{activity.id} is not a quiz; it is assessed by a trainer.")
    if not isinstance(answers, Mapping):
        raise AnswerError("The answers must be given per question.")
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
        raise AnswerError(f"There are {len(activity.items)} questions but {len(answers)} answers.")
    known = {item.id for item in activity.items}
    for key in answers:
        if not isinstance(key, str) or key not in known:
            raise AnswerError(f"There is no question {_shown(key)} in this quiz.")


def _score_item(item: QuizItem, answer: Any) -> ItemResult:
    if answer is None:
        return ItemResult(item.id, 0.0, False, None)
    scorer = _SCORERS[item.type]
    chosen, score = scorer(item, answer)
    return ItemResult(item.id, score, score >= 1.0 - _EPSILON, chosen)


def _score_single(item: QuizItem, answer: Any) -> tuple[str, float]:
    choice = _known_id(answer, [o.id for o in item.options], item, "option")
    option = item.option(choice)
    return choice, 1.0 if option is not None and option.correct else 0.0


def _score_multiple(item: QuizItem, answer: Any) -> tuple[list[str], float]:
    """Score right choices minus wrong choices, each as a share of its kind, floored at 0."""
    chosen = _distinct_ids(answer, [o.id for o in item.options], item, "option")
    right = [o for o in item.options if o.correct]
    wrong = [o for o in item.options if not o.correct]
    hits = sum(1 for o in right if o.id in chosen) / len(right) if right else 0.0
    misses = sum(1 for o in wrong if o.id in chosen) / len(wrong) if wrong else 0.0
    return chosen, max(0.0, hits - misses)


def _score_matching(item: QuizItem, answer: Any) -> tuple[dict[str, str], float]:
    """Score the share of pairs whose left side was matched to its own right side."""
    ids = [p.id for p in item.pairs]
    if not isinstance(answer, Mapping) or len(answer) > len(ids):
        raise AnswerError(f"Question {item.id}: match each item on the left to one on the right.")
    chosen: dict[str, str] = {}
    for left, right in answer.items():
        left_id = _known_id(left, ids, item, "item to match")
        if right is not None and right != "":
            chosen[left_id] = _known_id(right, ids, item, "match")
    return chosen, sum(1 for left, right in chosen.items() if left == right) / len(ids)


def _score_ordering(item: QuizItem, answer: Any) -> tuple[list[str], float]:
    """Score the share of the correct 'A directly before B' links that the answer keeps."""
    ids = [s.id for s in item.steps]
    order = _distinct_ids(answer, ids, item, "step")
    if len(order) != len(ids):
        raise AnswerError(f"Question {item.id}: put all {len(ids)} steps in order, each once.")
    links = set(itertools.pairwise(ids))
    kept = sum(1 for link in itertools.pairwise(order) if link in links)
    return order, kept / len(links) if links else 1.0


_SCORERS: dict[str, Callable[[QuizItem, Any], tuple[Any, float]]] = {
    "single": _score_single,
    "multiple": _score_multiple,
    "matching": _score_matching,
    "ordering": _score_ordering,
}


def _known_id(value: Any, ids: Sequence[str], item: QuizItem, what: str) -> str:
    if not isinstance(value, str) or value not in ids:
        raise AnswerError(f"Question {item.id} has no {what} {_shown(value)}.")
    return value


def _distinct_ids(value: Any, ids: Sequence[str], item: QuizItem, what: str) -> list[str]:
    if not isinstance(value, list | tuple):
        raise AnswerError(f"Question {item.id}: give a list of {what}s.")
    if len(value) > len(ids):
        raise AnswerError(f"Question {item.id} has only {len(ids)} {what}s; {len(value)} were given.")
    chosen = [_known_id(v, ids, item, what) for v in value]
    if len(set(chosen)) != len(chosen):
        raise AnswerError(f"Question {item.id}: each {what} can be given only once.")
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
        raise AnswerError(f"{activity.id} has no rubric; it is scored automatically.")
    if not isinstance(ratings, Mapping):
        raise AnswerError("Give one rating per criterion of the rubric.")
    known = {c.id for c in activity.rubric}
    for key in ratings:
        if not isinstance(key, str) or key not in known:
            raise AnswerError(f"The rubric has no criterion {_shown(key)}.")
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
        raise AnswerError(f"Rate criterion {criterion_id} too: every criterion needs a level from 0 to 3.")
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_RUBRIC_LEVEL:
        raise AnswerError(f"Criterion {criterion_id}: the level must be a whole number from 0 to 3.")
    return value


# ---------------------------------------------------------------------------------------------
# Open answers


def check_open_answer(activity: Activity, answer: Any, locale: str | None = "en") -> list[str]:
    """Return what stops a reflection or lab canvas from being handed in (empty when it can be).

    A reflection is a text of ``min_words`` to ``max_words`` words; a lab canvas is a mapping of
    section id -> text, each section at least its ``min_words``. A wrong shape, an unknown section
    or a text over ``MAX_ANSWER_CHARS`` characters raises ``AnswerError``.
    """
    if activity.kind == "reflection":
        return _check_reflection(activity, _text(answer, "Your answer"))
    if activity.kind == "lab-canvas":
        return _check_canvas(activity, answer, locale)
    raise AnswerError(f"{activity.id} is a quiz: its answers are choices, not text.")


def _text(value: Any, what: str) -> str:
    if not isinstance(value, str):
        raise AnswerError(f"{what} must be text.")
    if len(value) > MAX_ANSWER_CHARS:
        raise AnswerError(
            f"{what} is {len(value):,} characters long; the limit is {MAX_ANSWER_CHARS:,}. Shorten it."
        )
    return value


def _check_reflection(activity: Activity, text: str) -> list[str]:
    words = count_words(text)
    if words < activity.min_words:
        return [f"Your answer has {words} words; write at least {activity.min_words}."]
    if activity.max_words and words > activity.max_words:
        return [f"Your answer has {words} words; shorten it to at most {activity.max_words}."]
    return []


def _check_canvas(activity: Activity, answer: Any, locale: str | None) -> list[str]:
    if not isinstance(answer, Mapping):
        raise AnswerError("A lab canvas is answered section by section.")
    if len(answer) > len(activity.sections):
        raise AnswerError(f"The lab canvas has {len(activity.sections)} sections; {len(answer)} were given.")
    for key in answer:
        if not isinstance(key, str) or activity.section(key) is None:
            raise AnswerError(f"The lab canvas has no section {_shown(key)}.")
    problems = []
    for section in activity.sections:
        title = localise(section.title, locale)
        value = answer.get(section.id)
        words = count_words(_text(value, f"The section '{title}'")) if value is not None else 0
        if words < section.min_words:
            problems.append(f"The section '{title}' has {words} words; write at least {section.min_words}.")
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

"""The programme's content as immutable values: units, pages, activities, quiz items and rubrics.

These classes hold content that ``course_units.loader`` has already validated; they do no
validation of their own. Every text shown to people is a language map (``{"en": ..., "sv": ...}``)
read with ``course_units.text.localise``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Literal

from course_units.text import localise

LangMap = Mapping[str, str]
ItemType = Literal["single", "multiple", "matching", "ordering"]
ActivityKind = Literal["quiz", "reflection", "lab-canvas"]
PageKind = Literal["text", "case-study"]

ITEM_TYPES: tuple[ItemType, ...] = ("single", "multiple", "matching", "ordering")
ACTIVITY_KINDS: tuple[ActivityKind, ...] = ("quiz", "reflection", "lab-canvas")
PAGE_KINDS: tuple[PageKind, ...] = ("text", "case-study")
RUBRIC_SCORES: tuple[int, ...] = (0, 1, 2, 3)
MAX_RUBRIC_LEVEL = RUBRIC_SCORES[-1]

_WORD = re.compile("[^\\W_]+(?:['\u2019.,-][^\\W_]+)*")


def count_words(text: str) -> int:
    """Count the words in ``text``: runs of letters or digits, with inner apostrophes, hyphens, points.

    Markdown punctuation (``#``, ``|``, ``*``, ``-`` bullets) is not counted; ``don't``,
    ``well-being`` and ``70,000`` each count as one word.
    """
    return len(_WORD.findall(text))


@dataclass(frozen=True)
class CompetencyWeight:
    """A competency an activity gives evidence for, with its relative weight (0 < weight <= 1)."""

    id: str
    weight: float


@dataclass(frozen=True)
class Option:
    """One option of a single- or multiple-choice item."""

    id: str
    text: LangMap
    correct: bool
    explanation: LangMap


@dataclass(frozen=True)
class Pair:
    """One pair of a matching item: ``left`` is matched to ``right``."""

    id: str
    left: LangMap
    right: LangMap
    explanation: LangMap


@dataclass(frozen=True)
class Step:
    """One step of an ordering item; an item lists its steps in the correct order."""

    id: str
    text: LangMap


@dataclass(frozen=True)
class QuizItem:
    """One quiz question. ``competencies`` narrows the quiz's competencies; empty means all of them."""

    id: str
    type: ItemType
    prompt: LangMap
    competencies: tuple[str, ...]
    options: tuple[Option, ...] = ()
    pairs: tuple[Pair, ...] = ()
    steps: tuple[Step, ...] = ()
    explanation: LangMap | None = None

    def counts_for(self, competency_id: str) -> bool:
        """Tell whether this item gives evidence for ``competency_id`` (of its quiz's competencies)."""
        return not self.competencies or competency_id in self.competencies

    def option(self, option_id: str) -> Option | None:
        """Return the option with ``option_id``, or None."""
        return next((o for o in self.options if o.id == option_id), None)

    def texts(self) -> Iterator[LangMap]:
        """Yield every text of the item shown to learners (prompt, options, pairs, steps, explanations)."""
        yield self.prompt
        for option in self.options:
            yield from (option.text, option.explanation)
        for pair in self.pairs:
            yield from (pair.left, pair.right, pair.explanation)
        yield from (step.text for step in self.steps)
        if self.explanation is not None:
            yield self.explanation


@dataclass(frozen=True)
class RubricLevel:
    """One level of a rubric criterion: a score 0..3 and what work at that level looks like."""

    score: int
    descriptor: LangMap


@dataclass(frozen=True)
class RubricCriterion:
    """One criterion a trainer rates from 0 to 3; ``competencies`` narrows as for quiz items."""

    id: str
    criterion: LangMap
    levels: tuple[RubricLevel, ...]
    competencies: tuple[str, ...]

    def counts_for(self, competency_id: str) -> bool:
        """Tell whether this criterion gives evidence for ``competency_id``."""
        return not self.competencies or competency_id in self.competencies

    def texts(self) -> Iterator[LangMap]:
        """Yield the criterion and its level descriptors."""
        yield self.criterion
        yield from (level.descriptor for level in self.levels)


@dataclass(frozen=True)
class CanvasSection:
    """One free-text section of a lab canvas."""

    id: str
    title: LangMap
    guidance: LangMap
    min_words: int


@dataclass(frozen=True)
class Activity:
    """A quiz (auto-graded), a reflection or a lab canvas (both trainer-assessed against a rubric)."""

    id: str
    unit_id: str
    kind: ActivityKind
    version: int
    title: LangMap
    instructions: LangMap
    max_attempts: int
    competencies: tuple[CompetencyWeight, ...]
    pass_score: float | None = None
    items: tuple[QuizItem, ...] = ()
    prompt: LangMap | None = None
    min_words: int = 0
    max_words: int = 0
    rubric: tuple[RubricCriterion, ...] = ()
    sections: tuple[CanvasSection, ...] = ()

    @property
    def auto_graded(self) -> bool:
        """Tell whether the server scores this activity itself (quizzes) rather than a trainer."""
        return self.kind == "quiz"

    @property
    def weights(self) -> dict[str, float]:
        """Return the competency ids this activity gives evidence for, with their weights."""
        return {c.id: c.weight for c in self.competencies}

    @property
    def max_rubric_score(self) -> int:
        """Return the highest possible rubric total (3 per criterion; 0 for a quiz)."""
        return MAX_RUBRIC_LEVEL * len(self.rubric)

    def item(self, item_id: str) -> QuizItem | None:
        """Return the quiz item with ``item_id``, or None."""
        return next((i for i in self.items if i.id == item_id), None)

    def criterion(self, criterion_id: str) -> RubricCriterion | None:
        """Return the rubric criterion with ``criterion_id``, or None."""
        return next((c for c in self.rubric if c.id == criterion_id), None)

    def section(self, section_id: str) -> CanvasSection | None:
        """Return the lab-canvas section with ``section_id``, or None."""
        return next((s for s in self.sections if s.id == section_id), None)

    def texts(self) -> Iterator[LangMap]:
        """Yield every text of the activity shown to people."""
        yield from (self.title, self.instructions)
        if self.prompt is not None:
            yield self.prompt
        for item in self.items:
            yield from item.texts()
        for criterion in self.rubric:
            yield from criterion.texts()
        for section in self.sections:
            yield from (section.title, section.guidance)

    def word_count(self, locale: str = "en") -> int:
        """Count the words of every text of the activity in ``locale`` (falling back to English)."""
        return _count_all(self.texts(), locale)


@dataclass(frozen=True)
class Page:
    """A content page; ``body`` holds the Markdown source per locale."""

    id: str
    unit_id: str
    title: LangMap
    minutes: int
    kind: PageKind
    body: LangMap

    def word_count(self, locale: str = "en") -> int:
        """Count the words of the page body in ``locale`` (falling back to English)."""
        return count_words(localise(self.body, locale))


@dataclass(frozen=True)
class CompletionRule:
    """When a unit counts as completed."""

    all_activities: bool
    min_quiz_score: float | None


@dataclass(frozen=True)
class Unit:
    """One of the programme's units, with its pages and activities in order."""

    id: str
    order: int
    version: int
    title: LangMap
    summary: LangMap
    estimated_minutes: int
    objectives: tuple[LangMap, ...]
    pages: tuple[Page, ...]
    activities: tuple[Activity, ...]
    completion: CompletionRule

    def page(self, page_id: str) -> Page | None:
        """Return the page with ``page_id``, or None."""
        return next((p for p in self.pages if p.id == page_id), None)

    def activity(self, activity_id: str) -> Activity | None:
        """Return the activity with ``activity_id``, or None."""
        return next((a for a in self.activities if a.id == activity_id), None)

    def word_count(self, locale: str = "en") -> int:
        """Count the words a learner reads in ``locale``: the pages and the activities' texts."""
        pages = sum(page.word_count(locale) for page in self.pages)
        return pages + sum(activity.word_count(locale) for activity in self.activities)


@dataclass(frozen=True)
class Catalog:
    """The whole programme: the units in order."""

    units: tuple[Unit, ...]
    _by_activity: dict[str, Unit] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        index = {a.id: u for u in self.units for a in u.activities}
        object.__setattr__(self, "_by_activity", index)

    def unit(self, unit_id: str) -> Unit | None:
        """Return the unit with ``unit_id``, or None."""
        return next((u for u in self.units if u.id == unit_id), None)

    def activity(self, activity_id: str) -> Activity | None:
        """Return the activity with ``activity_id`` from any unit, or None."""
        unit = self.unit_of_activity(activity_id)
        return unit.activity(activity_id) if unit else None

    def unit_of_activity(self, activity_id: str) -> Unit | None:
        """Return the unit that holds the activity ``activity_id``, or None."""
        return self._by_activity.get(activity_id)

    def activities(self) -> tuple[Activity, ...]:
        """Return every activity of the programme, unit by unit, in order."""
        return tuple(a for u in self.units for a in u.activities)

    def competency_ids(self) -> frozenset[str]:
        """Return every competency id that some activity gives evidence for."""
        return frozenset(c.id for a in self.activities() for c in a.competencies)


def _count_all(texts: Iterable[LangMap], locale: str) -> int:
    return sum(count_words(localise(text, locale)) for text in texts)

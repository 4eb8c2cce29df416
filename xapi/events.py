"""The L2I statement profile: one function per learning event, each returning ready statements.

``docs/xapi-profile.md`` shows every statement built here. The IRIs of the programme, its units,
pages, activities and quiz items are the tool's own URLs; a competency's IRI is its CASE URI.
An attempt is cmi5's "session" of an activity: ``initialized`` when it starts, ``completed``
(handed in) or ``passed``/``failed``/``scored`` (graded), and ``terminated`` when it closes.
"""

from __future__ import annotations

import datetime as dt
import functools
import operator
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar, cast

from competencies.exchange.case import case_uri
from competencies.framework import Node
from course_units.content import Activity, Page, QuizItem, Unit
from course_units.scoring import ItemResult
from xapi import vocabulary as x
from xapi.statements import (
    ActivityRef,
    ActorRef,
    Interaction,
    Outcome,
    Setting,
    build_statement,
    lang,
    score_outcome,
)
from xapi.vocabulary import ProfileIris

Statement = dict[str, Any]
# Fixed forever: registrations are derived from it.
REGISTRATION_NAMESPACE = uuid.UUID("1f6f0f2c-7a0e-4c0b-9d1e-5b8f0d6a2c31")
PROGRAMME_NAME = {"en": "Learning 2 Innovate"}
_INTERACTION_TYPES = {
    "single": x.INTERACTION_CHOICE,
    "multiple": x.INTERACTION_CHOICE,
    "matching": x.INTERACTION_MATCHING,
    "ordering": x.INTERACTION_SEQUENCING,
}
_ACTIVITY_TYPES = {"quiz": x.TYPE_ASSESSMENT, "reflection": x.TYPE_PERFORMANCE,
                   "lab-canvas": x.TYPE_PERFORMANCE}


@dataclass(frozen=True)
class Scene:
    """Who acts and where: the learner, their LMS and course, for every statement of a request.

    ``context_key`` is the engine's own id of the LMS course (None outside a course).
    """

    base_url: str
    actor: ActorRef
    platform_name: str
    issuer: str
    context_key: int | None
    lti_context_id: str | None
    course_title: str | None
    language: str | None

    @property
    def iris(self) -> ProfileIris:
        """The profile's IRIs on this tool."""
        return ProfileIris(self.base_url)


# --- IRIs and activities ---------------------------------------------------------------------

_REFS_KEPT = 4096  # content objects whose refs are remembered, per kind of ref
RefMaker = TypeVar("RefMaker", bound=Callable[..., ActivityRef])


def _made_once(make: RefMaker) -> RefMaker:
    """Remember the ref ``make`` returns for each tool URL and content object(s).

    Units, pages, activities and quiz items are frozen, so an object's ref never changes; they
    cannot be hashed (their texts are dicts), so they are told apart by identity, and each kept
    entry holds its objects, so that an id is never taken for another object's.
    """
    kept: dict[tuple[Any, ...], tuple[tuple[object, ...], ActivityRef]] = {}

    @functools.wraps(make)
    def made(base_url: str, *objects: Any) -> ActivityRef:
        key = (base_url, *map(id, objects))
        hit = kept.get(key)
        if hit is not None and all(map(operator.is_, hit[0], objects)):
            return hit[1]
        if len(kept) >= _REFS_KEPT:
            kept.clear()
        ref = make(base_url, *objects)
        kept[key] = (objects, ref)
        return ref
    return cast(RefMaker, made)


@functools.lru_cache(maxsize=16)
def programme_ref(base_url: str) -> ActivityRef:
    """Return the programme as an activity."""
    return ActivityRef(f"{base_url}/programme", x.TYPE_COURSE, lang(PROGRAMME_NAME))


def course_ref(scene: Scene) -> ActivityRef | None:
    """Return the learner's LMS course as an activity, or None outside a course."""
    if scene.context_key is None:
        return None
    title = scene.course_title or scene.lti_context_id or str(scene.context_key)
    return _course_ref(scene.base_url, scene.context_key, title)


@functools.lru_cache(maxsize=1024)
def _course_ref(base_url: str, context_key: int, title: str) -> ActivityRef:
    return ActivityRef(f"{base_url}/courses/{context_key}", x.TYPE_COURSE, (("und", title),),
                       named_in_context=True)


@_made_once
def unit_ref(base_url: str, unit: Unit) -> ActivityRef:
    """Return a unit as an activity."""
    return ActivityRef(f"{base_url}/units/{unit.id}", x.TYPE_MODULE, lang(unit.title))


@_made_once
def page_ref(base_url: str, page: Page) -> ActivityRef:
    """Return a content page as an activity."""
    return ActivityRef(f"{base_url}/units/{page.unit_id}/pages/{page.id}", x.TYPE_LESSON,
                       lang(page.title))


@_made_once
def activity_ref(base_url: str, activity: Activity) -> ActivityRef:
    """Return a quiz, reflection or lab canvas as an activity."""
    return ActivityRef(f"{base_url}/units/{activity.unit_id}/activities/{activity.id}",
                       _ACTIVITY_TYPES[activity.kind], lang(activity.title))


@_made_once
def item_ref(base_url: str, activity: Activity, item: QuizItem) -> ActivityRef:
    """Return a quiz item as a cmi.interaction, with its choices and correct response pattern."""
    iri = f"{base_url}/units/{activity.unit_id}/activities/{activity.id}/items/{item.id}"
    return ActivityRef(iri, x.TYPE_INTERACTION, lang(item.prompt), _interaction(item))


def competency_ref(base_url: str, node: Node) -> ActivityRef:
    """Return a competency of the framework as an objective, identified by its CASE URI."""
    return ActivityRef(case_uri(base_url, "CFItems", node.uuid), x.TYPE_OBJECTIVE,
                       (("en", node.shortname),))


def _interaction(item: QuizItem) -> Interaction:
    kind = _INTERACTION_TYPES[item.type]
    if item.type in ("single", "multiple"):
        correct = x.RESPONSE_SEPARATOR.join(o.id for o in item.options if o.correct)
        return Interaction(kind, (correct,), choices=tuple((o.id, lang(o.text)) for o in item.options))
    if item.type == "matching":
        correct = x.RESPONSE_SEPARATOR.join(f"{p.id}{x.PAIR_SEPARATOR}{p.id}" for p in item.pairs)
        return Interaction(kind, (correct,), source=tuple((p.id, lang(p.left)) for p in item.pairs),
                           target=tuple((p.id, lang(p.right)) for p in item.pairs))
    correct = x.RESPONSE_SEPARATOR.join(s.id for s in item.steps)
    return Interaction(kind, (correct,), choices=tuple((s.id, lang(s.text)) for s in item.steps))


def response_of(chosen: Any) -> str:
    """Render a scored answer (see ``score_quiz``) as an xAPI response pattern."""
    if chosen is None:
        return ""
    if isinstance(chosen, str):
        return chosen
    if isinstance(chosen, dict):
        return x.RESPONSE_SEPARATOR.join(f"{left}{x.PAIR_SEPARATOR}{right}"
                                         for left, right in chosen.items())
    return x.RESPONSE_SEPARATOR.join(str(part) for part in chosen)


@functools.lru_cache(maxsize=4096)
def registration_of(learner_key: str, context_key: int | None, unit_id: str) -> uuid.UUID:
    """Return the registration of a learner's enrolment in a unit within one LMS course (stable)."""
    return uuid.uuid5(REGISTRATION_NAMESPACE, f"{learner_key}/{context_key or '-'}/{unit_id}")


# --- context -----------------------------------------------------------------------------------

def _setting(scene: Scene, *, unit: Unit | None, parent: ActivityRef | None,
             competencies: Iterable[str] = (), exclude: ActivityRef | None = None,
             activity: Activity | None = None) -> Setting:
    """Return a statement's context; with ``activity``, its version is among the extensions."""
    iris = scene.iris
    extensions: dict[str, Any] = {iris.extension("platform_issuer"): scene.issuer}
    if scene.lti_context_id is not None:
        extensions[iris.extension("lti_context_id")] = scene.lti_context_id
    competency_ids = sorted(set(competencies))
    if competency_ids:
        extensions[iris.extension("competencies")] = competency_ids
    if activity is not None:
        extensions[iris.extension("activity_version")] = activity.version
    course = course_ref(scene)
    programme = programme_ref(scene.base_url)
    grouping = tuple(ref for ref in (course, programme) if ref is not None and ref != exclude)
    registration = (registration_of(scene.actor.key, scene.context_key, unit.id)
                    if unit is not None else None)
    return Setting(profile=iris.profile, registration=registration, parent=parent,
                   grouping=grouping, platform=scene.platform_name, language=scene.language,
                   extensions=extensions)


def _unit_competencies(unit: Unit) -> list[str]:
    return [c.id for activity in unit.activities for c in activity.competencies]


def _activity_competencies(activity: Activity) -> list[str]:
    return [c.id for c in activity.competencies]


def _emit(verb: str, scene: Scene, ref: ActivityRef, setting: Setting, now: dt.datetime,
          outcome: Outcome | None = None) -> Statement:
    return build_statement(verb, scene.actor, ref, setting, timestamp=now, outcome=outcome)


# --- events ------------------------------------------------------------------------------------

def launched(scene: Scene, unit: Unit | None, activity: Activity | None, now: dt.datetime) -> Statement:
    """Build ``launched``: the learner came from their LMS into an activity, a unit or the programme."""
    base = scene.base_url
    if activity is not None and unit is not None:
        setting = _setting(scene, unit=unit, parent=unit_ref(base, unit),
                           competencies=_activity_competencies(activity))
        return _emit(x.VERB_LAUNCHED, scene, activity_ref(base, activity), setting, now)
    if unit is not None:
        setting = _setting(scene, unit=unit, parent=programme_ref(base),
                           competencies=_unit_competencies(unit))
        return _emit(x.VERB_LAUNCHED, scene, unit_ref(base, unit), setting, now)
    programme = programme_ref(base)
    setting = _setting(scene, unit=None, parent=None, exclude=programme)
    return _emit(x.VERB_LAUNCHED, scene, programme, setting, now)


def experienced_page(scene: Scene, unit: Unit, page: Page, now: dt.datetime) -> Statement:
    """Build ``experienced``: the learner read a content page of a unit."""
    setting = _setting(scene, unit=unit, parent=unit_ref(scene.base_url, unit))
    return _emit(x.VERB_EXPERIENCED, scene, page_ref(scene.base_url, page), setting, now)


def progressed_unit(scene: Scene, unit: Unit, percent: int, now: dt.datetime) -> Statement:
    """Build ``progressed``: the learner's progress in a unit moved (cmi5's progress extension)."""
    setting = _setting(scene, unit=unit, parent=programme_ref(scene.base_url),
                       competencies=_unit_competencies(unit))
    outcome = Outcome(extensions={x.EXT_PROGRESS: max(0, min(100, int(percent)))})
    return _emit(x.VERB_PROGRESSED, scene, unit_ref(scene.base_url, unit), setting, now, outcome)


def initialized_attempt(scene: Scene, unit: Unit, activity: Activity, now: dt.datetime) -> Statement:
    """Build ``initialized``: the learner began an attempt at an activity."""
    return _emit(x.VERB_INITIALIZED, scene, activity_ref(scene.base_url, activity),
                 _activity_setting(scene, unit, activity), now)


def _activity_setting(scene: Scene, unit: Unit, activity: Activity, *, parent: ActivityRef | None = None,
                      competencies: Iterable[str] | None = None) -> Setting:
    return _setting(scene, unit=unit, parent=parent or unit_ref(scene.base_url, unit),
                    competencies=_activity_competencies(activity) if competencies is None else competencies,
                    activity=activity)


def answered_items(scene: Scene, unit: Unit, activity: Activity, items: Sequence[ItemResult],
                   now: dt.datetime) -> list[Statement]:
    """Build one ``answered`` per quiz item: the response, its score and whether it was right."""
    by_id = {item.id: item for item in activity.items}
    base = scene.base_url
    parent = activity_ref(base, activity)
    settings: dict[tuple[str, ...], Setting] = {}  # items naming the same competencies share one
    statements = []
    for result in items:
        item = by_id[result.item_id]
        setting = settings.get(item.competencies)
        if setting is None:
            setting = settings[item.competencies] = _activity_setting(
                scene, unit, activity, parent=parent, competencies=item.competencies or None)
        outcome = score_outcome(result.score, 1.0, success=result.correct,
                                response=response_of(result.chosen))
        statements.append(_emit(x.VERB_ANSWERED, scene, item_ref(base, activity, item),
                                setting, now, outcome))
    return statements


def graded_attempt(scene: Scene, unit: Unit, activity: Activity, score: float, *,
                   passed: bool | None, duration: dt.timedelta | None, now: dt.datetime) -> Statement:
    """Build the attempt's grade: ``passed``/``failed`` against the pass mark, else ``scored``."""
    verb = x.VERB_SCORED if passed is None else (x.VERB_PASSED if passed else x.VERB_FAILED)
    outcome = score_outcome(score * 100, 100.0, success=passed, completion=True, duration=duration)
    return _emit(verb, scene, activity_ref(scene.base_url, activity),
                 _activity_setting(scene, unit, activity), now, outcome)


def handed_in(scene: Scene, unit: Unit, activity: Activity, duration: dt.timedelta | None,
              now: dt.datetime) -> Statement:
    """Build ``completed``: the learner handed in a reflection or lab canvas for assessment."""
    return _emit(x.VERB_COMPLETED, scene, activity_ref(scene.base_url, activity),
                 _activity_setting(scene, unit, activity), now,
                 Outcome(completion=True, duration=duration))


def terminated_attempt(scene: Scene, unit: Unit, activity: Activity, duration: dt.timedelta | None,
                       now: dt.datetime) -> Statement:
    """Build ``terminated``: the attempt closed (handed in); ``duration`` is from its start."""
    return _emit(x.VERB_TERMINATED, scene, activity_ref(scene.base_url, activity),
                 _activity_setting(scene, unit, activity), now, Outcome(duration=duration))


def completed_unit(scene: Scene, unit: Unit, now: dt.datetime) -> Statement:
    """Build ``completed`` for a unit: the learner met the unit's completion rule."""
    setting = _setting(scene, unit=unit, parent=programme_ref(scene.base_url),
                       competencies=_unit_competencies(unit))
    outcome = Outcome(completion=True, extensions={x.EXT_PROGRESS: 100})
    return _emit(x.VERB_COMPLETED, scene, unit_ref(scene.base_url, unit), setting, now, outcome)


def mastered_competency(scene: Scene, node: Node, level: int, levels: int, unit: Unit | None,
                        now: dt.datetime) -> Statement:
    """Build ``mastered``: the learner reached the proficient level (or above) in a competency."""
    setting = _setting(scene, unit=unit, parent=None, competencies=[node.idnumber])
    extensions = {scene.iris.extension("level"): level}
    outcome = Outcome(scaled=round(level / levels, 4), raw=float(level), minimum=0.0,
                      maximum=float(levels), success=True, extensions=extensions)
    return _emit(x.VERB_MASTERED, scene, competency_ref(scene.base_url, node), setting, now, outcome)

"""Build xAPI 1.0.3 statements with ``tincan`` objects, as JSON-ready dicts.

The inputs are small frozen records (who, what, where, how it went); the output is what goes
into the outbox. Activities that recur in every statement (the unit, the course, the
programme), verbs and accounts are built with tincan once per process, checked once, and
reused; the parts that change with every statement (its id, time, context and result) are
assembled as plain JSON, the same JSON tincan writes (tests hold the two equal).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, Literal

from tincan import (
    Activity,
    ActivityDefinition,
    ActivityList,
    Agent,
    AgentAccount,
    Context,
    ContextActivities,
    Extensions,
    InteractionComponent,
    InteractionComponentList,
    LanguageMap,
    Result,
    Score,
    Statement,
    StatementRef,
    Verb,
)
from tincan.conversions.iso8601 import jsonify_datetime, jsonify_timedelta, make_timedelta

from xapi import vocabulary as x
from xapi.validation import remember_shared_part

ActorForm = Literal["account", "mbox", "mbox_sha1sum"]
ACTOR_FORMS: tuple[ActorForm, ...] = ("account", "mbox", "mbox_sha1sum")
LangPairs = tuple[tuple[str, str], ...]
Components = tuple[tuple[str, LangPairs], ...]


def lang(texts: Mapping[str, str]) -> LangPairs:
    """Turn a language map into the hashable pairs the records below hold."""
    return tuple(sorted((tag, text) for tag, text in texts.items() if text))


@dataclass(frozen=True)
class ActorRef:
    """The learner as the LRS sees them.

    By default an ``account`` on ``home_page`` named by the learner's pseudonymous key; an
    institution may ask for ``mbox`` or ``mbox_sha1sum`` instead, when the email is known.
    """

    key: str
    home_page: str
    form: ActorForm = "account"
    email: str | None = None


@dataclass(frozen=True)
class Interaction:
    """The definition of a quiz item as an xAPI cmi.interaction."""

    interaction_type: str
    correct_responses: tuple[str, ...] = ()
    choices: Components = ()
    source: Components = ()
    target: Components = ()


@dataclass(frozen=True)
class ActivityRef:
    """An activity: its IRI, type and name (and, for a quiz item, its interaction).

    In a statement's context an activity is given by its IRI and type only, unless
    ``named_in_context``: an activity that is never a statement's object (an LMS course) keeps
    its name there, so the LRS knows what it is.
    """

    iri: str
    type: str
    name: LangPairs
    interaction: Interaction | None = None
    named_in_context: bool = False


@dataclass(frozen=True)
class Setting:
    """A statement's context: where and within what the learner acted."""

    profile: str
    registration: uuid.UUID | None = None
    parent: ActivityRef | None = None
    grouping: tuple[ActivityRef, ...] = ()
    platform: str | None = None
    language: str | None = None
    extensions: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Outcome:
    """A statement's result. ``scaled`` must be ``raw`` normalised to ``minimum``..``maximum``."""

    scaled: float | None = None
    raw: float | None = None
    minimum: float | None = None
    maximum: float | None = None
    success: bool | None = None
    completion: bool | None = None
    duration: dt.timedelta | None = None
    response: str | None = None
    extensions: Mapping[str, Any] = field(default_factory=dict)


def score_outcome(raw: float, maximum: float, **outcome: Any) -> Outcome:
    """Return an outcome scored ``raw`` out of ``maximum`` (from 0), with its scaled score.

    ``raw`` is rounded to 4 decimals and ``scaled`` computed from the rounded value, so the two
    always agree (xAPI's consistency rule, checked by :mod:`xapi.validation`).
    """
    raw = round(min(max(raw, 0.0), maximum), 4)
    return Outcome(scaled=raw / maximum if maximum else 0.0, raw=raw, minimum=0.0,
                   maximum=float(maximum), **outcome)


def _language_map(pairs: LangPairs) -> LanguageMap:
    return LanguageMap(dict(pairs))


def _components(components: Components) -> InteractionComponentList:
    return InteractionComponentList([
        InteractionComponent(id=component_id, description=_language_map(description))
        for component_id, description in components
    ])


@lru_cache(maxsize=4096)
def _activity(ref: ActivityRef) -> Activity:
    definition = ActivityDefinition(name=_language_map(ref.name), type=ref.type)
    if ref.interaction is not None:
        interaction = ref.interaction
        definition.interaction_type = interaction.interaction_type
        definition.correct_responses_pattern = list(interaction.correct_responses)
        if interaction.choices:
            definition.choices = _components(interaction.choices)
        if interaction.source:
            definition.source = _components(interaction.source)
        if interaction.target:
            definition.target = _components(interaction.target)
    return Activity(id=ref.iri, definition=definition)


@lru_cache(maxsize=64)
def _verb(verb_iri: str) -> Verb:
    return Verb(id=verb_iri, display=LanguageMap({"en-US": x.VERB_DISPLAY[verb_iri]}))


def mbox_sha1sum(email: str) -> str:
    """Return xAPI's ``mbox_sha1sum`` of an email address (the SHA-1 of its mailto: IRI)."""
    return hashlib.sha1(f"mailto:{email.strip().lower()}".encode()).hexdigest()  # noqa: S324 (xAPI's IFI)


def _agent(actor: ActorRef) -> Agent:
    if actor.form == "mbox" and actor.email:
        return Agent(mbox=f"mailto:{actor.email.strip().lower()}")
    if actor.form == "mbox_sha1sum" and actor.email:
        return Agent(mbox_sha1sum=mbox_sha1sum(actor.email))
    return Agent(account=AgentAccount(home_page=actor.home_page, name=actor.key))


@lru_cache(maxsize=4096)
def _context_activity(ref: ActivityRef) -> Activity:
    definition = ActivityDefinition(type=ref.type)
    if ref.named_in_context:
        definition.name = _language_map(ref.name)
    return Activity(id=ref.iri, definition=definition)


def _context(setting: Setting) -> Context:
    activities = ContextActivities(category=ActivityList([Activity(id=setting.profile)]))
    if setting.parent is not None:
        activities.parent = ActivityList([_context_activity(setting.parent)])
    if setting.grouping:
        activities.grouping = ActivityList([_context_activity(ref) for ref in setting.grouping])
    context = Context(context_activities=activities)
    if setting.registration is not None:
        context.registration = setting.registration
    if setting.platform:
        context.platform = setting.platform
    if setting.language:
        context.language = setting.language
    if setting.extensions:
        context.extensions = Extensions(dict(setting.extensions))
    return context


def _result(outcome: Outcome) -> Result:
    result = Result()
    if outcome.scaled is not None or outcome.raw is not None:
        result.score = Score(scaled=outcome.scaled, raw=outcome.raw, min=outcome.minimum,
                             max=outcome.maximum)
    if outcome.success is not None:
        result.success = outcome.success
    if outcome.completion is not None:
        result.completion = outcome.completion
    if outcome.duration is not None:
        result.duration = outcome.duration
    if outcome.response is not None:
        result.response = outcome.response
    if outcome.extensions:
        result.extensions = Extensions(dict(outcome.extensions))
    return result


# The recurring parts of statements (activities, verbs, learners' accounts, the profile) are
# built with tincan once and kept as JSON; a statement shares them, so statements are read-only.
# Each is checked against xAPI once, when built: the outbox's check then skips these very objects.
@lru_cache(maxsize=4096)
def _activity_json(ref: ActivityRef) -> dict[str, Any]:
    data: dict[str, Any] = _activity(ref).as_version(x.XAPI_VERSION)
    remember_shared_part("activity", data)
    return data


@lru_cache(maxsize=4096)
def _context_activity_json(ref: ActivityRef) -> dict[str, Any]:
    data: dict[str, Any] = _context_activity(ref).as_version(x.XAPI_VERSION)
    remember_shared_part("activity", data)
    return data


@lru_cache(maxsize=64)
def _verb_json(verb_iri: str) -> dict[str, Any]:
    data: dict[str, Any] = _verb(verb_iri).as_version(x.XAPI_VERSION)
    remember_shared_part("verb", data)
    return data


@lru_cache(maxsize=64)
def _category_json(profile: str) -> dict[str, Any]:
    data: dict[str, Any] = Activity(id=profile).as_version(x.XAPI_VERSION)
    remember_shared_part("activity", data)
    return data


@lru_cache(maxsize=4096)
def _account_json(key: str, home_page: str) -> dict[str, Any]:
    data: dict[str, Any] = _agent(ActorRef(key=key, home_page=home_page)).as_version(x.XAPI_VERSION)
    remember_shared_part("actor", data)
    return data


def _agent_json(actor: ActorRef) -> dict[str, Any]:
    if actor.form != "account" and actor.email:  # learners' emails are never kept in a cache
        data: dict[str, Any] = _agent(actor).as_version(x.XAPI_VERSION)
        return data
    return _account_json(actor.key, actor.home_page)


def _context_json(setting: Setting) -> dict[str, Any]:
    activities: dict[str, Any] = {"category": [_category_json(setting.profile)]}
    if setting.parent is not None:
        activities["parent"] = [_context_activity_json(setting.parent)]
    if setting.grouping:
        activities["grouping"] = [_context_activity_json(ref) for ref in setting.grouping]
    context: dict[str, Any] = {"contextActivities": activities}
    if setting.registration is not None:
        context["registration"] = str(setting.registration)
    if setting.platform:
        context["platform"] = setting.platform
    if setting.language:
        context["language"] = setting.language
    if setting.extensions:
        context["extensions"] = dict(setting.extensions)
    return context


def _score_json(outcome: Outcome) -> dict[str, float]:
    parts = (("scaled", outcome.scaled), ("raw", outcome.raw), ("min", outcome.minimum),
             ("max", outcome.maximum))
    return {key: float(value) for key, value in parts if value is not None}  # as tincan's Score stores it


_PLAIN_VALUES = (str, int, float, list, dict)


def _extensions_json(extensions: Mapping[str, Any]) -> dict[str, Any]:
    """Return extensions as tincan serialises them: entries without a value left out, lists copied.

    A value tincan would convert (a UUID, a date, a duration) takes tincan's own path.
    """
    if not all((value is None or isinstance(value, _PLAIN_VALUES)) and not key.startswith("_")
               for key, value in extensions.items()):
        data: dict[str, Any] = Extensions(dict(extensions)).as_version(x.XAPI_VERSION)
        return data
    return {key: list(value) if isinstance(value, list) else value
            for key, value in extensions.items() if value is not None}


def _result_json(outcome: Outcome) -> dict[str, Any]:
    """Return a result as JSON, the same as ``_result(outcome).as_version(...)`` without tincan objects."""
    result: dict[str, Any] = {}
    if outcome.scaled is not None or outcome.raw is not None:
        result["score"] = _score_json(outcome)
    if outcome.success is not None:
        result["success"] = bool(outcome.success)
    if outcome.completion is not None:
        result["completion"] = bool(outcome.completion)
    if outcome.duration is not None:
        duration = outcome.duration
        result["duration"] = jsonify_timedelta(
            duration if isinstance(duration, dt.timedelta) else make_timedelta(duration))
    if outcome.response is not None:
        result["response"] = str(outcome.response)
    if outcome.extensions:
        result["extensions"] = _extensions_json(outcome.extensions)
    return result


def build_statement(verb: str, actor: ActorRef, activity: ActivityRef, setting: Setting, *,
                    timestamp: dt.datetime, outcome: Outcome | None = None,
                    statement_id: uuid.UUID | None = None) -> dict[str, Any]:
    """Return one statement as xAPI 1.0.3 JSON, with a new UUID unless ``statement_id`` is given.

    The same JSON as ``tincan.Statement(...).as_version("1.0.3")`` (a test holds the two
    equal), but assembled from cached parts: several times faster inside a learner's request.
    Treat the result as read-only: its activities, verb and actor are shared with other statements.
    """
    statement: dict[str, Any] = {
        "id": str(statement_id or uuid.uuid4()),
        "actor": _agent_json(actor),
        "verb": _verb_json(verb),
        "object": _activity_json(activity),
        "timestamp": jsonify_datetime(timestamp),
        "context": _context_json(setting),
    }
    if outcome is not None:
        statement["result"] = _result_json(outcome)
    return statement


def build_statement_with_tincan(verb: str, actor: ActorRef, activity: ActivityRef, setting: Setting, *,
                                timestamp: dt.datetime, outcome: Outcome | None = None,
                                statement_id: uuid.UUID | None = None) -> dict[str, Any]:
    """Build the same statement as :func:`build_statement` entirely from tincan objects (slower)."""
    statement = Statement(
        id=statement_id or uuid.uuid4(), actor=_agent(actor), verb=_verb(verb),
        object=_activity(activity), context=_context(setting), timestamp=timestamp,
    )
    if outcome is not None:
        statement.result = _result(outcome)
    return _as_json(statement)


def build_voiding(statement_id: str, authority: ActorRef, *, timestamp: dt.datetime) -> dict[str, Any]:
    """Return a statement that voids ``statement_id`` on behalf of ``authority`` (the tool)."""
    statement = Statement(
        id=uuid.uuid4(), actor=_agent(authority), verb=_verb(x.VERB_VOIDED),
        object=StatementRef(id=uuid.UUID(statement_id)), timestamp=timestamp,
    )
    return _as_json(statement)


def _as_json(statement: Statement) -> dict[str, Any]:
    data: dict[str, Any] = statement.as_version(x.XAPI_VERSION)
    data.pop("version", None)  # the LRS stamps the version it stores
    return data

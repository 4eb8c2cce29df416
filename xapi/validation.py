"""Our own check of xAPI 1.0.3 statements, run before a statement is queued for the record store.

A statement is a JSON-ready mapping: the output of ``tincan.Statement.as_version("1.0.3")`` or one
written by hand. The check follows the Data part of xAPI 1.0.3 more closely than a record store's own
validation, and adds the engine's rules: every statement carries its ``id`` and ``timestamp``, and
``stored`` and ``authority`` are left to the record store.

Each problem reads ``"<json.path>: <what is wrong>, got <value>"``. The check is pure Python, its
patterns compiled once, and it never copies the statement, because it runs inside learners' requests.
Whatever JSON-like value it is given, :func:`statement_problems` returns a list and raises nothing.
"""

from __future__ import annotations

import math
import re
import reprlib
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any, Final, Literal

__all__ = ["SharedKind", "StatementError", "remember_shared_part", "statement_problems", "validate_statement"]

Check = Callable[[Any, str, list[str]], None]
SharedKind = Literal["actor", "verb", "activity"]
BodyCheck = Callable[[Mapping[Any, Any], str, list[str]], None]

VOIDED: Final = "http://adlnet.gov/expapi/verbs/voided"
SHOWN_CHARS: Final = 80
SCALED_TOLERANCE: Final = 1e-6
REMEMBERED_STRINGS: Final = 4096  # accepted IRIs and tags kept per pattern, to skip matching them again
REMEMBERED_CHARS: Final = 512  # longer strings are matched every time, never kept
REMEMBERED_PARTS: Final = 8192  # shared statement parts known valid (see remember_shared_part)

# --- patterns, compiled once ---------------------------------------------------------------------

_BAD_IRI_CHARS = r"\s<>\"{}|\\^`\x00-\x1f\x7f"
_IRI = re.compile(rf"[A-Za-z][A-Za-z0-9+.\-]*:[^{_BAD_IRI_CHARS}]+")
_IRL = re.compile(
    rf"(?i:https?)://(?:[^{_BAD_IRI_CHARS}/?#@]*@)?"  # optional user information
    rf"(?:\[[0-9A-Fa-f:.]+\]|[^{_BAD_IRI_CHARS}/?#@:\[\]]+)"  # the host, which must be there
    rf"(?::[0-9]*)?(?:[/?#][^{_BAD_IRI_CHARS}]*)?"  # port, then path, query and fragment
)
_MBOX = re.compile(rf"(?i:mailto):[^{_BAD_IRI_CHARS}@]+@[^{_BAD_IRI_CHARS}@]+")
_SHA1 = re.compile(r"[0-9a-fA-F]{40}")
_UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
_VERSION = re.compile(r"1\.0\.[0-9]+")
_TIMESTAMP = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt][0-9]{2}:[0-9]{2}(?::[0-9]{2}(?:[.,][0-9]+)?)?"
    r"(?P<zone>[Zz]|[+-][0-9]{2}(?::?[0-9]{2})?)"
)
_NEGATIVE_ZERO_ZONES = frozenset({"-00", "-0000", "-00:00"})
# ISO 8601 durations as xAPI uses them: weeks alone, or date and time parts; a fraction on seconds only.
_DURATION = re.compile(
    r"P(?:[0-9]+W|(?=[0-9]|T[0-9])(?:[0-9]+Y)?(?:[0-9]+M)?(?:[0-9]+D)?"
    r"(?:T(?=[0-9])(?:[0-9]+H)?(?:[0-9]+M)?(?:[0-9]+(?:[.,][0-9]+)?S)?)?)"
)
# RFC 5646 language tags. The primary language is 2-3 letters with up to three extended subtags:
# 4 and 5-8 letter primary subtags are reserved and never registered, so "english" is refused.
_LANGTAG = re.compile(
    r"(?:[a-z]{2,3}(?:-[a-z]{3}){0,3}"  # language and extlang
    r"(?:-[a-z]{4})?"  # script
    r"(?:-(?:[a-z]{2}|[0-9]{3}))?"  # region
    r"(?:-(?:[a-z0-9]{5,8}|[0-9][a-z0-9]{3}))*"  # variants
    r"(?:-[0-9a-wyz](?:-[a-z0-9]{2,8})+)*"  # extensions
    r"(?:-x(?:-[a-z0-9]{1,8})+)?"  # private use
    r"|x(?:-[a-z0-9]{1,8})+"  # private use alone
    r"|en-gb-oed|i-(?:ami|bnn|default|enochian|hak|klingon|lux|mingo|navajo|pwn|tao|tay|tsu)"
    r"|sgn-(?:be-fr|be-nl|ch-de))",  # irregular grandfathered tags
    re.IGNORECASE | re.ASCII,
)
_COMPONENT_ID = re.compile(r"\S+")

_SHOWN = reprlib.Repr()
_SHOWN.maxstring = SHOWN_CHARS
_SHOWN.maxother = SHOWN_CHARS
_SHOWN.maxlevel = 3
_SHOWN.maxlist = _SHOWN.maxtuple = _SHOWN.maxdict = 5

# --- the error -----------------------------------------------------------------------------------


class StatementError(ValueError):
    """A statement breaks xAPI 1.0.3; ``problems`` lists each rule broken, with its JSON path."""

    problems: list[str]

    def __init__(self, problems: list[str]) -> None:
        self.problems = list(problems)
        super().__init__("statement breaks xAPI 1.0.3: " + "; ".join(self.problems))


# --- reporting -----------------------------------------------------------------------------------

_ABSENT: Final = object()
# dict first: a plain dict is told apart at once, without the slower abstract-class check
_OBJECT_TYPES: Final = (dict, Mapping)


def _show(value: Any) -> str:
    """Render ``value`` for a problem: repr-like, bounded in depth and cut to 80 characters."""
    try:
        text = _SHOWN.repr(value)
    except Exception:  # a value repr() refuses, such as an int of more than 4300 digits
        text = f"<{type(value).__name__} too large to show>"
    return text if len(text) <= SHOWN_CHARS else text[: SHOWN_CHARS - 3] + "..."


def _report(problems: list[str], path: str, what: str, value: Any = _ABSENT) -> None:
    """Add one problem; the value, when given, follows as ``got ...``."""
    where = path or "statement"
    problems.append(f"{where}: {what}" if value is _ABSENT else f"{where}: {what}, got {_show(value)}")


def _join(path: str, key: Any) -> str:
    """Return the path of property ``key`` below ``path``."""
    name = key if isinstance(key, str) and len(key) <= SHOWN_CHARS else _show(key)
    return f"{path}.{name}" if path else name


def _entry(path: str, key: Any) -> str:
    """Return the path of a map entry (a language or an extension) below ``path``."""
    return f"{path}[{_show(key)}]"


# --- shapes --------------------------------------------------------------------------------------


def _object_at(value: Any, path: str, problems: list[str]) -> Mapping[Any, Any] | None:
    """Return ``value`` if it is a JSON object, else report it and return None."""
    if isinstance(value, _OBJECT_TYPES):
        return value
    _report(problems, path, "must be a JSON object", value)
    return None


def _list_at(value: Any, path: str, problems: list[str]) -> list[Any] | tuple[Any, ...] | None:
    """Return ``value`` if it is a JSON array, else report it and return None."""
    if isinstance(value, list | tuple):
        return value
    _report(problems, path, "must be a JSON array", value)
    return None


def _check_fields(
    obj: Mapping[Any, Any],
    fields: Mapping[str, Check],
    path: str,
    problems: list[str],
    kind: str,
    required: tuple[str, ...] = (),
) -> None:
    """Check each property of ``obj`` with its check in ``fields``; report those it has no check for.

    Each of ``required`` that ``obj`` lacks is reported too.
    """
    for key in required:
        if key not in obj:
            _report(problems, _join(path, key), "is required")
    prefix = f"{path}." if path else ""
    for key, value in obj.items():
        check = fields.get(key)
        if check is None:
            _report(problems, _join(path, key), f"is not a property of {kind}")
        else:
            check(value, prefix + key, problems)  # key equals a field name, so it is a short string


def _skip(value: Any, path: str, problems: list[str]) -> None:
    """Check nothing: the property was checked by whoever chose how to read the object."""


# --- parts that many statements share ------------------------------------------------------------


class _SharedParts:
    """Statement parts found valid once and shared, never changed, by the statements that hold them.

    Kept by identity, each with the object itself, so that an id is never taken for another
    object's; emptied when full.
    """

    __slots__ = ("_valid",)

    def __init__(self) -> None:
        self._valid: dict[int, tuple[str, object]] = {}

    def holds(self, kind: str, value: object) -> bool:
        """Tell whether ``value`` is this very object, found valid as a ``kind``."""
        found = self._valid.get(id(value))
        return found is not None and found[1] is value and found[0] == kind

    def add(self, kind: str, value: object) -> None:
        """Remember that ``value`` is a valid ``kind``."""
        if len(self._valid) >= REMEMBERED_PARTS:
            self._valid.clear()
        self._valid[id(value)] = (kind, value)


_SHARED: Final = _SharedParts()


def remember_shared_part(kind: SharedKind, part: Mapping[str, Any]) -> list[str]:
    """Check an actor, a verb or an Activity that many statements will share; return its problems.

    When it has none, a statement holding this very object skips checking it again, so the
    caller promises never to change it (a statement builder's cached parts, say). A part with
    problems is not remembered: each statement holding it reports them.
    """
    problems: list[str] = []
    _SHARED_CHECKS[kind](part, kind, problems)
    if not problems:
        _SHARED.add(kind, part)
    return problems


# --- scalars -------------------------------------------------------------------------------------


def _check_string(value: Any, path: str, problems: list[str]) -> None:
    if not isinstance(value, str):
        _report(problems, path, "must be a string", value)


def _check_name(value: Any, path: str, problems: list[str]) -> None:
    if not isinstance(value, str) or not value:
        _report(problems, path, "must be a non-empty string", value)


def _check_boolean(value: Any, path: str, problems: list[str]) -> None:
    if not isinstance(value, bool):
        _report(problems, path, "must be true or false", value)


class _Form:
    """A pattern that whole strings must match; it remembers short strings it accepted.

    Statements repeat the same IRIs, home pages and language tags request after request, so a set
    lookup spares most regular-expression runs. The memory is bounded: it is emptied when full.
    """

    __slots__ = ("_accepted", "_pattern", "_remember", "what")

    def __init__(self, pattern: re.Pattern[str], what: str, *, remember: bool = False) -> None:
        self._pattern = pattern
        self._accepted: set[str] = set()
        self._remember = remember
        self.what = what

    def accepts(self, value: Any) -> bool:
        """Tell whether ``value`` is a string the pattern matches whole."""
        if not isinstance(value, str):
            return False
        if value in self._accepted:
            return True
        if self._pattern.fullmatch(value) is None:
            return False
        if self._remember and len(value) <= REMEMBERED_CHARS:
            if len(self._accepted) >= REMEMBERED_STRINGS:
                self._accepted.clear()
            self._accepted.add(value)
        return True

    def check(self, value: Any, path: str, problems: list[str]) -> None:
        """Report ``value`` at ``path`` unless the pattern accepts it."""
        if not self.accepts(value):
            _report(problems, path, f"must be {self.what}", value)


_IRI_FORM: Final = _Form(_IRI, "an absolute IRI", remember=True)
_IRL_FORM: Final = _Form(_IRL, "an http or https IRL with a host", remember=True)
_LANGTAG_FORM: Final = _Form(_LANGTAG, "an RFC 5646 language tag", remember=True)
_check_iri: Final = _IRI_FORM.check
_check_irl: Final = _IRL_FORM.check
_check_language_tag: Final = _LANGTAG_FORM.check
_check_uuid: Final = _Form(_UUID, "a UUID in 8-4-4-4-12 hexadecimal form").check
# learners' own identifiers (mbox, mbox_sha1sum) repeat little and are not kept
_check_mbox: Final = _Form(_MBOX, "mailto: followed by an email address").check
_check_sha1: Final = _Form(_SHA1, "a SHA-1 of 40 hexadecimal characters").check
_check_duration: Final = _Form(_DURATION, "an ISO 8601 duration such as PT1M5S").check
_check_version: Final = _Form(_VERSION, "an xAPI 1.0.x version", remember=True).check
_check_component_id: Final = _Form(_COMPONENT_ID, "a non-empty string without whitespace").check


def _check_timestamp(value: Any, path: str, problems: list[str]) -> None:
    """Check an ISO 8601 date-time with a time zone that names a real moment."""
    match = _TIMESTAMP.fullmatch(value) if isinstance(value, str) else None
    if match is None:
        _report(problems, path, "must be an ISO 8601 date-time with a time zone", value)
    elif match["zone"] in _NEGATIVE_ZERO_ZONES:
        _report(problems, path, "must not use a negative zero offset", value)
    elif not _parses_as_datetime(value):
        _report(problems, path, "must be a real date and time", value)


def _parses_as_datetime(text: str) -> bool:
    """Tell whether ``datetime.fromisoformat`` reads ``text`` (after mapping a trailing Z)."""
    if text[-1] in "Zz":
        text = text[:-1] + "+00:00"
    try:
        datetime.fromisoformat(text)
    except ValueError:
        return False
    return True


def _check_length(value: Any, path: str, problems: list[str]) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        _report(problems, path, "must be a whole number of octets, 0 or more", value)


def _report_lrs_owned(value: Any, path: str, problems: list[str]) -> None:
    """Report a property that only the record store sets."""
    _report(problems, path, "is set by the learning record store, not by the engine", value)


# --- maps ----------------------------------------------------------------------------------------


def _check_language_map(value: Any, path: str, problems: list[str]) -> None:
    """Check a language map: RFC 5646 tags to strings. An empty map is allowed."""
    language_map = _object_at(value, path, problems)
    if language_map is None:
        return
    for tag, text in language_map.items():
        if not _LANGTAG_FORM.accepts(tag):
            _report(problems, path, "keys must be RFC 5646 language tags", tag)
        elif not isinstance(text, str):
            _report(problems, _entry(path, tag), "must be a string", text)


def _check_extensions(value: Any, path: str, problems: list[str]) -> None:
    """Check extensions: keys are absolute IRIs, values anything JSON."""
    extensions = _object_at(value, path, problems)
    if extensions is None:
        return
    for key in extensions:
        if not _IRI_FORM.accepts(key):
            _report(problems, path, "keys must be absolute IRIs", key)


# --- agents and groups ---------------------------------------------------------------------------

_IDENTIFIERS: Final = ("mbox", "mbox_sha1sum", "openid", "account")


def _check_account(value: Any, path: str, problems: list[str]) -> None:
    account = _object_at(value, path, problems)
    if account is not None:
        _check_fields(account, _ACCOUNT_FIELDS, path, problems, "an account", ("homePage", "name"))


def _check_identifiers(obj: Mapping[Any, Any], path: str, problems: list[str], *, group: bool) -> bool:
    """Check that ``obj`` has one inverse functional identifier (or none, for a group); tell if it has."""
    found = [key for key in _IDENTIFIERS if key in obj]
    if len(found) > 1:
        _report(problems, path, "must have exactly one of mbox, mbox_sha1sum, openid, account", found)
    elif not found and not group:
        _report(problems, path, "must have one of mbox, mbox_sha1sum, openid, account")
    return bool(found)


def _check_agent_body(obj: Mapping[Any, Any], path: str, problems: list[str]) -> None:
    _check_fields(obj, _AGENT_FIELDS, path, problems, "an Agent")
    _check_identifiers(obj, path, problems, group=False)


def _check_group_body(obj: Mapping[Any, Any], path: str, problems: list[str]) -> None:
    """Check a Group: identified by one identifier, or anonymous with a non-empty member list."""
    _check_fields(obj, _GROUP_FIELDS, path, problems, "a Group")
    identified = _check_identifiers(obj, path, problems, group=True)
    if not identified and not obj.get("member"):
        _report(problems, _join(path, "member"), "an anonymous Group must list its members",
                obj.get("member", []))


def _check_member(value: Any, path: str, problems: list[str]) -> None:
    """Check one member of a Group: an Agent, never a Group."""
    member = _object_at(value, path, problems)
    if member is None:
        return
    kind = member.get("objectType", _ABSENT)
    if kind == "Group":
        _report(problems, _join(path, "objectType"), "a Group's members cannot be Groups", kind)
    elif kind is not _ABSENT and kind != "Agent":
        _report(problems, _join(path, "objectType"), 'must be "Agent"', kind)
    _check_agent_body(member, path, problems)


def _check_members(value: Any, path: str, problems: list[str]) -> None:
    members = _list_at(value, path, problems)
    for index, member in enumerate(members or ()):
        _check_member(member, f"{path}[{index}]", problems)


def _check_actor(value: Any, path: str, problems: list[str]) -> None:
    """Check an Agent or a Group, told apart by objectType (absent means Agent)."""
    if _SHARED.holds("actor", value):
        return
    actor = _object_at(value, path, problems)
    if actor is None:
        return
    kind = actor.get("objectType", _ABSENT)
    if kind is _ABSENT or kind == "Agent":
        _check_agent_body(actor, path, problems)
    elif kind == "Group":
        _check_group_body(actor, path, problems)
    else:
        _report(problems, _join(path, "objectType"), 'must be "Agent" or "Group"', kind)


def _check_team(value: Any, path: str, problems: list[str]) -> None:
    team = _object_at(value, path, problems)
    if team is None:
        return
    if team.get("objectType") != "Group":
        _report(problems, _join(path, "objectType"), 'must be "Group"', team.get("objectType"))
    _check_group_body(team, path, problems)


# --- verbs and activities ------------------------------------------------------------------------


def _check_verb(value: Any, path: str, problems: list[str]) -> None:
    if _SHARED.holds("verb", value):
        return
    verb = _object_at(value, path, problems)
    if verb is not None:
        _check_fields(verb, _VERB_FIELDS, path, problems, "a Verb", ("id",))


def _check_activity_body(obj: Mapping[Any, Any], path: str, problems: list[str]) -> None:
    _check_fields(obj, _ACTIVITY_FIELDS, path, problems, "an Activity", ("id",))


def _check_activity(value: Any, path: str, problems: list[str]) -> None:
    """Check an Activity on its own: objectType, if there, must say so."""
    if _SHARED.holds("activity", value):
        return
    activity = _object_at(value, path, problems)
    if activity is None:
        return
    kind = activity.get("objectType", _ABSENT)
    if kind is not _ABSENT and kind != "Activity":
        _report(problems, _join(path, "objectType"), 'must be "Activity"', kind)
    _check_activity_body(activity, path, problems)


def _check_definition(value: Any, path: str, problems: list[str]) -> None:
    definition = _object_at(value, path, problems)
    if definition is not None:
        _check_fields(definition, _DEFINITION_FIELDS, path, problems, "an Activity definition")
        _check_interaction_parts(definition, path, problems)


def _check_interaction_type(value: Any, path: str, problems: list[str]) -> None:
    if not isinstance(value, str) or value not in _COMPONENTS_BY_TYPE:
        _report(problems, path, "must be one of " + ", ".join(_COMPONENTS_BY_TYPE), value)


def _check_interaction_parts(definition: Mapping[Any, Any], path: str, problems: list[str]) -> None:
    """Check that interaction properties come with an interactionType whose components they are."""
    parts = [key for key in _INTERACTION_PARTS if key in definition]
    if not parts:
        return
    kind = definition.get("interactionType", _ABSENT)
    if kind is _ABSENT:
        _report(problems, _join(path, "interactionType"), "is required with " + ", ".join(parts))
        return
    allowed = _COMPONENTS_BY_TYPE.get(kind) if isinstance(kind, str) else None
    if allowed is None:
        return  # the interactionType itself is already reported
    for key in parts:
        if key != "correctResponsesPattern" and key not in allowed:
            _report(problems, _join(path, key), f"is not a component of a {kind!r} interaction")


def _check_responses(value: Any, path: str, problems: list[str]) -> None:
    responses = _list_at(value, path, problems)
    for index, response in enumerate(responses or ()):
        _check_string(response, f"{path}[{index}]", problems)


def _check_components(value: Any, path: str, problems: list[str]) -> None:
    """Check an interaction component list: objects with distinct ids."""
    components = _list_at(value, path, problems)
    seen: set[str] = set()
    for index, component in enumerate(components or ()):
        where = f"{path}[{index}]"
        _check_component(component, where, problems)
        ident = component.get("id") if isinstance(component, _OBJECT_TYPES) else None
        if isinstance(ident, str):
            if ident in seen:
                _report(problems, _join(where, "id"), "repeats an id earlier in the list", ident)
            seen.add(ident)


def _check_component(value: Any, path: str, problems: list[str]) -> None:
    component = _object_at(value, path, problems)
    if component is not None:
        _check_fields(component, _COMPONENT_FIELDS, path, problems, "an interaction component", ("id",))


# --- statement references and objects ------------------------------------------------------------


def _check_statement_ref_body(obj: Mapping[Any, Any], path: str, problems: list[str]) -> None:
    _check_fields(obj, _STATEMENT_REF_FIELDS, path, problems, "a StatementRef", ("id",))


def _check_statement_ref(value: Any, path: str, problems: list[str]) -> None:
    ref = _object_at(value, path, problems)
    if ref is None:
        return
    if ref.get("objectType") != "StatementRef":
        _report(problems, _join(path, "objectType"), 'must be "StatementRef"', ref.get("objectType"))
    _check_statement_ref_body(ref, path, problems)


def _check_object_of(value: Any, path: str, problems: list[str], bodies: Mapping[str, BodyCheck]) -> None:
    """Check a statement's object, read as its objectType (absent means Activity) says."""
    if _SHARED.holds("activity", value):
        return
    obj = _object_at(value, path, problems)
    if obj is None:
        return
    kind = obj.get("objectType", "Activity")
    check = bodies.get(kind) if isinstance(kind, str) else None
    if check is None:
        _report(problems, _join(path, "objectType"), "must be one of " + ", ".join(bodies), kind)
    else:
        check(obj, path, problems)


def _check_object(value: Any, path: str, problems: list[str]) -> None:
    _check_object_of(value, path, problems, _OBJECT_BODIES)


def _check_inner_object(value: Any, path: str, problems: list[str]) -> None:
    """Check a SubStatement's object, which cannot be another SubStatement."""
    if isinstance(value, _OBJECT_TYPES) and value.get("objectType") == "SubStatement":
        _report(problems, _join(path, "objectType"), "a SubStatement cannot hold a SubStatement",
                "SubStatement")
        return
    _check_object_of(value, path, problems, _INNER_OBJECT_BODIES)


def _is_activity(value: Any) -> bool:
    """Tell whether a statement's object is an Activity."""
    return isinstance(value, _OBJECT_TYPES) and value.get("objectType", "Activity") == "Activity"


# --- result --------------------------------------------------------------------------------------


def _check_result(value: Any, path: str, problems: list[str]) -> None:
    result = _object_at(value, path, problems)
    if result is not None:
        _check_fields(result, _RESULT_FIELDS, path, problems, "a Result")


def _number_at(value: Any, path: str, problems: list[str]) -> float | None:
    """Return ``value`` if it is a JSON number within float range, else report it and return None.

    The value is returned as given (an int stays an int) so that problems show what was sent.
    """
    if isinstance(value, int | float) and not isinstance(value, bool):
        try:
            finite = math.isfinite(value)
        except OverflowError:  # an int beyond float range
            finite = False
        if finite:
            return value
    _report(problems, path, "must be a finite number", value)
    return None


def _check_score(value: Any, path: str, problems: list[str]) -> None:
    """Check a Score's numbers, their order, and that scaled agrees with raw, min and max."""
    score = _object_at(value, path, problems)
    if score is None:
        return
    before = len(problems)
    numbers: dict[str, float] = {}
    for key, number in score.items():
        if key not in _SCORE_KEYS:
            _report(problems, _join(path, key), "is not a property of a Score")
            continue
        checked = _number_at(number, f"{path}.{key}", problems)
        if checked is not None:
            numbers[key] = checked
    _check_score_order(numbers, path, problems)
    if len(problems) == before:
        _check_scaled_agrees(numbers, path, problems)


def _check_score_order(numbers: dict[str, float], path: str, problems: list[str]) -> None:
    """Check -1 <= scaled <= 1, min < max, and min <= raw <= max."""
    scaled, raw = numbers.get("scaled"), numbers.get("raw")
    low, high = numbers.get("min"), numbers.get("max")
    if scaled is not None and not -1 <= scaled <= 1:
        _report(problems, _join(path, "scaled"), "must be between -1 and 1", scaled)
    if low is not None and high is not None and low >= high:
        _report(problems, _join(path, "min"), f"must be less than max ({_show(high)})", low)
    if raw is not None and low is not None and raw < low:
        _report(problems, _join(path, "raw"), f"must not be below min ({_show(low)})", raw)
    if raw is not None and high is not None and raw > high:
        _report(problems, _join(path, "raw"), f"must not be above max ({_show(high)})", raw)


def _check_scaled_agrees(numbers: dict[str, float], path: str, problems: list[str]) -> None:
    """Check that scaled is one of the usual normalisations of raw between min and max."""
    scaled, raw, high = numbers.get("scaled"), numbers.get("raw"), numbers.get("max")
    if scaled is None or raw is None or high is None:
        return
    expected = _normalisations(float(raw), float(numbers.get("min", 0.0)), float(high))
    if expected and all(abs(scaled - candidate) > SCALED_TOLERANCE for candidate in expected):
        _report(problems, _join(path, "scaled"),
                f"must agree with raw, min and max (expected {round(expected[0], 6)!r})", scaled)


def _normalisations(raw: float, low: float, high: float) -> list[float]:
    """Return the scaled values that raw may map to: raw/max, or raw placed between min and max."""
    candidates: list[float] = []
    if low >= 0:
        if high != 0:
            candidates.append(raw / high)
        if high != low:
            candidates.append((raw - low) / (high - low))
        return candidates
    if raw >= 0 and high > 0:
        candidates.append(raw / high)
    if raw < 0:
        candidates.append(raw / -low)
    if high != low:
        candidates.append(2 * (raw - low) / (high - low) - 1)
    return candidates


# --- context -------------------------------------------------------------------------------------


def _check_context(value: Any, path: str, problems: list[str], *, about_activity: bool) -> None:
    """Check a Context; revision and platform only belong to statements about an Activity."""
    context = _object_at(value, path, problems)
    if context is None:
        return
    _check_fields(context, _CONTEXT_FIELDS, path, problems, "a Context")
    if not about_activity:
        for key in ("revision", "platform"):
            if key in context:
                _report(problems, _join(path, key), "is only allowed when the object is an Activity",
                        context[key])


def _check_context_activities(value: Any, path: str, problems: list[str]) -> None:
    activities = _object_at(value, path, problems)
    if activities is not None:
        _check_fields(activities, _CONTEXT_ACTIVITY_FIELDS, path, problems, "contextActivities")


def _check_activity_or_list(value: Any, path: str, problems: list[str]) -> None:
    """Check one Activity or a list of them, both allowed in contextActivities."""
    if isinstance(value, list | tuple):
        for index, activity in enumerate(value):
            _check_activity(activity, f"{path}[{index}]", problems)
    elif isinstance(value, _OBJECT_TYPES):
        _check_activity(value, path, problems)
    else:
        _report(problems, path, "must be an Activity or a list of Activities", value)


# --- attachments ---------------------------------------------------------------------------------


def _check_attachments(value: Any, path: str, problems: list[str]) -> None:
    attachments = _list_at(value, path, problems)
    for index, attachment in enumerate(attachments or ()):
        _check_attachment(attachment, f"{path}[{index}]", problems)


def _check_attachment(value: Any, path: str, problems: list[str]) -> None:
    attachment = _object_at(value, path, problems)
    if attachment is not None:
        _check_fields(attachment, _ATTACHMENT_FIELDS, path, problems, "an Attachment", _ATTACHMENT_REQUIRED)


# --- statements ----------------------------------------------------------------------------------


def _check_body_rules(obj: Mapping[Any, Any], path: str, problems: list[str]) -> None:
    """Check the rules that span a statement's properties: its context and the voiding verb."""
    if "context" in obj:
        _check_context(obj["context"], _join(path, "context"), problems,
                       about_activity=_is_activity(obj.get("object")))
    verb = obj.get("verb")
    if isinstance(verb, _OBJECT_TYPES) and verb.get("id") == VOIDED:
        target = obj.get("object")
        if not isinstance(target, _OBJECT_TYPES) or target.get("objectType") != "StatementRef":
            _report(problems, _join(path, "object"), "the voided verb needs a StatementRef object",
                    target.get("objectType") if isinstance(target, _OBJECT_TYPES) else target)


def _check_substatement_body(obj: Mapping[Any, Any], path: str, problems: list[str]) -> None:
    _check_fields(obj, _SUBSTATEMENT_FIELDS, path, problems, "a SubStatement", ("actor", "verb", "object"))
    _check_body_rules(obj, path, problems)


def _report_not_in_substatement(value: Any, path: str, problems: list[str]) -> None:
    _report(problems, path, "is not allowed in a SubStatement", value)


def statement_problems(statement: Mapping[str, Any]) -> list[str]:
    """Return every way ``statement`` breaks xAPI 1.0.3 or the engine's rules; empty when it is valid.

    Each problem reads ``"<json.path>: <what is wrong>, got <value>"``, for instance
    ``"result.score.scaled: must be between -1 and 1, got 1.5"``. Any JSON-like value may be given;
    this never raises.
    """
    problems: list[str] = []
    if not isinstance(statement, _OBJECT_TYPES):
        _report(problems, "", "must be a JSON object", statement)
        return problems
    _check_fields(statement, _STATEMENT_FIELDS, "", problems, "a Statement", _STATEMENT_REQUIRED)
    _check_body_rules(statement, "", problems)
    return problems


def validate_statement(statement: Mapping[str, Any]) -> None:
    """Raise :class:`StatementError` listing every problem if ``statement`` breaks xAPI 1.0.3."""
    problems = statement_problems(statement)
    if problems:
        raise StatementError(problems)


# --- what each object may hold -------------------------------------------------------------------

_ACCOUNT_FIELDS: Final[Mapping[str, Check]] = {"homePage": _check_irl, "name": _check_name}
_AGENT_FIELDS: Final[Mapping[str, Check]] = {
    "objectType": _skip,
    "name": _check_string,
    "mbox": _check_mbox,
    "mbox_sha1sum": _check_sha1,
    "openid": _check_iri,
    "account": _check_account,
}
_GROUP_FIELDS: Final[Mapping[str, Check]] = {**_AGENT_FIELDS, "member": _check_members}
_VERB_FIELDS: Final[Mapping[str, Check]] = {"id": _check_iri, "display": _check_language_map}
_ACTIVITY_FIELDS: Final[Mapping[str, Check]] = {
    "objectType": _skip,
    "id": _check_iri,
    "definition": _check_definition,
}
_COMPONENT_FIELDS: Final[Mapping[str, Check]] = {
    "id": _check_component_id,
    "description": _check_language_map,
}
# Which component lists each interactionType may carry.
_COMPONENTS_BY_TYPE: Final[Mapping[str, frozenset[str]]] = {
    "true-false": frozenset(),
    "choice": frozenset({"choices"}),
    "fill-in": frozenset(),
    "long-fill-in": frozenset(),
    "matching": frozenset({"source", "target"}),
    "performance": frozenset({"steps"}),
    "sequencing": frozenset({"choices"}),
    "likert": frozenset({"scale"}),
    "numeric": frozenset(),
    "other": frozenset(),
}
_INTERACTION_PARTS: Final = ("correctResponsesPattern", "choices", "scale", "source", "target", "steps")
_DEFINITION_FIELDS: Final[Mapping[str, Check]] = {
    "name": _check_language_map,
    "description": _check_language_map,
    "type": _check_iri,
    "moreInfo": _check_irl,
    "extensions": _check_extensions,
    "interactionType": _check_interaction_type,
    "correctResponsesPattern": _check_responses,
    "choices": _check_components,
    "scale": _check_components,
    "source": _check_components,
    "target": _check_components,
    "steps": _check_components,
}
_STATEMENT_REF_FIELDS: Final[Mapping[str, Check]] = {"objectType": _skip, "id": _check_uuid}
_INNER_OBJECT_BODIES: Final[Mapping[str, BodyCheck]] = {
    "Activity": _check_activity_body,
    "Agent": _check_agent_body,
    "Group": _check_group_body,
    "StatementRef": _check_statement_ref_body,
}
_OBJECT_BODIES: Final[Mapping[str, BodyCheck]] = {
    **_INNER_OBJECT_BODIES,
    "SubStatement": _check_substatement_body,
}
_SCORE_KEYS: Final = frozenset({"scaled", "raw", "min", "max"})
_RESULT_FIELDS: Final[Mapping[str, Check]] = {
    "score": _check_score,
    "success": _check_boolean,
    "completion": _check_boolean,
    "response": _check_string,
    "duration": _check_duration,
    "extensions": _check_extensions,
}
_CONTEXT_ACTIVITY_FIELDS: Final[Mapping[str, Check]] = dict.fromkeys(
    ("parent", "grouping", "category", "other"), _check_activity_or_list
)
_CONTEXT_FIELDS: Final[Mapping[str, Check]] = {
    "registration": _check_uuid,
    "instructor": _check_actor,
    "team": _check_team,
    "contextActivities": _check_context_activities,
    "revision": _check_string,
    "platform": _check_string,
    "language": _check_language_tag,
    "statement": _check_statement_ref,
    "extensions": _check_extensions,
}
_ATTACHMENT_FIELDS: Final[Mapping[str, Check]] = {
    "usageType": _check_iri,
    "display": _check_language_map,
    "description": _check_language_map,
    "contentType": _check_name,
    "length": _check_length,
    "sha2": _check_name,
    "fileUrl": _check_irl,
}
_ATTACHMENT_REQUIRED: Final = ("usageType", "display", "contentType", "length", "sha2")
_SUBSTATEMENT_FIELDS: Final[Mapping[str, Check]] = {
    "objectType": _skip,
    "actor": _check_actor,
    "verb": _check_verb,
    "object": _check_inner_object,
    "result": _check_result,
    "context": _skip,  # checked with the object it describes, in _check_body_rules
    "timestamp": _check_timestamp,
    "attachments": _check_attachments,
    "id": _report_not_in_substatement,
    "stored": _report_not_in_substatement,
    "version": _report_not_in_substatement,
    "authority": _report_not_in_substatement,
}
_STATEMENT_REQUIRED: Final = ("id", "actor", "verb", "object", "timestamp")  # id and timestamp: ours
_STATEMENT_FIELDS: Final[Mapping[str, Check]] = {
    "id": _check_uuid,
    "actor": _check_actor,
    "verb": _check_verb,
    "object": _check_object,
    "result": _check_result,
    "context": _skip,  # checked with the object it describes, in _check_body_rules
    "timestamp": _check_timestamp,
    "version": _check_version,
    "attachments": _check_attachments,
    "stored": _report_lrs_owned,
    "authority": _report_lrs_owned,
}
_SHARED_CHECKS: Final[Mapping[str, Check]] = {
    "actor": _check_actor,
    "verb": _check_verb,
    "activity": _check_activity,
}

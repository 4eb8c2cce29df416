"""The competency framework as data: frozen dataclasses, the native YAML format and its checks.

A framework is a tree of at most three levels: domains, their competencies, and the
competencies' observable indicators, with one proficiency scale for all of them. Every node has
a stable ``idnumber`` (see ``docs/competency-ids.md``) and a stable UUID. The UUID is derived from
the framework's and the node's idnumbers (so exports are reproducible) unless the document gives
one: an imported CASE package keeps its own identifiers.

Every way in goes through the same checks: the bundled ``framework/l2i.yaml``, an imported YAML
file, a CASE package and a Moodle CSV file (see :mod:`competencies.exchange`). A fault is reported
as a :class:`FrameworkError` whose message names the file and the line or the path, e.g.
``l2i.yaml:42: duplicate idnumber L2I-C1.1 (first at l2i.yaml:12)``.
"""

from __future__ import annotations

import datetime as dt
import functools
import re
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import yaml
from marshmallow import Schema, ValidationError, fields, validate

Kind = Literal["domain", "competency", "indicator"]
KINDS: tuple[Kind, ...] = ("domain", "competency", "indicator")
BUNDLED_PATH = Path(__file__).parent / "framework" / "l2i.yaml"
# Fixed forever: changing it would change every exported identifier.
UUID_NAMESPACE = uuid.UUID("56b42f58-86af-4e82-968d-08ef5ab1a745")
DEFAULT_LAST_CHANGED = dt.datetime(2026, 11, 21, tzinfo=dt.UTC)
MAX_BYTES = 5 * 1024 * 1024
MAX_NODES = 10_000
MIN_LEVELS = 4
MAX_IDNUMBER = 100
MAX_SHORTNAME = 100
MAX_TEXT = 20_000
MAX_REPORTED = 20
MAX_SHOWN = 80
MAX_CHAIN_SHOWN = 8

FieldPath = tuple[str | int, ...]
Locate = Callable[[FieldPath], str]

UUID_PATTERN = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
_IDNUMBER_PATTERN = re.compile(r"^[^\x00-\x20\x7f](?:[^\x00-\x1f\x7f]*[^\x00-\x20\x7f])?$")
_LANGUAGE_PATTERN = re.compile(r"^[A-Za-z]{2,3}(?:-[A-Za-z0-9]{1,8})*$")
_TAXONOMY_PATTERN = re.compile(r"^[a-z][a-z_-]*$")
_SURROGATE = re.compile("[\ud800-\udfff]")


class FrameworkError(ValueError):
    """A framework document that cannot be used; the message names the file and the line or path."""


@dataclass(frozen=True)
class ScaleLevel:
    """One level of the proficiency scale (numbered from 1, lowest first)."""

    level: int
    name: str
    descriptor: str


@dataclass(frozen=True)
class Scale:
    """The framework's proficiency scale; ``proficient_level`` is the expected standard."""

    name: str
    description: str
    levels: tuple[ScaleLevel, ...]
    proficient_level: int

    def level(self, n: int) -> ScaleLevel:
        """Return level ``n`` (1-based); raise ``KeyError`` if the scale has no such level."""
        for candidate in self.levels:
            if candidate.level == n:
                return candidate
        raise KeyError(f"scale {self.name!r} has no level {n}")

    @property
    def names(self) -> tuple[str, ...]:
        """The levels' names, lowest first."""
        return tuple(level.name for level in self.levels)


@dataclass(frozen=True)
class Node:
    """A domain, competency or indicator; ``sortorder`` is its position among its siblings (from 1)."""

    idnumber: str
    kind: Kind
    shortname: str
    description: str
    parent: str | None
    uuid: str
    sortorder: int


@dataclass(frozen=True)
class Framework:
    """A whole competency framework; ``nodes`` are in document order (each node before its children)."""

    idnumber: str
    uuid: str
    version: str
    shortname: str
    description: str
    language: str
    publisher: str
    scale: Scale
    taxonomies: tuple[str, ...]
    nodes: tuple[Node, ...]
    last_changed: dt.datetime = DEFAULT_LAST_CHANGED

    @functools.cached_property
    def _by_idnumber(self) -> dict[str, Node]:
        return {node.idnumber: node for node in self.nodes}

    @functools.cached_property
    def _children(self) -> dict[str | None, tuple[Node, ...]]:
        grouped: dict[str | None, list[Node]] = {}
        for node in self.nodes:
            grouped.setdefault(node.parent, []).append(node)
        return {parent: tuple(kids) for parent, kids in grouped.items()}

    def node(self, idnumber: str) -> Node | None:
        """Return the node with ``idnumber``, or ``None``."""
        return self._by_idnumber.get(idnumber)

    def domains(self) -> tuple[Node, ...]:
        """Return the domains, in order."""
        return self._children.get(None, ())

    def competencies(self) -> tuple[Node, ...]:
        """Return the competencies (not domains or indicators), in document order."""
        return tuple(node for node in self.nodes if node.kind == "competency")

    def indicators(self) -> tuple[Node, ...]:
        """Return the indicators, in document order."""
        return tuple(node for node in self.nodes if node.kind == "indicator")

    def children(self, idnumber: str) -> tuple[Node, ...]:
        """Return the children of the node ``idnumber``, in order (none for an unknown id)."""
        return self._children.get(idnumber, ())

    def competency_ids(self) -> frozenset[str]:
        """Return the idnumbers of the competencies: the ids activities may map to."""
        return frozenset(node.idnumber for node in self.competencies())


@dataclass(frozen=True)
class NodeSpec:
    """A node as an importer read it, before the checks; ``where`` locates it in its file."""

    idnumber: str
    shortname: str
    description: str
    parent: str | None
    where: str
    uuid: str | None = None
    kind: str | None = None


def framework_uuid(idnumber: str) -> str:
    """Return the default (derived, reproducible) UUID of the framework ``idnumber``."""
    return str(uuid.uuid5(UUID_NAMESPACE, idnumber))


def node_uuid(framework_idnumber: str, idnumber: str) -> str:
    """Return the default (derived, reproducible) UUID of a node of a framework."""
    return str(uuid.uuid5(UUID_NAMESPACE, f"{framework_idnumber}/{idnumber}"))


def derived_uuid(*parts: str) -> str:
    """Return a reproducible UUID for anything else an export needs to identify."""
    return str(uuid.uuid5(UUID_NAMESPACE, "/".join(parts)))


def isoformat_utc(value: dt.datetime) -> str:
    """Format an aware datetime in UTC as ISO 8601 with a ``Z`` suffix."""
    return value.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")


def parse_utc(value: object) -> dt.datetime:
    """Parse an ISO 8601 date-time with a time zone (or take an aware datetime) and return it in UTC.

    Raises ``ValueError`` with a short reason otherwise.
    """
    if isinstance(value, dt.datetime):
        parsed = value
    elif isinstance(value, str):
        try:
            parsed = dt.datetime.fromisoformat(value)
        except ValueError:
            raise ValueError(f"not an ISO 8601 date and time: {value!r}") from None
    else:
        raise ValueError("not a date and time")
    if parsed.tzinfo is None:
        raise ValueError("the date and time needs a time zone, e.g. 2026-11-21T00:00:00Z")
    return parsed.astimezone(dt.UTC)


class UtcDateTimeField(fields.Field[dt.datetime]):
    """An ISO 8601 date-time with a time zone (YAML may also give a datetime), loaded in UTC."""

    def _deserialize(
        self, value: Any, attr: str | None, data: Mapping[str, Any] | None, **kwargs: Any
    ) -> dt.datetime:
        try:
            return parse_utc(value)
        except ValueError as exc:
            raise ValidationError(str(exc)) from None

    def _serialize(self, value: dt.datetime | None, attr: str | None, obj: Any, **kwargs: Any) -> str | None:
        return None if value is None else isoformat_utc(value)


def _idnumber_field() -> fields.Str:
    return fields.Str(required=True, validate=[
        validate.Length(min=1, max=MAX_IDNUMBER),
        validate.Regexp(_IDNUMBER_PATTERN,
                        error="Must not start or end with a space or contain control characters."),
    ])


def _uuid_field() -> fields.Str:
    return fields.Str(validate=validate.Regexp(UUID_PATTERN, error="Not a UUID (8-4-4-4-12 hex digits)."))


class IndicatorSchema(Schema):
    """An indicator (and the fields every node has)."""

    idnumber = _idnumber_field()
    uuid = _uuid_field()
    shortname = fields.Str(required=True, validate=validate.Length(min=1, max=MAX_SHORTNAME))
    description = fields.Str(required=True, validate=validate.Length(max=MAX_TEXT))


class CompetencySchema(IndicatorSchema):
    """A competency and its indicators."""

    indicators = fields.List(fields.Nested(IndicatorSchema), required=True)


class DomainSchema(IndicatorSchema):
    """A domain and its competencies."""

    competencies = fields.List(fields.Nested(CompetencySchema), required=True)


class ScaleLevelSchema(Schema):
    """One level of the scale."""

    level = fields.Int(required=True, strict=True)
    name = fields.Str(required=True, validate=validate.Length(min=1, max=MAX_SHORTNAME))
    descriptor = fields.Str(required=True, validate=validate.Length(min=1, max=MAX_TEXT))


class ScaleSchema(Schema):
    """The proficiency scale."""

    name = fields.Str(required=True, validate=validate.Length(min=1, max=MAX_SHORTNAME))
    description = fields.Str(required=True, validate=validate.Length(max=MAX_TEXT))
    proficient_level = fields.Int(required=True, strict=True)
    levels = fields.List(fields.Nested(ScaleLevelSchema), required=True, validate=validate.Length(
        min=MIN_LEVELS, error=f"A scale needs at least {MIN_LEVELS} levels."))


class FrameworkSchema(Schema):
    """The native document (``framework/l2i.yaml``)."""

    idnumber = _idnumber_field()
    uuid = _uuid_field()
    version = fields.Str(required=True, validate=validate.Length(min=1, max=50))
    last_changed = UtcDateTimeField()
    shortname = fields.Str(required=True, validate=validate.Length(min=1, max=MAX_SHORTNAME))
    description = fields.Str(required=True, validate=validate.Length(max=MAX_TEXT))
    language = fields.Str(required=True, validate=validate.Regexp(
        _LANGUAGE_PATTERN, error="Not a language tag such as en or pt-BR."))
    publisher = fields.Str(required=True, validate=validate.Length(min=1, max=MAX_SHORTNAME))
    scale = fields.Nested(ScaleSchema, required=True)
    taxonomies = fields.List(
        fields.Str(validate=validate.Regexp(_TAXONOMY_PATTERN, error="Not a lower-case word.")),
        required=True, validate=validate.Length(min=1, max=10),
    )
    domains = fields.List(fields.Nested(DomainSchema), required=True)


_NODE_SCHEMA = IndicatorSchema()
_HEADER_SCHEMA = FrameworkSchema(exclude=("domains",))
_DOCUMENT_SCHEMA = FrameworkSchema()


def shown(value: object) -> str:
    """Return ``value`` as text for a message, cut to ``MAX_SHOWN`` characters (input can be huge)."""
    text = str(value)
    if len(text) <= MAX_SHOWN:
        return text
    return f"{text[:MAX_SHOWN]}... ({len(text)} characters)"


def dotted(path: FieldPath) -> str:
    """Render a field path as ``domains[0].competencies[1].idnumber``."""
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _flatten(messages: Any, path: FieldPath = ()) -> Iterator[tuple[FieldPath, str]]:
    if isinstance(messages, Mapping):
        for key, value in messages.items():
            yield from _flatten(value, path if key == "_schema" else (*path, key))
    elif isinstance(messages, list | tuple):
        for message in messages:
            if isinstance(message, Mapping | list | tuple):
                yield from _flatten(message, path)
            else:
                yield path, str(message)
    else:
        yield path, str(messages)


def error_report(problems: Sequence[str]) -> str:
    """Join located problems into one message, at most ``MAX_REPORTED`` of them."""
    shown = list(problems[:MAX_REPORTED])
    if len(problems) > MAX_REPORTED:
        shown.append(f"... and {len(problems) - MAX_REPORTED} more")
    return "\n".join(shown)


def load_with(schema: Schema, data: Any, locate: Locate) -> dict[str, Any]:
    """Load ``data`` with a marshmallow ``schema``; on errors raise :class:`FrameworkError` with locations."""
    try:
        loaded: dict[str, Any] = schema.load(data)
    except ValidationError as exc:
        problems = [f"{locate(path)}: {message}" for path, message in _flatten(exc.messages)]
        raise FrameworkError(error_report(problems)) from None
    return loaded


def _scale_from(data: Mapping[str, Any], locate: Locate) -> Scale:
    levels = tuple(ScaleLevel(lv["level"], lv["name"], lv["descriptor"]) for lv in data["levels"])
    for index, level in enumerate(levels):
        where = locate(("scale", "levels", index))
        if level.level != index + 1:
            raise FrameworkError(f"{where}: levels must be numbered 1..{len(levels)} in order; "
                                 f"level {level.level} is in position {index + 1}")
        if "," in level.name:
            raise FrameworkError(f"{where}: level name {level.name!r} has a comma (Moodle separates "
                                 f"scale values with commas)")
        if level.name in {other.name for other in levels[:index]}:
            raise FrameworkError(f"{where}: level name {level.name!r} is used twice")
    if not 1 <= data["proficient_level"] <= len(levels):
        raise FrameworkError(f"{locate(('scale', 'proficient_level'))}: proficient level "
                             f"{data['proficient_level']} is not a level of the scale (1..{len(levels)})")
    return Scale(data["name"], data["description"], levels, data["proficient_level"])


def _check_spec(spec: NodeSpec) -> None:
    fields_ = {"idnumber": spec.idnumber, "shortname": spec.shortname, "description": spec.description}
    if spec.uuid is not None:
        fields_["uuid"] = spec.uuid
    errors = _NODE_SCHEMA.validate(fields_)
    if errors:
        problems = [f"{spec.where}: {dotted(path)}: {message}" for path, message in _flatten(errors)]
        raise FrameworkError(error_report(problems))


def _strings(value: Any, path: FieldPath = ()) -> Iterator[tuple[FieldPath, str]]:
    """Yield every string inside a loaded document (mappings, lists), with its field path."""
    if isinstance(value, str):
        yield path, value
    elif isinstance(value, Mapping):
        for key, child in value.items():
            yield from _strings(child, (*path, str(key)))
    elif isinstance(value, list | tuple):
        for index, child in enumerate(value):
            yield from _strings(child, (*path, index))


def _unicode_problem(text: str) -> str | None:
    """Say why ``text`` is not storable Unicode (a lone surrogate, e.g. from a JSON escape), else None."""
    found = _SURROGATE.search(text)
    if found is None:
        return None
    return (f"not valid Unicode text: U+{ord(found.group()):04X} is half of a surrogate pair, not a "
            "character")


def _check_unicode(header: Mapping[str, Any], nodes: Sequence[NodeSpec], locate: Locate) -> None:
    """Refuse text that could not be stored or written out as UTF-8."""
    for path, text in _strings(header):
        problem = _unicode_problem(text)
        if problem:
            raise FrameworkError(f"{locate(path)}: {problem}")
    for spec in nodes:
        for name in ("idnumber", "shortname", "description", "parent", "uuid", "kind"):
            problem = _unicode_problem(getattr(spec, name) or "")
            if problem:
                raise FrameworkError(f"{spec.where}: {name}: {problem}")


def _index_specs(specs: Sequence[NodeSpec]) -> dict[str, NodeSpec]:
    by_id: dict[str, NodeSpec] = {}
    for spec in specs:
        first = by_id.get(spec.idnumber)
        if first is not None:
            raise FrameworkError(f"{spec.where}: duplicate idnumber {spec.idnumber} (first at {first.where})")
        by_id[spec.idnumber] = spec
    for spec in specs:
        if spec.parent is not None and spec.parent not in by_id:
            raise FrameworkError(f"{spec.where}: the parent {shown(spec.parent)} of {spec.idnumber} "
                                 "does not exist")
    return by_id


def _depths(specs: Sequence[NodeSpec], by_id: Mapping[str, NodeSpec]) -> dict[str, int]:
    """Return each node's depth (domains are 1), refusing a cycle in a parent chain."""
    depths: dict[str, int] = {}
    for spec in specs:
        chain: list[str] = []
        current: str | None = spec.idnumber
        while current is not None and current not in depths:
            if current in chain:
                cycle = [*chain[chain.index(current):], current]
                if len(cycle) > MAX_CHAIN_SHOWN:
                    cycle = [*cycle[:MAX_CHAIN_SHOWN // 2], f"... ({len(cycle) - MAX_CHAIN_SHOWN} more)",
                             *cycle[-MAX_CHAIN_SHOWN // 2:]]
                raise FrameworkError(f"{by_id[current].where}: cycle in the parent chain: "
                                     + " -> ".join(cycle))
            chain.append(current)
            current = by_id[current].parent
        depth = 0 if current is None else depths[current]
        for idnumber in reversed(chain):
            depth += 1
            depths[idnumber] = depth
    return depths


def _kind_at(spec: NodeSpec, depth: int) -> Kind:
    if depth > len(KINDS):
        raise FrameworkError(f"{spec.where}: {spec.idnumber} is {depth} levels deep; a framework has at "
                             f"most {len(KINDS)} levels ({', '.join(KINDS)})")
    kind = KINDS[depth - 1]
    if spec.kind is not None and spec.kind != kind:
        raise FrameworkError(f"{spec.where}: {spec.idnumber} is marked {spec.kind!r} but sits at level "
                             f"{depth}, where a framework has a {kind}")
    return kind


def _arrange(specs: Sequence[NodeSpec]) -> list[tuple[NodeSpec, Kind, int]]:
    """Check the tree and return its nodes in document order with their kind and sortorder."""
    by_id = _index_specs(specs)
    depths = _depths(specs, by_id)
    children: dict[str | None, list[NodeSpec]] = {}
    for spec in specs:
        children.setdefault(spec.parent, []).append(spec)
    ordered: list[tuple[NodeSpec, Kind, int]] = []
    stack = list(reversed(list(enumerate(children.get(None, []), 1))))
    while stack:
        sortorder, spec = stack.pop()
        ordered.append((spec, _kind_at(spec, depths[spec.idnumber]), sortorder))
        stack.extend(reversed(list(enumerate(children.get(spec.idnumber, []), 1))))
    return ordered


def assemble_framework(
    header: Mapping[str, Any], nodes: Sequence[NodeSpec], *, source: str, locate: Locate,
) -> Framework:
    """Check a framework read from any format and build it.

    ``header`` has the native document's keys except ``domains`` (see :class:`FrameworkSchema`);
    ``nodes`` are in file order (siblings keep that order); ``locate`` turns a header field path
    into the location of that field in the file.
    """
    if len(nodes) > MAX_NODES:
        raise FrameworkError(f"{source}: {len(nodes)} nodes; at most {MAX_NODES} are accepted")
    data = load_with(_HEADER_SCHEMA, header, locate)
    _check_unicode(data, nodes, locate)
    scale = _scale_from(data["scale"], locate)
    for spec in nodes:
        _check_spec(spec)
    idnumber: str = data["idnumber"]
    built: list[Node] = []
    seen_uuids: dict[str, NodeSpec] = {}
    for spec, kind, sortorder in _arrange(nodes):
        node_id = spec.uuid or node_uuid(idnumber, spec.idnumber)
        other = seen_uuids.setdefault(node_id.lower(), spec)
        if other is not spec:
            raise FrameworkError(f"{spec.where}: UUID {node_id} is also used by {other.idnumber}")
        built.append(Node(spec.idnumber, kind, spec.shortname, spec.description, spec.parent, node_id,
                          sortorder))
    return Framework(
        idnumber=idnumber, uuid=data.get("uuid") or framework_uuid(idnumber), version=data["version"],
        shortname=data["shortname"], description=data["description"], language=data["language"],
        publisher=data["publisher"], scale=scale, taxonomies=tuple(data["taxonomies"]),
        nodes=tuple(built), last_changed=data.get("last_changed") or DEFAULT_LAST_CHANGED,
    )


def _path_locator(source: str) -> Locate:
    def locate(path: FieldPath) -> str:
        return f"{source}: {dotted(path)}" if path else source
    return locate


def _line_locator(source: str, lines: Mapping[FieldPath, int]) -> Locate:
    def locate(path: FieldPath) -> str:
        probe = path
        while probe and probe not in lines:
            probe = probe[:-1]
        located = f"{source}:{lines.get(probe, 1)}"
        return f"{located}: {dotted(path)}" if path else located
    return locate


def _node_where(source: str, lines: Mapping[FieldPath, int] | None, path: FieldPath) -> str:
    if lines is None:
        return f"{source}: {dotted(path)}"
    return f"{source}:{lines.get(path, 1)}"


def _specs_from_document(
    data: Mapping[str, Any], source: str, lines: Mapping[FieldPath, int] | None,
) -> list[NodeSpec]:
    specs: list[NodeSpec] = []

    def add(node: Mapping[str, Any], path: FieldPath, parent: str | None, kind: Kind) -> None:
        specs.append(NodeSpec(node["idnumber"], node["shortname"], node["description"], parent,
                              _node_where(source, lines, path), node.get("uuid"), kind))

    for d, domain in enumerate(data["domains"]):
        add(domain, ("domains", d), None, "domain")
        for c, competency in enumerate(domain["competencies"]):
            c_path: FieldPath = ("domains", d, "competencies", c)
            add(competency, c_path, domain["idnumber"], "competency")
            for i, indicator in enumerate(competency["indicators"]):
                add(indicator, (*c_path, "indicators", i), competency["idnumber"], "indicator")
    return specs


def _from_document(data: Any, source: str, lines: Mapping[FieldPath, int] | None) -> Framework:
    locate = _path_locator(source) if lines is None else _line_locator(source, lines)
    loaded = load_with(_DOCUMENT_SCHEMA, data, locate)
    header = {key: value for key, value in loaded.items() if key != "domains"}
    return assemble_framework(header, _specs_from_document(loaded, source, lines), source=source,
                              locate=locate)


def framework_from_dict(data: Any, source: str = "<framework>") -> Framework:
    """Build a framework from the native structure (what :func:`framework_to_dict` returns)."""
    return _from_document(data, source, None)


def _map_lines(root: yaml.Node, source: str) -> dict[FieldPath, int]:
    """Map each path of a composed YAML document to its line (refusing aliases)."""
    lines: dict[FieldPath, int] = {}
    seen: set[int] = set()
    stack: list[tuple[yaml.Node, FieldPath]] = [(root, ())]
    while stack:
        node, path = stack.pop()
        if id(node) in seen:
            raise FrameworkError(f"{source}:{node.start_mark.line + 1}: YAML aliases are not accepted")
        seen.add(id(node))
        lines.setdefault(path, node.start_mark.line + 1)
        if isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                key_path = (*path, str(key.value))
                lines.setdefault(key_path, key.start_mark.line + 1)
                stack.append((value, key_path))
        elif isinstance(node, yaml.SequenceNode):
            stack.extend((item, (*path, index)) for index, item in enumerate(node.value))
    return lines


def _parse_yaml(text: str, source: str) -> tuple[Any, dict[FieldPath, int]]:
    loader = yaml.SafeLoader(text)
    try:
        root = loader.get_single_node()
        if root is None:
            raise FrameworkError(f"{source}:1: the document is empty")
        lines = _map_lines(root, source)
        return loader.construct_document(root), lines
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else 1
        raise FrameworkError(f"{source}:{line}: not valid YAML: {exc.problem or exc}") from None
    except yaml.YAMLError as exc:
        raise FrameworkError(f"{source}: not valid YAML: {exc}") from None
    except RecursionError:
        raise FrameworkError(f"{source}: the YAML is nested too deeply") from None
    finally:
        loader.dispose()


def check_size(text: str, source: str) -> None:
    """Refuse a document larger than ``MAX_BYTES``, or text that is not valid Unicode."""
    too_large = FrameworkError(f"{source}: the document is larger than {MAX_BYTES // (1024 * 1024)} MB")
    if len(text) > MAX_BYTES:
        raise too_large
    try:
        size = len(text.encode("utf-8"))
    except UnicodeEncodeError as exc:
        line = text.count("\n", 0, exc.start) + 1
        raise FrameworkError(f"{source}:{line}: {_unicode_problem(text[exc.start:exc.end])}") from None
    if size > MAX_BYTES:
        raise too_large


def framework_from_yaml(text: str, source: str = "<yaml>") -> Framework:
    """Build a framework from native YAML text; faults are reported with their line numbers."""
    check_size(text, source)
    data, lines = _parse_yaml(text, source)
    return _from_document(data, source, lines)


def read_text_limited(path: Path, limit: int = MAX_BYTES) -> str:
    """Read a UTF-8 text file (a BOM is dropped), refusing one over ``limit`` bytes before reading it."""
    try:
        if path.stat().st_size > limit:
            raise FrameworkError(f"{path}: the file is larger than {limit // (1024 * 1024)} MB")
        with path.open("rb") as handle:
            raw = handle.read(limit + 1)
    except OSError as exc:
        raise FrameworkError(f"{path}: cannot read the file ({exc.strerror or exc})") from None
    if len(raw) > limit:
        raise FrameworkError(f"{path}: the file is larger than {limit // (1024 * 1024)} MB")
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise FrameworkError(f"{path}:{line}: not UTF-8 text") from None


@functools.cache
def _bundled_framework() -> Framework:
    return framework_from_yaml(read_text_limited(BUNDLED_PATH), str(BUNDLED_PATH))


def load_framework(path: Path | None = None) -> Framework:
    """Load a framework from a native YAML file (default: the bundled L2I framework, read once)."""
    if path is None:
        return _bundled_framework()
    return framework_from_yaml(read_text_limited(path), str(path))


def _node_dict(node: Node, framework_idnumber: str) -> dict[str, Any]:
    data: dict[str, Any] = {"idnumber": node.idnumber}
    if node.uuid != node_uuid(framework_idnumber, node.idnumber):
        data["uuid"] = node.uuid
    data["shortname"] = node.shortname
    data["description"] = node.description
    return data


def framework_to_dict(fw: Framework) -> dict[str, Any]:
    """Return the native structure of ``fw`` (JSON-serialisable; :func:`framework_from_dict` reverses it).

    UUIDs appear only where they differ from the derived defaults, as in the bundled YAML.
    """
    data: dict[str, Any] = {"idnumber": fw.idnumber}
    if fw.uuid != framework_uuid(fw.idnumber):
        data["uuid"] = fw.uuid
    data.update({
        "version": fw.version,
        "last_changed": isoformat_utc(fw.last_changed),
        "shortname": fw.shortname,
        "description": fw.description,
        "language": fw.language,
        "publisher": fw.publisher,
        "scale": {
            "name": fw.scale.name,
            "description": fw.scale.description,
            "proficient_level": fw.scale.proficient_level,
            "levels": [{"level": lv.level, "name": lv.name, "descriptor": lv.descriptor}
                       for lv in fw.scale.levels],
        },
        "taxonomies": list(fw.taxonomies),
    })
    domains = []
    for domain in fw.domains():
        competencies = []
        for competency in fw.children(domain.idnumber):
            indicators = [_node_dict(i, fw.idnumber) for i in fw.children(competency.idnumber)]
            competencies.append({**_node_dict(competency, fw.idnumber), "indicators": indicators})
        domains.append({**_node_dict(domain, fw.idnumber), "competencies": competencies})
    data["domains"] = domains
    return data


class _FrameworkDumper(yaml.SafeDumper):
    """The YAML writer of :func:`framework_to_yaml`: text with a YAML 1.1 line break is double-quoted.

    PyYAML writes NEL (U+0085) raw inside a single-quoted scalar, where reading folds it into a
    space; in a double-quoted scalar it is escaped and reads back as it was.
    """


def _represent_text(dumper: yaml.SafeDumper, text: str) -> yaml.ScalarNode:
    style = '"' if any(ch in text for ch in "\x85\u2028\u2029") else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", text, style=style)


_FrameworkDumper.add_representer(str, _represent_text)


def framework_to_yaml(fw: Framework) -> str:
    """Return ``fw`` as native YAML text (what :func:`framework_from_yaml` reads)."""
    text: str = yaml.dump(framework_to_dict(fw), Dumper=_FrameworkDumper, sort_keys=False,
                          allow_unicode=True, width=100)
    return text

"""1EdTech CASE 1.1 packages (CFPackage JSON): export and import of the competency framework.

What the package holds (the required fields are those of the CASE 1.1 information model and its
OpenAPI schema ``imscasev1p1_openapi3_v1p0.json``; inside a package the document, items and
associations are the ``CFPckg*`` types, which carry no ``CFPackageURI`` / ``CFDocumentURI``):

- ``CFDocument``: the framework. Required: identifier, uri, creator, title, lastChangeDateTime.
  We also give publisher, description, language, version, ``caseVersion: "1.1"`` and, under
  ``extensions.l2i``, our ``idnumber`` and ``taxonomies`` (CASE has no field for either).
- ``CFItems``: one per domain, competency and indicator. Required: identifier (the node's UUID),
  fullStatement (the description), uri, lastChangeDateTime. We also give humanCodingScheme (the
  idnumber), abbreviatedStatement (the short name), CFItemType (domain/competency/indicator) with
  its CFItemTypeURI, listEnumeration (the position among siblings) and language. A node without
  a description gets its short name as fullStatement; on import, a fullStatement equal to the
  short name means "no description", and an item without abbreviatedStatement takes its
  fullStatement (cut to 100 characters) as short name. An item without humanCodingScheme takes
  its identifier as idnumber.
- ``CFAssociations``: one ``isChildOf`` per item, from the child to its parent, or to the
  CFDocument for a domain. Required: identifier, associationType, uri, originNodeURI,
  destinationNodeURI (LinkGenURI: title, identifier, uri), lastChangeDateTime. ``sequenceNumber``
  keeps the order of siblings.
- ``CFDefinitions.CFItemTypes``: the three item types (identifier, uri, title, description,
  hierarchyCode, lastChangeDateTime).
- ``CFRubrics``: one rubric for the proficiency scale (title and description of the scale,
  ``extensions.l2i.proficientLevel``), with one ``CFRubricCriteria`` entry per competency (its
  CFItemURI) whose ``CFRubricCriterionLevels`` are the scale's levels (quality = name,
  description = descriptor, score and position = level number).

URIs are ``{base_url}/ims/case/v1p1/{collection}/{identifier}``. Everything not given by the
framework (association, item-type and rubric identifiers) is a UUID derived from the framework's,
so an export is reproducible: export -> import -> export gives identical JSON. An imported package
keeps its own document and item identifiers; its association and rubric identifiers are derived
anew on export, and associations other than ``isChildOf`` are not kept. A package without our
``extensions`` gets the idnumber ``CASE-<document identifier>``, the taxonomies
``domain,competency,indicator`` and, as proficient level, the level below the top one. Items
sit at most three levels deep (domain, competency, indicator); an item has one parent.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Mapping, Sequence
from typing import Any

from marshmallow import EXCLUDE, Schema, fields, validate

from competencies.framework import (
    KINDS,
    MAX_NODES,
    MAX_SHORTNAME,
    UUID_PATTERN,
    FieldPath,
    Framework,
    FrameworkError,
    Node,
    NodeSpec,
    UtcDateTimeField,
    assemble_framework,
    check_size,
    derived_uuid,
    isoformat_utc,
    load_with,
    shown,
)

CASE_VERSION = "1.1"
API_PATH = "ims/case/v1p1"
DEFAULT_BASE_URL = "http://127.0.0.1:8000"
EXTENSION = "l2i"
DEFAULT_TAXONOMIES = list(KINDS)
KIND_DESCRIPTIONS = {
    "domain": "A broad area of practice that groups related competencies.",
    "competency": "What a person needs to know and do in an area of practice, assessed on the scale.",
    "indicator": "An observable behaviour that shows a competency in practice.",
}

Json = dict[str, Any]


def case_uri(base_url: str, collection: str, identifier: str) -> str:
    """Return the URI of a CASE object: ``{base}/ims/case/v1p1/{collection}/{identifier}``."""
    return f"{base_url.rstrip('/')}/{API_PATH}/{collection}/{identifier}"


def json_path(path: FieldPath) -> str:
    """Render a field path as a JSON path: ``$.CFItems[3].identifier``."""
    return "$" + "".join(f"[{part}]" if isinstance(part, int) else f".{part}" for part in path)


def _link(title: str, identifier: str, uri: str) -> Json:
    return {"title": title, "identifier": identifier, "uri": uri}


class _Exporter:
    """Builds the package of one framework; every identifier is reproducible."""

    def __init__(self, fw: Framework, base_url: str) -> None:
        self.fw = fw
        self.base_url = base_url
        self.stamp = isoformat_utc(fw.last_changed)
        self.doc_link = _link(fw.shortname, fw.uuid, self.uri("CFDocuments", fw.uuid))
        self.type_ids = {kind: derived_uuid("CFItemType", kind) for kind in KINDS}

    def uri(self, collection: str, identifier: str) -> str:
        return case_uri(self.base_url, collection, identifier)

    def item_link(self, node: Node) -> Json:
        return _link(node.shortname, node.uuid, self.uri("CFItems", node.uuid))

    def document(self) -> Json:
        fw = self.fw
        return {
            "identifier": fw.uuid, "uri": self.doc_link["uri"], "creator": fw.publisher,
            "title": fw.shortname, "lastChangeDateTime": self.stamp, "publisher": fw.publisher,
            "description": fw.description, "language": fw.language, "version": fw.version,
            "caseVersion": CASE_VERSION,
            "extensions": {EXTENSION: {"idnumber": fw.idnumber, "taxonomies": list(fw.taxonomies)}},
        }

    def item(self, node: Node) -> Json:
        type_id = self.type_ids[node.kind]
        return {
            "identifier": node.uuid, "uri": self.uri("CFItems", node.uuid),
            "fullStatement": node.description or node.shortname,
            "humanCodingScheme": node.idnumber, "abbreviatedStatement": node.shortname,
            "CFItemType": node.kind,
            "CFItemTypeURI": _link(node.kind, type_id, self.uri("CFItemTypes", type_id)),
            "listEnumeration": str(node.sortorder), "language": self.fw.language,
            "lastChangeDateTime": self.stamp,
        }

    def association(self, node: Node) -> Json:
        parent = self.fw.node(node.parent) if node.parent else None
        destination = self.item_link(parent) if parent else self.doc_link
        identifier = derived_uuid(node.uuid, "isChildOf", destination["identifier"])
        return {
            "identifier": identifier, "uri": self.uri("CFAssociations", identifier),
            "associationType": "isChildOf", "sequenceNumber": node.sortorder,
            "originNodeURI": self.item_link(node), "destinationNodeURI": destination,
            "lastChangeDateTime": self.stamp,
        }

    def item_types(self) -> list[Json]:
        return [{
            "identifier": self.type_ids[kind], "uri": self.uri("CFItemTypes", self.type_ids[kind]),
            "title": kind, "description": KIND_DESCRIPTIONS[kind], "hierarchyCode": str(level),
            "typeCode": kind, "lastChangeDateTime": self.stamp,
        } for level, kind in enumerate(KINDS, 1)]

    def criterion(self, rubric_id: str, position: int, node: Node | None) -> Json:
        identifier = derived_uuid(rubric_id, node.uuid if node else "scale")
        criterion: Json = {"identifier": identifier, "uri": self.uri("CFRubricCriteria", identifier)}
        if node is not None:
            criterion.update(category=node.shortname, CFItemURI=self.item_link(node))
        criterion.update(position=position, rubricId=rubric_id, lastChangeDateTime=self.stamp)
        criterion["CFRubricCriterionLevels"] = [{
            "identifier": (level_id := derived_uuid(identifier, str(level.level))),
            "uri": self.uri("CFRubricCriterionLevels", level_id), "quality": level.name,
            "description": level.descriptor, "score": level.level, "position": level.level,
            "rubricCriterionId": identifier, "lastChangeDateTime": self.stamp,
        } for level in self.fw.scale.levels]
        return criterion

    def rubric(self) -> Json:
        scale = self.fw.scale
        identifier = derived_uuid(self.fw.uuid, "CFRubric")
        competencies: Sequence[Node | None] = self.fw.competencies() or [None]
        return {
            "identifier": identifier, "uri": self.uri("CFRubrics", identifier), "title": scale.name,
            "description": scale.description, "lastChangeDateTime": self.stamp,
            "extensions": {EXTENSION: {"proficientLevel": scale.proficient_level}},
            "CFRubricCriteria": [self.criterion(identifier, position, node)
                                 for position, node in enumerate(competencies, 1)],
        }

    def package(self) -> Json:
        return {
            "CFDocument": self.document(),
            "CFItems": [self.item(node) for node in self.fw.nodes],
            "CFAssociations": [self.association(node) for node in self.fw.nodes],
            "CFDefinitions": {"CFItemTypes": self.item_types()},
            "CFRubrics": [self.rubric()],
        }


def export_case(fw: Framework, base_url: str = DEFAULT_BASE_URL) -> dict[str, Any]:
    """Return ``fw`` as a CASE 1.1 CFPackage (JSON-serialisable), with URIs under ``base_url``."""
    return _Exporter(fw, base_url).package()


# --- import -------------------------------------------------------------------------------


def _uuid(key: str, required: bool = True) -> fields.Str:
    return fields.Str(required=required, data_key=key, validate=validate.Regexp(
        UUID_PATTERN, error="Not a UUID (8-4-4-4-12 hexadecimal digits)."))


def _text(key: str, required: bool = False) -> fields.Str:
    if required:
        return fields.Str(required=True, data_key=key, validate=validate.Length(min=1))
    return fields.Str(data_key=key, allow_none=True, load_default=None)


class _Lenient(Schema):
    class Meta:
        unknown = EXCLUDE


class LinkURISchema(_Lenient):
    """LinkURIDType: title, identifier (a UUID) and uri, all required."""

    title = _text("title", required=True)
    identifier = _uuid("identifier")
    uri = _text("uri", required=True)


class LinkGenURISchema(_Lenient):
    """LinkGenURIDType (association ends): title, identifier (any string) and uri, all required."""

    title = _text("title", required=True)
    identifier = _text("identifier", required=True)
    uri = _text("uri", required=True)


class DocumentSchema(_Lenient):
    """CFPckgDocumentDType."""

    identifier = _uuid("identifier")
    uri = _text("uri", required=True)
    creator = _text("creator", required=True)
    title = _text("title", required=True)
    last_change = UtcDateTimeField(required=True, data_key="lastChangeDateTime")
    publisher = _text("publisher")
    description = _text("description")
    language = _text("language")
    version = _text("version")
    extensions = fields.Dict(data_key="extensions", allow_none=True, load_default=None)


class ItemSchema(_Lenient):
    """CFPckgItemDType."""

    identifier = _uuid("identifier")
    full_statement = _text("fullStatement", required=True)
    uri = _text("uri", required=True)
    last_change = UtcDateTimeField(required=True, data_key="lastChangeDateTime")
    human_coding_scheme = _text("humanCodingScheme")
    abbreviated_statement = _text("abbreviatedStatement")
    item_type = _text("CFItemType")


class AssociationSchema(_Lenient):
    """CFPckgAssociationDType."""

    identifier = _uuid("identifier")
    association_type = _text("associationType", required=True)
    uri = _text("uri", required=True)
    origin = fields.Nested(LinkGenURISchema, required=True, data_key="originNodeURI")
    destination = fields.Nested(LinkGenURISchema, required=True, data_key="destinationNodeURI")
    last_change = UtcDateTimeField(required=True, data_key="lastChangeDateTime")
    sequence_number = fields.Int(data_key="sequenceNumber", strict=True, allow_none=True, load_default=None)


class CriterionLevelSchema(_Lenient):
    """CFRubricCriterionLevelDType."""

    identifier = _uuid("identifier")
    uri = _text("uri", required=True)
    last_change = UtcDateTimeField(required=True, data_key="lastChangeDateTime")
    quality = _text("quality")
    description = _text("description")
    position = fields.Int(data_key="position", strict=True, allow_none=True, load_default=None)
    score = fields.Float(data_key="score", allow_none=True, load_default=None)


class CriterionSchema(_Lenient):
    """CFRubricCriterionDType."""

    identifier = _uuid("identifier")
    uri = _text("uri", required=True)
    last_change = UtcDateTimeField(required=True, data_key="lastChangeDateTime")
    item = fields.Nested(LinkURISchema, data_key="CFItemURI", allow_none=True, load_default=None)
    levels = fields.List(fields.Nested(CriterionLevelSchema), data_key="CFRubricCriterionLevels",
                         load_default=list)


class RubricSchema(_Lenient):
    """CFRubricDType."""

    identifier = _uuid("identifier")
    uri = _text("uri", required=True)
    last_change = UtcDateTimeField(required=True, data_key="lastChangeDateTime")
    title = _text("title")
    description = _text("description")
    extensions = fields.Dict(data_key="extensions", allow_none=True, load_default=None)
    criteria = fields.List(fields.Nested(CriterionSchema), data_key="CFRubricCriteria", load_default=list)


class PackageSchema(_Lenient):
    """CFPackageDType: ``CFDocument`` is required; items, associations and rubrics are optional."""

    document = fields.Nested(DocumentSchema, required=True, data_key="CFDocument")
    items = fields.List(fields.Nested(ItemSchema), data_key="CFItems", load_default=list)
    associations = fields.List(fields.Nested(AssociationSchema), data_key="CFAssociations",
                               load_default=list)
    rubrics = fields.List(fields.Nested(RubricSchema), data_key="CFRubrics", load_default=list)


_PACKAGE_SCHEMA = PackageSchema()
_HEADER_PATHS: dict[str, FieldPath] = {
    "idnumber": ("CFDocument", "extensions", EXTENSION, "idnumber"),
    "taxonomies": ("CFDocument", "extensions", EXTENSION, "taxonomies"),
    "shortname": ("CFDocument", "title"), "description": ("CFDocument", "description"),
    "version": ("CFDocument", "version"), "language": ("CFDocument", "language"),
    "publisher": ("CFDocument", "publisher"), "last_changed": ("CFDocument", "lastChangeDateTime"),
    "uuid": ("CFDocument", "identifier"), "scale": ("CFRubrics", 0),
}


class _Importer:
    """Reads one validated package into the checks of :func:`assemble_framework`."""

    def __init__(self, package: Mapping[str, Any], source: str) -> None:
        self.package = package
        self.source = source
        self.document: Mapping[str, Any] = package["document"]
        self.items: Sequence[Mapping[str, Any]] = package["items"]
        self.index: dict[str, int] = {}

    def at(self, *path: str | int) -> str:
        return f"{self.source}: {json_path(path)}"

    def fail(self, problem: str, *path: str | int) -> FrameworkError:
        return FrameworkError(f"{self.at(*path)}: {problem}")

    def index_items(self) -> None:
        for i, item in enumerate(self.items):
            first = self.index.setdefault(item["identifier"], i)
            if first != i:
                raise self.fail(f"duplicate identifier {item['identifier']} (also $.CFItems[{first}])",
                                "CFItems", i, "identifier")

    def idnumber_of(self, position: int) -> str:
        item = self.items[position]
        return str(item["human_coding_scheme"] or item["identifier"])

    def parents(self) -> dict[int, tuple[int | None, int | None]]:
        """Map each item's position to its parent's position (None: the document) and sequence."""
        found: dict[int, tuple[int | None, int | None, int]] = {}
        for k, association in enumerate(self.package["associations"]):
            if association["association_type"] != "isChildOf":
                continue
            origin = self.index.get(association["origin"]["identifier"])
            if origin is None:
                raise self.fail(f"unknown node {shown(association['origin']['identifier'])} (not a CFItem)",
                                "CFAssociations", k, "originNodeURI", "identifier")
            destination_id = association["destination"]["identifier"]
            destination = self.index.get(destination_id)
            if destination is None and destination_id != self.document["identifier"]:
                raise self.fail(f"unknown node {shown(destination_id)} (neither a CFItem nor the CFDocument)",
                                "CFAssociations", k, "destinationNodeURI", "identifier")
            if origin in found:
                raise self.fail(f"item {shown(self.idnumber_of(origin))} already has a parent "
                                f"($.CFAssociations[{found[origin][2]}]); an item has one parent here",
                                "CFAssociations", k)
            found[origin] = (destination, association["sequence_number"], k)
        return {origin: (parent, sequence) for origin, (parent, sequence, _k) in found.items()}

    def specs(self) -> list[NodeSpec]:
        parents = self.parents()
        for i in range(len(self.items)):
            if i not in parents:
                raise self.fail(f"item {shown(self.idnumber_of(i))} has no isChildOf association (to its "
                                f"parent item or to the CFDocument)", "CFItems", i)

        def order(position: int) -> tuple[float, int]:
            sequence = parents[position][1]
            return (float("inf") if sequence is None else sequence, position)

        specs = []
        for i in sorted(range(len(self.items)), key=order):
            item = self.items[i]
            parent = parents[i][0]
            full = item["full_statement"]
            short = item["abbreviated_statement"] or _shorten(full)
            specs.append(NodeSpec(
                idnumber=self.idnumber_of(i), shortname=short,
                description="" if full == short else full,
                parent=None if parent is None else self.idnumber_of(parent), where=self.at("CFItems", i),
                uuid=item["identifier"], kind=item["item_type"] if item["item_type"] in KINDS else None,
            ))
        return specs

    def criterion_levels(self, r: int, c: int, criterion: Mapping[str, Any]) -> list[tuple[str, str]]:
        item = criterion["item"]
        if item is not None and item["identifier"] not in self.index:
            raise self.fail(f"unknown item {item['identifier']}", "CFRubrics", r, "CFRubricCriteria", c,
                            "CFItemURI", "identifier")
        indexed = list(enumerate(criterion["levels"]))
        indexed.sort(key=lambda pair: (pair[1]["position"] if pair[1]["position"] is not None
                                       else pair[1]["score"] if pair[1]["score"] is not None else pair[0]))
        levels = []
        for j, level in indexed:
            if not level["quality"]:
                raise self.fail("a level needs its name (quality)", "CFRubrics", r, "CFRubricCriteria", c,
                                "CFRubricCriterionLevels", j, "quality")
            levels.append((level["quality"], level["description"] or level["quality"]))
        return levels

    def scale(self) -> dict[str, Any]:
        rubrics = self.package["rubrics"]
        if not rubrics or not rubrics[0]["criteria"]:
            raise self.fail("a CFRubric with a criterion and its levels (the proficiency scale) is required",
                            "CFRubrics")
        rubric = rubrics[0]
        levels = self.criterion_levels(0, 0, rubric["criteria"][0])
        for c, criterion in enumerate(rubric["criteria"][1:], 1):
            if self.criterion_levels(0, c, criterion) != levels:
                raise self.fail("its levels differ from those of CFRubricCriteria[0]; a framework has "
                                "one scale", "CFRubrics", 0, "CFRubricCriteria", c)
        proficient = _extension(rubric["extensions"]).get("proficientLevel", len(levels) - 1)
        return {
            "name": rubric["title"] or "Proficiency", "description": rubric["description"] or "",
            "proficient_level": proficient,
            "levels": [{"level": n, "name": name, "descriptor": descriptor}
                       for n, (name, descriptor) in enumerate(levels, 1)],
        }

    def header(self) -> dict[str, Any]:
        doc = self.document
        ours = _extension(doc["extensions"])
        return {
            "idnumber": ours.get("idnumber", f"CASE-{doc['identifier']}"), "uuid": doc["identifier"],
            "version": doc["version"] or "1.0", "last_changed": doc["last_change"],
            "shortname": doc["title"], "description": doc["description"] or "",
            "language": doc["language"] or "en", "publisher": doc["publisher"] or doc["creator"],
            "scale": self.scale(), "taxonomies": ours.get("taxonomies", DEFAULT_TAXONOMIES),
        }

    def locate_header(self, path: FieldPath) -> str:
        mapped = _HEADER_PATHS.get(str(path[0]), ()) if path else ()
        return self.at(*mapped, *path[1:]) if mapped else self.at(*path)


def _extension(extensions: Mapping[str, Any] | None) -> Mapping[str, Any]:
    ours = (extensions or {}).get(EXTENSION)
    return ours if isinstance(ours, Mapping) else {}


def _shorten(text: str) -> str:
    return text if len(text) <= MAX_SHORTNAME else text[: MAX_SHORTNAME - 3].rstrip() + "..."


def _parse_json(text: str, source: str) -> Any:
    check_size(text, source)
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise FrameworkError(f"{source}:{exc.lineno}: not JSON: {exc.msg} (column {exc.colno})") from None
    except RecursionError:
        raise FrameworkError(f"{source}: the JSON is nested too deeply") from None
    except ValueError:  # an integer with more digits than Python converts (sys.get_int_max_str_digits)
        raise FrameworkError(f"{source}: a number in the JSON has more than {sys.get_int_max_str_digits()} "
                             f"digits; no CASE field holds such a number") from None


def import_case(data: Any, source: str) -> Framework:
    """Read a CASE 1.1 CFPackage (JSON text, bytes or the parsed object) into a framework.

    Faults are reported with the JSON path, e.g. ``case.json: $.CFItems[3].identifier: ...``.
    """
    if isinstance(data, bytes):
        try:
            data = data.decode("utf-8-sig")
        except UnicodeDecodeError:
            raise FrameworkError(f"{source}: not UTF-8 text") from None
    if isinstance(data, str):
        data = _parse_json(data.removeprefix("\ufeff"), source)
    if not isinstance(data, Mapping):
        raise FrameworkError(f"{source}: $: expected a JSON object (a CFPackage)")
    items = data.get("CFItems")
    if isinstance(items, list) and len(items) > MAX_NODES:
        raise FrameworkError(f"{source}: $.CFItems: {len(items)} items; at most {MAX_NODES} are accepted")
    package = load_with(_PACKAGE_SCHEMA, data, lambda path: f"{source}: {json_path(path)}")
    importer = _Importer(package, source)
    importer.index_items()
    specs = importer.specs()
    return assemble_framework(importer.header(), specs, source=source, locate=importer.locate_header)

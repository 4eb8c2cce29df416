"""CASE 1.1 packages: what the export holds, the round trip, and refusals with their JSON path."""

from __future__ import annotations

import copy
import json
import uuid
from typing import Any

import pytest

from competencies.exchange.case import export_case, import_case
from competencies.framework import MAX_BYTES, MAX_NODES, Framework, FrameworkError, load_framework

BASE = "https://tool.example/"

# Required properties, from the 1EdTech CASE v1.1 Information Model
# (https://www.imsglobal.org/sites/default/files/spec/case/v1p1/information_model/caseservicev1p1_infomodelv1p0.html)
# and its OpenAPI 3 schema imscasev1p1_openapi3_v1p0.json
# (https://purl.imsglobal.org/spec/case/v1p1/schema/openapi/imscasev1p1_openapi3_v1p0.json).
# Inside a CFPackage the document, items and associations are CFPckgDocumentDType,
# CFPckgItemDType and CFPckgAssociationDType.
REQUIRED_PACKAGE = ["CFDocument"]
REQUIRED_DOCUMENT = ["identifier", "uri", "creator", "title", "lastChangeDateTime"]
REQUIRED_ITEM = ["identifier", "fullStatement", "uri", "lastChangeDateTime"]
REQUIRED_ASSOCIATION = ["identifier", "associationType", "uri", "originNodeURI", "destinationNodeURI",
                        "lastChangeDateTime"]
REQUIRED_LINK = ["title", "identifier", "uri"]  # LinkURIDType and LinkGenURIDType
REQUIRED_ITEM_TYPE = ["identifier", "uri", "title", "description", "hierarchyCode", "lastChangeDateTime"]
REQUIRED_RUBRIC = ["identifier", "uri", "lastChangeDateTime"]
REQUIRED_CRITERION = ["identifier", "uri", "lastChangeDateTime"]
REQUIRED_CRITERION_LEVEL = ["identifier", "uri", "lastChangeDateTime"]


@pytest.fixture(scope="module")
def fw() -> Framework:
    return load_framework()


@pytest.fixture(scope="module")
def package(fw: Framework) -> dict[str, Any]:
    return export_case(fw, BASE)


def assert_required(obj: dict[str, Any], required: list[str], what: str) -> None:
    for key in required:
        assert obj.get(key) not in (None, "", [], {}), f"{what} lacks {key}"


def assert_uuid(value: str) -> None:
    assert str(uuid.UUID(value)) == value


def refused(data: Any, source: str = "case.json") -> str:
    with pytest.raises(FrameworkError) as info:
        import_case(data, source)
    return str(info.value)


# --- what the export holds ------------------------------------------------------------------


def test_package_has_every_required_field(package: dict[str, Any]) -> None:
    assert_required(package, REQUIRED_PACKAGE, "CFPackage")
    assert_required(package["CFDocument"], REQUIRED_DOCUMENT, "CFDocument")
    for item in package["CFItems"]:
        assert_required(item, REQUIRED_ITEM, f"CFItem {item.get('humanCodingScheme')}")
        assert_required(item["CFItemTypeURI"], REQUIRED_LINK, "CFItemTypeURI")
    for association in package["CFAssociations"]:
        assert_required(association, REQUIRED_ASSOCIATION, "CFAssociation")
        assert_required(association["originNodeURI"], REQUIRED_LINK, "originNodeURI")
        assert_required(association["destinationNodeURI"], REQUIRED_LINK, "destinationNodeURI")
    for item_type in package["CFDefinitions"]["CFItemTypes"]:
        assert_required(item_type, REQUIRED_ITEM_TYPE, "CFItemType")
    for rubric in package["CFRubrics"]:
        assert_required(rubric, REQUIRED_RUBRIC, "CFRubric")
        for criterion in rubric["CFRubricCriteria"]:
            assert_required(criterion, REQUIRED_CRITERION, "CFRubricCriterion")
            for level in criterion["CFRubricCriterionLevels"]:
                assert_required(level, REQUIRED_CRITERION_LEVEL, "CFRubricCriterionLevel")
    # the package types of CASE 1.1 do not take the standalone-only links
    assert "CFPackageURI" not in package["CFDocument"]
    assert all("CFDocumentURI" not in item for item in package["CFItems"])


def test_document_describes_the_framework(fw: Framework, package: dict[str, Any]) -> None:
    doc = package["CFDocument"]
    assert doc["identifier"] == fw.uuid
    assert doc["uri"] == f"https://tool.example/ims/case/v1p1/CFDocuments/{fw.uuid}"
    assert (doc["title"], doc["creator"], doc["version"], doc["language"]) == (
        fw.shortname, fw.publisher, "1.0", "en")
    assert doc["lastChangeDateTime"] == "2026-11-21T00:00:00Z"
    assert doc["caseVersion"] == "1.1"
    assert doc["extensions"]["l2i"]["idnumber"] == "L2I-FW"


def test_items_are_the_nodes_with_uuid_identifiers(fw: Framework, package: dict[str, Any]) -> None:
    items = package["CFItems"]
    assert [i["humanCodingScheme"] for i in items] == [n.idnumber for n in fw.nodes]
    for item, node in zip(items, fw.nodes, strict=True):
        assert_uuid(item["identifier"])
        assert item["identifier"] == node.uuid
        assert item["uri"] == f"https://tool.example/ims/case/v1p1/CFItems/{node.uuid}"
        assert item["CFItemType"] == node.kind
        assert item["abbreviatedStatement"] == node.shortname
        assert item["fullStatement"] == node.description
    identifiers = [i["identifier"] for i in items] + [a["identifier"] for a in package["CFAssociations"]]
    assert len(set(identifiers)) == len(identifiers)


def test_every_item_has_one_is_child_of_association(fw: Framework, package: dict[str, Any]) -> None:
    doc_id = package["CFDocument"]["identifier"]
    by_uuid = {n.uuid: n for n in fw.nodes}
    parents: dict[str, str] = {}
    for association in package["CFAssociations"]:
        assert association["associationType"] == "isChildOf"
        assert_uuid(association["identifier"])
        origin = association["originNodeURI"]["identifier"]
        assert origin not in parents
        parents[origin] = association["destinationNodeURI"]["identifier"]
        node = by_uuid[origin]
        assert association["sequenceNumber"] == node.sortorder
        expected = doc_id if node.parent is None else by_uuid[fw.node(node.parent).uuid].uuid  # type: ignore[union-attr]
        assert parents[origin] == expected
    assert set(parents) == set(by_uuid)
    assert sum(1 for p in parents.values() if p == doc_id) == 8


def test_scale_levels_are_a_rubric(fw: Framework, package: dict[str, Any]) -> None:
    [rubric] = package["CFRubrics"]
    assert rubric["title"] == "L2I proficiency"
    assert rubric["extensions"]["l2i"]["proficientLevel"] == 3
    criteria = rubric["CFRubricCriteria"]
    assert [c["CFItemURI"]["identifier"] for c in criteria] == [c.uuid for c in fw.competencies()]
    for criterion in criteria:
        levels = criterion["CFRubricCriterionLevels"]
        assert [(lv["position"], lv["quality"]) for lv in levels] == [
            (1, "Aware"), (2, "Developing"), (3, "Proficient"), (4, "Leading")]
        assert [lv["description"] for lv in levels] == [lv.descriptor for lv in fw.scale.levels]
        assert all(lv["rubricCriterionId"] == criterion["identifier"] for lv in levels)
    item_types = package["CFDefinitions"]["CFItemTypes"]
    assert [t["title"] for t in item_types] == ["domain", "competency", "indicator"]


def test_export_is_reproducible_and_follows_the_base_url(fw: Framework) -> None:
    assert export_case(fw, BASE) == export_case(load_framework(), "https://tool.example")
    other = export_case(fw, "https://other.example/l2i")
    assert other["CFItems"][0]["uri"].startswith("https://other.example/l2i/ims/case/v1p1/CFItems/")
    assert other["CFItems"][0]["identifier"] == export_case(fw, BASE)["CFItems"][0]["identifier"]


# --- round trip ---------------------------------------------------------------------------------


def test_round_trip_gives_identical_json(fw: Framework, package: dict[str, Any]) -> None:
    text = json.dumps(package, indent=2)
    imported = import_case(text, "case.json")
    assert imported == fw
    assert json.dumps(export_case(imported, BASE), indent=2) == text
    assert import_case(text.encode("utf-8"), "case.json") == fw


def _foreign_package() -> dict[str, Any]:
    """A small package in another tool's style: its own ids, no L2I extensions, siblings out of order."""
    doc_id, a, b, c = (str(uuid.uuid4()) for _ in range(4))
    stamp = "2025-03-04T05:06:07+01:00"

    def link(identifier: str) -> dict[str, str]:
        return {"title": "t", "identifier": identifier, "uri": f"https://case.example/{identifier}"}

    def child(origin: str, destination: str, sequence: int) -> dict[str, Any]:
        return {"identifier": str(uuid.uuid4()), "uri": "https://case.example/a", "lastChangeDateTime": stamp,
                "associationType": "isChildOf", "originNodeURI": link(origin),
                "destinationNodeURI": link(destination), "sequenceNumber": sequence}

    level_ids = [str(uuid.uuid4()) for _ in range(5)]
    return {
        "CFDocument": {"identifier": doc_id, "uri": "https://case.example/doc", "creator": "Board",
                       "title": "Care skills", "lastChangeDateTime": stamp, "CFPackageURI": link(doc_id)},
        "CFItems": [
            {"identifier": a, "uri": "https://case.example/a", "fullStatement": "Area one",
             "humanCodingScheme": "A1", "lastChangeDateTime": stamp, "CFItemType": "Strand"},
            {"identifier": c, "uri": "https://case.example/c", "fullStatement": "Second skill, long text",
             "humanCodingScheme": "A1.2", "abbreviatedStatement": "Second", "lastChangeDateTime": stamp},
            {"identifier": b, "uri": "https://case.example/b", "fullStatement": "First skill",
             "lastChangeDateTime": stamp, "educationLevel": ["09"]},
        ],
        "CFAssociations": [child(c, a, 2), child(b, a, 1), child(a, doc_id, 1),
                           {**child(b, c, 0), "associationType": "isRelatedTo"}],
        "CFRubrics": [{
            "identifier": str(uuid.uuid4()), "uri": "https://case.example/r", "lastChangeDateTime": stamp,
            "CFRubricCriteria": [{
                "identifier": str(uuid.uuid4()), "uri": "https://case.example/rc",
                "lastChangeDateTime": stamp,
                "CFRubricCriterionLevels": [
                    {"identifier": level_ids[n], "uri": "https://case.example/l", "lastChangeDateTime": stamp,
                     "quality": name, "position": position}
                    for n, (name, position) in enumerate([("Expert", 5), ("Novice", 1), ("Basic", 2),
                                                          ("Good", 3), ("Strong", 4)])
                ],
            }],
        }],
    }


def test_a_foreign_package_keeps_its_identifiers() -> None:
    package = _foreign_package()
    imported = import_case(package, "other.json")
    doc = package["CFDocument"]
    assert imported.idnumber == f"CASE-{doc['identifier']}" and imported.uuid == doc["identifier"]
    assert imported.shortname == "Care skills" and imported.publisher == "Board"
    b_id = package["CFItems"][2]["identifier"]
    assert [n.idnumber for n in imported.nodes] == ["A1", b_id, "A1.2"]
    assert [n.kind for n in imported.nodes] == ["domain", "competency", "competency"]
    assert [n.uuid for n in imported.nodes] == [package["CFItems"][i]["identifier"] for i in (0, 2, 1)]
    assert imported.node("A1.2").shortname == "Second"  # type: ignore[union-attr]
    assert imported.node(b_id).shortname == "First skill"  # type: ignore[union-attr]
    assert imported.node(b_id).description == ""  # type: ignore[union-attr]
    assert imported.node("A1.2").description == "Second skill, long text"  # type: ignore[union-attr]
    assert imported.scale.names == ("Novice", "Basic", "Good", "Strong", "Expert")
    assert imported.scale.proficient_level == 4
    assert imported.last_changed.isoformat() == "2025-03-04T04:06:07+00:00"
    again = export_case(imported, BASE)
    assert import_case(json.loads(json.dumps(again)), "again.json") == imported
    assert export_case(import_case(again, "again.json"), BASE) == again


# --- refusals ------------------------------------------------------------------------------------


def test_not_json_names_the_line() -> None:
    assert refused('{\n  "CFDocument": {,\n}') == "case.json:2: not JSON: Expecting property name enclosed " \
                                                   "in double quotes (column 18)"
    assert refused("[1, 2]") == "case.json: $: expected a JSON object (a CFPackage)"


def test_missing_document_is_refused(package: dict[str, Any]) -> None:
    data = {k: v for k, v in package.items() if k != "CFDocument"}
    assert refused(data) == "case.json: $.CFDocument: Missing data for required field."
    data = copy.deepcopy(package)
    del data["CFDocument"]["creator"]
    assert refused(data) == "case.json: $.CFDocument.creator: Missing data for required field."


def test_item_without_identifier_is_refused_with_its_path(package: dict[str, Any]) -> None:
    data = copy.deepcopy(package)
    del data["CFItems"][3]["identifier"]
    assert refused(data) == "case.json: $.CFItems[3].identifier: Missing data for required field."
    data = copy.deepcopy(package)
    data["CFItems"][5]["identifier"] = "L2I-C1.1"
    assert refused(data).startswith("case.json: $.CFItems[5].identifier: Not a UUID")
    data = copy.deepcopy(package)
    data["CFAssociations"][7]["originNodeURI"] = {"identifier": "x"}
    message = refused(data)
    assert "case.json: $.CFAssociations[7].originNodeURI.title: Missing data for required field." in message
    assert "case.json: $.CFAssociations[7].originNodeURI.uri: Missing data for required field." in message


def test_association_to_an_unknown_node_is_refused(package: dict[str, Any]) -> None:
    data = copy.deepcopy(package)
    stranger = str(uuid.uuid4())
    data["CFAssociations"][4]["destinationNodeURI"]["identifier"] = stranger
    assert refused(data) == (f"case.json: $.CFAssociations[4].destinationNodeURI.identifier: unknown node "
                             f"{stranger} (neither a CFItem nor the CFDocument)")
    data = copy.deepcopy(package)
    data["CFAssociations"][2]["originNodeURI"]["identifier"] = stranger
    assert refused(data).startswith("case.json: $.CFAssociations[2].originNodeURI.identifier: unknown node")


def test_parent_faults_are_refused(package: dict[str, Any]) -> None:
    data = copy.deepcopy(package)
    del data["CFAssociations"][6]
    assert refused(data) == ("case.json: $.CFItems[6]: item L2I-C1.2 has no isChildOf association "
                             "(to its parent item or to the CFDocument)")
    data = copy.deepcopy(package)
    data["CFAssociations"].append(copy.deepcopy(data["CFAssociations"][1]))
    assert refused(data).startswith(f"case.json: $.CFAssociations[{len(package['CFAssociations'])}]: item "
                                    "L2I-C1.1 already has a parent ($.CFAssociations[1])")
    data = copy.deepcopy(package)
    # make the domain L2I-D1 a child of its own competency L2I-C1.1: a cycle
    competency_link = data["CFAssociations"][1]["originNodeURI"]
    data["CFAssociations"][0]["destinationNodeURI"] = copy.deepcopy(competency_link)
    assert refused(data) == "case.json: $.CFItems[0]: cycle in the parent chain: L2I-D1 -> L2I-C1.1 -> L2I-D1"


def test_duplicates_and_missing_scale_are_refused(package: dict[str, Any]) -> None:
    data = copy.deepcopy(package)
    data["CFItems"][2]["humanCodingScheme"] = "L2I-C1.1"
    assert refused(data) == ("case.json: $.CFItems[2]: duplicate idnumber L2I-C1.1 "
                             "(first at case.json: $.CFItems[1])")
    data = copy.deepcopy(package)
    data["CFItems"][2]["identifier"] = data["CFItems"][1]["identifier"]
    assert refused(data).startswith("case.json: $.CFItems[2].identifier: duplicate identifier")
    data = copy.deepcopy(package)
    del data["CFRubrics"]
    assert refused(data).startswith("case.json: $.CFRubrics: a CFRubric with a criterion and its levels")
    data = copy.deepcopy(package)
    data["CFRubrics"][0]["CFRubricCriteria"][3]["CFRubricCriterionLevels"].pop()
    assert refused(data).startswith("case.json: $.CFRubrics[0].CFRubricCriteria[3]: its levels differ")
    data = copy.deepcopy(package)
    data["CFRubrics"][0]["extensions"]["l2i"]["proficientLevel"] = 9
    assert refused(data) == ("case.json: $.CFRubrics[0].proficient_level: proficient level 9 is not a "
                             "level of the scale (1..4)")


def test_oversized_packages_are_refused(package: dict[str, Any]) -> None:
    data = copy.deepcopy(package)
    data["CFItems"] = [data["CFItems"][0]] * (MAX_NODES + 1)
    assert refused(data) == f"case.json: $.CFItems: {MAX_NODES + 1} items; at most {MAX_NODES} are accepted"
    assert refused(" " * (MAX_BYTES + 1)) == "case.json: the document is larger than 5 MB"

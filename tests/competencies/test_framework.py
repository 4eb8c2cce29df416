"""The framework as data: the bundled L2I framework, the native format and its checks."""

from __future__ import annotations

import copy
import datetime as dt
import json
import re
import uuid
from pathlib import Path
from typing import Any

import pytest
import yaml

from competencies.framework import (
    BUNDLED_PATH,
    MAX_BYTES,
    MAX_NODES,
    UUID_NAMESPACE,
    Framework,
    FrameworkError,
    NodeSpec,
    assemble_framework,
    framework_from_dict,
    framework_from_yaml,
    framework_to_dict,
    framework_to_yaml,
    load_framework,
)

DOCS = Path(__file__).resolve().parents[2] / "docs" / "competency-ids.md"


@pytest.fixture(scope="module")
def fw() -> Framework:
    return load_framework()


@pytest.fixture
def text() -> str:
    return BUNDLED_PATH.read_text(encoding="utf-8")


def line_of(text: str, needle: str, occurrence: int = 1) -> int:
    """Return the 1-based line of the ``occurrence``-th line containing ``needle``."""
    hits = [n for n, line in enumerate(text.splitlines(), 1) if needle in line + "\n"]
    return hits[occurrence - 1]


def refused(text: str) -> str:
    with pytest.raises(FrameworkError) as info:
        framework_from_yaml(text, "l2i.yaml")
    return str(info.value)


# --- the bundled framework ---------------------------------------------------------------


def test_bundled_framework_has_eight_domains_and_24_competencies(fw: Framework) -> None:
    assert fw.idnumber == "L2I-FW"
    assert [d.idnumber for d in fw.domains()] == [f"L2I-D{n}" for n in range(1, 9)]
    assert len(fw.competencies()) == 24
    assert len(fw.indicators()) == 96
    for competency in fw.competencies():
        assert competency.kind == "competency"
        parent = fw.node(competency.parent or "")
        assert parent is not None and parent.kind == "domain"
        indicators = fw.children(competency.idnumber)
        assert len(indicators) >= 1
        assert all(i.kind == "indicator" and i.idnumber.startswith(competency.idnumber + ".")
                   for i in indicators)


def test_bundled_ids_are_those_the_docs_fix(fw: Framework) -> None:
    documented = set(re.findall(r"L2I-C\d\.\d\b", DOCS.read_text(encoding="utf-8")))
    assert fw.competency_ids() == frozenset(documented)
    assert len(documented) == 24


def test_bundled_scale_has_four_described_levels(fw: Framework) -> None:
    scale = fw.scale
    assert scale.names == ("Aware", "Developing", "Proficient", "Leading")
    assert [lv.level for lv in scale.levels] == [1, 2, 3, 4]
    assert all(len(lv.descriptor) > 40 for lv in scale.levels)
    assert scale.proficient_level == 3 and scale.level(3).name == "Proficient"
    with pytest.raises(KeyError):
        scale.level(5)
    assert fw.taxonomies == ("domain", "competency", "indicator")


def test_nodes_are_in_document_order_with_sibling_positions(fw: Framework) -> None:
    ids = [n.idnumber for n in fw.nodes]
    assert ids[:6] == ["L2I-D1", "L2I-C1.1", "L2I-C1.1.a", "L2I-C1.1.b", "L2I-C1.1.c", "L2I-C1.1.d"]
    assert [n.sortorder for n in fw.children("L2I-D2")] == [1, 2, 3]
    assert fw.node("L2I-C2.3") is not None and fw.node("L2I-C2.3").sortorder == 3  # type: ignore[union-attr]
    assert fw.node("nope") is None and fw.children("nope") == ()
    assert "L2I-D1" not in fw.competency_ids() and "L2I-C1.1.a" not in fw.competency_ids()


def test_uuids_are_derived_reproducibly(fw: Framework) -> None:
    assert fw.uuid == str(uuid.uuid5(UUID_NAMESPACE, "L2I-FW"))
    node = fw.node("L2I-C3.1")
    assert node is not None and node.uuid == str(uuid.uuid5(UUID_NAMESPACE, "L2I-FW/L2I-C3.1"))
    assert len({n.uuid for n in fw.nodes}) == len(fw.nodes)
    assert framework_from_yaml(BUNDLED_PATH.read_text(encoding="utf-8")) == fw
    assert fw.last_changed == dt.datetime(2026, 11, 21, tzinfo=dt.UTC)


# --- the native structure round trip ------------------------------------------------------------


def test_to_dict_is_the_yaml_document_and_round_trips(fw: Framework, text: str) -> None:
    data = framework_to_dict(fw)
    assert data == yaml.safe_load(text)
    assert json.loads(json.dumps(data)) == data
    assert framework_from_dict(data) == fw
    assert framework_to_dict(framework_from_dict(data)) == data
    assert framework_from_yaml(framework_to_yaml(fw)) == fw


def test_explicit_uuids_are_kept(fw: Framework) -> None:
    data = framework_to_dict(fw)
    data["uuid"] = "0f8fad5b-d9cb-469f-a165-70867728950e"
    data["domains"][0]["competencies"][0]["uuid"] = "7c9e6679-7425-40de-944b-e07fc1f90ae7"
    loaded = framework_from_dict(data)
    assert loaded.uuid == data["uuid"]
    assert loaded.node("L2I-C1.1").uuid == "7c9e6679-7425-40de-944b-e07fc1f90ae7"  # type: ignore[union-attr]
    assert framework_to_dict(loaded) == data


def test_a_competency_without_indicators_round_trips(fw: Framework) -> None:
    data = framework_to_dict(fw)
    data["domains"][0]["competencies"][0]["indicators"] = []
    loaded = framework_from_dict(data)
    assert loaded.children("L2I-C1.1") == ()
    assert framework_to_dict(loaded) == data


# --- faults, with the line ----------------------------------------------------------------


def test_duplicate_idnumber_names_both_lines(text: str) -> None:
    bad = text.replace("idnumber: L2I-C1.2\n", "idnumber: L2I-C1.1\n", 1)
    message = refused(bad)
    first, second = line_of(bad, "idnumber: L2I-C1.1\n"), line_of(bad, "idnumber: L2I-C1.1\n", 2)
    assert message == f"l2i.yaml:{second}: duplicate idnumber L2I-C1.1 (first at l2i.yaml:{first})"


def test_missing_and_unknown_fields_are_located(text: str) -> None:
    no_shortname = text.replace('    shortname: "Social innovation"\n', "", 1)
    assert refused(no_shortname) == (f"l2i.yaml:{line_of(no_shortname, 'idnumber: L2I-D2')}: "
                                     "domains[1].shortname: Missing data for required field.")
    extra = text.replace("taxonomies:", "colour: blue\ntaxonomies:", 1)
    assert refused(extra) == f"l2i.yaml:{line_of(extra, 'colour: blue')}: colour: Unknown field."
    wrong_type = text.replace('version: "1.0"', "version: 1.0", 1)
    assert refused(wrong_type) == "l2i.yaml:2: version: Not a valid string."


@pytest.mark.parametrize(("change", "says"), [
    (("proficient_level: 3", "proficient_level: 5"), "proficient level 5 is not a level of the scale (1..4)"),
    (("{level: 2, ", "{level: 7, "), "levels must be numbered 1..4 in order; level 7 is in position 2"),
    (('name: "Developing"', 'name: "Aware"'), "level name 'Aware' is used twice"),
    (('name: "Leading"', 'name: "Leading, coaching"'), "has a comma"),
    (('last_changed: "2026-11-21T00:00:00Z"', 'last_changed: "2026-11-21T00:00:00"'), "needs a time zone"),
    (("language: en", "language: english!"), "Not a language tag"),
])
def test_scale_and_header_faults(text: str, change: tuple[str, str], says: str) -> None:
    bad = text.replace(*change, 1)
    assert bad != text
    message = refused(bad)
    assert says in message
    assert message.startswith(f"l2i.yaml:{line_of(bad, change[1], bad.count(change[1]))}:")


def test_a_scale_needs_four_levels(text: str) -> None:
    start = line_of(text, "{level: 4, ")
    bad = "\n".join(line for n, line in enumerate(text.splitlines(), 1) if n != start)
    assert "scale.levels: A scale needs at least 4 levels." in refused(bad)


def test_yaml_syntax_error_and_aliases_are_refused() -> None:
    assert refused("idnumber: x\ndomains: [\n").startswith("l2i.yaml:3: not valid YAML")
    assert refused("a: &anchor [1, 2]\nb: *anchor\n") == "l2i.yaml:1: YAML aliases are not accepted"
    assert refused("") == "l2i.yaml:1: the document is empty"
    assert "Invalid input type" in refused("- just\n- a list\n")


def test_many_faults_are_reported_together(text: str) -> None:
    bad = text.replace("    shortname:", "    short_name:")
    message = refused(bad)
    lines = message.splitlines()
    assert len(lines) == 21 and lines[-1].startswith("... and ") and lines[-1].endswith(" more")
    assert (f"l2i.yaml:{line_of(bad, 'idnumber: L2I-D1')}: domains[0].shortname: "
            "Missing data for required field.") in lines
    line = line_of(bad, "short_name", 2)
    unknown = f"l2i.yaml:{line}: domains[0].competencies[0].short_name: Unknown field."
    assert unknown in lines


def _spec(idnumber: str, parent: str | None, line: int) -> NodeSpec:
    return NodeSpec(idnumber, idnumber, "", parent, f"f.csv:{line}")


def _assemble(fw: Framework, specs: list[NodeSpec]) -> Framework:
    header = {k: v for k, v in framework_to_dict(fw).items() if k != "domains"}
    return assemble_framework(header, specs, source="f.csv", locate=lambda path: f"f.csv:{path}")


def test_parent_chain_faults(fw: Framework) -> None:
    with pytest.raises(FrameworkError, match=r"^f\.csv:3: cycle in the parent chain: B -> C -> B$"):
        _assemble(fw, [_spec("A", None, 2), _spec("B", "C", 3), _spec("C", "B", 4)])
    with pytest.raises(FrameworkError, match=r"^f\.csv:3: the parent Z of B does not exist$"):
        _assemble(fw, [_spec("A", None, 2), _spec("B", "Z", 3)])
    with pytest.raises(FrameworkError, match=r"^f\.csv:5: D is 4 levels deep; a framework has at most 3"):
        _assemble(fw, [_spec("A", None, 2), _spec("B", "A", 3), _spec("C", "B", 4), _spec("D", "C", 5)])
    with pytest.raises(FrameworkError, match=r"^f\.csv:2: cycle in the parent chain: A -> A$"):
        _assemble(fw, [_spec("A", "A", 2)])
    marked = NodeSpec("A", "A", "", None, "f.csv:2", kind="competency")
    with pytest.raises(FrameworkError, match="marked 'competency' but sits at level 1"):
        _assemble(fw, [marked])


def test_node_fields_are_checked_with_their_location(fw: Framework) -> None:
    long_name = NodeSpec("A", "x" * 101, "", None, "f.csv:7")
    with pytest.raises(FrameworkError, match=r"^f\.csv:7: shortname: Length must be between 1 and 100"):
        _assemble(fw, [long_name])
    bad_uuid = NodeSpec("A", "A", "", None, "f.csv:8", uuid="not-a-uuid")
    with pytest.raises(FrameworkError, match=r"^f\.csv:8: uuid: Not a UUID"):
        _assemble(fw, [bad_uuid])


def test_too_many_nodes_are_refused(fw: Framework) -> None:
    data: dict[str, Any] = copy.deepcopy(framework_to_dict(fw))
    data["domains"] = [{"idnumber": f"D{n}", "shortname": "d", "description": "", "competencies": []}
                       for n in range(MAX_NODES + 1)]
    with pytest.raises(FrameworkError, match=f"{MAX_NODES + 1} nodes; at most {MAX_NODES} are accepted"):
        framework_from_dict(data, source="big.json")


def test_a_file_over_the_size_limit_is_refused_before_reading(tmp_path: Path) -> None:
    big = tmp_path / "big.yaml"
    with big.open("wb") as handle:
        handle.truncate(MAX_BYTES + 1)
    with pytest.raises(FrameworkError, match=r"big\.yaml: the file is larger than 5 MB"):
        load_framework(big)
    with pytest.raises(FrameworkError, match="larger than 5 MB"):
        framework_from_yaml("#" * (MAX_BYTES + 1), "big.yaml")


def test_a_file_that_is_not_utf8_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "latin1.yaml"
    path.write_bytes(b"idnumber: X\nshortname: caf\xe9\n")
    with pytest.raises(FrameworkError, match=r"latin1\.yaml:2: not UTF-8 text"):
        load_framework(path)

"""Moodle 4.5 competency framework CSV: the header, the rows Moodle's importer reads, the round trip."""

from __future__ import annotations

import csv
import dataclasses
import io
import json

import pytest

from competencies.exchange.moodle_csv import (
    MOODLE_HEADERS,
    export_moodle_csv,
    import_moodle_csv,
    moodle_taxonomy,
)
from competencies.framework import MAX_BYTES, Framework, FrameworkError, load_framework

# Moodle 4.5, admin/tool/lpimportcsv/classes/framework_importer.php, list_required_headers():
# get_string() of parentidnumber, idnumber, shortname, description, descriptionformat, scalevalues,
# scaleconfiguration, ruletype, ruleoutcome, ruleconfig, relatedidnumbers, exportid, isframework,
# taxonomy, whose English texts are in admin/tool/lpimportcsv/lang/en/tool_lpimportcsv.php.
MOODLE_45_HEADER = [
    "Parent ID number",
    "ID number",
    "Short name",
    "Description",
    "Description format",
    "Scale values",
    "Scale configuration",
    "Rule type (optional)",
    "Rule outcome (optional)",
    "Rule config (optional)",
    "Cross-referenced competency ID numbers",
    "Exported ID (optional)",
    "Is framework",
    "Taxonomy",
]


@pytest.fixture(scope="module")
def fw() -> Framework:
    return load_framework()


@pytest.fixture(scope="module")
def exported(fw: Framework) -> str:
    return export_moodle_csv(fw)


def rows_of(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text, newline="")))


def to_csv(rows: list[list[str]]) -> str:
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows(rows)
    return out.getvalue()


def refused(text: str, source: str = "fw.csv") -> str:
    with pytest.raises(FrameworkError) as info:
        import_moodle_csv(text, source)
    return str(info.value)


def test_header_is_moodle_45s_fourteen_columns(exported: str) -> None:
    assert list(MOODLE_HEADERS) == MOODLE_45_HEADER
    rows = rows_of(exported)
    assert rows[0] == MOODLE_45_HEADER
    assert all(len(row) == 14 for row in rows)


def test_one_framework_row_with_the_scale(fw: Framework, exported: str) -> None:
    rows = rows_of(exported)[1:]
    framework_rows = [row for row in rows if row[12] not in ("", "0")]
    assert framework_rows == [rows[0]]
    row = rows[0]
    assert row[:5] == ["", "L2I-FW", fw.shortname, fw.description, "2"]
    assert row[5] == "Aware,Developing,Proficient,Leading"
    config = json.loads(row[6])
    assert "scaleid" in config[0]
    assert config[1:] == [{"id": 3, "scaledefault": 1, "proficient": 1},
                          {"id": 4, "scaledefault": 0, "proficient": 1}]
    assert row[12] == "1"
    assert row[13] == "domain,competency,indicator"


def test_node_rows_build_moodles_tree(fw: Framework, exported: str) -> None:
    rows = rows_of(exported)[2:]
    assert len(rows) == len(fw.nodes) == 128
    # Moodle's importer (add_children) attaches each row to the row whose idnumber is its parent
    # idnumber, starting from '' for the top level: every node must be reachable that way.
    reached: set[str] = set()
    frontier = [""]
    while frontier:
        parent = frontier.pop()
        children = [row[1] for row in rows if row[0] == parent]
        reached.update(children)
        frontier.extend(children)
    assert reached == {n.idnumber for n in fw.nodes}
    for row, node in zip(rows, fw.nodes, strict=True):
        assert row[:5] == [node.parent or "", node.idnumber, node.shortname, node.description, "2"]
        assert row[5:7] == ["", ""]  # competencies use the framework's scale
        assert row[7:10] == ["", "0", "null"] and row[12:] == ["", ""]


def test_round_trip_is_identical(fw: Framework, exported: str) -> None:
    imported = import_moodle_csv(exported, "fw.csv")
    assert export_moodle_csv(imported) == exported
    assert imported.competency_ids() == fw.competency_ids()
    assert [n.idnumber for n in imported.nodes] == [n.idnumber for n in fw.nodes]
    # without a base, what the CSV cannot carry gets neutral values
    assert imported.scale.names == fw.scale.names and imported.scale.proficient_level == 3
    assert imported.scale.level(1).descriptor == "Aware"


def test_moodle_style_file_with_bom_and_crlf_reads_back_the_same(fw: Framework, exported: str) -> None:
    moodle_style = "\ufeff" + exported.replace("\n", "\r\n")
    assert import_moodle_csv(moodle_style, "fw.csv", base=fw) == fw
    assert import_moodle_csv(exported, "fw.csv", base=fw) == fw


def test_base_fills_what_the_csv_cannot_carry(fw: Framework, exported: str) -> None:
    rows = rows_of(exported)
    rows[3][2] = "A new short name"
    changed = import_moodle_csv(to_csv(rows), "fw.csv", base=fw)
    assert changed.node(rows[3][1]).shortname == "A new short name"  # type: ignore[union-attr]
    assert changed.scale == fw.scale and changed.uuid == fw.uuid
    assert changed.last_changed > fw.last_changed
    rows = rows_of(exported)
    rows[1][5] = "No,Some,Good,Great,Best"
    rows[1][6] = '[{"scaleid":"7"},{"id":4,"scaledefault":1,"proficient":1}]'
    other = import_moodle_csv(to_csv(rows), "fw.csv", base=fw)
    assert other.scale.names == ("No", "Some", "Good", "Great", "Best")
    assert other.scale.proficient_level == 4 and other.scale.level(2).descriptor == "Some"


def test_taxonomies_map_onto_moodles_constants(fw: Framework) -> None:
    assert [moodle_taxonomy(t) for t in ("domain", "skill", "theme", "")] == [
        "domain", "skill", "competency", "competency"]
    text = export_moodle_csv(dataclasses.replace(fw, taxonomies=("domain", "theme", "indicator")))
    assert rows_of(text)[1][13] == "domain,competency,indicator"


# --- refusals ------------------------------------------------------------------------------------


def test_wrong_header_is_refused(exported: str) -> None:
    rows = rows_of(exported)
    rows[0][2] = "Shortname"
    assert refused(to_csv(rows)).startswith("fw.csv:1: column 3 is 'Shortname', expected 'Short name'")
    rows = rows_of(exported)
    rows[0] = rows[0][:13]
    assert refused(to_csv(rows)).startswith("fw.csv:1: 13 columns, expected 14")


def test_short_row_names_its_line(exported: str) -> None:
    rows = rows_of(exported)
    rows[4][3] = "A description\nover two lines"  # lines now run one ahead of rows
    rows[9] = rows[9][:10]
    assert refused(to_csv(rows)) == "fw.csv:11: 10 columns; every row needs 14"


@pytest.mark.parametrize(("row", "column", "value", "says"), [
    (5, 0, "L2I-NOPE", "fw.csv:6: the parent L2I-NOPE of L2I-C1.1.b does not exist"),
    (8, 1, "L2I-C1.1", "fw.csv:9: duplicate idnumber L2I-C1.1 (first at fw.csv:4)"),
    (3, 0, "L2I-C1.1.a", "fw.csv:4: cycle in the parent chain: L2I-C1.1 -> L2I-C1.1.a -> L2I-C1.1"),
    (4, 0, "L2I-C1.1.b", "fw.csv:5: L2I-C1.1.a is 4 levels deep"),
    (4, 4, "9", "fw.csv:5: Description format: '9' is not 0, 1, 2 or 4"),
    (4, 5, "Yes,No", "fw.csv:5: Scale values: a competency with its own scale"),
    (1, 6, "[]", "fw.csv:2: Scale configuration: expected a JSON array"),
    (1, 6, '[{"scaleid":"1"},{"id":3,"scaledefault":1,"proficient":0}]', "no value is marked proficient"),
    (1, 6, '[{"scaleid":"1"},{"id":9,"scaledefault":1,"proficient":1}]', "value 9 is not one of the 4"),
    (1, 5, "Aware,,Leading,Top", "fw.csv:2: Scale values: expected the level names"),
    (1, 2, "", "fw.csv:2: Short name: Length must be between 1 and 100."),
    (1, 13, "Domain", "fw.csv:2: Taxonomy[0]: Not a lower-case word."),
    (1, 12, "0", "fw.csv: no framework row"),
    (7, 12, "1", "fw.csv:8: a second framework row (the first is on line 2)"),
])
def test_faults_name_their_line(exported: str, row: int, column: int, value: str, says: str) -> None:
    rows = rows_of(exported)
    rows[row][column] = value
    assert says in refused(to_csv(rows))


def test_empty_oversized_and_broken_files_are_refused() -> None:
    assert refused("") == "fw.csv:1: the file is empty"
    assert refused("x" * (MAX_BYTES + 1)) == "fw.csv: the document is larger than 5 MB"
    assert refused(",".join(MOODLE_HEADERS) + '\n,"unclosed\n').startswith("fw.csv:2: not valid CSV")

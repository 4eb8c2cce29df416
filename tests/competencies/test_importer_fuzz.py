"""Property tests of the framework importers: any input is imported or refused with a located message.

The importers are :func:`import_case` (CASE 1.1 CFPackage JSON, as text, bytes or a parsed object)
and :func:`import_moodle_csv` (Moodle 4.5's CSV), and the CLI's ``l2i framework import FILE``, which
reads the file's bytes first. The documented refusal is :class:`FrameworkError`, whose message starts
with the file's name and then says where and what. Whatever these tests feed in (random JSON trees,
an exported package with one field replaced or removed, random bytes in other encodings, CSV with
random columns, quotes, BOMs, very long or formula-like cells), the answer is a framework or that
error: never ``KeyError``, ``TypeError``, ``UnicodeDecodeError``, ``RecursionError`` or the like.

A framework that an importer accepts must also survive the way out: it exports to CASE and to
YAML and reads back identical, and all its text is valid Unicode (storable in the database).
Generated frameworks round-trip through every format. There is no web upload of a framework: the
CLI is the only import path, and it is fuzzed here too (exit 0 or 2 with a message, no traceback).
"""

from __future__ import annotations

import codecs
import copy
import csv
import dataclasses
import io
import json
import secrets
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from competencies.exchange.case import export_case, import_case
from competencies.exchange.moodle_csv import (
    MOODLE_HEADERS,
    MOODLE_TAXONOMIES,
    export_moodle_csv,
    import_moodle_csv,
)
from competencies.framework import (
    MAX_TEXT,
    Framework,
    FrameworkError,
    framework_from_dict,
    framework_from_yaml,
    framework_to_yaml,
    load_framework,
    read_text_limited,
)

CASE_SOURCE = "fuzz.json"
CSV_SOURCE = "fuzz.csv"
BASE_URL = "https://tool.example"
# A refusal is read by a person: it names the file, and it is not a dump of the input.
MAX_MESSAGE_CHARS = 6_000
MAX_LINE_CHARS = 700

FUZZ = settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
ROUND_TRIP = settings(max_examples=40, deadline=None,
                      suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])

# --- checks ---------------------------------------------------------------------------------------


def assert_readable_refusal(error: FrameworkError, source: str) -> None:
    """Check that a refusal names the file, says something, and stays short enough to read."""
    message = str(error)
    assert message.startswith(source), message[:300]
    assert message[len(source):].strip(" :0123456789"), f"no reason given: {message!r}"
    assert "Traceback" not in message
    assert len(message) <= MAX_MESSAGE_CHARS, f"{len(message)} characters: {message[:300]}..."
    too_long = [line[:120] for line in message.splitlines() if len(line) > MAX_LINE_CHARS]
    assert not too_long, f"lines over {MAX_LINE_CHARS} characters: {too_long}"


def assert_exportable(fw: Framework) -> None:
    """Check that an accepted framework is valid Unicode and survives CASE and YAML unchanged."""
    yaml_text = framework_to_yaml(fw)
    yaml_text.encode("utf-8")   # a lone surrogate here could not be stored or written to a file
    json.dumps(export_case(fw, BASE_URL), ensure_ascii=False).encode("utf-8")
    assert framework_from_yaml(yaml_text, "again.yaml") == fw
    assert import_case(export_case(fw, BASE_URL), "again.json") == fw


def imported_or_refused(run: Callable[[], Framework], source: str) -> Framework | None:
    """Run an import: return the framework, or None after checking the refusal is readable.

    Any exception other than :class:`FrameworkError` propagates and fails the test.
    """
    try:
        fw = run()
    except FrameworkError as error:
        assert_readable_refusal(error, source)
        return None
    assert_exportable(fw)
    return fw


# --- strategies: JSON ---------------------------------------------------------------------------

writable_scalars = (
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=12)
    | st.sampled_from(["", " ", "\ud800", "\x00", "2026-11-21T00:00:00Z", "2026-11-21",
                       "7c9e6679-7425-40de-944b-e07fc1f90ae7", "isChildOf", "domain", "l2i",
                       "=cmd|' /C calc'!A0", "x" * 30_000])
)
JSON_KEYS = st.sampled_from(["CFDocument", "CFItems", "CFAssociations", "CFRubrics", "CFRubricCriteria",
                             "CFRubricCriterionLevels", "identifier", "extensions", "l2i", "uri", "title"])


def trees_of(leaves: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """JSON-like trees with these leaves, keyed often by the names a CFPackage uses."""
    return st.recursive(leaves, lambda children: st.lists(children, max_size=4) | st.dictionaries(
        JSON_KEYS | st.text(max_size=6), children, max_size=5), max_leaves=25)


# parsed objects may hold integers longer than Python writes as text (json.dumps refuses them)
json_trees = trees_of(writable_scalars | st.integers(min_value=10**4300, max_value=10**4400))
writable_json_trees = trees_of(writable_scalars)
json_tokens = st.sampled_from([
    "{", "}", "[", "]", ",", ":", '"', '"CFDocument"', '"CFItems"', '"identifier"', "1" * 5000,
    "1e999999", "-0", "NaN", "Infinity", "null", "true", "\\ud800", '"\\ud800"', "\ufeff", " ", "\n",
    "\x00", "[" * 3000,
])


def json_paths(value: Any, here: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Return the path of every value inside a JSON tree (not the root)."""
    paths = [here] if here else []
    if isinstance(value, dict):
        for key, child in value.items():
            paths += json_paths(child, (*here, key))
    elif isinstance(value, list):
        for index, child in enumerate(value):
            paths += json_paths(child, (*here, index))
    return paths


def mutated(tree: Any, path: tuple[Any, ...], new: Any, how: str) -> Any:
    """Return a copy of ``tree`` with the value at ``path`` replaced, removed or its parent doubled."""
    result = copy.deepcopy(tree)
    parent = result
    for part in path[:-1]:
        parent = parent[part]
    last = path[-1]
    if how == "remove":
        del parent[last]
    elif how == "double" and isinstance(parent, list):
        parent.append(copy.deepcopy(parent[last]))
    else:
        parent[last] = new
    return result


# --- strategies: frameworks ------------------------------------------------------------------------

FORMULAS = ["=cmd|' /C calc'!A0", "=HYPERLINK(\"http://x.example\",\"x\")", "+1+1", "-2+3", "@SUM(A1:A9)",
            "=1+1", "\t=1", "\r=1"]
printable = st.characters(exclude_categories=["Cs", "Cc"])
any_text = st.characters(exclude_categories=["Cs"])


def _bare(text: str) -> str:
    return text.strip(" \t\r\n\x0b\x0c\x1c\x1d\x1e\x1f\x85\xa0\u2028\u2029")


idnumbers = st.text(printable, min_size=1, max_size=20).map(_bare).filter(bool) | st.sampled_from(
    ["L2I-C1.1", "a,b", 'q"uote', "=cmd|'x'!A0", "ä-ß-ø", "x" * 100])
shortnames = st.text(any_text, min_size=1, max_size=30) | st.sampled_from([*FORMULAS, "x" * 100, '"', ","])
descriptions = (st.text(any_text, max_size=60) | st.sampled_from(
    ["", *FORMULAS, "line one\r\nline two", 'say "hi", then leave', "\ufeffBOM inside", "x" * MAX_TEXT]))
level_names = st.text(printable, min_size=1, max_size=15).map(_bare).filter(
    lambda name: bool(name) and "," not in name)


@st.composite
def native_documents(draw: st.DrawFn) -> dict[str, Any]:
    """A native framework document (what ``framework_from_dict`` reads) with random texts."""
    shape = draw(st.lists(st.lists(st.integers(0, 2), max_size=3), min_size=1, max_size=3))
    count = sum(1 + len(competencies) + sum(competencies) for competencies in shape)
    ids = iter(draw(st.lists(idnumbers, min_size=count, max_size=count, unique=True)))

    def node() -> dict[str, Any]:
        shortname = draw(shortnames)
        description = draw(descriptions)
        # CASE: a description equal to the short name means "none" (see competencies.exchange.case)
        return {"idnumber": next(ids), "shortname": shortname,
                "description": "" if description == shortname else description}

    domains = [{**node(), "competencies": [{**node(), "indicators": [node() for _ in range(indicators)]}
                                           for indicators in competencies]}
               for competencies in shape]
    names = draw(st.lists(level_names, min_size=4, max_size=6, unique=True))
    return {
        "idnumber": draw(idnumbers), "version": draw(st.text(printable, min_size=1, max_size=8)),
        "shortname": draw(shortnames), "description": draw(descriptions),
        "language": draw(st.sampled_from(["en", "sl", "pt-BR", "sv", "es"])),
        "publisher": draw(st.text(any_text, min_size=1, max_size=20)),
        "scale": {"name": draw(st.text(any_text, min_size=1, max_size=20)),
                  "description": draw(descriptions),
                  "proficient_level": draw(st.integers(1, len(names))),
                  "levels": [{"level": n, "name": name, "descriptor": draw(st.text(any_text, min_size=1,
                                                                                   max_size=20))}
                             for n, name in enumerate(names, 1)]},
        "taxonomies": draw(st.lists(st.sampled_from(sorted(MOODLE_TAXONOMIES)), min_size=1, max_size=3)),
        "domains": domains,
    }


frameworks = native_documents().map(framework_from_dict)

SMALL = framework_from_dict({
    "idnumber": "FUZZ-FW", "version": "1.0", "shortname": "Fuzz", "description": "A small framework.",
    "language": "en", "publisher": "Tests",
    "scale": {"name": "Proficiency", "description": "", "proficient_level": 3, "levels": [
        {"level": n, "name": name, "descriptor": f"{name} level"}
        for n, name in enumerate(["Aware", "Basic", "Proficient", "Expert"], 1)]},
    "taxonomies": ["domain", "competency", "indicator"],
    "domains": [
        {"idnumber": "D1", "shortname": "Domain one", "description": "", "competencies": [
            {"idnumber": "C1.1", "shortname": "First", "description": "The first competency.",
             "indicators": [{"idnumber": "C1.1.a", "shortname": "Shows it", "description": ""}]},
            {"idnumber": "C1.2", "shortname": "Second", "description": "", "indicators": []}]},
        {"idnumber": "D2", "shortname": "Domain two", "description": "Another area.", "competencies": [
            {"idnumber": "C2.1", "shortname": "Third", "description": "", "indicators": []}]},
    ],
})
SMALL_PACKAGE = export_case(SMALL, BASE_URL)
# text a YAML 1.1 reader folds (NEL) and a lone CR, which a CSV line ending in LF must quote
AWKWARD = dataclasses.replace(SMALL, description="one\x85two", nodes=tuple(
    dataclasses.replace(node, description="first\rsecond") if node.idnumber == "C1.2" else node
    for node in SMALL.nodes))
SMALL_PACKAGE_PATHS = json_paths(SMALL_PACKAGE)
SMALL_CSV_ROWS = list(csv.reader(io.StringIO(export_moodle_csv(SMALL), newline="")))


def to_csv(rows: list[list[str]], terminator: str = "\n") -> str:
    """Write rows as CSV, as a spreadsheet or Moodle would: cells holding a CR or an LF are quoted."""
    lines = []
    for row in rows:
        out = io.StringIO()
        csv.writer(out, lineterminator="\r\n").writerow(row)
        lines.append(out.getvalue().removesuffix("\r\n") + terminator)
    return "".join(lines)


# --- CASE: anything in, a framework or a located refusal out ---------------------------------------


@FUZZ
@given(json_trees)
def test_any_json_tree_is_imported_or_refused_with_a_message(tree: Any) -> None:
    """A parsed object, its JSON text and its UTF-8 bytes: each imports or is refused readably."""
    imported_or_refused(lambda: import_case(tree, CASE_SOURCE), CASE_SOURCE)
    try:
        text = json.dumps(tree)
    except ValueError:   # an integer too long for str(): json.dumps cannot write it either
        return
    imported_or_refused(lambda: import_case(text, CASE_SOURCE), CASE_SOURCE)
    imported_or_refused(lambda: import_case(text.encode("utf-8"), CASE_SOURCE), CASE_SOURCE)


@FUZZ
@given(st.binary(max_size=300) | st.lists(json_tokens, max_size=30).map("".join).map(str.encode))
def test_any_bytes_or_token_soup_are_refused_with_a_message(raw: bytes) -> None:
    """Random bytes and JSON-like token soup (huge numbers, deep nesting, BOMs) never crash the importer."""
    imported_or_refused(lambda: import_case(raw, CASE_SOURCE), CASE_SOURCE)
    text = raw.decode("utf-8", errors="replace")
    imported_or_refused(lambda: import_case(text, CASE_SOURCE), CASE_SOURCE)


@FUZZ
@given(st.data(), json_trees, st.sampled_from(["replace", "replace", "remove", "double"]))
def test_a_valid_package_with_one_field_changed_is_imported_or_refused(
    data: st.DataObject, new: Any, how: str,
) -> None:
    """Replace, remove or duplicate one value anywhere in a valid package."""
    path = data.draw(st.sampled_from(SMALL_PACKAGE_PATHS))
    package = mutated(SMALL_PACKAGE, path, new, how)
    fw = imported_or_refused(lambda: import_case(package, CASE_SOURCE), CASE_SOURCE)
    if fw is not None and path[0] == "CFDefinitions":
        # the importer does not read the item-type definitions: changing them changes nothing
        assert fw == SMALL


@FUZZ
@given(st.data(), st.sampled_from(["\\ud800", "\\udfff", "\\ud83d", "a\\udc00b"]))
def test_escaped_lone_surrogates_are_refused_wherever_they_are_read(data: st.DataObject, escape: str) -> None:
    """A JSON escape of half a surrogate pair is not text; the importer refuses it with its path."""
    text_paths = [p for p in SMALL_PACKAGE_PATHS if isinstance(_at(SMALL_PACKAGE, p), str)]
    path = data.draw(st.sampled_from(text_paths))
    marker = "@@MARK@@"
    package = json.dumps(mutated(SMALL_PACKAGE, path, marker, "replace")).replace(marker, escape)
    imported_or_refused(lambda: import_case(package, CASE_SOURCE), CASE_SOURCE)


def _at(tree: Any, path: tuple[Any, ...]) -> Any:
    for part in path:
        tree = tree[part]
    return tree


def test_an_integer_too_long_for_python_is_refused_as_not_json() -> None:
    """A 5000-digit number is valid JSON that Python will not read: a FrameworkError, not a ValueError."""
    with pytest.raises(FrameworkError) as error:
        import_case('{"CFDocument": ' + "1" * 5000 + "}", CASE_SOURCE)
    assert_readable_refusal(error.value, CASE_SOURCE)
    assert "digits" in str(error.value)


def test_a_lone_surrogate_in_the_framework_idnumber_is_refused_with_its_path() -> None:
    """The idnumber is stored and written to files; half a surrogate pair cannot be."""
    package = json.dumps(SMALL_PACKAGE).replace('"FUZZ-FW"', '"FUZZ-\\ud800"')
    with pytest.raises(FrameworkError) as error:
        import_case(package, CASE_SOURCE)
    assert str(error.value).startswith(f"{CASE_SOURCE}: $.CFDocument.extensions.l2i.idnumber: ")
    assert "not valid Unicode" in str(error.value)


def test_refusals_show_at_most_a_part_of_a_huge_value() -> None:
    """A refusal quotes a 25,000-character cell or identifier only in part."""
    huge = "x" * 25_000
    rows = copy.deepcopy(SMALL_CSV_ROWS)
    rows[0][0] = huge
    parent = copy.deepcopy(SMALL_CSV_ROWS)
    parent[3][0] = huge
    package = copy.deepcopy(SMALL_PACKAGE)
    package["CFAssociations"][0]["originNodeURI"]["identifier"] = huge
    runs: list[tuple[Callable[[], Framework], str]] = [
        (lambda: import_moodle_csv(to_csv(rows), CSV_SOURCE), CSV_SOURCE),
        (lambda: import_moodle_csv(to_csv(parent), CSV_SOURCE), CSV_SOURCE),
        (lambda: import_case(package, CASE_SOURCE), CASE_SOURCE),
    ]
    for run, source in runs:
        with pytest.raises(FrameworkError) as error:
            run()
        assert_readable_refusal(error.value, source)
        assert "(25000 characters)" in str(error.value)


# --- Moodle CSV -------------------------------------------------------------------------------------

cells = (st.text(any_text, max_size=15) | st.sampled_from(
    ["", "1", "0", "2", "\ufeff", "\ud800", '"', '""', "a,b", "\r\n", "\x00", "null", "x" * 25_000, *FORMULAS,
     "Aware,Basic,Proficient,Expert", '[{"scaleid":"1"},{"id":3,"scaledefault":1,"proficient":1}]',
     '[{"scaleid":"1"},{"id":9,"proficient":1}]', '[{"scaleid":"1"},{"id":1e999,"proficient":1}]',
     '[{"scaleid":"1"},{"id":' + "9" * 5000 + "}]", "[{}]", "[]", "{", "D1", "C1.1", "FUZZ-FW"]))


@FUZZ
@given(st.lists(st.lists(cells, min_size=0, max_size=16), max_size=6), st.booleans(),
       st.sampled_from(["\n", "\r\n", "\r"]), st.booleans())
def test_random_rows_under_any_header_are_imported_or_refused(
    rows: list[list[str]], real_header: bool, terminator: str, bom: bool,
) -> None:
    """Random cells (quotes, commas, NULs, BOMs, 25k-character and formula cells) in random columns."""
    header = [list(MOODLE_HEADERS)] if real_header else []
    text = ("\ufeff" if bom else "") + to_csv(header + rows, terminator)
    imported_or_refused(lambda: import_moodle_csv(text, CSV_SOURCE), CSV_SOURCE)
    imported_or_refused(lambda: import_moodle_csv(text, CSV_SOURCE, base=SMALL), CSV_SOURCE)


@FUZZ
@given(st.text(any_text, max_size=400) | st.lists(
    st.sampled_from(['"', ",", "\n", "\r", "a", "\ufeff", "\x00", " ", "Parent ID number,"]), max_size=60,
).map("".join))
def test_any_text_is_imported_or_refused_as_csv(text: str) -> None:
    """Unbalanced quotes, stray carriage returns and BOMs anywhere are located refusals."""
    imported_or_refused(lambda: import_moodle_csv(text, CSV_SOURCE), CSV_SOURCE)


@FUZZ
@given(st.data(), cells, st.sampled_from(["replace", "replace", "drop", "add", "duplicate-row"]))
def test_a_valid_csv_with_one_cell_changed_is_imported_or_refused(
    data: st.DataObject, new: str, how: str,
) -> None:
    """Change one cell of an exported file: replace it, drop or add a cell, or copy a whole row."""
    rows = copy.deepcopy(SMALL_CSV_ROWS)
    r = data.draw(st.integers(0, len(rows) - 1))
    c = data.draw(st.integers(0, len(MOODLE_HEADERS) - 1))
    if how == "replace":
        rows[r][c] = new
    elif how == "drop":
        del rows[r][c]
    elif how == "add":
        rows[r].insert(c, new)
    else:
        rows.insert(r, list(rows[r]))
    text = to_csv(rows)
    imported_or_refused(lambda: import_moodle_csv(text, CSV_SOURCE, base=SMALL), CSV_SOURCE)


@FUZZ
@given(st.sampled_from([2, 3]), st.sampled_from(FORMULAS), st.sampled_from(range(1, len(SMALL_CSV_ROWS))))
def test_formula_cells_are_imported_as_plain_text_and_written_back_unchanged(
    column: int, formula: str, row: int,
) -> None:
    """A short name or description that looks like a spreadsheet formula is kept as the text it is."""
    rows = copy.deepcopy(SMALL_CSV_ROWS)
    rows[row][column] = formula
    fw = import_moodle_csv(to_csv(rows), CSV_SOURCE, base=SMALL)
    node = fw.node(rows[row][1]) if row > 1 else None
    kept = (node.shortname if column == 2 else node.description) if node else (
        fw.shortname if column == 2 else fw.description)
    assert kept == formula
    assert list(csv.reader(io.StringIO(export_moodle_csv(fw), newline="")))[row][column] == formula


ENCODINGS = ["utf-8", "utf-8-sig", "utf-16", "utf-16-le", "utf-32", "latin-1", "cp1252", "shift_jis"]


@FUZZ
@given(st.sampled_from(ENCODINGS), st.text(any_text, max_size=20), st.sampled_from(["case", "csv"]))
def test_a_file_in_any_encoding_is_read_or_refused_as_the_cli_reads_it(
    encoding: str, extra: str, kind: str,
) -> None:
    """The CLI reads the file's bytes (UTF-8, a BOM dropped) and then imports: both steps only refuse."""
    rows = copy.deepcopy(SMALL_CSV_ROWS)
    rows[2][2] = f"Domäne {extra}"
    text = to_csv(rows) if kind == "csv" else json.dumps(SMALL_PACKAGE, ensure_ascii=False).replace(
        '"Domain one"', json.dumps(f"Domäne {extra}", ensure_ascii=False))
    try:
        raw = text.encode(encoding)
    except UnicodeEncodeError:
        raw = text.encode(encoding, errors="replace")
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder, f"framework.{'json' if kind == 'case' else 'csv'}")
        path.write_bytes(raw)
        source = str(path)

        def run() -> Framework:
            content = read_text_limited(path)
            if kind == "case":
                return import_case(content, source)
            return import_moodle_csv(content, source, base=SMALL)

        fw = imported_or_refused(run, source)
    if encoding in ("utf-8", "utf-8-sig"):
        assert fw is not None and fw.node("D1").shortname == f"Domäne {extra}"  # type: ignore[union-attr]
    elif raw[:2] in (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE) or encoding.startswith("utf-16"):
        assert fw is None


# --- round trips of generated frameworks --------------------------------------------------------------


@ROUND_TRIP
@given(frameworks)
@example(AWKWARD)
def test_any_framework_round_trips_through_case(fw: Framework) -> None:
    """Export to CASE, import: the same framework; the JSON text and its bytes give it too."""
    package = export_case(fw, BASE_URL)
    assert import_case(package, CASE_SOURCE) == fw
    text = json.dumps(package, ensure_ascii=False, indent=1)
    assert import_case(text, CASE_SOURCE) == fw
    assert import_case(codecs.BOM_UTF8 + text.encode("utf-8"), CASE_SOURCE) == fw
    assert export_case(import_case(text, CASE_SOURCE), BASE_URL) == package


@ROUND_TRIP
@given(frameworks, st.sampled_from(["\n", "\r\n"]), st.booleans())
@example(AWKWARD, "\n", False)
def test_any_framework_round_trips_through_moodle_csv(fw: Framework, terminator: str, bom: bool) -> None:
    """Export to Moodle CSV (as Moodle would save it: CRLF, BOM), import with the framework as base."""
    exported = export_moodle_csv(fw)
    rows = list(csv.reader(io.StringIO(exported, newline="")))
    assert len(rows) == 2 + len(fw.nodes)   # a text's CR or LF never ends a row
    moodle_style = ("\ufeff" if bom else "") + to_csv(rows, terminator)
    assert import_moodle_csv(moodle_style, CSV_SOURCE, base=fw) == fw
    without_base = import_moodle_csv(exported, CSV_SOURCE)
    assert export_moodle_csv(without_base) == exported
    assert [n.idnumber for n in without_base.nodes] == [n.idnumber for n in fw.nodes]


@ROUND_TRIP
@given(frameworks)
@example(AWKWARD)
def test_any_framework_round_trips_through_yaml(fw: Framework) -> None:
    """The native YAML reads back the same framework."""
    assert framework_from_yaml(framework_to_yaml(fw), "fw.yaml") == fw


# --- the CLI: the only way a file gets in ----------------------------------------------------------------

cli_inputs = st.one_of(
    st.binary(max_size=200).map(lambda raw: ("fw.json", raw)),
    st.binary(max_size=200).map(lambda raw: ("fw.csv", raw)),
    writable_json_trees.map(lambda tree: ("fw.json", json.dumps(tree).encode("utf-8"))),
    st.lists(st.lists(cells, max_size=15), max_size=4).map(
        # a lone surrogate in a cell becomes bytes that are not UTF-8
        lambda rows: ("fw.csv", to_csv([list(MOODLE_HEADERS), *rows]).encode("utf-8", "surrogatepass"))),
    st.sampled_from([
        ("fw.json", json.dumps(SMALL_PACKAGE).replace('"FUZZ-FW"', '"FUZZ-\\ud800"').encode()),
        # the whole bundled framework (so the course's ids check passes) with an escaped lone surrogate
        ("fw.json",
         json.dumps(export_case(load_framework())).replace('"L2I-FW"', '"L2I-FW\\ud800"').encode()),
        ("fw.json", b'{"CFDocument": ' + b"1" * 5000 + b"}"),
        ("fw.yaml", b"a: &x [1]\nb: *x\n"), ("fw", b"\xff\xfe{"), ("fw.yml", b"[" * 5000),
    ]),
)


@settings(max_examples=20, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(cli_inputs)
def test_the_cli_import_exits_2_with_a_message_never_a_traceback(
    sqlite_url: str, monkeypatch: pytest.MonkeyPatch, named: tuple[str, bytes],
) -> None:
    """``l2i framework import FILE``: exit 0 (imported) or 2 with the reason and "Nothing was imported."."""
    from lti_tool.cli import main

    monkeypatch.setenv("L2I_DATABASE_URL", sqlite_url)
    monkeypatch.setenv("L2I_BASE_URL", "http://localhost")
    monkeypatch.setenv("L2I_SECRET_KEY", secrets.token_urlsafe(48))
    name, raw = named
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder, name)
        path.write_bytes(raw)
        result = CliRunner().invoke(main, ["framework", "import", str(path)])
    assert result.exception is None or isinstance(result.exception, SystemExit), (
        f"{type(result.exception).__name__}: {result.exception}")
    assert result.exit_code in (0, 2), result.output[-500:]
    if result.exit_code == 2:
        assert result.stderr.startswith(str(path))
        assert result.stderr.rstrip().endswith("Nothing was imported.")
        assert len(result.stderr) <= MAX_MESSAGE_CHARS + 100

"""The competency framework CSV of Moodle 4.5 (``admin/tool/lpimportcsv``): export and import.

Where the format comes from (Moodle's source, read in the ``moodle/moodle`` repository):

- ``admin/tool/lpimportcsv/classes/framework_importer.php``, ``list_required_headers()``, builds
  the header row from the plugin's language strings, in this order: ``parentidnumber``,
  ``idnumber``, ``shortname``, ``description``, ``descriptionformat``, ``scalevalues``,
  ``scaleconfiguration``, ``ruletype``, ``ruleoutcome``, ``ruleconfig``, ``relatedidnumbers``,
  ``exportid``, ``isframework``, ``taxonomy``. ``read_mapping_data()`` reads the columns by these
  positions (0..13).
- ``admin/tool/lpimportcsv/lang/en/tool_lpimportcsv.php`` gives their English text, hence
  :data:`MOODLE_HEADERS`. Moodle itself reads the columns by position after a mapping step, so it
  also takes files with the spellings of older versions (``Parent id number``, ``Shortname``...);
  we accept only the exact header of Moodle 4.5's own export and say which column differs.
- ``admin/tool/lpimportcsv/classes/framework_exporter.php`` writes the header, then the framework
  row (parent empty; idnumber, shortname, description, descriptionformat; the scale's
  ``compact_items()``, i.e. its values joined by commas; the scale configuration; five empty
  columns; ``Is framework`` true; the taxonomies joined by commas), then one row per competency
  (parent idnumber; ...; empty scale unless the competency overrides it; rule type, rule outcome,
  rule config or ``null``; cross-referenced idnumbers; its id as ``Exported ID``; ``Is framework``
  false, written as an empty string; empty taxonomy).
- The importer treats a row as the framework when ``Is framework`` is truthy in PHP (not empty,
  not ``0``), finds or creates a global scale with exactly those values, and replaces the
  ``scaleid`` in the first element of the scale configuration with that scale's id
  (``get_scale_configuration()``). ``competency_framework::validate_scaleconfiguration()``
  then requires a JSON array whose first element is ``{"scaleid": ...}`` followed by
  ``{"id": <value number, from 1>, "scaledefault": 0|1, "proficient": 0|1}`` entries, with at least
  one value marked default and one marked proficient; ``admin/tool/lp/amd/src/scaleconfig.js``
  writes only the values that have a flag set. We mark every level from the proficient level up
  as proficient and the proficient level as the default (the value given when a competency is
  completed by a rule or course completion).
- ``competency_framework::get_taxonomies_list()`` allows the taxonomy constants ``behaviour``,
  ``competency``, ``concept``, ``domain``, ``indicator``, ``level``, ``outcome``, ``practice``,
  ``proficiency``, ``skill`` and ``value``; ``get_taxonomy()`` falls back to ``competency`` for an
  empty level. Ours (``domain,competency,indicator``) are all allowed and go out unchanged; any
  other term is exported as ``competency`` (see :func:`moodle_taxonomy`).
- Description formats are ``FORMAT_MOODLE`` 0, ``FORMAT_HTML`` 1, ``FORMAT_PLAIN`` 2 and
  ``FORMAT_MARKDOWN`` 4 (``lib/weblib.php``); our descriptions are plain text, so we write 2.

What a Moodle CSV cannot carry (the scale's name, description and level descriptors, the
framework's version, language, publisher and UUIDs) comes, on import, from a ``base`` framework
with the same idnumber (for the scale: with the same level names), else from neutral defaults.
Completion rules and cross-references are Moodle features we do not hold; on import they are
ignored. Moodle exports may start with a UTF-8 BOM and end lines with CRLF; both are accepted.
"""

from __future__ import annotations

import csv
import dataclasses
import io
import json
from collections.abc import Sequence
from typing import Any

from competencies.framework import (
    KINDS,
    FieldPath,
    Framework,
    FrameworkError,
    NodeSpec,
    Scale,
    assemble_framework,
    check_size,
    dotted,
    isoformat_utc,
    shown,
)
from l2i_db import utcnow

MOODLE_HEADERS: tuple[str, ...] = (
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
)
MOODLE_TAXONOMIES = frozenset({
    "behaviour", "competency", "concept", "domain", "indicator", "level", "outcome", "practice",
    "proficiency", "skill", "value",
})
FORMAT_PLAIN = "2"
DESCRIPTION_FORMATS = frozenset({"", "0", "1", "2", "4"})
(PARENT, IDNUMBER, SHORTNAME, DESCRIPTION, DESCRIPTION_FORMAT, SCALE_VALUES, SCALE_CONFIGURATION,
 RULE_TYPE, RULE_OUTCOME, RULE_CONFIG, RELATED, EXPORT_ID, IS_FRAMEWORK, TAXONOMY) = range(14)
_HEADER_COLUMNS = {"idnumber": IDNUMBER, "shortname": SHORTNAME, "description": DESCRIPTION,
                   "scale": SCALE_VALUES, "taxonomies": TAXONOMY}


def moodle_taxonomy(term: str) -> str:
    """Map one of our taxonomy terms onto Moodle's allowed constants (unknown terms: ``competency``)."""
    return term if term in MOODLE_TAXONOMIES else "competency"


def scale_configuration(scale: Scale) -> str:
    """Return Moodle's scale configuration JSON: proficient from ``proficient_level`` up, default there.

    Moodle replaces the ``scaleid`` with the id of the scale it finds or creates on import.
    """
    config: list[dict[str, Any]] = [{"scaleid": "0"}]
    for level in scale.levels:
        if level.level >= scale.proficient_level:
            config.append({"id": level.level, "scaledefault": int(level.level == scale.proficient_level),
                           "proficient": 1})
    return json.dumps(config, separators=(",", ":"))


def export_moodle_csv(fw: Framework) -> str:
    """Return ``fw`` as the CSV that Moodle 4.5's *Import competency framework* reads."""
    lines = [_csv_line(MOODLE_HEADERS), _csv_line([
        "", fw.idnumber, fw.shortname, fw.description, FORMAT_PLAIN, ",".join(fw.scale.names),
        scale_configuration(fw.scale), "", "", "", "", "", "1",
        ",".join(moodle_taxonomy(term) for term in fw.taxonomies),
    ])]
    for export_id, node in enumerate(fw.nodes, 1):
        lines.append(_csv_line([
            node.parent or "", node.idnumber, node.shortname, node.description, FORMAT_PLAIN, "", "",
            "", "0", "null", "", str(export_id), "", "",
        ]))
    return "".join(lines)


def _csv_line(cells: Sequence[str]) -> str:
    """Return one CSV line ending in LF, quoting every cell that holds a CR or an LF.

    Python's writer quotes only the characters of its line terminator, so with an LF one a cell
    holding a lone CR would be written bare and read back as the end of the line.
    """
    out = io.StringIO()
    csv.writer(out, lineterminator="\r\n").writerow(cells)
    return out.getvalue().removesuffix("\r\n") + "\n"


def _is_true(value: str) -> bool:
    """PHP truthiness of a CSV cell, as the importer's ``if ($isframework)`` sees it."""
    return value not in ("", "0")


def _read_rows(text: str, source: str) -> list[tuple[int, list[str]]]:
    """Return the non-blank rows with the line each starts on, checking the header and widths."""
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    rows: list[tuple[int, list[str]]] = []
    while True:
        line = reader.line_num + 1
        try:
            row = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            raise FrameworkError(f"{source}:{line}: not valid CSV: {exc}") from None
        if row:
            rows.append((line, row))
    if not rows:
        raise FrameworkError(f"{source}:1: the file is empty")
    line, header = rows[0]
    if tuple(header) != MOODLE_HEADERS:
        raise FrameworkError(f"{source}:{line}: {_header_problem(header)}; the header must be Moodle 4.5's "
                             f"{len(MOODLE_HEADERS)} columns: {', '.join(MOODLE_HEADERS)}")
    for line, row in rows[1:]:
        if len(row) != len(MOODLE_HEADERS):
            raise FrameworkError(f"{source}:{line}: {len(row)} columns; every row needs "
                                 f"{len(MOODLE_HEADERS)}")
    return rows[1:]


def _header_problem(header: Sequence[str]) -> str:
    for column, (found, expected) in enumerate(zip(header, MOODLE_HEADERS, strict=False), 1):
        if found != expected:
            return f"column {column} is {shown(found)!r}, expected {expected!r}"
    return f"{len(header)} columns, expected {len(MOODLE_HEADERS)}"


def _levels_from(values: str, where: str) -> list[str]:
    names = [name.strip() for name in values.split(",")]
    if not values.strip() or not all(names):
        raise FrameworkError(f"{where}: Scale values: expected the level names separated by commas")
    return names


def _proficient_from(config: str, count: int, where: str) -> int:
    """Return the lowest proficient value of a Moodle scale configuration."""
    problem = (f"{where}: Scale configuration: expected a JSON array like "
               f'[{{"scaleid":"1"}},{{"id":3,"scaledefault":1,"proficient":1}}]')
    try:
        parsed = json.loads(config)
    except ValueError:  # not JSON, or an integer longer than Python converts
        raise FrameworkError(problem) from None
    if (not isinstance(parsed, list) or not parsed or not isinstance(parsed[0], dict)
            or "scaleid" not in parsed[0] or not all(isinstance(e, dict) for e in parsed[1:])):
        raise FrameworkError(problem)
    proficient = []
    for entry in parsed[1:]:
        try:
            value = int(entry["id"])
        except (KeyError, TypeError, ValueError, OverflowError):  # OverflowError: 1e999 is infinite
            raise FrameworkError(problem) from None
        if not 1 <= value <= count:
            raise FrameworkError(f"{where}: Scale configuration: value {shown(value)} is not one of the "
                                 f"{count} scale values")
        if entry.get("proficient"):
            proficient.append(value)
    if not proficient:
        raise FrameworkError(f"{where}: Scale configuration: no value is marked proficient")
    return min(proficient)


def _scale_dict(names: list[str], proficient: int, base: Framework | None) -> dict[str, Any]:
    if base is not None and base.scale.names == tuple(names):
        return {"name": base.scale.name, "description": base.scale.description,
                "proficient_level": proficient,
                "levels": [{"level": lv.level, "name": lv.name, "descriptor": lv.descriptor}
                           for lv in base.scale.levels]}
    return {"name": "Proficiency", "description": "", "proficient_level": proficient,
            "levels": [{"level": n, "name": name, "descriptor": name} for n, name in enumerate(names, 1)]}


def _check_format(row: Sequence[str], where: str) -> None:
    if row[DESCRIPTION_FORMAT] not in DESCRIPTION_FORMATS:
        raise FrameworkError(f"{where}: Description format: {shown(row[DESCRIPTION_FORMAT])!r} is not "
                             "0, 1, 2 or 4")


def _framework_row(rows: Sequence[tuple[int, list[str]]], source: str) -> tuple[int, list[str]]:
    found = [(line, row) for line, row in rows if _is_true(row[IS_FRAMEWORK])]
    if not found:
        raise FrameworkError(f"{source}: no framework row (a row whose 'Is framework' is 1)")
    if len(found) > 1:
        raise FrameworkError(f"{source}:{found[1][0]}: a second framework row (the first is on line "
                             f"{found[0][0]}); a file holds one framework")
    return found[0]


def _node_specs(rows: Sequence[tuple[int, list[str]]], scale_values: str, source: str) -> list[NodeSpec]:
    specs = []
    for line, row in rows:
        if _is_true(row[IS_FRAMEWORK]):
            continue
        where = f"{source}:{line}"
        _check_format(row, where)
        if row[SCALE_VALUES] and row[SCALE_VALUES] != scale_values:
            raise FrameworkError(f"{where}: Scale values: a competency with its own scale; a framework "
                                 f"has one scale ({shown(scale_values)})")
        specs.append(NodeSpec(idnumber=row[IDNUMBER], shortname=row[SHORTNAME],
                              description=row[DESCRIPTION], parent=row[PARENT] or None, where=where))
    return specs


def import_moodle_csv(text: str, source: str, *, base: Framework | None = None) -> Framework:
    """Read a Moodle 4.5 competency framework CSV into a framework.

    ``base`` (e.g. the active framework) supplies what the CSV cannot carry when it has the same
    idnumber (the scale's texts: when it has the same level names); see the module docstring.
    Faults are reported with the line: ``framework.csv:17: 13 columns; every row needs 14``.
    """
    check_size(text, source)
    rows = _read_rows(text.removeprefix("\ufeff"), source)
    line, row = _framework_row(rows, source)
    where = f"{source}:{line}"
    _check_format(row, where)
    names = _levels_from(row[SCALE_VALUES], where)
    proficient = _proficient_from(row[SCALE_CONFIGURATION], len(names), where)
    same = base if base is not None and base.idnumber == row[IDNUMBER] else None
    header: dict[str, Any] = {
        "idnumber": row[IDNUMBER], "shortname": row[SHORTNAME], "description": row[DESCRIPTION],
        "version": same.version if same else "1.0", "language": same.language if same else "en",
        "publisher": same.publisher if same else "Moodle",
        "scale": _scale_dict(names, proficient, base),
        "taxonomies": [term or "competency" for term in row[TAXONOMY].split(",")] if row[TAXONOMY]
        else list(KINDS),
    }
    specs = _node_specs(rows, row[SCALE_VALUES], source)
    if same is not None:
        header["uuid"] = same.uuid
        header["last_changed"] = isoformat_utc(same.last_changed)
        specs = [dataclasses.replace(spec, uuid=node.uuid) if (node := same.node(spec.idnumber)) else spec
                 for spec in specs]

    def locate(path: FieldPath) -> str:
        column = _HEADER_COLUMNS.get(str(path[0])) if path else None
        if column is None:
            return f"{where}: {dotted(path)}" if path else where
        rest = dotted(path[1:])
        return f"{where}: {MOODLE_HEADERS[column]}{'' if not rest or rest[0] == '[' else '.'}{rest}"

    framework = assemble_framework(header, specs, source=source, locate=locate)
    return _stamped(framework, same)


def _stamped(framework: Framework, same: Framework | None) -> Framework:
    """Keep the base's last change when nothing changed; otherwise the framework changed now."""
    if same is not None and dataclasses.replace(framework, last_changed=same.last_changed) == same:
        return framework
    return dataclasses.replace(framework, last_changed=utcnow().replace(microsecond=0))

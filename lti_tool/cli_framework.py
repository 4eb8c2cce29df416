"""``l2i framework``: the competency framework's coverage by the course, its export and its import."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import NoReturn

import click

from competencies.coverage import MappedActivity, coverage_matrix, render_matrix
from competencies.exchange.case import export_case, import_case
from competencies.exchange.moodle_csv import export_moodle_csv, import_moodle_csv
from competencies.framework import (
    Framework,
    FrameworkError,
    framework_from_yaml,
    framework_to_yaml,
    load_framework,
    read_text_limited,
)
from competencies.store import active_framework, save_framework
from course_units.loader import CONTENT_DIR, ContentError, load_catalog

EXPORT_FORMATS = ("case", "moodle-csv", "yaml")
IMPORT_FORMATS = ("auto", *EXPORT_FORMATS)
_SUFFIX_FORMATS = {".json": "case", ".csv": "moodle-csv", ".yaml": "yaml", ".yml": "yaml"}


def _mapped_activities(content_dir: Path = CONTENT_DIR) -> list[MappedActivity]:
    """Return every activity's competency mapping, in programme order, from the validated content."""
    return [
        MappedActivity(id=a.id, unit_id=a.unit_id, auto_graded=a.auto_graded, weights=a.weights)
        for a in load_catalog(content_dir).activities()
    ]


def _active() -> Framework:
    """Return the active framework (needs the settings and the database)."""
    from lti_tool.cli import open_session, read_settings

    with open_session(read_settings()) as session:
        return active_framework(session)


def _fail(message: str, status: int = 2) -> NoReturn:
    click.echo(message, err=True)
    sys.exit(status)


@click.group()
def framework() -> None:
    """Check, export and import the competency framework."""


@framework.command("coverage")
@click.option("--bundled", is_flag=True, help="Check the bundled framework (no database needed).")
def coverage(bundled: bool) -> None:
    """Print the competency x activity matrix; exit 1 if a competency lacks evidence or an id is unknown."""
    fw = load_framework() if bundled else _active()
    try:
        activities = _mapped_activities()
    except ContentError as exc:
        _fail(f"The course content does not load:\n{exc}")
    report = coverage_matrix(fw, activities)
    click.echo(f"Framework {fw.idnumber} {fw.version}: {len(report.competencies)} competencies, "
               f"{len(report.activities)} activities.\n")
    click.echo(render_matrix(report), nl=False)
    if report.problems:
        sys.exit(1)


def _render(fw: Framework, fmt: str, base_url: str) -> str:
    if fmt == "case":
        return json.dumps(export_case(fw, base_url), indent=2, ensure_ascii=False) + "\n"
    if fmt == "moodle-csv":
        return export_moodle_csv(fw)
    return framework_to_yaml(fw)


@framework.command("export")
@click.option("--format", "fmt", type=click.Choice(EXPORT_FORMATS), required=True,
              help="case: a CASE 1.1 package (JSON); moodle-csv: Moodle 4.5's import file; yaml: native.")
@click.option("--output", type=click.Path(dir_okay=False, writable=True, path_type=Path), default=None,
              help="Write to FILE instead of standard output.")
def export(fmt: str, output: Path | None) -> None:
    """Export the active framework."""
    from lti_tool.cli import open_session, read_settings

    settings = read_settings()
    with open_session(settings) as session:
        fw = active_framework(session)
    text = _render(fw, fmt, settings.base_url)
    if output is None:
        click.echo(text, nl=False)
        return
    with output.open("w", encoding="utf-8", newline="") as handle:
        handle.write(text)
    click.echo(f"Wrote {fw.idnumber} as {fmt} to {output}.", err=True)


def _detect_format(path: Path, text: str) -> str:
    by_suffix = _SUFFIX_FORMATS.get(path.suffix.lower())
    if by_suffix:
        return by_suffix
    head = text.lstrip("\ufeff \t\r\n")
    if head.startswith("{"):
        return "case"
    if head.startswith("Parent ID number,"):
        return "moodle-csv"
    return "yaml"


def _parse(text: str, fmt: str, source: str, base: Framework) -> Framework:
    if fmt == "case":
        return import_case(text, source)
    if fmt == "moodle-csv":
        return import_moodle_csv(text, source, base=base)
    return framework_from_yaml(text, source)


def _check_course_ids(fw: Framework, source: str) -> None:
    """Refuse a framework that lacks a competency the course's activities map to."""
    try:
        activities = _mapped_activities()
    except ContentError as exc:
        raise FrameworkError(f"{source}: the course content does not load, so its competency ids "
                             f"cannot be checked:\n{exc}") from None
    known = fw.competency_ids()
    missing: dict[str, list[str]] = {}
    for activity in activities:
        for competency_id in activity.weights:
            if competency_id not in known:
                missing.setdefault(competency_id, []).append(activity.id)
    if missing:
        listed = "\n".join(f"  - {cid} (mapped by {', '.join(ids)})" for cid, ids in sorted(missing.items()))
        raise FrameworkError(f"{source}: the framework {fw.idnumber} lacks {len(missing)} competency id(s) "
                             f"that the course's activities map to:\n{listed}")


@framework.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--format", "fmt", type=click.Choice(IMPORT_FORMATS), default="auto", show_default=True,
              help="auto: by the file's extension (.json, .csv, .yaml), else by its content.")
def import_framework(file: Path, fmt: str) -> None:
    """Check FILE and make it the active framework (all or nothing; exit 2 on any fault)."""
    from lti_tool.cli import open_session, read_settings

    settings = read_settings()
    source = str(file)
    try:
        text = read_text_limited(file)
        chosen = _detect_format(file, text) if fmt == "auto" else fmt
        with open_session(settings) as session:
            fw = _parse(text, chosen, source, active_framework(session))
            _check_course_ids(fw, source)
            save_framework(session, fw, source)
    except FrameworkError as exc:
        _fail(f"{exc}\nNothing was imported.")
    click.echo(f"Imported {fw.idnumber} {fw.version} ({chosen}) from {file}: {len(fw.domains())} domains, "
               f"{len(fw.competencies())} competencies, {len(fw.indicators())} indicators. "
               "It is now the active framework.")

"""``l2i units``: check the programme's content (``course_units/content/``)."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from competencies.framework import FrameworkError, load_framework
from course_units.content import Activity, Catalog, Unit
from course_units.loader import CONTENT_DIR, ContentError, load_catalog


@click.group()
def units() -> None:
    """Check the units' content: pages, quizzes, reflections, lab canvas."""


@units.command("validate")
@click.option(
    "--content-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=CONTENT_DIR,
    show_default="the bundled units",
    help="The folder holding one <unit-id>/ folder per unit.",
)
def validate(content_dir: Path) -> None:
    """Check every unit, page and activity; print a summary, or each fault as file:line: message."""
    try:
        known = load_framework().competency_ids()
    except FrameworkError as exc:
        click.echo(f"The competency framework does not load, so ids can't be checked:\n{exc}", err=True)
        sys.exit(1)
    try:
        catalog = load_catalog(content_dir, known_competencies=known)
    except ContentError as exc:
        click.echo(str(exc), err=True)
        click.echo(f"{len(exc.problems)} problem(s) found; nothing was loaded.", err=True)
        sys.exit(1)
    click.echo(describe_catalog(catalog, known))


def describe_catalog(catalog: Catalog, known: frozenset[str]) -> str:
    """Return the summary ``l2i units validate`` prints for valid content."""
    pages = sum(len(u.pages) for u in catalog.units)
    activities = len(catalog.activities())
    words = sum(u.word_count() for u in catalog.units)
    lines = [f"OK: {len(catalog.units)} units, {pages} pages, {activities} activities, {words} words"]
    lines += [describe_unit(unit) for unit in catalog.units]
    unmapped = sorted(known - catalog.competency_ids())
    lines.append(
        f"Competencies with evidence: {len(known) - len(unmapped)} of {len(known)}"
        + (f" (none for {', '.join(unmapped)})" if unmapped else "")
    )
    return "\n".join(lines)


def describe_unit(unit: Unit) -> str:
    """Return one unit's line: id, English words, minutes, pages and activities with their kind."""
    activities = ", ".join(describe_activity(a) for a in unit.activities)
    return (
        f"  {unit.id}: {unit.word_count()} words, {unit.estimated_minutes} min, {len(unit.pages)} pages; "
        f"{activities}"
    )


def describe_activity(activity: Activity) -> str:
    """Return ``u1-quiz (quiz, 10 items)`` or ``u1-reflection (reflection, 4 criteria)``."""
    if activity.kind == "quiz":
        return f"{activity.id} (quiz, {len(activity.items)} items)"
    extra = f"{len(activity.sections)} sections, " if activity.sections else ""
    return f"{activity.id} ({activity.kind}, {extra}{len(activity.rubric)} criteria)"

"""``l2i learner export|erase|links|unlink``: one learner's data (GDPR access and erasure) and their links.

Every command of the group picks one learner record, by one of its LMS identities
(``--issuer URL --sub ID``) or by the record's key (``--key KEY``). A new command takes the same
options with :func:`learner_selector`, which hands it a :class:`LearnerSelector`, and finds the
record with :func:`selected_learner`::

    @learner.command("show")
    @learner_selector
    def show(selector: LearnerSelector) -> None:
        with open_session(read_settings()) as session:
            record = selected_learner(session, selector)
"""

from __future__ import annotations

import functools
import json
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import click
from sqlalchemy import select
from sqlalchemy.orm import Session

from competencies.framework import load_framework
from course_units.loader import load_catalog
from lti_tool.cli import open_session, read_settings
from lti_tool.erasure import ErasureReport, erase_learner
from lti_tool.learner_record import export_learner_data, find_learner
from lti_tool.linking import (
    BY_ADMIN,
    LinkedRecord,
    LinkError,
    count_linked_records,
    identities_of,
    list_linked_records,
    unlink_identity,
)
from lti_tool.merging import Recompute
from lti_tool.models import Learner, PlatformUser

Command = TypeVar("Command", bound=Callable[..., Any])


@dataclass(frozen=True)
class LearnerSelector:
    """Which learner a command is about: an LMS identity (issuer + ``sub``) or a record's key."""

    issuer: str | None = None
    sub: str | None = None
    key: str | None = None

    def check(self) -> None:
        """Raise a usage error unless exactly one way of naming the learner was given, whole."""
        context = click.get_current_context(silent=True)
        if self.key is not None and (self.issuer is not None or self.sub is not None):
            raise click.UsageError("Give either --key, or --issuer with --sub; not both.", context)
        if (self.issuer is None) != (self.sub is None):
            raise click.UsageError("--issuer and --sub go together: the LMS and the learner's user id "
                                   "there (the launch's sub).", context)
        if self.key is None and self.issuer is None:
            raise click.UsageError("Say which learner: --issuer URL --sub ID, or --key KEY.", context)

    def describe(self) -> str:
        """Return how the learner was named, for messages."""
        if self.key is not None:
            return f"key {self.key}"
        return f"sub {self.sub} at {self.issuer}"


def learner_selector(command: Command) -> Command:
    """Give a command the ``--issuer``/``--sub``/``--key`` options, passed on as ``selector``."""
    @functools.wraps(command)
    def run(*args: Any, issuer: str | None, sub: str | None, key: str | None, **kwargs: Any) -> Any:
        selector = LearnerSelector(issuer=issuer.strip() if issuer else issuer,
                                   sub=sub.strip() if sub else sub, key=key.strip() if key else key)
        selector.check()
        return command(*args, selector=selector, **kwargs)

    options = (
        click.option("--issuer", default=None, help="The learner's LMS (its issuer: `l2i platform list`)."),
        click.option("--sub", default=None, help="The learner's user id in that LMS (the launch's `sub`)."),
        click.option("--key", default=None, help="The learner record's key (as in their data download)."),
    )
    wrapped: Any = run
    for option in reversed(options):
        wrapped = option(wrapped)
    return wrapped  # type: ignore[no-any-return]


def selected_learner(session: Session, selector: LearnerSelector) -> Learner:
    """Return the learner the selector names, or exit (status 2) saying there is none."""
    found = find_learner(session, key=selector.key, issuer=selector.issuer, sub=selector.sub)
    if found is None:
        click.echo(f"No learner with {selector.describe()}.", err=True)
        sys.exit(2)
    return found


def write_private(path: Path, text: str) -> None:
    """Write ``text`` to ``path``, readable by its owner only when the file is new (it is personal data)."""
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as file:
        file.write(text)


def identities_text(session: Session, learner_id: int) -> str:
    """Return the learner's identities as lines for the operator: issuer, sub and name."""
    users = identities_of(session, learner_id)
    return "\n".join(f"  sub {u.sub} at {u.issuer}: {u.display_name}" for u in users)


def report_text(report: ErasureReport) -> str:
    """Return what an erasure did, per table, for the operator."""
    lines = [f"Erased learner {report.learner_key} and their {len(report.identities)} identit"
             f"{'y' if len(report.identities) == 1 else 'ies'}.",
             f"Removed {report.total_removed} row(s):"]
    lines += [f"  {table}: {count}" for table, count in report.removed.items() if count]
    cleared = {pointer: count for pointer, count in report.cleared.items() if count}
    if cleared:
        lines.append("Kept other people's records that named them as a trainer, without that name:")
        lines += [f"  {pointer}: {count}" for pointer, count in cleared.items()]
    lines.append(f"Queued {report.voided} voiding statement(s) for the statements LRSs received; "
                 "`l2i worker` sends them.")
    return "\n".join(lines)


@click.group("learner")
def learner() -> None:
    """One learner's record: export it, erase it (GDPR access and erasure); linked records."""


@learner.command("export")
@learner_selector
@click.option("--output", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Write the JSON to FILE (created readable by you only) instead of standard output.")
def export(selector: LearnerSelector, output: Path | None) -> None:
    """Write everything the tool holds about one learner as JSON (format l2i-learner-record/1)."""
    with open_session(read_settings()) as session:
        record = export_learner_data(session, selected_learner(session, selector).id)
    text = json.dumps(record, ensure_ascii=False, indent=2) + "\n"
    if output is None or str(output) == "-":
        click.echo(text, nl=False)
        return
    write_private(output, text)
    click.echo(f"Wrote the record of learner {record['learner']['key']} to {output}.", err=True)


@learner.command("erase")
@learner_selector
@click.option("--yes", is_flag=True, help="Erase without asking for confirmation.")
def erase(selector: LearnerSelector, yes: bool) -> None:
    """Erase one learner and all their data; void the xAPI statements LRSs received about them.

    It cannot be undone. The LMSs keep their own data; LRSs get voiding statements, and what
    they do with voided statements is up to them (docs/privacy.md).
    """
    settings = read_settings()
    with open_session(settings) as session:
        found = selected_learner(session, selector)
        click.echo(f"Learner {found.key}:\n{identities_text(session, found.id)}")
        if not yes and not click.confirm("Erase this learner and all their data? This cannot be undone",
                                         default=False):
            click.echo("Nothing was erased.")
            sys.exit(1)
        report = erase_learner(session, found.id, settings.actor_home_page)
    click.echo(report_text(report))


def link_text(session: Session, record: LinkedRecord) -> str:
    """Return one linked record as lines for the operator: each identity and how it joined."""
    lines = [f"Learner record #{record.learner_id}:"]
    for user in record.identities:
        link = record.links.get(user.id)
        how = f"linked by {link.method} on {link.linked_at:%Y-%m-%d}" if link else "first identity"
        lines.append(f"  sub {user.sub} at {user.issuer}: {user.display_name} ({how})")
    return "\n".join(lines)


@learner.command("links")
@click.option("--limit", type=click.IntRange(1, 10_000), default=100, show_default=True,
              help="Show at most this many records, most recently linked first.")
def links(limit: int) -> None:
    """List the learner records that hold identities at more than one institution."""
    with open_session(read_settings()) as session:
        records = list_linked_records(session, limit=limit)
        if not records:
            click.echo("No learner has linked accounts.")
            return
        click.echo(f"{count_linked_records(session)} record(s) span institutions.")
        for record in records:
            click.echo(link_text(session, record))


@learner.command("unlink")
@click.option("--issuer", required=True, help="The LMS of the identity to unlink (its issuer).")
@click.option("--sub", required=True, help="The learner's user id in that LMS (the launch's `sub`).")
def unlink(issuer: str, sub: str) -> None:
    """Unlink one identity from its record: it gets a record of its own, with its institution's work."""
    settings = read_settings()
    known = load_framework().competency_ids()
    recompute = Recompute(settings.proficiency, load_catalog(settings.content_dir, known_competencies=known))
    with open_session(settings) as session:
        user = session.scalars(select(PlatformUser).where(PlatformUser.issuer == issuer.strip(),
                                                          PlatformUser.sub == sub.strip())).first()
        if user is None:
            click.echo(f"No identity with sub {sub} at {issuer}.", err=True)
            sys.exit(2)
        try:
            unlink_identity(session, user, recompute, by=BY_ADMIN)
        except LinkError as exc:
            click.echo(str(exc), err=True)
            sys.exit(2)
    click.echo(f"Unlinked sub {sub} at {issuer}: it has a learner record of its own again.")

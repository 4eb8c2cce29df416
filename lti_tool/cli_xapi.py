"""``l2i worker``, ``l2i outbox`` and ``l2i platform lrs``: delivering statements to LRSs."""

from __future__ import annotations

import datetime as dt
import logging

import click

from l2i_db import create_db_engine, utcnow
from lti_tool import platforms
from lti_tool.cli import main, open_session, platform, read_settings
from lti_tool.tracking import lrs_targets
from lti_tool.worker import deliver_once, run_worker
from xapi.outbox import outbox_status, prune_delivered, retry_dead
from xapi.statements import ACTOR_FORMS


@main.command()
@click.option("--once", is_flag=True, help="Deliver what is due now, then exit.")
@click.option("--idle", type=click.FloatRange(0.05, 60), default=1.0, show_default=True,
              help="Seconds to rest when nothing is due.")
def worker(once: bool, idle: float) -> None:
    """Deliver queued xAPI statements to the LRSs (run one or more beside the web workers)."""
    settings = read_settings()
    logging.basicConfig(level=settings.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    engine = create_db_engine(settings.database_url)
    try:
        if once:
            report = deliver_once(settings, engine)
            click.echo(f"Delivered {report.delivered}, {report.retried} waiting for a retry, "
                       f"{report.dead} refused (dead) in {report.batches} batch(es).")
            for destination, error in sorted(report.failed_destinations.items()):
                click.echo(f"  {destination}: {error}")
        else:
            run_worker(settings, engine, idle_seconds=idle)
    finally:
        engine.dispose()


@main.group()
def outbox() -> None:
    """See and repair the queue of statements waiting for the LRSs."""


def _lag(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


@outbox.command("status")
def outbox_status_command() -> None:
    """Count each LRS's statements: waiting, due, delivered, dead; the lag and the latest error."""
    settings = read_settings()
    now = utcnow()
    with open_session(settings) as session:
        targets = lrs_targets(session, settings)
        rows = outbox_status(session, now=now)
        if not rows and not targets:
            click.echo("No LRS is configured (set L2I_LRS_ENDPOINT, or l2i platform lrs) "
                       "and nothing is queued.")
            return
        known = {row.destination for row in rows}
        for name in sorted(set(targets) - known):
            click.echo(f"{name}\t{targets[name].endpoint}\tnothing queued yet")
        for row in rows:
            target = targets.get(row.destination)
            where = target.endpoint if target else "NOT CONFIGURED"
            click.echo(f"{row.destination}\t{where}\twaiting {row.pending} (due {row.due})\t"
                       f"delivered {row.delivered}\tdead {row.dead}\tlag {_lag(row.lag_seconds(now))}")
            if row.last_error:
                click.echo(f"\tlatest error: {row.last_error}")


@outbox.command("retry")
@click.option("--destination", default=None, help="Only this destination (see l2i outbox status).")
def outbox_retry(destination: str | None) -> None:
    """Queue dead statements again (after fixing what the LRS refused them for)."""
    with open_session(read_settings()) as session:
        count = retry_dead(session, destination=destination)
    click.echo(f"{count} dead statement(s) queued again; l2i worker delivers them.")


@outbox.command("prune")
@click.option("--days", type=click.IntRange(1, 3650), default=30, show_default=True,
              help="Keep the bodies of statements delivered in the last DAYS days.")
def outbox_prune(days: int) -> None:
    """Free space: drop the bodies of statements delivered long ago (their ids stay, for erasure)."""
    with open_session(read_settings()) as session:
        count = prune_delivered(session, before=utcnow() - dt.timedelta(days=days))
    click.echo(f"Pruned {count} delivered statement(s) older than {days} days.")


@platform.command("lrs")
@click.option("--issuer", required=True)
@click.option("--client-id", required=True)
@click.option("--endpoint", default=None, help="The institution's xAPI endpoint, e.g. https://lrs.example.edu/xAPI/")
@click.option("--username", default=None, help="Basic-auth user for that LRS.")
@click.option("--password-env", default=None,
              help="The environment variable that holds the LRS password (never stored).")
@click.option("--actor", type=click.Choice(ACTOR_FORMS), default="account", show_default=True,
              help="How learners appear: a pseudonymous account, or their email (mbox, mbox_sha1sum).")
@click.option("--remove", is_flag=True, help="Stop sending statements to this platform's LRS.")
def platform_lrs(issuer: str, client_id: str, endpoint: str | None, username: str | None,
                 password_env: str | None, actor: str, remove: bool) -> None:
    """Send a platform's statements to the institution's own LRS too."""
    with open_session(read_settings()) as session:
        found = platforms.find_platform(session, issuer, client_id)
        if found is None:
            raise click.UsageError(f"No platform {issuer} with client_id {client_id}; see l2i platform list.")
        try:
            platforms.set_platform_lrs(session, found, None if remove else endpoint, username,
                                       password_env, actor)
        except platforms.PlatformError as exc:
            raise click.UsageError(str(exc)) from exc
        if remove:
            click.echo(f"{found.name}: statements go to the programme's LRS only.")
        else:
            click.echo(f"{found.name}: statements also go to {found.lrs_endpoint} "
                       f"(learners as {found.xapi_actor}).")

"""``l2i trainer grant|revoke|list``: who may see the whole programme, across institutions."""

from __future__ import annotations

import sys

import click

from lti_tool.access import GrantError, grant_programme, list_grants, revoke_programme
from lti_tool.cli import main, open_session, read_settings


@main.group()
def trainer() -> None:
    """Give trainers access to the programme view (every course, every institution)."""


@trainer.command("grant")
@click.option("--issuer", required=True, help="The trainer's LMS: its issuer URL, see `l2i platform list`.")
@click.option("--sub", required=True, help="The trainer's user id in that LMS (the launch's `sub`).")
@click.option("--note", default=None, help="Why, for the record (at most 255 characters).")
def grant(issuer: str, sub: str, note: str | None) -> None:
    """Grant one trainer the programme view; it takes effect at their next page."""
    if note is not None and len(note) > 255:
        click.echo("The note can be at most 255 characters.", err=True)
        sys.exit(2)
    with open_session(read_settings()) as session:
        try:
            grant_programme(session, issuer.strip(), sub.strip(), note)
        except GrantError as exc:
            click.echo(str(exc), err=True)
            sys.exit(2)
    click.echo(f"Granted the programme view to sub {sub} at {issuer}.")


@trainer.command("revoke")
@click.option("--issuer", required=True)
@click.option("--sub", required=True)
def revoke(issuer: str, sub: str) -> None:
    """Withdraw a trainer's programme view."""
    with open_session(read_settings()) as session:
        try:
            revoke_programme(session, issuer.strip(), sub.strip())
        except GrantError as exc:
            click.echo(str(exc), err=True)
            sys.exit(1)
    click.echo(f"Revoked the programme view of sub {sub} at {issuer}.")


@trainer.command("list")
def list_() -> None:
    """List the trainers granted the programme view."""
    with open_session(read_settings()) as session:
        grants = list(list_grants(session))
        if not grants:
            click.echo("No trainer has been granted the programme view. LMS institution administrators "
                       "have it without a grant.")
        for item in grants:
            note = f"  ({item.note})" if item.note else ""
            click.echo(f"{item.issuer}  sub {item.sub}  since {item.granted_at:%Y-%m-%d}{note}")

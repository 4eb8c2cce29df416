"""``l2i credential list|revoke``: a learner's Open Badges 3.0 credentials, and withdrawing one."""

from __future__ import annotations

import sys

import click

from competencies.store import active_framework
from lti_tool.cli import main, open_session, read_settings
from lti_tool.credentials import CredentialError, credential_url, credentials_of, revoke_credential
from lti_tool.learner_record import find_learner


@main.group()
def credential() -> None:
    """List and revoke learners' credentials (Open Badges 3.0)."""


@credential.command("list")
@click.option("--learner-key", required=True,
              help="The learner record's key (in the learner's data download, \"learner\": {\"key\": ...}).")
def list_(learner_key: str) -> None:
    """List a learner's credentials, revoked ones too, newest first."""
    settings = read_settings()
    with open_session(settings) as session:
        learner = find_learner(session, key=learner_key.strip())
        if learner is None:
            click.echo("There is no learner record with this key.", err=True)
            sys.exit(1)
        found = credentials_of(session, learner.id)
        if not found:
            click.echo("This learner has no credential.")
        framework = active_framework(session)
        for item in found:
            node = framework.node(item.competency_id)
            name = f" {node.shortname}" if node else ""
            state = (f"revoked {item.revoked_at:%Y-%m-%d}: {item.revocation_reason}" if item.revoked_at
                     else "valid")
            click.echo(f"{item.id}  {item.competency_id}{name}  level {item.level}  "
                       f"issued {item.issued_at:%Y-%m-%d}  {state}")
            click.echo(f"    {credential_url(settings.base_url, item.id)}")


@credential.command("revoke")
@click.argument("credential_id")
@click.option("--reason", required=True, help="Why (at most 500 characters); anyone who checks it sees it.")
def revoke(credential_id: str, reason: str) -> None:
    """Revoke a credential: verifiers see it as revoked, with the reason."""
    with open_session(read_settings()) as session:
        try:
            revoke_credential(session, credential_id.strip(), reason)
        except CredentialError as exc:
            click.echo(str(exc), err=True)
            sys.exit(2 if exc.status == 422 else 1)
    click.echo(f"Revoked credential {credential_id.strip()}.")

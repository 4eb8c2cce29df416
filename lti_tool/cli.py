"""The ``l2i`` command: serve, demo, database, platforms and keys."""

from __future__ import annotations

import datetime as dt
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager

import click
from sqlalchemy.orm import Session

from competencies.framework import FrameworkError, load_framework
from course_units.loader import ContentError, load_catalog
from l2i_db import create_db_engine, create_session_factory
from lti_tool import keys, platforms
from lti_tool.lti.storage import purge_expired_values
from lti_tool.migrate import upgrade_database
from lti_tool.sessions import purge_expired_sessions
from lti_tool.settings import Settings, SettingsError, load_settings


def read_settings() -> Settings:
    """Load settings or exit with the list of problems (exit status 2)."""
    try:
        return load_settings()
    except SettingsError as exc:
        click.echo(str(exc), err=True)
        sys.exit(2)


def check_content(settings: Settings) -> None:
    """Exit (status 2) with every fault, file and line, if the units' content does not load."""
    try:
        known = load_framework().competency_ids()
        load_catalog(settings.content_dir, known_competencies=known)
    except (ContentError, FrameworkError) as exc:
        click.echo(f"The tool cannot start: its content has errors.\n{exc}", err=True)
        sys.exit(2)


@contextmanager
def open_session(settings: Settings) -> Iterator[Session]:
    """Open a session for a command; commit if the command succeeds."""
    engine = create_db_engine(settings.database_url)
    try:
        with create_session_factory(engine)() as session:
            yield session
            session.commit()
    finally:
        engine.dispose()


@click.group()
def main() -> None:
    """L2I Engine: the Learning 2 Innovate LTI 1.3 tool."""


@main.group()
def db() -> None:
    """Database schema."""


@db.command("upgrade")
@click.option("--revision", default="head", show_default=True)
def db_upgrade(revision: str) -> None:
    """Apply the schema migrations."""
    settings = read_settings()
    upgrade_database(settings.database_url, revision)
    if revision == "head":
        with open_session(settings) as session:
            # the first signing key is made here, once, not by racing web workers
            keys.ensure_signing_key(session)
    click.echo(f"Database upgraded to {revision}.")


@db.command("purge")
def db_purge() -> None:
    """Delete expired launch data, tool sessions and signing keys (run it daily, e.g. from cron)."""
    with open_session(read_settings()) as session:
        values = purge_expired_values(session)
        sessions = purge_expired_sessions(session)
        old_keys = keys.purge_expired_keys(session)
    click.echo(f"Removed {values} expired launch value(s), {sessions} expired session(s) and "
               f"{old_keys} expired key(s).")


@db.command("revision")
@click.option("-m", "--message", required=True, help="What the migration changes.")
def db_revision(message: str) -> None:
    """Write a new migration from the difference between the models and the database."""
    from alembic import command

    from lti_tool.migrate import alembic_config

    command.revision(alembic_config(read_settings().database_url), message=message, autogenerate=True)


@main.group()
def platform() -> None:
    """Platform (LMS) registrations."""


@platform.command("add")
@click.option("--issuer", required=True, help="The platform's issuer (iss), e.g. https://moodle.example.edu")
@click.option("--client-id", required=True, help="The client_id the platform gave the tool.")
@click.option("--auth-login-url", required=True, help="The platform's OIDC authentication URL.")
@click.option("--auth-token-url", required=True, help="The platform's OAuth2 access-token URL.")
@click.option("--key-set-url", required=True, help="The platform's public keyset (JWKS) URL.")
@click.option("--deployment-id", "deployment_ids", required=True, multiple=True,
              help="A deployment id; repeat for several.")
@click.option("--name", default=None, help="A name people will recognise.")
@click.option("--auth-audience", default=None, help="Audience for token requests, if not the token URL.")
def platform_add(
    issuer: str, client_id: str, auth_login_url: str, auth_token_url: str, key_set_url: str,
    deployment_ids: tuple[str, ...], name: str | None, auth_audience: str | None,
) -> None:
    """Register a platform (or add deployments to a registered one)."""
    spec = platforms.PlatformSpec(
        issuer=issuer, client_id=client_id, auth_login_url=auth_login_url,
        auth_token_url=auth_token_url, key_set_url=key_set_url,
        deployment_ids=deployment_ids, name=name, auth_audience=auth_audience,
    )
    settings = read_settings()
    try:
        with open_session(settings) as session:
            registered = platforms.add_platform(session, spec)
            keys.ensure_signing_key(session)
            deployments = ", ".join(d.deployment_id for d in registered.deployments)
            click.echo(f"Registered {registered.name} (issuer {registered.issuer}, client_id "
                       f"{registered.client_id}); deployments: {deployments}.")
    except platforms.PlatformError as exc:
        raise click.UsageError(str(exc)) from exc
    click.echo(f"Tool URLs for the platform: login {settings.url('/lti/login')}, launch "
               f"{settings.url('/lti/launch')}, keyset {settings.url('/lti/jwks')}")


@platform.command("list")
def platform_list() -> None:
    """List registered platforms and their deployments."""
    with open_session(read_settings()) as session:
        found = platforms.list_platforms(session)
        if not found:
            click.echo("No platforms registered. Add one with: l2i platform add --help")
        for p in found:
            state = "disabled" if p.disabled_at else "enabled"
            click.echo(f"{p.id}\t{p.name}\t{p.issuer}\tclient_id={p.client_id}\t{state}")
            click.echo(f"\tlogin {p.auth_login_url}\n\ttoken {p.auth_token_url}\n\tkeyset {p.key_set_url}")
            click.echo("\tdeployments: " + ", ".join(d.deployment_id for d in p.deployments))
            if p.lrs_endpoint:
                click.echo(f"\tLRS {p.lrs_endpoint} (learners as {p.xapi_actor})")
            if p.trusts_email:
                click.echo("\temail addresses trusted for linking accounts")


@platform.command("remove")
@click.option("--issuer", required=True)
@click.option("--client-id", required=True)
@click.option("--disable", is_flag=True, help="Stop launches but keep the learners' records.")
def platform_remove(issuer: str, client_id: str, disable: bool) -> None:
    """Remove a registration (or disable it, keeping learners' records)."""
    with open_session(read_settings()) as session:
        found = platforms.find_platform(session, issuer, client_id)
        if found is None:
            raise click.UsageError(f"no platform with issuer {issuer} and client_id {client_id}")
        try:
            outcome = platforms.remove_platform(session, found, disable_only=disable)
        except platforms.PlatformError as exc:
            raise click.UsageError(str(exc)) from exc
        click.echo(f"Platform {found.name} {outcome}.")


@platform.command("trust-email")
@click.option("--issuer", required=True, help="The platform's issuer URL, see `l2i platform list`.")
@click.option("--off", is_flag=True, help="Stop trusting it (links already made stay).")
def platform_trust_email(issuer: str, off: bool) -> None:
    """Trust this LMS's verified email addresses for linking learners' accounts automatically.

    A learner's accounts at two trusting platforms with the same email join one record at their
    next launch. Only turn it on for an LMS that verifies the addresses it sends.
    """
    with open_session(read_settings()) as session:
        changed = platforms.set_email_trust(session, issuer, not off)
        if not changed:
            raise click.UsageError(f"no platform with issuer {issuer}; see `l2i platform list`")
        state = "no longer trusted" if off else "trusted for linking accounts"
        click.echo(f"Email addresses from {issuer} are {state} ({changed} registration(s)).")


@main.group("keys")
def keys_group() -> None:
    """Manage the tool's signing keys."""


@keys_group.command("rotate")
@click.option("--grace-days", type=click.IntRange(0, 365), default=None,
              help="How long the old key stays published (default: L2I_KEY_GRACE_DAYS).")
def keys_rotate(grace_days: int | None) -> None:
    """Make a new signing key; keep the old one published for a grace period."""
    settings = read_settings()
    days = settings.key_grace_days if grace_days is None else grace_days
    with open_session(settings) as session:
        new_key, retired = keys.rotate_keys(session, dt.timedelta(days=days))
        purged = keys.purge_expired_keys(session)
        click.echo(f"New signing key {new_key.kid}. Retired {len(retired)} key(s), published "
                   f"for {days} more day(s). Removed {purged} expired key(s).")


@keys_group.command("list")
def keys_list() -> None:
    """List the published keys."""
    with open_session(read_settings()) as session:
        for jwk in keys.published_jwks(session)["keys"]:
            click.echo(jwk["kid"])


@main.command()
@click.option("--bind", default=None, help="host:port (default: from L2I_BASE_URL's port on 0.0.0.0)")
@click.option("--workers", type=click.IntRange(1, 64), default=None, help="gunicorn workers")
def serve(bind: str | None, workers: int | None) -> None:
    """Run the tool in production with gunicorn."""
    from lti_tool.server import run_gunicorn

    settings = read_settings()
    check_content(settings)
    run_gunicorn(settings, bind=bind, workers=workers)


@main.command()
@click.option("--port", type=click.IntRange(1, 65535), default=8000, show_default=True)
@click.option("--lms-port", type=click.IntRange(1, 65535), default=8001, show_default=True)
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--institutions", type=click.IntRange(1, 2), default=1, show_default=True)
def demo(port: int, lms_port: int, host: str, institutions: int) -> None:
    """Start the tool and a built-in LMS emulator on localhost, on SQLite."""
    from lti_tool.demo import run_demo

    os.environ.setdefault("L2I_BASE_URL", f"http://{host}:{port}")
    try:
        run_demo(host=host, port=port, lms_port=lms_port, institutions=institutions)
    except ContentError as exc:
        click.echo(f"The demo cannot start: its content has errors.\n{exc}", err=True)
        sys.exit(2)


from lti_tool.cli_units import units  # noqa: E402 (a subcommand group from its own module)

main.add_command(units)

from lti_tool.cli_framework import framework  # noqa: E402 (a subcommand group from its own module)

main.add_command(framework)

from lti_tool import cli_xapi  # noqa: E402, F401 (registers worker, outbox and platform lrs)
from lti_tool.cli_api import apikey  # noqa: E402 (a subcommand group from its own module)

main.add_command(apikey)

from lti_tool import cli_access  # noqa: E402, F401 (registers trainer grant, revoke and list)
from lti_tool.cli_learner import learner  # noqa: E402 (a subcommand group from its own module)

main.add_command(learner)

from lti_tool import cli_credentials  # noqa: E402, F401 (registers credential list and revoke)

"""``l2i apikey create|list|revoke``: the keys institutions' reporting tools use for ``/api/v1``."""

from __future__ import annotations

import datetime as dt

import click

from l2i_db import utcnow
from lti_tool import platforms
from lti_tool.api_keys import ApiKeyError, create_api_key, list_api_keys, revoke_api_key
from lti_tool.cli import open_session, read_settings


def _when(moment: dt.datetime | None) -> str:
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M UTC") if moment else "-"


@click.group("apikey")
def apikey() -> None:
    """Manage the API keys of institutions' reporting tools (``/api/v1``), one platform each."""


@apikey.command("create")
@click.option("--issuer", required=True, help="The platform's issuer, as `l2i platform list` shows it.")
@click.option("--client-id", required=True, help="The platform's client_id.")
@click.option("--name", required=True, help="Who uses the key, e.g. 'Power BI, planning office'.")
def apikey_create(issuer: str, client_id: str, name: str) -> None:
    """Make a key that reads this platform's data; print it once."""
    settings = read_settings()
    with open_session(settings) as session:
        platform = platforms.find_platform(session, issuer, client_id)
        if platform is None:
            raise click.UsageError(f"no platform with issuer {issuer} and client_id {client_id}; "
                                   "`l2i platform list` shows the registered ones")
        try:
            key, token = create_api_key(session, platform, name)
        except ApiKeyError as exc:
            raise click.UsageError(str(exc)) from exc
        click.echo(f"Created API key {key.key_id} ({key.name}) for {platform.name}.")
        click.echo("Copy the key now: it cannot be shown again (only a hash of it is kept).\n")
        click.echo(f"    {token}\n")
        click.echo(f"Send it in the header 'Authorization: Bearer <key>' with each request to "
                   f"{settings.url('/api/v1')}; the API is described at "
                   f"{settings.url('/api/v1/openapi.json')}.")


@apikey.command("list")
@click.option("--issuer", default=None, help="Only this platform's keys (with --client-id).")
@click.option("--client-id", default=None, help="Only this platform's keys (with --issuer).")
def apikey_list(issuer: str | None, client_id: str | None) -> None:
    """List the keys: id, platform, name, created, last used, revoked."""
    if (issuer is None) != (client_id is None):
        raise click.UsageError("give both --issuer and --client-id, or neither")
    with open_session(read_settings()) as session:
        platform = None
        if issuer is not None and client_id is not None:
            platform = platforms.find_platform(session, issuer, client_id)
            if platform is None:
                raise click.UsageError(f"no platform with issuer {issuer} and client_id {client_id}; "
                                       "`l2i platform list` shows the registered ones")
        keys = list_api_keys(session, platform)
        if not keys:
            click.echo("No API keys. Make one with: l2i apikey create --help")
            return
        click.echo("key id\tplatform\tname\tcreated\tlast used\trevoked")
        for key in keys:
            click.echo(f"{key.key_id}\t{key.platform.name}\t{key.name}\t{_when(key.created_at)}\t"
                       f"{_when(key.last_used_at)}\t{_when(key.revoked_at)}")


@apikey.command("revoke")
@click.argument("key_id")
def apikey_revoke(key_id: str) -> None:
    """Revoke a key at once: requests with it are refused from now on."""
    with open_session(read_settings()) as session:
        now = utcnow()
        try:
            key = revoke_api_key(session, key_id, now)
        except ApiKeyError as exc:
            raise click.UsageError(str(exc)) from exc
        if key.revoked_at != now:
            click.echo(f"API key {key.key_id} ({key.name}) was already revoked on {_when(key.revoked_at)}.")
            return
        click.echo(f"API key {key.key_id} ({key.name}, {key.platform.name}) is revoked since "
                   f"{_when(key.revoked_at)}.")

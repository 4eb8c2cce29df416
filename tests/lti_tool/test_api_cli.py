"""``l2i apikey create|list|revoke``, on SQLite and PostgreSQL."""

from __future__ import annotations

import hashlib
import re
import secrets

import pytest
from click.testing import CliRunner, Result
from sqlalchemy import create_engine, select
from sqlalchemy.orm import Session

from l2i_db import utcnow
from lti_tool.access_models import ApiKey
from lti_tool.api_keys import ApiKeyError, authenticate
from lti_tool.cli import main

ISSUER = "https://moodle.example.edu"
TOKEN = re.compile(r"l2i_([A-Za-z0-9_-]{12})_([A-Za-z0-9_-]{43})")


def run(database_url: str, *args: str) -> Result:
    env = {"L2I_DATABASE_URL": database_url, "L2I_SECRET_KEY": secrets.token_urlsafe(48)}
    return CliRunner().invoke(main, list(args), env=env)


def add_platform(database_url: str, client_id: str = "abc", name: str = "Example Moodle") -> None:
    result = run(database_url, "platform", "add", "--issuer", ISSUER, "--client-id", client_id,
                 "--auth-login-url", f"{ISSUER}/mod/lti/auth.php",
                 "--auth-token-url", f"{ISSUER}/mod/lti/token.php",
                 "--key-set-url", f"{ISSUER}/mod/lti/certs.php", "--deployment-id", "1", "--name", name)
    assert result.exit_code == 0, result.output


def create(database_url: str, client_id: str = "abc", name: str = "Power BI") -> tuple[str, str]:
    result = run(database_url, "apikey", "create", "--issuer", ISSUER, "--client-id", client_id,
                 "--name", name)
    assert result.exit_code == 0, result.output
    match = TOKEN.search(result.output)
    assert match, result.output
    return match.group(1), match.group(0)


def stored_keys(database_url: str) -> list[ApiKey]:
    engine = create_engine(database_url)
    with Session(engine) as session:
        keys = list(session.scalars(select(ApiKey).order_by(ApiKey.id)))
    engine.dispose()
    return keys


def test_create_prints_the_key_once_and_stores_only_its_hash(database_url: str) -> None:
    add_platform(database_url)
    result = run(database_url, "apikey", "create", "--issuer", ISSUER, "--client-id", "abc",
                 "--name", "Power BI, planning office")
    assert result.exit_code == 0, result.output
    assert "cannot be shown again" in result.output and "/api/v1/openapi.json" in result.output
    match = TOKEN.search(result.output)
    assert match, result.output
    key_id, secret = match.groups()
    [key] = stored_keys(database_url)
    assert (key.key_id, key.name) == (key_id, "Power BI, planning office")
    assert key.secret_hash == hashlib.sha256(secret.encode()).hexdigest()
    assert secret not in (key.secret_hash, key.key_id, key.name)
    assert key.last_used_at is None and key.revoked_at is None
    listing = run(database_url, "apikey", "list").output
    assert secret not in listing  # never shown again


def test_list_shows_every_key_or_one_platforms(database_url: str) -> None:
    add_platform(database_url)
    add_platform(database_url, client_id="def", name="Other Moodle")
    first, _ = create(database_url, name="Power BI")
    second, _ = create(database_url, client_id="def", name="Tableau")
    everything = run(database_url, "apikey", "list")
    assert everything.exit_code == 0
    lines = everything.output.splitlines()
    assert lines[0].split("\t") == ["key id", "platform", "name", "created", "last used", "revoked"]
    row = next(line for line in lines if line.startswith(first)).split("\t")
    assert row[1:3] == ["Example Moodle", "Power BI"] and row[3].endswith("UTC") and row[4:] == ["-", "-"]
    assert any(line.startswith(second) and "Other Moodle\tTableau" in line for line in lines)
    only = run(database_url, "apikey", "list", "--issuer", ISSUER, "--client-id", "def").output
    assert second in only and first not in only


def test_list_with_no_keys_says_how_to_make_one(database_url: str) -> None:
    result = run(database_url, "apikey", "list")
    assert result.exit_code == 0 and "l2i apikey create" in result.output


def test_revoke_stops_the_key_and_says_since_when(database_url: str) -> None:
    add_platform(database_url)
    key_id, token = create(database_url)
    revoked = run(database_url, "apikey", "revoke", key_id)
    assert revoked.exit_code == 0, revoked.output
    assert f"API key {key_id}" in revoked.output and "revoked since" in revoked.output
    [key] = stored_keys(database_url)
    assert key.revoked_at is not None
    listing = run(database_url, "apikey", "list").output.splitlines()
    row = next(line for line in listing if line.startswith(key_id))
    assert row.split("\t")[5] == key.revoked_at.strftime("%Y-%m-%d %H:%M UTC")
    again = run(database_url, "apikey", "revoke", key_id)
    assert again.exit_code == 0 and "already revoked" in again.output
    assert stored_keys(database_url)[0].revoked_at == key.revoked_at  # the first time stays
    engine = create_engine(database_url)
    with Session(engine) as session, pytest.raises(ApiKeyError, match="was revoked on"):
        authenticate(session, token, utcnow())
    engine.dispose()


@pytest.mark.parametrize(("args", "says"), [
    (["apikey", "create", "--issuer", ISSUER, "--client-id", "nope", "--name", "x"],
     "no platform with issuer https://moodle.example.edu and client_id nope"),
    (["apikey", "create", "--issuer", "https://elsewhere.example", "--client-id", "abc", "--name", "x"],
     "no platform with issuer https://elsewhere.example"),
    (["apikey", "create", "--issuer", ISSUER, "--client-id", "abc", "--name", "  "], "Give the key a name"),
    (["apikey", "create", "--issuer", ISSUER, "--client-id", "abc", "--name", "n" * 201], "at most 200"),
    (["apikey", "revoke", "l2inothere12"], "There is no API key 'l2inothere12'"),
    (["apikey", "list", "--issuer", ISSUER], "give both --issuer and --client-id"),
    (["apikey", "list", "--issuer", ISSUER, "--client-id", "nope"], "no platform with issuer"),
    (["apikey", "create", "--issuer", ISSUER, "--client-id", "abc"], "Missing option '--name'"),
])
def test_mistakes_are_refused_clearly(database_url: str, args: list[str], says: str) -> None:
    add_platform(database_url)
    result = run(database_url, *args)
    assert result.exit_code == 2, result.output
    assert says in result.output
    assert stored_keys(database_url) == []

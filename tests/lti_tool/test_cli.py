"""The ``l2i`` command: platforms, deployments, keys and settings errors."""

from __future__ import annotations

import json
import secrets
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from sqlalchemy import create_engine, select
from sqlalchemy.orm import Session

from course_units.loader import CONTENT_DIR
from lti_tool.cli import main
from lti_tool.models import Context, Deployment, Platform, ToolKey


def run(database_url: str, *args: str, env: dict[str, str] | None = None) -> Result:
    base = {"L2I_DATABASE_URL": database_url, "L2I_SECRET_KEY": secrets.token_urlsafe(48)}
    return CliRunner().invoke(main, list(args), env={**base, **(env or {})})


ADD = [
    "platform", "add", "--issuer", "https://moodle.example.edu", "--client-id", "abc",
    "--auth-login-url", "https://moodle.example.edu/mod/lti/auth.php",
    "--auth-token-url", "https://moodle.example.edu/mod/lti/token.php",
    "--key-set-url", "https://moodle.example.edu/mod/lti/certs.php",
    "--deployment-id", "1", "--name", "Example Moodle",
]


def _platforms(url: str) -> list[Platform]:
    engine = create_engine(url)
    with Session(engine) as session:
        found = list(session.scalars(select(Platform)))
        for p in found:
            _ = p.deployments
    engine.dispose()
    return found


def test_add_list_and_repeat(database_url: str) -> None:
    result = run(database_url, *ADD)
    assert result.exit_code == 0, result.output
    assert "Registered Example Moodle" in result.output and "/lti/jwks" in result.output
    again = run(database_url, *[a if a != "1" else "2" for a in ADD])
    assert again.exit_code == 0, again.output
    [platform] = _platforms(database_url)
    assert sorted(d.deployment_id for d in platform.deployments) == ["1", "2"]
    listing = run(database_url, "platform", "list")
    assert "Example Moodle" in listing.output and "deployments: 1, 2" in listing.output


def test_one_issuer_several_client_ids(database_url: str) -> None:
    assert run(database_url, *ADD).exit_code == 0
    other = [a if a != "abc" else "def" for a in ADD]
    assert run(database_url, *other).exit_code == 0
    assert sorted(p.client_id for p in _platforms(database_url)) == ["abc", "def"]


@pytest.mark.parametrize(
    ("flag", "value", "says"),
    [
        ("--issuer", "moodle.example.edu", "--issuer must be an absolute"),
        ("--key-set-url", "ftp://x/y", "--key-set-url must be an absolute"),
        ("--client-id", " ", "--client-id must not be empty"),
        ("--deployment-id", "x" * 300, "--deployment-id is longer"),
    ],
)
def test_bad_options_are_refused_clearly(database_url: str, flag: str, value: str, says: str) -> None:
    args = list(ADD)
    args[args.index(flag) + 1] = value
    result = run(database_url, *args)
    assert result.exit_code == 2
    assert says in result.output
    assert _platforms(database_url) == []


def test_remove_and_disable(database_url: str) -> None:
    assert run(database_url, *ADD).exit_code == 0
    remove = ["platform", "remove", "--issuer", "https://moodle.example.edu", "--client-id", "abc"]
    engine = create_engine(database_url)
    with Session(engine) as session:
        deployment = session.scalars(select(Deployment)).one()
        session.add(Context(deployment_id=deployment.id, context_id="c1"))
        session.commit()
    refused = run(database_url, *remove)
    assert refused.exit_code == 2 and "--disable" in refused.output
    assert run(database_url, *remove, "--disable").exit_code == 0
    [platform] = _platforms(database_url)
    assert platform.disabled_at is not None
    with Session(engine) as session:
        session.query(Context).delete()
        session.commit()
    engine.dispose()
    assert run(database_url, *remove).exit_code == 0
    assert _platforms(database_url) == []
    missing = run(database_url, *remove)
    assert missing.exit_code == 2 and "no platform" in missing.output


def test_keys_rotate_keeps_the_old_key_published(database_url: str) -> None:
    assert run(database_url, *ADD).exit_code == 0
    first = run(database_url, "keys", "list").output.split()
    rotated = run(database_url, "keys", "rotate", "--grace-days", "3")
    assert rotated.exit_code == 0 and "Retired 1 key" in rotated.output
    published = run(database_url, "keys", "list").output.split()
    assert len(published) == 2 and first[0] in published
    engine = create_engine(database_url)
    with Session(engine) as session:
        keys = list(session.scalars(select(ToolKey).order_by(ToolKey.id)))
        assert keys[0].retired_at is not None and keys[1].retired_at is None
    engine.dispose()
    assert run(database_url, "keys", "rotate", "--grace-days", "0").exit_code == 0
    after = run(database_url, "keys", "list").output.split()
    # the key retired with no grace is gone at once; the first one keeps its 3 days
    second = next(k for k in published if k not in first)
    assert second not in after and first[0] in after and len(after) == 2


def test_missing_secret_key_is_explained(sqlite_url: str) -> None:
    result = CliRunner().invoke(main, ["platform", "list"], env={"L2I_DATABASE_URL": sqlite_url,
                                                               "L2I_SECRET_KEY": ""})
    assert result.exit_code == 2
    assert "L2I_SECRET_KEY must be set" in result.output


def test_keys_are_never_printed_privately(database_url: str) -> None:
    assert run(database_url, *ADD).exit_code == 0
    output = run(database_url, "keys", "list").output + run(database_url, "platform", "list").output
    assert "PRIVATE KEY" not in output
    assert json.dumps(output)


def test_purge_removes_only_what_has_expired(database_url: str) -> None:
    import datetime as dt

    from lti_tool.models import LtiValue

    now = dt.datetime.now(dt.UTC)
    engine = create_engine(database_url)
    with Session(engine) as session:
        session.add_all([
            LtiValue(key="lti1p3-nonce-old", value=True, expires_at=now - dt.timedelta(minutes=1)),
            LtiValue(key="lti1p3-nonce-new", value=True, expires_at=now + dt.timedelta(minutes=9)),
        ])
        session.commit()
    result = run(database_url, "db", "purge")
    assert result.exit_code == 0 and "Removed 1 expired launch value(s)" in result.output
    with Session(engine) as session:
        assert list(session.scalars(select(LtiValue.key))) == ["lti1p3-nonce-new"]
    engine.dispose()


def test_serve_refuses_to_start_on_broken_content(sqlite_url: str, tmp_path: Path) -> None:
    content = tmp_path / "content"
    shutil.copytree(CONTENT_DIR, content)
    quiz = content / "u2-social-innovation" / "activities" / "u2-quiz.yaml"
    broken = quiz.read_text(encoding="utf-8").replace("kind: quiz", "kind: [quiz", 1)
    quiz.write_text(broken, encoding="utf-8")
    result = run(sqlite_url, "serve", env={"L2I_CONTENT_DIR": str(content)})
    assert result.exit_code == 2
    assert "The tool cannot start: its content has errors." in result.output
    assert "u2-quiz.yaml:3: not valid YAML" in result.output

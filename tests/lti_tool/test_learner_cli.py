"""``l2i learner export|erase`` on a learner who did real work through the tool, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
import os
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result
from flask import Flask
from sqlalchemy import func, select, update

from lti_tool.cli import main
from lti_tool.models import Learner, PlatformUser
from lti_tool.settings import Settings
from lti_tool.web.state import app_state
from tests.fixtures.lti import LaunchDriver, make_settings
from tests.lti_tool.test_erasure import SUBJECT, enrol, hand_in_quiz, hand_in_reflection, launch
from xapi.models import OutboxMessage

DELIVERED = 5
RECORD_KEYS = {
    "format", "exported_at", "learner", "identities", "identity_links", "link_codes", "link_attempts",
    "sessions", "courses", "roster_entries", "programme_grants", "attempts", "pages_read", "positions",
    "units_completed", "evidence", "proficiency", "proficiency_history", "credentials", "xapi_statements",
}


@pytest.fixture
def tool_settings(database_url: str, tmp_path: Path) -> Settings:
    """The tool with the programme's LRS configured, so the learners' work queues statements."""
    return make_settings(database_url, tmp_path, lrs_endpoint="https://lrs.programme.example/xAPI/")


@dataclass
class Learners:
    """The learner the commands are about, and a classmate who must be left alone."""

    issuer: str
    key: str
    classmate_key: str


@pytest.fixture
def learners(app: Flask, driver: LaunchDriver) -> Learners:
    """Two learners who handed in work; some of the subject's statements reached the LRS."""
    subject = launch(driver, enrol(driver, 0, "Learner", SUBJECT))
    hand_in_quiz(app, subject)
    hand_in_reflection(subject, "My own words. ")
    hand_in_quiz(app, launch(driver, driver.user("Learner", 0)))
    issuer = driver.institution(0).issuer
    with app_state(app).session_factory() as session:
        keys = dict(session.execute(select(PlatformUser.sub, Learner.key).join(Learner)).tuples().all())
        learner_id = session.scalars(select(PlatformUser.learner_id)
                                     .where(PlatformUser.sub == SUBJECT["sub"])).one()
        sent = select(OutboxMessage.id).where(OutboxMessage.learner_id == learner_id,
                                              OutboxMessage.destination == "lrs:programme")
        session.execute(update(OutboxMessage).where(OutboxMessage.id.in_(sent.limit(DELIVERED).scalar_subquery()))
                        .values(status="delivered"))
        session.commit()
    return Learners(issuer, keys[SUBJECT["sub"]], keys[driver.user("Learner", 0).sub])


def run(database_url: str, *args: str, answer: str | None = None) -> Result:
    env = {"L2I_DATABASE_URL": database_url, "L2I_SECRET_KEY": secrets.token_urlsafe(48)}
    return CliRunner().invoke(main, ["learner", *args], env=env, input=answer)


def exported(database_url: str, *selector: str) -> dict[str, Any]:
    result = run(database_url, "export", *selector)
    assert result.exit_code == 0, result.output
    record: dict[str, Any] = json.loads(result.stdout)
    record.pop("exported_at")
    return record


def by_sub(learners: Learners) -> tuple[str, ...]:
    return ("--issuer", learners.issuer, "--sub", SUBJECT["sub"])


def test_export_writes_the_whole_record_as_json(database_url: str, learners: Learners) -> None:
    result = run(database_url, "export", *by_sub(learners))
    assert result.exit_code == 0, result.output
    record = json.loads(result.stdout)
    assert set(record) == RECORD_KEYS
    assert record["format"] == "l2i-learner-record/1" and record["learner"]["key"] == learners.key
    assert [(i["issuer"], i["sub"], i["email"]) for i in record["identities"]] == [
        (learners.issuer, SUBJECT["sub"], SUBJECT["email"])]
    assert sorted(a["activity_id"] for a in record["attempts"]) == ["u1-quiz", "u1-reflection"]
    assert record["evidence"] and record["xapi_statements"] and record["sessions"]
    assert sum(s["status"] == "delivered" for s in record["xapi_statements"]) == DELIVERED


def test_export_by_key_to_a_file_only_its_owner_can_read(
    database_url: str, learners: Learners, tmp_path: Path,
) -> None:
    target = tmp_path / "record.json"
    result = run(database_url, "export", "--key", learners.key, "--output", str(target))
    assert result.exit_code == 0, result.output
    assert result.stdout == "" and str(target) in result.stderr
    assert os.stat(target).st_mode & 0o777 == 0o600
    written = json.loads(target.read_text(encoding="utf-8"))
    written.pop("exported_at")
    assert written == exported(database_url, *by_sub(learners))


@pytest.mark.parametrize("command", [("export",), ("erase", "--yes")])
def test_an_unknown_learner_is_an_error(
    database_url: str, learners: Learners, command: tuple[str, ...],
) -> None:
    result = run(database_url, *command, "--issuer", learners.issuer, "--sub", "nobody")
    assert result.exit_code == 2
    assert f"No learner with sub nobody at {learners.issuer}." in result.stderr
    unknown_key = run(database_url, *command, "--key", "0" * 32)
    assert unknown_key.exit_code == 2 and "No learner with key" in unknown_key.stderr


@pytest.mark.parametrize(("args", "message"), [
    (("--issuer", "https://lms.example"), "--issuer and --sub go together"),
    (("--sub", "5"), "--issuer and --sub go together"),
    (("--key", "abc", "--sub", "5"), "not both"),
    ((), "Say which learner"),
])
@pytest.mark.parametrize("command", ["export", "erase"])
def test_a_learner_must_be_named_one_whole_way(
    sqlite_url: str, command: str, args: tuple[str, ...], message: str,
) -> None:
    result = run(sqlite_url, command, *args)
    assert result.exit_code == 2
    assert "Usage: " in result.output
    assert message in result.output


def test_erase_asks_and_a_no_keeps_everything(database_url: str, learners: Learners) -> None:
    before = exported(database_url, *by_sub(learners))
    result = run(database_url, "erase", *by_sub(learners), answer="n\n")
    assert result.exit_code == 1
    assert SUBJECT["sub"] in result.output and "This cannot be undone" in result.output
    assert "Nothing was erased." in result.output
    assert exported(database_url, *by_sub(learners)) == before


def test_erase_removes_the_learner_and_says_what_went(
    database_url: str, learners: Learners, app: Flask,
) -> None:
    classmate = exported(database_url, "--key", learners.classmate_key)
    result = run(database_url, "erase", *by_sub(learners), "--yes")
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert f"Erased learner {learners.key} and their 1 identity." in lines
    for table in ("learner", "platform_user"):
        assert f"  {table}: 1" in lines
    assert "  attempt: 2" in lines and any(line.startswith("  outbox_message: ") for line in lines)
    assert (f"Queued {DELIVERED} voiding statement(s) for the statements LRSs received; "
            "`l2i worker` sends them.") in lines
    assert run(database_url, "export", *by_sub(learners)).exit_code == 2
    assert exported(database_url, "--key", learners.classmate_key) == classmate
    with app_state(app).session_factory() as session:
        queued = session.scalar(select(func.count()).select_from(OutboxMessage).where(
            OutboxMessage.learner_id.is_(None)))
    assert queued == DELIVERED


def test_erase_by_key_after_a_yes(database_url: str, learners: Learners) -> None:
    result = run(database_url, "erase", "--key", learners.key, answer="y\n")
    assert result.exit_code == 0, result.output
    assert "Removed " in result.output
    assert run(database_url, "export", "--key", learners.key).exit_code == 2

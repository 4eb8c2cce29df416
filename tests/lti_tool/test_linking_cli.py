"""``l2i platform trust-email`` and ``l2i learner links|unlink``, after a real link made through the pages."""

from __future__ import annotations

import secrets

from click.testing import CliRunner, Result
from flask import Flask
from sqlalchemy import select
from sqlalchemy.orm import Session

from lti_tool.cli import main
from lti_tool.models import Platform
from tests.fixtures.lti import LaunchDriver
from tests.lti_tool.test_linking import A, B, ana, enter_code, identity, launch_ana, linked, make_code


def run(database_url: str, *args: str) -> Result:
    env = {"L2I_DATABASE_URL": database_url, "L2I_SECRET_KEY": secrets.token_urlsafe(48)}
    return CliRunner().invoke(main, list(args), env=env)


def test_trusting_email_is_per_platform_and_can_be_turned_off(
    database_url: str, driver: LaunchDriver, db_session: Session,
) -> None:
    issuer = driver.institution(A).issuer
    result = run(database_url, "platform", "trust-email", "--issuer", issuer)
    assert result.exit_code == 0 and "trusted for linking accounts" in result.output
    trusted = dict(db_session.execute(select(Platform.issuer, Platform.trusts_email)).tuples().all())
    assert trusted == {issuer: True, driver.institution(B).issuer: False}
    assert "email addresses trusted" in run(database_url, "platform", "list").output
    assert run(database_url, "platform", "trust-email", "--issuer", issuer, "--off").exit_code == 0
    db_session.expire_all()
    assert not db_session.scalars(select(Platform.trusts_email).where(Platform.issuer == issuer)).one()
    unknown = run(database_url, "platform", "trust-email", "--issuer", "https://nowhere.example")
    assert unknown.exit_code == 2 and "no platform with issuer" in unknown.output


def test_links_are_listed_and_undone_from_the_command_line(
    app: Flask, database_url: str, driver: LaunchDriver, db_session: Session,
) -> None:
    assert "No learner has linked accounts." in run(database_url, "learner", "links").output
    enter_code(launch_ana(app, driver, B), make_code(launch_ana(app, driver, A)))
    listed = run(database_url, "learner", "links")
    assert listed.exit_code == 0 and "1 record(s) span institutions." in listed.output
    assert f"sub {ana(driver, B).sub} at {driver.institution(B).issuer}: Ana Novak (linked by code on" \
        in listed.output
    user_b = identity(db_session, driver, B)
    done = run(database_url, "learner", "unlink", "--issuer", user_b.issuer, "--sub", user_b.sub)
    assert done.exit_code == 0, done.output
    assert not linked(db_session, driver)
    again = run(database_url, "learner", "unlink", "--issuer", user_b.issuer, "--sub", user_b.sub)
    assert again.exit_code == 2 and "nothing to unlink" in again.output
    nobody = run(database_url, "learner", "unlink", "--issuer", user_b.issuer, "--sub", "nobody")
    assert nobody.exit_code == 2 and "No identity with sub nobody" in nobody.output

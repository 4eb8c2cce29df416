"""``l2i worker`` as real processes: killed mid-batch, two at once, and the outbox commands.

Each test fills the outbox of a real database (SQLite and PostgreSQL), runs the worker as the
operator would, and counts what the real LRS (Ralph) stored: every statement once.
"""

from __future__ import annotations

import collections
import datetime as dt
import os
import secrets
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from l2i_db import create_db_engine, create_session_factory, utcnow
from lms_emulator.lrs import RalphLRS
from lti_tool.cli import main
from lti_tool.tracking import PROGRAMME_DESTINATION
from tests.fixtures.lrs import LrsProxy
from xapi import vocabulary as x
from xapi.models import OutboxMessage
from xapi.outbox import Envelope, enqueue
from xapi.statements import ActivityRef, ActorRef, Setting, build_statement, lang

L2I = str(Path(sys.executable).with_name("l2i"))


def statements(count: int) -> Iterator[dict[str, object]]:
    """``count`` valid statements by a handful of learners."""
    activity = ActivityRef("http://localhost/units/u1", x.TYPE_MODULE, lang({"en": "Unit 1"}))
    setting = Setting(profile="http://localhost" + x.PROFILE_PATH)
    now = dt.datetime(2026, 11, 21, 9, 0, tzinfo=dt.UTC)
    for n in range(count):
        actor = ActorRef(key=f"learner-{n % 7}", home_page="http://localhost")
        yield build_statement(x.VERB_EXPERIENCED, actor, activity, setting,
                              timestamp=now + dt.timedelta(seconds=n))


def fill_outbox(database_url: str, count: int) -> None:
    engine = create_db_engine(database_url)
    with create_session_factory(engine)() as session:
        enqueue(session, (Envelope(PROGRAMME_DESTINATION, s, None) for s in statements(count)))
        session.commit()
    engine.dispose()


def outbox(database_url: str) -> list[OutboxMessage]:
    engine = create_db_engine(database_url)
    with create_session_factory(engine)() as session:
        rows = list(session.scalars(select(OutboxMessage)))
        session.expunge_all()
    engine.dispose()
    return rows


def worker_env(database_url: str, proxy: LrsProxy, ralph: RalphLRS, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("L2I_")}
    env.update({
        "L2I_DATABASE_URL": database_url, "L2I_SECRET_KEY": secrets.token_urlsafe(48),
        "L2I_LRS_ENDPOINT": proxy.endpoint, "L2I_LRS_USERNAME": ralph.username,
        "L2I_LRS_PASSWORD": ralph.password, "L2I_HTTP_TIMEOUT": "10",
        "L2I_OUTBOX_BACKOFF_SECONDS": "0.1", "L2I_OUTBOX_BACKOFF_MAX_SECONDS": "0.5",
    })
    env.update(extra)
    return env


def wait_for(condition: object, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():  # type: ignore[operator]
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def assert_stored_once(ralph: RalphLRS, database_url: str, count: int) -> None:
    stored = collections.Counter(s["id"] for s in ralph.read_statements())
    rows = outbox(database_url)
    assert len(stored) == count, f"{len(stored)} distinct statements stored, {count} queued"
    assert max(stored.values()) == 1, "a statement was stored twice"
    assert set(stored) == {m.message_id for m in rows}
    assert all(m.status == "delivered" for m in rows)


@pytest.mark.slow
def test_a_worker_killed_mid_batch_loses_nothing(
    database_url: str, ralph: RalphLRS, lrs_proxy: LrsProxy,
) -> None:
    count = 1200
    fill_outbox(database_url, count)
    lrs_proxy.mode = "delay:1.5"        # the first batch is in flight when the worker dies
    env = worker_env(database_url, lrs_proxy, ralph, L2I_OUTBOX_LEASE_SECONDS="2",
                     L2I_OUTBOX_BATCH_SIZE="300")
    doomed = subprocess.Popen([L2I, "worker"], env=env, stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)
    try:
        wait_for(lambda: lrs_proxy.requests_seen >= 1, 30, "the worker's first batch")
    finally:
        doomed.send_signal(signal.SIGKILL)
        doomed.wait(10)
    in_flight = [m for m in outbox(database_url) if m.lease_owner]
    assert len(in_flight) == 300 and all(m.status == "pending" for m in in_flight)

    lrs_proxy.mode = "pass"
    time.sleep(2.2)                     # the dead worker's lease runs out
    finished = subprocess.run([L2I, "worker", "--once"], env=env, capture_output=True, text=True,
                              timeout=120)
    assert finished.returncode == 0, finished.stderr
    assert "Delivered 1200" in finished.stdout
    assert_stored_once(ralph, database_url, count)


@pytest.mark.slow
def test_two_workers_share_the_outbox_without_sending_twice(
    database_url: str, ralph: RalphLRS, lrs_proxy: LrsProxy,
) -> None:
    count = 3000
    fill_outbox(database_url, count)
    lrs_proxy.mode = "delay:0.1"        # slow enough that the two workers overlap
    env = worker_env(database_url, lrs_proxy, ralph, L2I_OUTBOX_BATCH_SIZE="100")
    workers = [subprocess.Popen([L2I, "worker", "--idle", "0.1"], env=env, stdout=subprocess.DEVNULL,
                                stderr=subprocess.PIPE, text=True) for _ in range(2)]
    try:
        wait_for(lambda: all(m.status == "delivered" for m in outbox(database_url)), 120,
                 "every statement delivered")
    finally:
        for process in workers:
            process.send_signal(signal.SIGTERM)
        errors = [process.communicate(timeout=20)[1] for process in workers]
    assert all(process.returncode == 0 for process in workers), errors
    assert_stored_once(ralph, database_url, count)
    assert lrs_proxy.statements_forwarded == count, "in the normal case nothing is sent twice"
    owners = collections.Counter(m.lease_owner for m in outbox(database_url))
    assert len(owners) == 2 and min(owners.values()) > 0, owners


def run(database_url: str, *args: str, env: dict[str, str] | None = None) -> Result:
    base = {"L2I_DATABASE_URL": database_url, "L2I_SECRET_KEY": secrets.token_urlsafe(48),
            "L2I_LRS_ENDPOINT": "http://127.0.0.1:9/xAPI/"}
    return CliRunner().invoke(main, list(args), env={**base, **(env or {})})


def test_outbox_status_and_retry_tell_the_operator_what_to_do(database_url: str) -> None:
    fill_outbox(database_url, 5)
    engine = create_db_engine(database_url)
    with Session(engine) as session:
        first = session.scalars(select(OutboxMessage.id).order_by(OutboxMessage.id)).first()
        session.execute(update(OutboxMessage).where(OutboxMessage.id == first).values(
            status="dead", last_error="HTTP 400: actor is missing"))
        session.execute(update(OutboxMessage).where(OutboxMessage.id != first).values(
            created_at=utcnow() - dt.timedelta(minutes=5)))
        session.commit()
    status = run(database_url, "outbox", "status")
    assert status.exit_code == 0, status.output
    assert "lrs:programme\thttp://127.0.0.1:9/xAPI\twaiting 4 (due 4)\tdelivered 0\tdead 1" in status.output
    assert "lag 5 min" in status.output and "HTTP 400: actor is missing" in status.output

    retried = run(database_url, "outbox", "retry")
    assert retried.exit_code == 0 and "1 dead statement(s) queued again" in retried.output
    with Session(engine) as session:
        assert session.scalar(select(func.count()).select_from(OutboxMessage)
                              .where(OutboxMessage.status == "dead")) == 0
    engine.dispose()

    down = run(database_url, "worker", "--once", env={"L2I_HTTP_TIMEOUT": "1"})
    assert down.exit_code == 0
    assert "Delivered 0, 5 waiting for a retry" in down.output and "cannot connect" in down.output


def test_an_empty_outbox_says_how_to_configure_an_lrs(sqlite_url: str) -> None:
    result = CliRunner().invoke(main, ["outbox", "status"], env={
        "L2I_DATABASE_URL": sqlite_url, "L2I_SECRET_KEY": secrets.token_urlsafe(48), "L2I_LRS_ENDPOINT": ""})
    assert result.exit_code == 0 and "No LRS is configured" in result.output


ADD = [
    "platform", "add", "--issuer", "https://moodle.example.edu", "--client-id", "abc",
    "--auth-login-url", "https://moodle.example.edu/mod/lti/auth.php",
    "--auth-token-url", "https://moodle.example.edu/mod/lti/token.php",
    "--key-set-url", "https://moodle.example.edu/mod/lti/certs.php", "--deployment-id", "1",
]
LRS = ["platform", "lrs", "--issuer", "https://moodle.example.edu", "--client-id", "abc"]


@pytest.mark.parametrize(("extra", "says"), [
    (["--endpoint", "lrs.example.edu/xAPI"], "--endpoint must be an absolute http(s) URL"),
    (["--endpoint", "https://lrs.example.edu/xAPI/", "--username", "u"],
     "--username and --password-env go together"),
    (["--endpoint", "https://lrs.example.edu/xAPI/", "--username", "u", "--password-env", "my password"],
     "--password-env must name an environment variable"),
    (["--endpoint", "https://lrs.example.edu/xAPI/", "--actor", "name"], "Invalid value for '--actor'"),
])
def test_a_platforms_lrs_is_checked(sqlite_url: str, extra: list[str], says: str) -> None:
    assert run(sqlite_url, *ADD).exit_code == 0
    result = run(sqlite_url, *LRS, *extra)
    assert result.exit_code == 2 and says in result.output


def test_a_platforms_lrs_is_set_listed_and_removed(sqlite_url: str) -> None:
    assert run(sqlite_url, *ADD).exit_code == 0
    unknown = run(sqlite_url, "platform", "lrs", "--issuer", "https://other.example.edu",
                  "--client-id", "abc", "--endpoint", "https://lrs.example.edu/xAPI/")
    assert unknown.exit_code == 2 and "No platform https://other.example.edu" in unknown.output
    done = run(sqlite_url, *LRS, "--endpoint", "https://lrs.example.edu/xAPI/", "--username", "uni",
               "--password-env", "L2I_LRS_PASSWORD_UNI", "--actor", "mbox_sha1sum")
    assert done.exit_code == 0, done.output
    listed = run(sqlite_url, "platform", "list")
    assert "LRS https://lrs.example.edu/xAPI/ (learners as mbox_sha1sum)" in listed.output
    status = run(sqlite_url, "outbox", "status", env={"L2I_LRS_PASSWORD_UNI": "s3cret"})
    assert "lrs:platform:1\thttps://lrs.example.edu/xAPI/\tnothing queued yet" in status.output
    assert "s3cret" not in status.output
    removed = run(sqlite_url, *LRS, "--remove")
    assert removed.exit_code == 0 and "programme's LRS only" in removed.output
    assert "LRS https://lrs.example.edu" not in run(sqlite_url, "platform", "list").output


def test_statement_ids_are_unique_per_destination(sqlite_url: str) -> None:
    fill_outbox(sqlite_url, 1)
    row = outbox(sqlite_url)[0]
    engine = create_db_engine(sqlite_url)
    with create_session_factory(engine)() as session:
        with pytest.raises(Exception, match="UNIQUE"):
            enqueue(session, [Envelope(PROGRAMME_DESTINATION, row.payload, None)])
            session.flush()
        session.rollback()
        enqueue(session, [Envelope("lrs:platform:1", row.payload, None)])
        session.commit()
    engine.dispose()
    assert uuid.UUID(row.message_id)
    assert len(outbox(sqlite_url)) == 2


def test_prune_keeps_what_erasure_needs(sqlite_url: str) -> None:
    fill_outbox(sqlite_url, 3)
    engine = create_db_engine(sqlite_url)
    with Session(engine) as session:
        session.execute(update(OutboxMessage).values(
            status="delivered", delivered_at=utcnow() - dt.timedelta(days=40)))
        last = session.scalars(select(OutboxMessage.id).order_by(OutboxMessage.id.desc())).first()
        session.execute(update(OutboxMessage).where(OutboxMessage.id == last).values(delivered_at=utcnow()))
        session.commit()
    engine.dispose()
    result = run(sqlite_url, "outbox", "prune", "--days", "30")
    assert result.exit_code == 0 and "Pruned 2 delivered statement(s)" in result.output
    rows = sorted(outbox(sqlite_url), key=lambda m: m.id)
    assert [m.pruned for m in rows] == [True, True, False]
    assert rows[0].payload == {} and rows[0].message_id and rows[2].payload["id"] == rows[2].message_id
    assert "Pruned 0" in run(sqlite_url, "outbox", "prune").output

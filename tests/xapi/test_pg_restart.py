"""PostgreSQL restarted under a running tool: the outbox worker and the web app ride it out.

The server restarted is a private cluster (``tests/fixtures/pg_cluster.py``), never the machine's
shared one. The worker is ``l2i worker`` as a real process, delivering to a real Ralph LRS; the
LRS then holds every statement exactly once.
"""

from __future__ import annotations

import re
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask

from l2i_db import create_db_engine, create_session_factory
from lms_emulator.lrs import RalphLRS
from lti_tool.app import create_app
from lti_tool.demo import register_emulator
from lti_tool.migrate import upgrade_database
from lti_tool.web.state import app_state
from tests.fixtures.lrs import LrsProxy
from tests.fixtures.lti import LaunchDriver, make_settings
from tests.fixtures.pg_cluster import PgCluster, pg_cluster, private_pg
from tests.fixtures.servers import Emulator
from tests.xapi.test_worker_process import (
    L2I,
    assert_stored_once,
    fill_outbox,
    outbox,
    wait_for,
    worker_env,
)

__all__ = ["pg_cluster", "private_pg"]  # fixtures this module uses

STATEMENTS = 400
BATCH = 100
# Each batch waits this long at the proxy: long enough that the server is stopped (a fraction of
# a second) before the worker hears the LRS's answer and tries to record it.
LRS_DELAY_SECONDS = 1.5
DOWN_SECONDS = 3.0
LEASE_SECONDS = 3
# With the worker's doubling wait (0.2, 0.4, 0.8, 1.6, 3.2 s) a 3 s outage is tried about five
# times; a fixed 0.2 s rest would try (and log) fifteen times.
MAX_TRIES_WHILE_DOWN = 8


def worker_log(path: Path) -> str:
    """What the worker wrote so far."""
    return path.read_text(errors="replace")


def unreachable_lines(log: str) -> list[str]:
    """The worker's log lines that say the database cannot be reached."""
    return [line for line in log.splitlines() if "the database is unreachable" in line]


@pytest.mark.slow
@pytest.mark.postgres
def test_the_worker_rides_out_a_database_restart(
    private_pg: PgCluster, ralph: RalphLRS, lrs_proxy: LrsProxy, tmp_path: Path,
) -> None:
    url = private_pg.create_database()
    upgrade_database(url)
    fill_outbox(url, STATEMENTS)
    lrs_proxy.mode = f"delay:{LRS_DELAY_SECONDS}"
    env = worker_env(url, lrs_proxy, ralph, L2I_OUTBOX_BATCH_SIZE=str(BATCH),
                     L2I_OUTBOX_LEASE_SECONDS=str(LEASE_SECONDS))
    log = tmp_path / "worker.log"
    with log.open("wb") as sink:
        worker = subprocess.Popen([L2I, "worker", "--idle", "0.2"], env=env, stdout=sink,
                                  stderr=subprocess.STDOUT)
    try:
        wait_for(lambda: lrs_proxy.statements_forwarded >= BATCH, 60, "the first batch delivered")
        seen = lrs_proxy.requests_seen
        wait_for(lambda: lrs_proxy.requests_seen > seen, 30, "the next batch on its way")
        private_pg.stop("fast")  # mid-batch: the LRS will store it, the worker cannot record that
        time.sleep(DOWN_SECONDS)
        assert worker.poll() is None, f"the worker died with the database:\n{worker_log(log)}"
        while_down = unreachable_lines(worker_log(log))
        private_pg.start()
        wait_for(lambda: all(m.status == "delivered" for m in outbox(url)), 90,
                 "every statement delivered after the restart")
    finally:
        worker.send_signal(signal.SIGTERM)
        worker.wait(timeout=30)
    output = worker_log(log)
    assert worker.returncode == 0, output
    assert_stored_once(ralph, url, STATEMENTS)
    assert lrs_proxy.statements_forwarded >= STATEMENTS + BATCH, (
        "the batch in flight at the stop should have been sent again after its lease ran out "
        f"(forwarded {lrs_proxy.statements_forwarded} for {STATEMENTS}); Ralph kept it once")
    # One clear line per try while the server was down, tried less and less often; then one
    # line when it is back. No traceback for an operator to decode.
    assert 1 <= len(while_down) <= MAX_TRIES_WHILE_DOWN, output
    assert all(re.search(r"ERROR xapi.delivery: outbox worker \S+: the database is unreachable "
                         r"\(.*(Connection refused|shutting down|closed).*\); retrying in [\d.]+ s$", line)
               for line in while_down), "\n".join(while_down)
    assert "the database is reachable again" in output, output
    assert "Traceback" not in output, output


@pytest.fixture
def tool_on_private_pg(private_pg: PgCluster, emulator: Emulator, tmp_path: Path) -> Iterator[Flask]:
    """The tool (in-process) on a fresh database of the private cluster, the emulator registered."""
    url = private_pg.create_database()
    upgrade_database(url)
    engine = create_db_engine(url)
    with create_session_factory(engine)() as session:
        register_emulator(session, emulator.config)
        session.commit()
    engine.dispose()
    app = create_app(make_settings(url, tmp_path), TESTING=True)
    yield app
    app_state(app).engine.dispose()


@pytest.mark.postgres
def test_pages_say_unavailable_while_the_database_is_down_and_recover(
    tool_on_private_pg: Flask, private_pg: PgCluster, emulator: Emulator,
) -> None:
    driver = LaunchDriver(tool_on_private_pg.test_client(), emulator)
    launched = driver.launch(driver.user("Learner"), driver.link("u1-challenges"))
    assert launched.status_code == 303, launched.get_data(as_text=True)
    landing = launched.headers["Location"]
    client = driver.client
    assert client.get(landing).status_code == 200

    private_pg.stop("fast")
    try:
        health = client.get("/healthz")
        assert (health.status_code, health.get_json()) == (
            503, {"status": "unavailable", "database": "unreachable"})
        page = client.get(landing)
        html = page.get_data(as_text=True)
        assert page.status_code == 503, html
        assert "cannot reach its database just now" in html and "Traceback" not in html
        api = client.get(landing, headers={"Accept": "application/json"})
        assert api.status_code == 503 and api.get_json()["error"] == "Temporarily unavailable"
        keys = client.get("/lti/jwks")
        assert keys.status_code == 503, keys.get_data(as_text=True)
    finally:
        private_pg.start()

    assert client.get("/healthz").status_code == 200
    again = client.get(landing)
    assert again.status_code == 200, "the app did not recover once the database was back"

    # A quick restart between two requests: the pooled connections are dead, and the very next
    # request must not be the one that finds out (the pool checks a connection before lending it).
    private_pg.restart("fast")
    after_restart = client.get(landing)
    assert after_restart.status_code == 200, after_restart.get_data(as_text=True)[:500]

"""The administrator's xAPI outbox page, after real launches from the emulator.

An administrator sees the programme's LRS and their own platform's, never another platform's;
they can queue refused statements again, with the form's CSRF token. Runs on SQLite and PostgreSQL.
"""

from __future__ import annotations

import datetime as dt
import re
import uuid
from html import unescape
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from l2i_db import utcnow
from lti_tool.models import Platform
from lti_tool.settings import Settings
from lti_tool.tracking import PROGRAMME_DESTINATION, platform_destination
from lti_tool.web.admin_views import humanise_seconds, shown_endpoint
from tests.fixtures.lti import LaunchDriver, make_settings
from tests.lti_tool.test_learning_flow import UNIT, csrf_of
from xapi.models import OutboxMessage
from xapi.outbox import Envelope, enqueue
from xapi.statements import ActorRef, build_voiding

PROGRAMME_LRS = "http://127.0.0.1:9/xAPI/"
HOSTILE = "<script>alert(1)</script>"


@pytest.fixture
def tool_settings(database_url: str, tmp_path: Path, request: pytest.FixtureRequest) -> Settings:
    """The tool with a programme LRS (``indirect`` parametrisation with None: without one)."""
    endpoint = getattr(request, "param", PROGRAMME_LRS)
    return make_settings(database_url, tmp_path, lrs_endpoint=endpoint)


# -- arranging ---------------------------------------------------------------------------------


def enter_as(driver: LaunchDriver, role: str, institution: int = 0) -> FlaskClient:
    """Launch ``role`` of ``institution`` into the unit with a fresh browser; return the client."""
    driver.client = driver.client.application.test_client()
    response = driver.launch(driver.user(role, institution=institution),
                             driver.link(UNIT, institution=institution), institution)
    assert response.status_code == 303, response.get_data(as_text=True)
    return driver.client


def empty_outbox(db_session: Session) -> None:
    """Forget what the launches so far queued (a launch is tracked too), so counts start at 0."""
    db_session.execute(delete(OutboxMessage))
    db_session.commit()


def platform_of(db_session: Session, driver: LaunchDriver, institution: int) -> Platform:
    """The tool's platform row for an emulated institution."""
    issuer = driver.institution(institution).issuer
    found = db_session.scalars(select(Platform).where(Platform.issuer == issuer)).one()
    return found


def queue(db_session: Session, destination: str, count: int, *, age_seconds: float = 0,
          status: str = "pending", error: str | None = None, tries: int = 0,
          due_in_seconds: float | None = None) -> list[str]:
    """Queue ``count`` valid statements for ``destination`` and put them in ``status``; commit."""
    created = utcnow() - dt.timedelta(seconds=age_seconds)
    statements = [
        build_voiding(str(uuid.uuid4()), ActorRef(key="k", home_page="http://localhost"), timestamp=created)
        for _ in range(count)
    ]
    enqueue(db_session, [Envelope(destination, statement, learner_id=None) for statement in statements],
            now=created)
    ids = [str(statement["id"]) for statement in statements]
    values: dict[str, object] = {"status": status, "last_error": error, "tries": tries}
    if due_in_seconds is not None:
        values["due_at"] = utcnow() + dt.timedelta(seconds=due_in_seconds)
    db_session.execute(update(OutboxMessage).where(OutboxMessage.message_id.in_(ids)).values(**values))
    db_session.commit()
    return ids


def statuses(db_session: Session, destination: str) -> list[str]:
    """The status of every message of ``destination``."""
    db_session.expire_all()
    return sorted(db_session.scalars(
        select(OutboxMessage.status).where(OutboxMessage.destination == destination)))


def page_text(client: FlaskClient) -> str:
    """GET the outbox page as ``client``; return its HTML (200 expected)."""
    response = client.get("/admin/outbox")
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_data(as_text=True)


def section(html: str, label: str) -> str:
    """The unescaped HTML of the page's section about the LRS called ``label``."""
    for chunk in html.split("<section")[1:]:
        chunk = unescape(chunk.split("</section>")[0])
        if f">{label}</h2>" in chunk:
            return chunk
    raise AssertionError(f"no section for {label!r}")


def count_of(chunk: str, name: str) -> str:
    """The value a section shows for one of its counts (Waiting, Due now...)."""
    match = re.search(rf"<dt>{re.escape(name)}</dt><dd>([^<]*)</dd>", chunk)
    assert match, f"no count {name!r}"
    return match.group(1)


def retry_form(client: FlaskClient) -> tuple[str, str]:
    """The outbox page's CSRF token and the destination of its first retry form."""
    html = page_text(client)
    destination = re.search(r'name="destination" value="([^"]+)"', html)
    assert destination, "no retry button on the page"
    return csrf_of(html), unescape(destination.group(1))


# -- what an administrator sees --------------------------------------------------------------


def test_an_administrator_sees_counts_lag_progress_and_errors(
    driver: LaunchDriver, db_session: Session,
) -> None:
    client = enter_as(driver, "Administrator")
    empty_outbox(db_session)
    own = platform_of(db_session, driver, 0)
    own.lrs_endpoint = "https://lrs-user:lrs-secret@lrs.linkoping.example/xAPI/"
    db_session.commit()
    queue(db_session, PROGRAMME_DESTINATION, 2, age_seconds=600, status="delivered")
    queue(db_session, PROGRAMME_DESTINATION, 2, age_seconds=250)
    retrying = queue(db_session, PROGRAMME_DESTINATION, 1, age_seconds=30, error="HTTP 503 from the LRS",
                     tries=2, due_in_seconds=120)
    dead = queue(db_session, PROGRAMME_DESTINATION, 1, age_seconds=30, status="dead",
                 error="HTTP 400: statement refused by the LRS", tries=1)
    queue(db_session, platform_destination(own.id), 3, age_seconds=60, status="delivered")

    html = page_text(client)
    programme = section(html, "Programme LRS")
    assert PROGRAMME_LRS.rstrip("/") in programme
    assert [count_of(programme, name) for name in ("Waiting", "Due now", "Delivered", "Refused")] == [
        "3", "2", "2", "1"]
    assert count_of(programme, "Lag") == "4 min"  # the oldest waiting one, 250 s ago
    assert "1 refused — check the errors below" in programme
    assert "state-refused" in programme
    assert re.search(r'<progress aria-labelledby="delivered-1" max="6" value="2">', programme)
    assert '<span class="progress-label" id="delivered-1">Delivered to Programme LRS</span>' in programme
    assert "2 of 6 delivered (33%)" in programme
    assert 'name="destination" value="lrs:programme"' in programme

    institution = section(html, f"{own.name}'s LRS")
    assert "https://lrs.linkoping.example/xAPI" in institution
    assert "lrs-secret" not in html and "lrs-user" not in html  # credentials in a URL stay hidden
    assert "All delivered" in institution and "state-ok" in institution
    assert count_of(institution, "Lag") == "none"
    assert "3 of 3 delivered (100%)" in institution
    assert 'name="destination"' not in institution  # nothing refused: no retry button

    errors = unescape(html.split('class="outbox-errors"')[1].split("</table>")[0])
    rows = errors.split("<tr>")[2:]
    assert len(rows) == 2
    refused = next(row for row in rows if dead[0] in row)
    assert "<strong>refused</strong>" in refused and "HTTP 400: statement refused by the LRS" in refused
    waiting = next(row for row in rows if retrying[0] in row)
    assert re.search(r'<time datetime="[^"]+">\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC</time>', waiting)
    assert "HTTP 503 from the LRS" in waiting and "Programme LRS" in waiting
    assert 'class="error-text"' in waiting


def test_states_behind_and_nothing_queued(driver: LaunchDriver, db_session: Session) -> None:
    client = enter_as(driver, "Administrator")
    empty_outbox(db_session)
    html = page_text(client)
    assert "Nothing was queued yet." in html
    programme = section(html, "Programme LRS")
    assert "Nothing queued yet" in programme and "<progress" not in programme
    assert "No statement is failing." in html
    assert f"{platform_of(db_session, driver, 0).name}'s LRS" not in unescape(html)  # no LRS, nothing queued

    queue(db_session, PROGRAMME_DESTINATION, 2, age_seconds=12)
    programme = section(page_text(client), "Programme LRS")
    assert "Behind: 2 waiting" in programme and "state-behind" in programme
    assert count_of(programme, "Lag") in ("12 s", "13 s")


def test_statements_queued_for_an_lrs_since_removed_say_so(driver: LaunchDriver, db_session: Session) -> None:
    client = enter_as(driver, "Administrator")
    empty_outbox(db_session)
    own = platform_of(db_session, driver, 0)
    queue(db_session, platform_destination(own.id), 1, age_seconds=7200)
    institution = section(page_text(client), f"{own.name}'s LRS")
    assert "<strong>not configured</strong>" in institution
    assert count_of(institution, "Lag") == "2 h"


@pytest.mark.parametrize("tool_settings", [None], indirect=True)
def test_without_any_lrs_the_page_says_how_to_configure_one(driver: LaunchDriver) -> None:
    html = page_text(enter_as(driver, "Administrator"))
    assert ("No LRS is configured. Set <code>L2I_LRS_ENDPOINT</code> (programme) or run "
            "<code>l2i platform lrs …</code> (institution).") in html
    assert "<section" not in html and "Recent errors" not in html


def test_hostile_error_text_is_escaped(driver: LaunchDriver, db_session: Session) -> None:
    client = enter_as(driver, "Administrator")
    empty_outbox(db_session)
    long_reason = "x" * 1500
    queue(db_session, PROGRAMME_DESTINATION, 1, status="dead", error=HOSTILE)
    queue(db_session, PROGRAMME_DESTINATION, 1, status="dead", error=long_reason)
    html = page_text(client)
    assert HOSTILE not in html and "<script" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert f'<td class="error-text">{long_reason}</td>' in html  # wrapped by the stylesheet


def test_the_trainer_dashboard_links_to_the_page_for_administrators_only(driver: LaunchDriver) -> None:
    admin = enter_as(driver, "Administrator").get("/trainer").get_data(as_text=True)
    assert 'href="/admin/outbox?s=' in admin
    trainer = enter_as(driver, "Instructor").get("/trainer").get_data(as_text=True)
    assert "/admin/outbox" not in trainer


# -- who may see it -----------------------------------------------------------------------------


@pytest.mark.parametrize("role", ["Learner", "Instructor"])
def test_learners_and_instructors_are_refused(driver: LaunchDriver, db_session: Session, role: str) -> None:
    client = enter_as(driver, role)
    empty_outbox(db_session)
    queue(db_session, PROGRAMME_DESTINATION, 1, status="dead", error="refused")
    assert client.get("/admin/outbox").status_code == 403
    response = client.post("/admin/outbox/retry", data={"destination": PROGRAMME_DESTINATION})
    assert response.status_code == 403  # the role is refused before the form is read
    assert statuses(db_session, PROGRAMME_DESTINATION) == ["dead"]


def test_without_a_launch_the_page_answers_401(app: Flask) -> None:
    client = app.test_client()
    response = client.get("/admin/outbox")
    assert response.status_code == 401
    assert "Open the activity again from your LMS" in response.get_data(as_text=True)
    assert client.post("/admin/outbox/retry", data={"destination": PROGRAMME_DESTINATION}).status_code == 401


def test_an_administrator_never_sees_nor_retries_another_platforms_lrs(
    driver: LaunchDriver, db_session: Session,
) -> None:
    platform_a, platform_b = platform_of(db_session, driver, 0), platform_of(db_session, driver, 1)
    platform_a.lrs_endpoint = "https://lrs-a.example/xAPI/"
    platform_b.lrs_endpoint = "https://lrs-b.example/xAPI/"
    db_session.commit()
    destination_a, destination_b = platform_destination(platform_a.id), platform_destination(platform_b.id)
    queue(db_session, destination_a, 1, status="dead", error="A-only refusal")
    queue(db_session, destination_b, 2, status="dead", error="B-only refusal")

    admin_a = enter_as(driver, "Administrator", institution=0)
    html = unescape(page_text(admin_a))
    assert f"{platform_a.name}'s LRS" in html and "A-only refusal" in html and "lrs-a.example" in html
    assert platform_b.name not in html
    assert "B-only refusal" not in html and "lrs-b.example" not in html and destination_b not in html

    csrf, _ = retry_form(admin_a)
    for foreign in (destination_b, "lrs:platform:999999", "lrs:elsewhere", ""):
        refused = admin_a.post("/admin/outbox/retry", data={"csrf_token": csrf, "destination": foreign})
        assert refused.status_code == 404, foreign
        assert "There is no such LRS among the ones you administer." in refused.get_data(as_text=True)
    assert statuses(db_session, destination_b) == ["dead", "dead"]

    admin_b = enter_as(driver, "Administrator", institution=1)
    html = unescape(page_text(admin_b))
    assert "B-only refusal" in html and "lrs-b.example" in html
    assert "A-only refusal" not in html and "lrs-a.example" not in html and platform_a.name not in html


# -- queueing refused statements again ---------------------------------------------------------


def test_retry_needs_the_csrf_token_and_then_queues_the_refused_again(
    driver: LaunchDriver, db_session: Session,
) -> None:
    client = enter_as(driver, "Administrator")
    empty_outbox(db_session)
    queue(db_session, PROGRAMME_DESTINATION, 2, status="dead", error="HTTP 400", tries=1)
    queue(db_session, PROGRAMME_DESTINATION, 1, status="delivered")
    csrf, destination = retry_form(client)
    assert destination == PROGRAMME_DESTINATION

    for token in (None, "forged-token"):
        data = {"destination": destination} | ({"csrf_token": token} if token else {})
        refused = client.post("/admin/outbox/retry", data=data)
        assert refused.status_code == 400
        assert "security token is missing or wrong" in refused.get_data(as_text=True)
    assert statuses(db_session, PROGRAMME_DESTINATION) == ["dead", "dead", "delivered"]

    done = client.post("/admin/outbox/retry", data={"csrf_token": csrf, "destination": destination})
    assert done.status_code == 303
    assert done.headers["Location"].startswith("/admin/outbox?") and "queued=2" in done.headers["Location"]
    assert statuses(db_session, PROGRAMME_DESTINATION) == ["delivered", "pending", "pending"]
    html = client.get(done.headers["Location"]).get_data(as_text=True)
    assert '<p class="notice" role="status">2 statements queued again.</p>' in html
    programme = section(html, "Programme LRS")
    assert "Behind: 2 waiting" in programme and 'name="destination"' not in programme


def test_lag_reads_in_seconds_minutes_and_hours(app: Flask) -> None:
    with app.test_request_context(headers={"Accept-Language": "en"}):
        assert [humanise_seconds(s) for s in (0, 12, 119, 240, 3599, 5400, 36000)] == [
            "0 s", "12 s", "119 s", "4 min", "59 min", "1.5 h", "10 h"]
    with app.test_request_context(headers={"Accept-Language": "sv"}):
        assert "1,5" in humanise_seconds(5400)


def test_an_endpoint_is_shown_without_credentials() -> None:
    assert shown_endpoint("https://u:p@lrs.example:8443/xAPI") == "https://lrs.example:8443/xAPI"
    assert shown_endpoint("http://[::1]:9/xAPI/") == "http://[::1]:9/xAPI/"
    assert shown_endpoint("https://lrs.example/xAPI/") == "https://lrs.example/xAPI/"

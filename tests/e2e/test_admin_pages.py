"""The administrator's pages in real Chromium after a real launch, checked with axe-core.

The administrator launches from the demo LMS, goes from the trainer dashboard to the xAPI
outbox page, reads it and queues the refused statements again. Texts are checked in English.
"""

from __future__ import annotations

import datetime as dt
import re
import uuid
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlencode

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import select, update

from l2i_db import utcnow
from lti_tool.demo import DemoServers
from lti_tool.models import Platform
from lti_tool.tracking import PROGRAMME_DESTINATION, platform_destination
from lti_tool.web.state import app_state
from tests.e2e.support import PROGRAMME_LINK_TITLE, demo_in
from tests.e2e.test_browser import axe_blocking
from tests.fixtures.browser import artifact_name
from xapi.models import OutboxMessage
from xapi.outbox import Envelope, enqueue
from xapi.statements import ActorRef, build_voiding

pytestmark = pytest.mark.browser

PROGRAMME_LRS = "http://127.0.0.1:9/xAPI/"
HOSTILE = '<script>window.__xss=1</script><img src=x onerror="window.__xss=1">'


@pytest.fixture(scope="module")
def demo(chromium: object, tmp_path_factory: pytest.TempPathFactory) -> Iterator[DemoServers]:
    """The demo with a programme LRS (nothing listens there) on a temporary SQLite database."""
    del chromium  # requested first: without a browser the demo is not started at all
    with demo_in(tmp_path_factory.mktemp("admin-demo"), lrs_endpoint=PROGRAMME_LRS) as servers:
        yield servers


def queue(demo: DemoServers, destination: str, count: int, status: str, error: str | None) -> None:
    """Queue ``count`` statements for ``destination`` in the running tool's database, in ``status``."""
    factory = app_state(demo.tool.app).session_factory  # type: ignore[attr-defined]
    created = utcnow() - dt.timedelta(minutes=5)
    statements = [build_voiding(str(uuid.uuid4()), ActorRef(key="k", home_page="http://localhost"),
                                timestamp=created) for _ in range(count)]
    with factory() as session:
        enqueue(session, [Envelope(destination, s, learner_id=None) for s in statements], now=created)
        session.execute(update(OutboxMessage)
                        .where(OutboxMessage.message_id.in_([str(s["id"]) for s in statements]))
                        .values(status=status, last_error=error, tries=1 if error else 0))
        session.commit()


def own_platform_with_lrs(demo: DemoServers) -> Platform:
    """The demo institution's platform, given an LRS of its own."""
    factory = app_state(demo.tool.app).session_factory  # type: ignore[attr-defined]
    with factory() as session:
        platform = session.scalars(select(Platform)).one()
        platform.lrs_endpoint = "https://lrs.institution.example/xAPI/"
        session.commit()
        session.refresh(platform)
        session.expunge(platform)
        return platform


def test_an_administrator_reads_the_outbox_and_queues_refused_statements_again(
    page: Page, demo: DemoServers, artifacts_dir: Path, request: pytest.FixtureRequest,
) -> None:
    institution = demo.emulator.institutions[0]
    admin = next(u for u in institution.users if u.role_label == "Administrator")
    link = next(link for link in institution.courses[0].links if link.title == PROGRAMME_LINK_TITLE)
    query = {"user": admin.sub, "link": link.id, "locale": "en", "target": "window"}
    page.goto(f"{demo.lms_url}/{institution.slug}/launch?{urlencode(query)}")
    page.wait_for_url(re.compile(re.escape(demo.tool_url) + r"/\?(.*&)?s="))
    expect(page.locator(".who")).to_contain_text(admin.name)

    platform = own_platform_with_lrs(demo)
    queue(demo, PROGRAMME_DESTINATION, 4, "delivered", None)
    queue(demo, PROGRAMME_DESTINATION, 2, "pending", "HTTP 503 from the LRS; trying again later")
    queue(demo, PROGRAMME_DESTINATION, 1, "dead", HOSTILE)
    queue(demo, PROGRAMME_DESTINATION, 1, "dead", "HTTP 400: " + "the statement was refused " * 40)
    queue(demo, platform_destination(platform.id), 3, "delivered", None)

    page.get_by_role("link", name="Open the trainer dashboard").click()
    page.wait_for_url(re.compile(re.escape(demo.tool_url) + r"/trainer\?(.*&)?s="))
    page.get_by_role("link", name="See the xAPI outbox: what each LRS received or refused").click()
    page.wait_for_url(re.compile(re.escape(demo.tool_url) + r"/admin/outbox\?(.*&)?s="))
    expect(page.get_by_role("heading", level=1)).to_have_text("xAPI outbox")
    expect(page.get_by_role("heading", level=2, name="Programme LRS")).to_be_visible()
    expect(page.get_by_role("heading", level=2, name=f"{platform.name}'s LRS")).to_be_visible()
    expect(page.locator(".state-refused")).to_have_text("2 refused — check the errors below")
    expect(page.locator(".state-ok")).to_have_text("All delivered")
    bars = page.get_by_role("progressbar")
    expect(bars).to_have_count(2)
    expect(bars.first).to_have_accessible_name("Delivered to Programme LRS")
    expect(page.locator("table.outbox-errors tbody tr")).to_have_count(4)
    expect(page.get_by_text(HOSTILE, exact=True)).to_be_visible()  # shown as text, never run
    assert page.evaluate("window.__xss") is None
    width = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
    assert width <= 0, "the long error made the page scroll sideways"
    blocking, report = axe_blocking(page)
    assert not blocking, report

    page.get_by_role("button", name=re.compile(r"^Queue refused statements again")).click()
    page.wait_for_url(re.compile(re.escape(demo.tool_url) + r"/admin/outbox\?(.*&)?queued=2"))
    expect(page.get_by_role("status")).to_have_text("2 statements queued again.")
    expect(page.locator(".state-behind")).to_have_text(re.compile(r"^Behind: \d+ waiting$"))
    expect(page.get_by_role("button", name=re.compile(r"^Queue refused"))).to_have_count(0)
    page.screenshot(path=artifacts_dir / artifact_name(request.node.name, "outbox"), full_page=True)
    blocking, report = axe_blocking(page)
    assert not blocking, report

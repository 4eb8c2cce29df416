"""The course roster over NRPS: a trainer sees who is in the LMS course but never opened the tool.

The demo (tool + LMS emulator) is served for real on loopback, because the platform checks the
tool's client assertion against the tool's published key set. The emulator pages its roster two
members at a time, so the tool has to follow the ``rel="next"`` links to see everyone.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from html import unescape
from pathlib import Path
from urllib.parse import urljoin

import pytest
import requests
from babel.support import Translations
from sqlalchemy import select

import lti_tool
from l2i_db import create_db_engine, create_session_factory
from lms_emulator.platform import Institution
from lms_emulator.seed_data import UNITS
from lti_tool.demo import DemoServers
from lti_tool.roster_models import RosterFetch
from lti_tool.settings import Settings
from tests.e2e.support import (
    HTTP_TIMEOUT,
    demo_settings,
    first_learner,
    first_trainer,
    launch_from_emulator,
    running_demo,
)
from tests.fixtures.servers import free_port
from tests.lti_tool.test_learning_flow import csrf_of

UNIT_ID, UNIT_TITLE = UNITS[0]
ROSTER_LIST = re.compile(r'<ul class="people roster-missing">(.*?)</ul>', re.S)


def never_opened(html: str) -> list[str]:
    """Return the names in the dashboard's "never opened the tool" list (empty when there is none)."""
    found = ROSTER_LIST.search(html)
    if not found:
        return []
    items = re.findall(r"<li>(.*?)</li>", found.group(1), re.S)
    return [re.sub(r"<[^>]+>.*", "", item).strip() for item in items]


def roster_fetch(settings: Settings) -> RosterFetch:
    engine = create_db_engine(settings.database_url)
    try:
        with create_session_factory(engine)() as session:
            fetch = session.scalars(select(RosterFetch)).one()
            session.expunge(fetch)
            return fetch
    finally:
        engine.dispose()


def age_roster(settings: Settings, hours: int) -> None:
    engine = create_db_engine(settings.database_url)
    try:
        with create_session_factory(engine)() as session:
            fetch = session.scalars(select(RosterFetch)).one()
            past = dt.datetime.now(dt.UTC) - dt.timedelta(hours=hours)
            fetch.fetched_at = fetch.attempted_at = past
            session.commit()
    finally:
        engine.dispose()


def dashboard_url(demo: DemoServers, landing_url: str) -> str:
    token = re.search(r"[?&]s=([^&]+)", landing_url)
    assert token, landing_url
    return f"{demo.tool_url}/trainer?s={token.group(1)}"


def expected_learners(institution: Institution, launched: set[str]) -> list[str]:
    course = institution.courses[0]
    learners = [u for u in institution.course_members(course)
                if u.role_label.startswith("Learner") and u.sub not in launched]
    return [u.name for u in sorted(learners, key=lambda u: (u.family_name.casefold(), u.name.casefold()))]


def translator(locale: str) -> Callable[[str], str]:
    """Return gettext for ``locale`` from the tool's compiled catalogues."""
    catalogues = Path(lti_tool.__file__).parent / "translations"
    return Translations.load(str(catalogues), [locale]).gettext


@pytest.mark.slow
def test_trainer_sees_the_learners_who_never_opened_the_tool(tmp_path: Path) -> None:
    port, lms_port = free_port(), free_port()
    settings = demo_settings(f"sqlite:///{tmp_path / 'demo.sqlite3'}", tmp_path, port)
    with running_demo(settings, port, lms_port) as demo:
        institution = demo.emulator.institutions[0]
        members = institution.course_members(institution.courses[0])
        assert demo.emulator.nrps_page_size < len(members) / 2, "the roster must take several pages"
        trainer = first_trainer(institution)
        with requests.Session() as browser:
            outcome = launch_from_emulator(browser, demo, trainer, link_title=UNIT_TITLE)
            url = dashboard_url(demo, outcome.landing_url)
            page = browser.get(url, timeout=HTTP_TIMEOUT)
            assert page.status_code == 200
            said = translator(trainer.locale)  # the trainer's own language, as the LMS says it
            assert said("The course roster has not been fetched from the LMS yet.") in unescape(page.text)
            assert never_opened(page.text) == []

            action = urljoin(url, re.search(r'<form method="post" action="([^"]*trainer/roster[^"]*)"',
                                            page.text).group(1).replace("&amp;", "&"))  # type: ignore[union-attr]
            refreshed = browser.post(action, data={"csrf_token": csrf_of(page.text)}, allow_redirects=False,
                                     timeout=HTTP_TIMEOUT)
            assert refreshed.status_code == 303, refreshed.text
            page = browser.get(urljoin(action, refreshed.headers["Location"]), timeout=HTTP_TIMEOUT)
            assert said("The course roster was refreshed from the LMS.") in unescape(page.text)
            nobody_launched = expected_learners(institution, set())
            assert len(nobody_launched) == 5
            assert never_opened(page.text) == nobody_launched
            fetch = roster_fetch(settings)
            assert (fetch.member_count, fetch.skipped_count, fetch.last_error) == (len(members), 0, None)
            first_fetch = fetch.attempted_at

        learner = first_learner(institution)
        with requests.Session() as learner_browser:
            launch_from_emulator(learner_browser, demo, learner, link_title=UNIT_TITLE)

        with requests.Session() as browser:
            outcome = launch_from_emulator(browser, demo, trainer, link_title=UNIT_TITLE)
            url = dashboard_url(demo, outcome.landing_url)
            page = browser.get(url, timeout=HTTP_TIMEOUT)
            remaining = expected_learners(institution, {learner.sub})
            assert learner.name not in remaining
            assert never_opened(page.text) == remaining, "the roster is cached; who launched is current"
            assert roster_fetch(settings).attempted_at == first_fetch, "a fresh roster is not refetched"

            age_roster(settings, hours=2)
            page = browser.get(url, timeout=HTTP_TIMEOUT)
            assert page.status_code == 200
            assert never_opened(page.text) == remaining
            refetched = roster_fetch(settings).fetched_at
            assert refetched is not None and refetched > first_fetch, \
                "a roster over an hour old is refetched when the dashboard opens"

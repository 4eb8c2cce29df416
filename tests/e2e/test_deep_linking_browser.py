"""Deep Linking in real Chromium: a trainer places a unit from the demo LMS, with axe-core on the picker.

The trainer opens "Place content" in the demo LMS's course page, picks a unit in the tool's
picker (inside the LMS's iframe), presses "Place in my course", and the tool's signed
response goes back to the LMS by itself; the LMS's course page then lists the new link.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from playwright.sync_api import Frame, Page, expect

from course_units.loader import load_catalog
from course_units.text import localise
from lti_tool.demo import DemoServers
from lti_tool.web.state import app_state
from tests.e2e.support import demo_in, launch_from_emulator
from tests.e2e.test_browser import axe_blocking, open_course_page
from tests.e2e.test_grades import deliver, start_attempt, submit
from tests.fixtures.browser import artifact_name
from tests.lti_tool.test_learning_flow import right_answers

pytestmark = pytest.mark.browser

UNIT = "u3-labs"
QUIZ = "u1-quiz"


@pytest.fixture(scope="module")
def demo(chromium: object, tmp_path_factory: pytest.TempPathFactory) -> Iterator[DemoServers]:
    """The demo on a temporary SQLite database, for this module's browser tests."""
    del chromium  # requested first: without a browser the demo is not started at all
    with demo_in(tmp_path_factory.mktemp("deep-linking-demo")) as servers:
        yield servers


def picker_frame(page: Page, demo: DemoServers) -> Frame:
    """Return the emulator's iframe once it shows the tool's picker."""
    expect(page.locator("iframe")).to_have_count(1)
    frame = page.locator("iframe").element_handle().content_frame()
    assert frame is not None, "the emulator's frame page has no content frame"
    frame.wait_for_url(re.compile(re.escape(demo.tool_url) + r"/deep-linking\?(.*&)?s="))
    frame.wait_for_load_state()
    return frame


def test_a_trainer_places_a_unit_from_the_demo_lms(
    page: Page, demo: DemoServers, artifacts_dir: Path, request: pytest.FixtureRequest,
) -> None:
    institution = demo.emulator.institutions[0]
    trainer = next(u for u in institution.users if u.role_label == "Trainer")
    unit = load_catalog().unit(UNIT)
    assert unit is not None
    unit_title = f"Unit {unit.order}: {localise(unit.title, 'en')}"

    open_course_page(page, demo)
    place_link = page.get_by_role("link", name=f"Place content (Deep Linking) as {trainer.name}", exact=True)
    href = place_link.get_attribute("href")
    assert href is not None
    page.goto(f"{demo.lms_url}{href}&locale=en")  # the link, asking for English as the other tests do
    frame = picker_frame(page, demo)
    expect(frame.get_by_role("heading", level=1)).to_have_text(
        "Place Learning 2 Innovate content in your course")
    expect(frame.get_by_role("group")).to_have_count(5)

    # axe-core on the picker, opened on its own in a second tab of the same browser.
    own = page.context.new_page()
    own.goto(frame.url)
    expect(own.get_by_role("button", name="Place in my course")).to_be_visible()
    blocking, report = axe_blocking(own)
    own.screenshot(path=artifacts_dir / artifact_name(request.node.name, "picker"), full_page=True)
    own.close()
    assert not blocking, report

    group = frame.get_by_role("group", name=unit_title)
    group.get_by_label("The whole unit").check()
    frame.get_by_role("button", name="Place in my course").click()

    # The signed response posts itself to the LMS, which shows what it placed.
    expect(frame.get_by_role("heading", level=1)).to_have_text(re.compile(r"^Content placed in "))
    expect(frame.get_by_role("rowheader", name=unit_title)).to_be_visible()
    page.screenshot(path=artifacts_dir / artifact_name(request.node.name, "placed"), full_page=True)

    open_course_page(page, demo)
    rows = page.get_by_role("rowheader").filter(has_text=unit_title)
    placed = rows.filter(has_text="placed by Deep Linking")
    expect(placed).to_have_count(1)
    expect(placed).to_contain_text(f"unit={UNIT}")


def test_a_placed_quiz_is_passed_and_its_score_lands_in_the_gradebook(page: Page, demo: DemoServers) -> None:
    """The whole chain: Deep Linking places the quiz, a learner passes it, the worker posts the score."""
    institution = demo.emulator.institutions[0]
    trainer = next(u for u in institution.users if u.role_label == "Trainer")
    learner = next(u for u in institution.users if u.role_label == "Learner")
    course = institution.courses[0]
    quiz = load_catalog().activity(QUIZ)
    assert quiz is not None

    open_course_page(page, demo)
    href = page.get_by_role("link", name=f"Place content (Deep Linking) as {trainer.name}",
                            exact=True).get_attribute("href")
    page.goto(f"{demo.lms_url}{href}&locale=en")
    frame = picker_frame(page, demo)
    frame.locator(f"#choose-{QUIZ}").check()
    frame.get_by_role("button", name="Place in my course").click()
    expect(frame.get_by_role("heading", level=1)).to_have_text(re.compile(r"^Content placed in "))
    placed = course.links[-1]
    assert placed.custom == {"activity": QUIZ}
    column = course.line_item_for_link(placed.id)
    assert column is not None and column.resource_id == QUIZ and column.score_maximum == 100

    with requests.Session() as browser:
        outcome = launch_from_emulator(browser, demo, learner, link_title=placed.title)
        assert f"/units/u1-challenges/activities/{QUIZ}" in outcome.landing_url
        attempt_url = start_attempt(browser, demo, outcome.landing_url, QUIZ)
        submit(browser, attempt_url, right_answers(quiz))
    deliver(app_state(demo.tool.app).settings)  # type: ignore[attr-defined]
    result = column.results[learner.sub]
    assert (result.score_given, result.grading_progress) == (100.0, "FullyGraded")

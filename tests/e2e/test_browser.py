"""The demo in real Chromium: launches from the emulator's page, accessibility (axe-core), keyboard."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Frame, Page, expect

from course_units.loader import load_catalog
from course_units.text import localise
from lms_emulator.platform import User
from lti_tool.demo import DemoServers
from tests.e2e.support import (
    PROGRAMME_LINK_TITLE,
    demo_in,
    first_learner,
    first_trainer,
)
from tests.fixtures.browser import artifact_name

pytestmark = pytest.mark.browser

BLOCKING_IMPACTS = ("serious", "critical")
MAX_TABS = 15


@pytest.fixture(scope="module")
def demo(chromium: object, tmp_path_factory: pytest.TempPathFactory) -> Iterator[DemoServers]:
    """The demo on a temporary SQLite database, for this module's browser tests."""
    del chromium  # requested first: without a browser the demo is not started at all
    with demo_in(tmp_path_factory.mktemp("browser-demo")) as servers:
        yield servers


def open_course_page(page: Page, demo: DemoServers) -> None:
    """Open the emulator's home page (what ``l2i demo`` prints) and go to the first course page."""
    institution = demo.emulator.institutions[0]
    page.goto(f"{demo.lms_url}/")
    page.get_by_role("link", name=f"Open the course page of {institution.name}", exact=True).click()
    page.wait_for_url(f"{demo.lms_url}/{institution.slug}/")
    expect(page.get_by_role("heading", level=1)).to_have_text(institution.name)


def landing_frame(page: Page, demo: DemoServers) -> Frame:
    """Return the frame showing the tool after a launch: in the emulator's iframe, or the tab itself."""
    page.wait_for_load_state()
    if page.url.startswith(demo.tool_url):
        frame = page.main_frame
    else:
        expect(page.locator("iframe")).to_have_count(1)
        found = page.locator("iframe").element_handle().content_frame()
        assert found is not None, "the emulator's frame page has no content frame"
        frame = found
    frame.wait_for_url(re.compile(re.escape(demo.tool_url) + r"/\?(.*&)?s="))
    frame.wait_for_load_state()
    return frame


def assert_units_page(frame: Frame, user: User) -> None:
    """The tool's units page for ``user``: five visible unit headings; a learner's progress bars."""
    units = load_catalog().units
    headings = frame.locator("ol.unit-list > li").get_by_role("heading", level=2)
    expect(headings).to_have_count(5)
    for unit, heading in zip(units, headings.all(), strict=True):
        expect(heading).to_be_visible()
        expect(heading).to_contain_text(localise(unit.title, user.locale))
    bars = frame.get_by_role("progressbar")
    studies = any(role.endswith("#Learner") for role in user.roles)
    expect(bars).to_have_count(5 if studies else 0)  # trainers do not study, so have no progress
    for bar in bars.all():
        expect(bar).to_have_accessible_name(re.compile(r"\S"))
    expect(frame.locator(".who")).to_contain_text(user.name)


def axe_blocking(page: Page) -> tuple[list[dict[str, Any]], str]:
    """Run axe-core on ``page``; return its serious/critical violations and a readable report."""
    results = Axe().run(page)
    violations: list[dict[str, Any]] = results.response["violations"]
    assert results.response["passes"], f"axe-core checked nothing on {page.url}: did it run?"
    lines = [f"axe-core on {page.url}: {len(violations)} violation(s)"]
    for violation in violations:
        targets = "; ".join(", ".join(node["target"]) for node in violation["nodes"])
        lines.append(f"- {violation['id']} ({violation['impact']}): {violation['help']} [{targets}]")
    print("\n".join(lines))  # kept in the captured output
    blocking = [v for v in violations if v["impact"] in BLOCKING_IMPACTS]
    return blocking, "\n".join(lines)


def check_axe(page: Page) -> None:
    """Fail on any serious or critical axe-core violation, listing them all."""
    blocking, report = axe_blocking(page)
    assert not blocking, report


def test_learner_launch_in_the_emulator_frame(
    page: Page, demo: DemoServers, artifacts_dir: Path, request: pytest.FixtureRequest
) -> None:
    learner = first_learner(demo.emulator.institutions[0])
    open_course_page(page, demo)
    page.get_by_role("link", name=f"Launch {PROGRAMME_LINK_TITLE} as {learner.name}", exact=True).click()
    frame = landing_frame(page, demo)
    assert_units_page(frame, learner)
    expect(frame.locator('a[href^="/trainer"]')).to_have_count(0)
    page.screenshot(path=artifacts_dir / artifact_name(request.node.name, "in-frame"), full_page=True)

    # The tool's own page, opened at the landing URL, must pass axe-core.
    landing_url = frame.url
    response = page.goto(landing_url)
    assert response is not None and response.status == 200
    assert_units_page(page.main_frame, learner)
    check_axe(page)


def test_welcome_and_error_pages_pass_axe(page: Page, demo: DemoServers) -> None:
    response = page.goto(f"{demo.tool_url}/")
    assert response is not None and response.status == 200
    expect(page.get_by_role("heading", level=1)).to_have_text("L2I Engine")
    expect(page.get_by_role("progressbar")).to_have_count(0)
    expect(page.locator(".who")).to_have_count(0)
    check_axe(page)

    response = page.goto(f"{demo.tool_url}/trainer")
    assert response is not None and response.status == 401
    expect(page.get_by_role("heading", level=1)).to_be_visible()
    expect(page.locator(".error-message")).to_contain_text("Open the activity again from your LMS")
    check_axe(page)

    page.set_content(
        f'<form method="post" action="{demo.tool_url}/lti/launch">'
        '<input type="hidden" name="id_token" value="not.a.jwt">'
        '<input type="hidden" name="state" value="state-garbage">'
        "<button>Send</button></form>"
    )
    with page.expect_navigation() as navigation:
        page.get_by_role("button", name="Send").click()
    refused = navigation.value
    assert refused is not None and 400 <= refused.status < 500, refused and refused.status
    assert page.url == f"{demo.tool_url}/lti/launch"
    expect(page.get_by_role("heading", level=1)).to_be_visible()
    expect(page.locator(".error-message")).not_to_be_empty()
    check_axe(page)


def test_instructor_reaches_the_trainer_dashboard_by_keyboard(page: Page, demo: DemoServers) -> None:
    trainer = first_trainer(demo.emulator.institutions[0])
    open_course_page(page, demo)
    with page.context.expect_page() as opened:
        # Chromium computes the name as "New window : ..." (the hidden span is out of flow).
        name = re.compile(rf"^New window\s*: {re.escape(PROGRAMME_LINK_TITLE)} as {re.escape(trainer.name)}$")
        page.get_by_role("link", name=name).click()
    window = opened.value
    frame = landing_frame(window, demo)
    assert_units_page(frame, trainer)
    dashboard_link = window.locator('a[href^="/trainer"]')
    expect(dashboard_link).to_have_count(1)
    expect(dashboard_link).to_be_visible()

    window.bring_to_front()
    for _ in range(MAX_TABS):
        window.keyboard.press("Tab")
        if dashboard_link.evaluate("link => link === document.activeElement"):
            break
    else:
        focused = window.evaluate("document.activeElement && document.activeElement.outerHTML")
        pytest.fail(f"{MAX_TABS} presses of Tab never reached the trainer dashboard link (focus: {focused})")
    expect(dashboard_link).to_be_focused()
    outline = dashboard_link.evaluate("link => getComputedStyle(link).outlineStyle")
    assert outline != "none", "the focused trainer link shows no focus outline"

    window.keyboard.press("Enter")
    window.wait_for_url(re.compile(re.escape(demo.tool_url) + r"/trainer\?(.*&)?s="))
    expect(window.get_by_role("heading", level=1)).to_be_visible()
    expect(window.locator(".who")).to_contain_text(trainer.name)
    check_axe(window)


def test_axe_check_can_fail(page: Page) -> None:
    """The axe check above is not vacuous: it catches a page with known serious faults."""
    page.set_content('<html><body><img src="data:,"><a href="/x"></a><input></body></html>')
    blocking, report = axe_blocking(page)
    found = {v["id"] for v in blocking}
    assert {"image-alt", "link-name", "label", "html-has-lang"} <= found, report

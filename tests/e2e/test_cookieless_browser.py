"""A launch inside the LMS's iframe with the tool cross-site, in real Chromium.

The tool runs at ``http://localhost:<port>`` and the demo LMS at ``http://127.0.0.1:<port>``:
two sites, so the tool's state cookie (``SameSite=Lax`` on http) never comes back to its
launch inside the LMS's frame. Without ``lti_storage_target`` that launch ends on the
"open in a new window" page; with it, the state goes through the LMS frame's storage
(LTI Client Side postMessages) and the launch lands on the tool's page.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from urllib.parse import urlencode

import pytest
from playwright.sync_api import Frame, Page, expect

from lms_emulator.platform import Institution, User
from lti_tool.demo import DemoServers
from tests.e2e.support import demo_in

pytestmark = pytest.mark.browser

UNIT = "u1-challenges"


@pytest.fixture(scope="module")
def cross_site_demo(chromium: object, tmp_path_factory: pytest.TempPathFactory) -> Iterator[DemoServers]:
    """The demo with the tool on ``localhost`` and the LMS on ``127.0.0.1`` (two different sites)."""
    del chromium
    with demo_in(tmp_path_factory.mktemp("cookieless-demo"), tool_host="localhost") as servers:
        yield servers


def learner(institution: Institution) -> User:
    return next(u for u in institution.users if u.launches and u.role_label == "Learner")


def open_in_frame(page: Page, demo: DemoServers, **extra: str) -> Frame:
    place = demo.emulator.institutions[0]
    link = next(link for link in place.courses[0].links if link.custom.get("unit") == UNIT)
    query = {"user": learner(place).sub, "link": link.id, "locale": "en", **extra}
    assert demo.lms_url.startswith("http://127.0.0.1:") and demo.tool_url.startswith("http://localhost:")
    page.goto(f"{demo.lms_url}/{place.slug}/frame?{urlencode(query)}")
    found = page.locator("iframe").element_handle().content_frame()
    assert found is not None
    return found


def test_without_platform_storage_the_cross_site_launch_asks_for_a_new_window(
    page: Page, cross_site_demo: DemoServers
) -> None:
    frame = open_in_frame(page, cross_site_demo)
    expect(frame.get_by_role("link", name="Open in a new window")).to_be_visible()
    assert "/lti/launch" in frame.url


def test_platform_storage_launches_without_the_cookie(page: Page, cross_site_demo: DemoServers) -> None:
    errors: list[str] = []
    page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    posted: list[dict[str, str]] = []
    page.on("request", lambda request: posted.append(request.post_data_json or {})
            if request.method == "POST" and request.url.endswith("/lti/launch") else None)
    place = cross_site_demo.emulator.institutions[0]
    frame = open_in_frame(page, cross_site_demo, storage_target="_parent")
    frame.wait_for_url(re.compile(re.escape(cross_site_demo.tool_url) + rf"/units/{UNIT}\?(.*&)?s="))
    expect(frame.locator(".who")).to_contain_text(learner(place).name)
    assert [sorted(p) for p in posted] == [
        ["id_token", "lti_storage_target", "state"],
        ["id_token", "lti_storage_state", "lti_storage_target", "state"],
    ], "the first launch POST must have lacked the cookie and gone through the verify page"
    assert posted[1]["lti_storage_state"] == posted[1]["state"]
    assert not [e for e in errors if "Content Security Policy" in e], errors

"""Helpers shared by the end-to-end tests: the demo started in-process, and a scripted browser.

The scripted browser is a ``requests.Session`` that keeps cookies and follows every hop of
an LTI launch by hand (no redirect following, no shortcut through the emulator's objects):
the emulator's course page, its frame page, its login initiation, the tool's OIDC login,
the emulator's authorization endpoint and its self-submitting form, the tool's launch.
"""

from __future__ import annotations

import dataclasses
import re
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from urllib.parse import urljoin, urlsplit

import requests

from lms_emulator.platform import Institution, User
from lti_tool.demo import DemoServers, build_demo
from lti_tool.settings import Settings
from lti_tool.web.state import app_state
from tests.fixtures.servers import free_port

HTTP_TIMEOUT = 10
PROGRAMME_LINK_TITLE = "L2I programme"
UNIT_ITEM = re.compile(r'<li class="unit[ "]')
HEADINGS = frozenset({"h1", "h2", "h3", "h4", "h5", "h6"})


def demo_settings(database_url: str, instance_path: Path, port: int) -> Settings:
    """Settings for a demo tool at ``http://127.0.0.1:<port>`` on ``database_url``."""
    return Settings(
        base_url=f"http://127.0.0.1:{port}",
        secret_key=secrets.token_urlsafe(48),
        database_url=database_url,
        instance_path=instance_path,
        http_timeout=5.0,
    )


@contextmanager
def running_demo(settings: Settings, port: int, lms_port: int,
                 institutions: int = 1) -> Iterator[DemoServers]:
    """Build and start the demo (tool + emulator); stop it and release its database on exit."""
    servers = build_demo(settings, host="127.0.0.1", port=port, lms_port=lms_port, institutions=institutions)
    servers.start()
    try:
        yield servers
    finally:
        servers.stop()
        app_state(servers.tool.app).engine.dispose()  # type: ignore[attr-defined]


@contextmanager
def demo_in(path: Path, *, institutions: int = 1, tool_host: str = "127.0.0.1",
            **changes: Any) -> Iterator[DemoServers]:
    """Run the demo on free ports with a fresh SQLite database in ``path``.

    ``tool_host`` is the host in the tool's base URL (``localhost`` puts it on another site than
    the emulator); ``changes`` amend the tool's settings.
    """
    port, lms_port = free_port(), free_port()
    settings = dataclasses.replace(demo_settings(f"sqlite:///{path / 'demo.sqlite3'}", path, port),
                                   base_url=f"http://{tool_host}:{port}", **changes)
    with running_demo(settings, port, lms_port, institutions=institutions) as servers:
        yield servers


@dataclass
class Anchor:
    """A link on a page: its target and its text as a screen reader reads it."""

    href: str
    text: str


@dataclass
class Form:
    """A form on a page."""

    action: str
    method: str
    fields: dict[str, str] = field(default_factory=dict)
    hidden: set[str] = field(default_factory=set)


class PageParser(HTMLParser):
    """Collects a page's links (with their full text), iframes and forms."""

    def __init__(self) -> None:
        super().__init__()
        self.anchors: list[Anchor] = []
        self.iframes: list[dict[str, str]] = []
        self.forms: list[Form] = []
        self.headings: list[tuple[str, str]] = []
        self._open_anchor: tuple[str, list[str]] | None = None
        self._open_heading: tuple[str, list[str]] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag in HEADINGS:
            self._open_heading = (tag, [])
        elif tag == "a" and "href" in a:
            self._open_anchor = (a["href"], [])
        elif tag == "iframe":
            self.iframes.append(a)
        elif tag == "form":
            self.forms.append(Form(action=a.get("action", ""), method=a.get("method", "get").lower()))
        elif tag == "input" and self.forms and a.get("name"):
            self.forms[-1].fields[a["name"]] = a.get("value", "")
            if a.get("type") == "hidden":
                self.forms[-1].hidden.add(a["name"])

    def handle_data(self, data: str) -> None:
        for open_element in (self._open_anchor, self._open_heading):
            if open_element is not None:
                open_element[1].append(data)

    def handle_endtag(self, tag: str) -> None:
        if tag == "a" and self._open_anchor is not None:
            href, parts = self._open_anchor
            self.anchors.append(Anchor(href=href, text=" ".join("".join(parts).split())))
            self._open_anchor = None
        if tag in HEADINGS and self._open_heading is not None:
            level, parts = self._open_heading
            self.headings.append((level, " ".join("".join(parts).split())))
            self._open_heading = None


def parse_page(html: str) -> PageParser:
    """Parse ``html`` and return what it holds."""
    parser = PageParser()
    parser.feed(html)
    parser.close()
    return parser


def first_learner(institution: Institution) -> User:
    """Return the institution's first seeded user who launches as a plain Learner."""
    return next(u for u in institution.users if u.launches and u.role_label == "Learner")


def first_trainer(institution: Institution) -> User:
    """Return the institution's first seeded Trainer (Instructor)."""
    return next(u for u in institution.users if u.role_label == "Trainer")


@dataclass
class LaunchOutcome:
    """Where a scripted launch ended: the tool's landing URL and the page it showed."""

    landing_url: str
    page: requests.Response
    hops: list[str]


def _get(browser: requests.Session, url: str) -> requests.Response:
    return browser.get(url, allow_redirects=False, timeout=HTTP_TIMEOUT)


def launch_from_emulator(
    browser: requests.Session, demo: DemoServers, user: User, link_title: str = PROGRAMME_LINK_TITLE
) -> LaunchOutcome:
    """Launch ``link_title`` as ``user`` the way a person does, from the emulator's course page."""
    institution = demo.emulator.institutions[0]
    hops: list[str] = []

    # Where ``l2i demo`` tells a person to go: the emulator's home page, then the course page.
    home_url = f"{demo.lms_url}/"
    home = _get(browser, home_url)
    assert home.status_code == 200, home.text
    course_links = [a for a in parse_page(home.text).anchors
                    if a.text == f"Open the course page of {institution.name}"]
    assert len(course_links) == 1, f"no link to {institution.name}'s course page on {home_url}"
    course_url = urljoin(home_url, course_links[0].href)
    course_page = _get(browser, course_url)
    assert course_page.status_code == 200, course_page.text
    wanted = f"Launch {link_title} as {user.name}"
    matches = [a for a in parse_page(course_page.text).anchors if a.text == wanted]
    assert len(matches) == 1, f"expected one link {wanted!r} on {course_url}"

    frame_url = urljoin(course_url, matches[0].href)
    frame_page = _get(browser, frame_url)
    assert frame_page.status_code == 200, frame_page.text
    iframes = parse_page(frame_page.text).iframes
    assert len(iframes) == 1, f"the frame page should embed the launch once: {iframes}"

    initiation_url = urljoin(frame_url, iframes[0]["src"])
    initiation = _get(browser, initiation_url)
    hops.append(initiation_url)
    assert initiation.status_code == 302, initiation.text
    login_url = urljoin(initiation_url, initiation.headers["Location"])
    assert login_url.startswith(f"{demo.tool_url}/lti/login?"), login_url

    login = _get(browser, login_url)
    hops.append(login_url)
    assert login.status_code == 302, login.text
    auth_url = urljoin(login_url, login.headers["Location"])
    assert auth_url.startswith(f"{institution.issuer}/auth?"), auth_url
    assert any(c.name.startswith("lti1p3-") for c in browser.cookies), "the tool set no state cookie"

    auth = _get(browser, auth_url)
    hops.append(auth_url)
    assert auth.status_code == 200, auth.text
    forms = parse_page(auth.text).forms
    assert len(forms) == 1, auth.text
    form = forms[0]
    assert form.method == "post"
    assert form.action == f"{demo.tool_url}/lti/launch"
    assert {"id_token", "state"} <= form.hidden, form

    launch = browser.post(form.action, data=form.fields, allow_redirects=False, timeout=HTTP_TIMEOUT)
    hops.append(form.action)
    assert launch.status_code == 303, launch.text
    landing_url = urljoin(form.action, launch.headers["Location"])
    assert urlsplit(landing_url).netloc == urlsplit(demo.tool_url).netloc, landing_url

    page = _get(browser, landing_url)
    hops.append(landing_url)
    assert page.status_code == 200, page.text
    return LaunchOutcome(landing_url=landing_url, page=page, hops=hops)


def headings(html: str, level: str) -> list[str]:
    """Return the text of the page's headings of ``level`` (``"h1"``, ``"h2"``...)."""
    return [text for tag, text in parse_page(html).headings if tag == level]


def signed_in_name(html: str) -> str | None:
    """Return the text of the tool's "Signed in as ..." line, if the page has one."""
    found = re.search(r'<p class="who">(.*?)</p>', html, re.S)
    return " ".join(found.group(1).split()) if found else None

"""Cookie-less OIDC login and launch through the platform's storage (LTI Client Side postMessages).

The browser's half (the postMessage exchange) is played here by reading the pages' data
attributes and posting what the platform's frame would answer; the real exchange runs in
Chromium in ``tests/e2e/test_cookieless_browser.py``.
"""

from __future__ import annotations

import html
from dataclasses import dataclass
from html.parser import HTMLParser
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
import requests
from flask.testing import FlaskClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from werkzeug.test import TestResponse

from lms_emulator.oidc import initiate_launch
from lti_tool.models import LtiValue, ToolSession
from tests.fixtures.lti import LaunchDriver, local_path, parse_form
from tests.fixtures.servers import TOOL_BASE_URL

TOOL_ORIGIN = TOOL_BASE_URL


class _StorageParser(HTMLParser):
    """The attributes of the page's #lti-storage element, and the scripts it loads."""

    def __init__(self) -> None:
        super().__init__()
        self.data: dict[str, str] = {}
        self.scripts: list[tuple[str, str | None]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if found.get("id") == "lti-storage":
            self.data = {k[5:]: v or "" for k, v in attrs if k.startswith("data-")}
        if tag == "script":
            self.scripts.append((found.get("src") or "", None))


def storage_element(page: str) -> _StorageParser:
    parser = _StorageParser()
    parser.feed(page)
    assert parser.data, "no #lti-storage element in the page"
    return parser


@dataclass
class StorageLogin:
    """The tool's answer to a login with ``lti_storage_target``: the page's instructions."""

    response: TestResponse
    data: dict[str, str]

    @property
    def auth_url(self) -> str:
        return self.data["next"]

    @property
    def state(self) -> str:
        return self.data["state"]


def start_storage_login(driver: LaunchDriver, target: str = "_parent", link: Any = None) -> StorageLogin:
    """Follow the emulator's login initiation (offering its storage) into the tool's login page."""
    inst = driver.institution()
    params = {"user": driver.user("Learner").sub, "link": (link or driver.link(None)).id, "locale": "en",
              "storage_target": target}
    initiation = requests.get(f"{driver.emulator.url}/{inst.slug}/launch", params=params,
                              allow_redirects=False, timeout=5)
    assert initiation.status_code == 302, initiation.text
    response = driver.client.get(local_path(initiation.headers["Location"]))
    assert response.status_code == 200, response.get_data(as_text=True)
    return StorageLogin(response, storage_element(response.get_data(as_text=True)).data)


def authorize(login: StorageLogin) -> dict[str, str]:
    """The platform's id_token form for this login."""
    response = requests.get(login.auth_url, timeout=5)
    assert response.status_code == 200, response.text
    action, fields = parse_form(response.text)
    assert action == f"{TOOL_BASE_URL}/lti/launch"
    return fields


def cookieless(driver: LaunchDriver) -> FlaskClient:
    """The same person's browser as seen by the tool inside the frame: without its cookies."""
    return driver.client.application.test_client()


def verify_page(client: FlaskClient, fields: dict[str, str]) -> tuple[dict[str, str], dict[str, str]]:
    """POST the launch without the cookie; return the verify page's storage data and form fields."""
    response = client.post("/lti/launch", data=fields)
    page = response.get_data(as_text=True)
    assert response.status_code == 200, page
    _, form = parse_form(page)
    return storage_element(page).data, form


def resubmit(client: FlaskClient, form: dict[str, str], value: str,
             origin: str | None = TOOL_ORIGIN) -> TestResponse:
    """What the verify page's script posts once the platform answered ``value``."""
    headers = {"Origin": origin} if origin else {}
    return client.post("/lti/launch", data={**form, "lti_storage_state": value}, headers=headers)


def sessions(db_session: Session) -> int:
    db_session.expire_all()
    return int(db_session.scalar(select(func.count()).select_from(ToolSession)) or 0)


def text(response: TestResponse) -> str:
    return html.unescape(response.get_data(as_text=True))


# -- the login -------------------------------------------------------------------------------


def test_login_with_storage_target_answers_with_the_put_data_page(driver: LaunchDriver) -> None:
    login = start_storage_login(driver)
    inst = driver.institution()
    auth = urlsplit(inst.auth_login_url)
    assert login.data["mode"] == "put"
    assert login.data["target"] == "_parent"
    assert login.data["origin"] == f"{auth.scheme}://{auth.netloc}"
    query = parse_qs(urlsplit(login.auth_url).query)
    assert login.auth_url.startswith(inst.auth_login_url + "?")
    assert query["lti_storage_target"] == ["_parent"]
    assert query["state"] == [login.state]
    assert query["nonce"] == [login.data["nonce"]]
    scripts = storage_element(login.response.get_data(as_text=True)).scripts
    assert [src for src, _ in scripts] == ["/static/lti-storage.js"]
    assert "<script>" not in login.response.get_data(as_text=True)
    assert login.response.headers["Cache-Control"] == "no-store"
    assert "script-src 'self'" in login.response.headers["Content-Security-Policy"]


def test_login_still_sets_the_state_cookie(driver: LaunchDriver) -> None:
    login = start_storage_login(driver)
    cookie = driver.client.get_cookie(f"lti1p3-{login.state}")
    assert cookie is not None and cookie.value == login.state


def test_login_records_the_platform_storage_with_the_state(driver: LaunchDriver, db_session: Session) -> None:
    login = start_storage_login(driver, target="lti-storage-frame")
    row = db_session.get(LtiValue, f"lti1p3-{login.state}")
    assert row is not None
    assert row.value["storage"] == {"target": "lti-storage-frame", "origin": login.data["origin"]}
    assert row.value["nonce"] == login.data["nonce"]


def test_the_origin_comes_from_the_registration_not_the_request(driver: LaunchDriver) -> None:
    inst = driver.institution()
    url = initiate_launch(inst, user_sub=driver.user("Learner").sub, link_id=driver.link(None).id,
                          storage_target="_parent")
    forged = url + "&" + urlencode({"lti_storage_origin": "https://attacker.example",
                                    "auth_login_url": "https://attacker.example/auth"})
    response = driver.client.get(local_path(forged))
    page = response.get_data(as_text=True)
    data = storage_element(page).data
    auth = urlsplit(inst.auth_login_url)
    assert data["origin"] == f"{auth.scheme}://{auth.netloc}"
    assert "attacker.example" not in page
    assert '"*"' not in page


@pytest.mark.parametrize("target", [
    "../x", "a" * 65, "<script>alert(1)</script>", "_parent x", "https://attacker.example", "frame.1",
])
def test_a_malformed_storage_target_is_refused(driver: LaunchDriver, target: str) -> None:
    inst = driver.institution()
    url = initiate_launch(inst, user_sub=driver.user("Learner").sub, link_id=driver.link(None).id,
                          storage_target=target)
    response = driver.client.get(local_path(url))
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert "lti_storage_target must be" in text(response)
    assert "<script>alert(1)</script>" not in page


def test_without_storage_target_the_login_still_redirects(driver: LaunchDriver) -> None:
    login = driver.start_login(driver.user("Learner"), driver.link(None))
    assert "lti_storage_target" not in login.auth_url


# -- the launch ----------------------------------------------------------------------------------


def test_cookieless_launch_through_the_platform_storage(driver: LaunchDriver, db_session: Session) -> None:
    login = start_storage_login(driver)
    fields = authorize(login)
    assert fields["lti_storage_target"] == "_parent"
    browser = cookieless(driver)
    data, form = verify_page(browser, fields)
    assert data == {"mode": "get", "target": "_parent", "origin": login.data["origin"],
                    "key": f"state_{login.state}"}
    assert form["id_token"] == fields["id_token"] and form["state"] == login.state
    assert form["lti_storage_state"] == ""
    before = sessions(db_session)
    response = resubmit(browser, form, login.state)
    assert response.status_code == 303, text(response)
    assert "s=" in response.headers["Location"]
    assert sessions(db_session) == before + 1


def test_verify_page_is_not_cached_and_runs_no_inline_script(driver: LaunchDriver) -> None:
    login = start_storage_login(driver)
    response = cookieless(driver).post("/lti/launch", data=authorize(login))
    assert response.headers["Cache-Control"] == "no-store"
    assert "<script>" not in response.get_data(as_text=True)
    assert "new window" in text(response)  # the <noscript> way out


def test_with_the_cookie_the_launch_needs_no_platform_storage(driver: LaunchDriver) -> None:
    login = start_storage_login(driver)
    response = driver.post_launch(authorize(login))
    assert response.status_code == 303, text(response)


def test_a_different_state_from_the_platform_is_refused(driver: LaunchDriver, db_session: Session) -> None:
    login = start_storage_login(driver)
    browser = cookieless(driver)
    _, form = verify_page(browser, authorize(login))
    before = sessions(db_session)
    for value in ("", "state-someone-else", login.state + "x"):
        response = resubmit(browser, form, value)
        assert response.status_code == 401
        assert "not started in this browser" in text(response)
    assert sessions(db_session) == before
    assert resubmit(browser, form, login.state).status_code == 303  # the nonce was not spent


def test_a_claimed_check_for_a_cookie_login_is_refused(driver: LaunchDriver, db_session: Session) -> None:
    login = driver.start_login(driver.user("Learner"), driver.link(None))
    fields = driver.authorize(login)
    browser = cookieless(driver)
    before = sessions(db_session)
    response = resubmit(browser, fields, login.state)
    assert response.status_code == 401
    assert "did not use the learning platform's storage" in text(response)
    assert sessions(db_session) == before


@pytest.mark.parametrize("origin", [None, "https://attacker.example", "http://127.0.0.1"])
def test_a_claimed_check_from_another_page_is_refused(
    driver: LaunchDriver, db_session: Session, origin: str | None
) -> None:
    login = start_storage_login(driver)
    browser = cookieless(driver)
    _, form = verify_page(browser, authorize(login))
    before = sessions(db_session)
    response = resubmit(browser, form, login.state, origin=origin)
    assert response.status_code == 403
    assert "did not make" in text(response)
    assert sessions(db_session) == before


def test_a_verified_launch_cannot_be_replayed(driver: LaunchDriver) -> None:
    login = start_storage_login(driver)
    browser = cookieless(driver)
    _, form = verify_page(browser, authorize(login))
    assert resubmit(browser, form, login.state).status_code == 303
    replay = resubmit(cookieless(driver), form, login.state)
    assert replay.status_code == 401


def test_the_id_token_of_one_storage_login_with_the_state_of_another(driver: LaunchDriver) -> None:
    first, second = start_storage_login(driver), start_storage_login(driver)
    fields = authorize(first)
    browser = cookieless(driver)
    forged = {**fields, "state": second.state}
    response = resubmit(browser, forged, second.state)
    assert response.status_code == 401
    assert "another login" in text(response)


def test_a_malformed_storage_target_on_the_launch_is_refused(driver: LaunchDriver) -> None:
    login = start_storage_login(driver)
    fields = {**authorize(login), "lti_storage_target": "<b>x</b>"}
    response = cookieless(driver).post("/lti/launch", data=fields)
    assert response.status_code == 400
    assert "lti_storage_target must be" in text(response)


def test_an_unknown_state_gets_no_verify_page(driver: LaunchDriver) -> None:
    login = start_storage_login(driver)
    fields = {**authorize(login), "state": "state-unknown"}
    response = cookieless(driver).post("/lti/launch", data=fields)
    assert response.status_code == 401
    assert fields["id_token"] not in response.get_data(as_text=True)


def test_without_storage_the_blocked_cookie_page_stays(driver: LaunchDriver) -> None:
    login = driver.start_login(driver.user("Learner"), driver.link(None))
    response = cookieless(driver).post("/lti/launch", data=driver.authorize(login))
    assert response.status_code == 401
    page = text(response)
    assert "new window" in page and "lti1p3_new_window=1" in page
    assert "lti-storage" not in page

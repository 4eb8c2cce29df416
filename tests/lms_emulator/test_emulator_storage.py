"""The emulator's side of LTI Client Side postMessages: lti_storage_target and the frame's storage.

The storage itself is JavaScript in the course frame page; Chromium runs it in
``tests/e2e/test_cookieless_browser.py``. Here: the parameters and the page's guard.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from lms_emulator.platform import Institution
from tests.lms_emulator.conftest import TOOL_BASE, query_of


def test_launch_offers_the_storage_target_only_when_asked(client: FlaskClient) -> None:
    plain = client.get("/linkoping/launch?user=4&link=2")
    assert "lti_storage_target" not in query_of(plain.headers["Location"])
    offered = client.get("/linkoping/launch?user=4&link=2&storage_target=_parent")
    assert query_of(offered.headers["Location"])["lti_storage_target"] == "_parent"


def test_auth_form_posts_the_storage_target_back(
    client: FlaskClient, auth_params: Callable[..., dict[str, str]],
    read_form: Callable[[TestResponse], dict[str, Any]],
) -> None:
    params = auth_params()
    plain = read_form(client.get("/linkoping/auth", query_string=params))
    assert set(plain["inputs"]) == {"id_token", "state"}
    params["lti_storage_target"] = "_parent"
    form = read_form(client.get("/linkoping/auth", query_string=params))
    assert form["inputs"]["lti_storage_target"] == "_parent"


def test_auth_form_escapes_the_storage_target(
    client: FlaskClient, auth_params: Callable[..., dict[str, str]],
) -> None:
    params = {**auth_params(), "lti_storage_target": '"><script>x()</script>'}
    html = client.get("/linkoping/auth", query_string=params).get_data(as_text=True)
    assert "<script>x()" not in html


def test_frame_page_passes_the_storage_target_to_its_launch(client: FlaskClient) -> None:
    html = client.get("/linkoping/frame?user=4&link=3&storage_target=_parent").get_data(as_text=True)
    assert "storage_target=_parent" in html


def test_frame_storage_answers_the_tool_origin_only(client: FlaskClient, institution: Institution) -> None:
    assert institution.tool_origin == TOOL_BASE
    html = client.get("/linkoping/frame?user=4&link=3").get_data(as_text=True)
    assert f'var toolOrigin = "{TOOL_BASE}";' in html
    assert "event.origin !== toolOrigin || event.source !== frame.contentWindow" in html
    assert "postMessage(answer, event.origin)" in html
    assert '"*"' not in html
    for subject in ("lti.capabilities", "lti.put_data", "lti.get_data"):
        assert f'"{subject}"' in html

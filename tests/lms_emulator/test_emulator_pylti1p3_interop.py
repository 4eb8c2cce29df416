# mypy: disable-error-code="no-untyped-call, attr-defined, arg-type"
# (pylti1p3 is only partly typed and re-exports implicitly.)
"""Interop: a minimal tool built on pylti1p3 (the tool's LTI library) against the live emulator.

The tool is a throwaway Flask app here; the emulator runs on a real socket, because
pylti1p3 fetches the platform's JWKS and calls its token, AGS and NRPS endpoints with
requests.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import urlsplit

import pytest
import requests
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from flask import Flask, jsonify
from flask.testing import FlaskClient
from pylti1p3.contrib.flask import FlaskMessageLaunch, FlaskOIDCLogin, FlaskRequest
from pylti1p3.deep_link_resource import DeepLinkResource
from pylti1p3.grade import Grade
from pylti1p3.lineitem import LineItem
from pylti1p3.tool_config import ToolConfDict
from werkzeug.test import TestResponse

from lms_emulator import vocabulary as v
from lms_emulator.server import RunningEmulator, start_emulator

TOOL = "http://tool.test"


def pem(key: rsa.RSAPrivateKey, *, public: bool) -> str:
    if public:
        return (
            key.public_key()
            .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
            .decode()
        )
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()


class ToolSide:
    """The emulator and the JWKS its tool publishes (filled in once pylti1p3 is configured)."""

    def __init__(self, emulator: RunningEmulator, tool_jwks: dict[str, Any]) -> None:
        self.emulator = emulator
        self.tool_jwks = tool_jwks
        self.base_url = emulator.base_url
        self.config = emulator.config


def make_tool(running: ToolSide, tool_key: rsa.RSAPrivateKey) -> Flask:
    institution = running.config.institutions[0]
    reg = institution.registration()
    settings = {
        reg["issuer"]: [
            {
                "default": True,
                "client_id": reg["client_id"],
                "auth_login_url": reg["auth_login_url"],
                "auth_token_url": reg["auth_token_url"],
                "key_set_url": reg["key_set_url"],
                "key_set": None,
                "deployment_ids": [reg["deployment_id"]],
            }
        ]
    }
    tool_conf = ToolConfDict(settings)
    tool_conf.set_private_key(reg["issuer"], pem(tool_key, public=False), client_id=reg["client_id"])
    tool_conf.set_public_key(reg["issuer"], pem(tool_key, public=True), client_id=reg["client_id"])
    running.tool_jwks.update(tool_conf.get_jwks())

    app = Flask("interop-tool")
    app.secret_key = "test-only"

    @app.route("/lti/login", methods=["GET", "POST"])
    def login() -> Any:
        request = FlaskRequest()
        oidc = FlaskOIDCLogin(request, tool_conf)
        return oidc.redirect(request.get_param("target_link_uri"))

    @app.post("/lti/launch")
    def launch() -> Any:
        message_launch = FlaskMessageLaunch(FlaskRequest(), tool_conf)
        data = message_launch.get_launch_data()
        summary: dict[str, Any] = {"sub": data["sub"], "message_type": data[v.CLAIM_MESSAGE_TYPE]}
        if message_launch.is_deep_link_launch():
            line_item = LineItem().set_score_maximum(10).set_label("U2 quiz").set_tag("quiz")
            resource = (
                DeepLinkResource()
                .set_url(f"{TOOL}/lti/launch")
                .set_title("Unit 2 quiz")
                .set_custom_params({"unit": "u2-social-innovation"})
                .set_lineitem(line_item)
            )
            summary["dl_jwt"] = message_launch.get_deep_link().get_response_jwt([resource])
            return jsonify(summary)
        grade = (
            Grade()
            .set_score_given(7)
            .set_score_maximum(10)
            .set_timestamp(time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime()))
            .set_activity_progress("Completed")
            .set_grading_progress("FullyGraded")
            .set_user_id(data["sub"])
        )
        message_launch.get_ags().put_grade(grade)
        summary["members"] = [member["user_id"] for member in message_launch.get_nrps().get_members()]
        return jsonify(summary)

    return app


@pytest.fixture
def running() -> Iterator[ToolSide]:
    published: dict[str, Any] = {}
    emulator = start_emulator(TOOL, jwks_fetcher=lambda url: published)
    try:
        yield ToolSide(emulator, published)
    finally:
        emulator.stop()


def launch_into_tool(
    running: ToolSide,
    tool: FlaskClient,
    read_form: Callable[..., dict[str, Any]],
    **launch_args: str,
) -> TestResponse:
    with requests.Session() as http:
        start = http.get(f"{running.base_url}/linkoping/launch", params=launch_args, allow_redirects=False)
        login_url = urlsplit(start.headers["Location"])
        assert f"{login_url.scheme}://{login_url.netloc}" == TOOL
        to_auth = tool.get(f"{login_url.path}?{login_url.query}")
        assert to_auth.status_code == 302, to_auth.get_data(as_text=True)
        auth = http.get(to_auth.headers["Location"])
        assert auth.status_code == 200, auth.text
    form = read_form(auth.text)
    return tool.post(urlsplit(form["action"]).path, data=form["inputs"])


def test_pylti1p3_resource_link_launch_grade_and_roster(
    running: ToolSide, tool_key: rsa.RSAPrivateKey, read_form: Callable[..., dict[str, Any]]
) -> None:
    tool = make_tool(running, tool_key).test_client()
    response = launch_into_tool(running, tool, read_form, user="5", link="3")
    assert response.status_code == 200, response.get_data(as_text=True)
    summary = response.get_json()
    assert summary["sub"] == "5"
    assert summary["message_type"] == v.MESSAGE_RESOURCE_LINK
    institution = running.config.institutions[0]
    assert summary["members"] == [user.sub for user in institution.users], "pylti1p3 followed every rel=next"
    line_item = institution.courses[0].line_item_for_link("3")
    assert line_item is not None
    result = line_item.results["5"]
    assert (result.score_given, result.score_maximum, result.grading_progress) == (7.0, 10.0, "FullyGraded")


def test_pylti1p3_deep_linking_round_trip(
    running: ToolSide, tool_key: rsa.RSAPrivateKey, read_form: Callable[..., dict[str, Any]]
) -> None:
    tool = make_tool(running, tool_key).test_client()
    response = launch_into_tool(running, tool, read_form, user="3", message="deeplink")
    assert response.status_code == 200, response.get_data(as_text=True)
    dl_jwt = response.get_json()["dl_jwt"]
    with requests.Session() as http:
        placed = http.post(f"{running.base_url}/linkoping/dl/return", data={"JWT": dl_jwt})
    assert placed.status_code == 200, placed.text
    course = running.config.institutions[0].courses[0]
    link = course.links[-1]
    assert (link.title, link.custom, link.placed_by_deep_linking) == (
        "Unit 2 quiz",
        {"unit": "u2-social-innovation"},
        True,
    )
    line_item = course.line_item_for_link(link.id)
    assert line_item is not None
    assert (line_item.label, line_item.score_maximum, line_item.tag) == ("U2 quiz", 10.0, "quiz")

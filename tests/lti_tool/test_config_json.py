"""The Canvas-style JSON configuration at /lti/config.json."""

from __future__ import annotations

from pathlib import Path

from flask import Flask

from lti_tool import vocabulary as v
from lti_tool.app import create_app
from lti_tool.registration import TOOL_SCOPES, tool_configuration
from lti_tool.web.state import app_state
from tests.fixtures.lti import make_settings
from tests.fixtures.servers import TOOL_BASE_URL


def test_config_json_shape(app: Flask) -> None:
    response = app.test_client().get("/lti/config.json")
    assert response.status_code == 200
    assert response.mimetype == "application/json"
    assert response.cache_control.public and response.cache_control.max_age == 300
    config = response.get_json()
    assert config["title"] == "L2I Engine"
    assert config["description"]
    assert config["oidc_initiation_url"] == f"{TOOL_BASE_URL}/lti/login"
    assert config["target_link_uri"] == f"{TOOL_BASE_URL}/lti/launch"
    assert config["public_jwk_url"] == f"{TOOL_BASE_URL}/lti/jwks"
    assert config["custom_fields"] == {}
    (extension,) = config["extensions"]
    assert extension["platform"] == "canvas.instructure.com"
    assert extension["privacy_level"] == "public"
    placements = {p["placement"]: p for p in extension["settings"]["placements"]}
    assert set(placements) == {"link_selection", "assignment_selection", "course_navigation"}
    assert placements["link_selection"]["message_type"] == v.MESSAGE_DEEP_LINKING
    assert placements["assignment_selection"]["message_type"] == v.MESSAGE_DEEP_LINKING
    assert placements["course_navigation"]["message_type"] == v.MESSAGE_RESOURCE_LINK
    assert all(p["target_link_uri"] == config["target_link_uri"] for p in placements.values())


def test_config_json_needs_no_session_and_no_cookie(app: Flask) -> None:
    response = app.test_client().get("/lti/config.json")
    assert response.status_code == 200
    assert "Set-Cookie" not in response.headers


def test_urls_follow_the_configured_base_url(database_url: str, tmp_path: Path) -> None:
    settings = make_settings(database_url, tmp_path, base_url="https://tool.example.org/l2i")
    application = create_app(settings, TESTING=True)
    try:
        config = application.test_client().get("/lti/config.json").get_json()
    finally:
        app_state(application).engine.dispose()
    base = "https://tool.example.org/l2i"
    assert config["oidc_initiation_url"] == f"{base}/lti/login"
    assert config["target_link_uri"] == f"{base}/lti/launch"
    assert config["public_jwk_url"] == f"{base}/lti/jwks"
    assert config["extensions"][0]["domain"] == "tool.example.org"


def test_scopes_and_messages_equal_what_dynamic_registration_asks_for(app: Flask) -> None:
    config = app.test_client().get("/lti/config.json").get_json()
    registration = tool_configuration(app_state(app).settings, {})
    assert config["scopes"] == registration["scope"].split(" ") == list(TOOL_SCOPES)
    assert set(config["scopes"]) == {
        v.SCOPE_AGS_LINEITEM, v.SCOPE_AGS_LINEITEM_READONLY, v.SCOPE_AGS_RESULT_READONLY,
        v.SCOPE_AGS_SCORE, v.SCOPE_NRPS,
    }
    tool = registration["https://purl.imsglobal.org/spec/lti-tool-configuration"]
    registered_messages = {m["type"] for m in tool["messages"]}
    placed = {p["message_type"] for p in config["extensions"][0]["settings"]["placements"]}
    assert placed == registered_messages
    assert config["description"] == tool["description"]

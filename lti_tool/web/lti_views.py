"""LTI endpoints: OIDC login initiation, the launch, and the tool's public key set."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, jsonify, redirect, render_template, request, url_for
from pylti1p3.contrib.flask.request import FlaskRequest
from pylti1p3.contrib.flask.session import FlaskSessionService
from pylti1p3.exception import LtiException, OIDCException
from werkzeug.wrappers import Response as BaseResponse

from course_units.content import Activity, Unit
from l2i_db import utcnow
from lti_tool import keys, platforms
from lti_tool import vocabulary as v
from lti_tool.lti.errors import LaunchRefused, StateMismatch
from lti_tool.lti.launch import (
    STATE_LIFETIME,
    ToolCookieService,
    ToolMessageLaunch,
    ToolOIDCLogin,
    is_own_url,
)
from lti_tool.lti.storage import DatabaseLaunchDataStorage, consume_nonce
from lti_tool.lti.tool_conf import DatabaseToolConf
from lti_tool.principal import Capability, capabilities_for
from lti_tool.sessions import create_tool_session
from lti_tool.sync import SyncedLaunch, sync_launch
from lti_tool.tracking import Tracker, subject_of
from lti_tool.web.auth import SESSION_COOKIE, SESSION_PARAM
from lti_tool.web.state import app_state, db
from lti_tool.web.translation import gettext
from xapi import events

bp = Blueprint("lti", __name__, url_prefix="/lti")

LOGIN_PARAMS = (
    "iss", "login_hint", "target_link_uri", "lti_message_hint", "lti_deployment_id", "client_id",
)


def _lti_request() -> FlaskRequest:
    return FlaskRequest(request_is_secure=app_state().settings.is_https)


def _check_target_link_uri() -> None:
    target = request.values.get("target_link_uri")
    if not target:
        raise LaunchRefused(gettext("The login request has no target_link_uri."))
    if not is_own_url(target, app_state().settings.base_url):
        raise LaunchRefused(
            gettext("The login request's target_link_uri points outside this tool; refusing to redirect."),
            hint=gettext("Register %(url)s as the tool's launch URL.",
                         url=app_state().settings.url("/lti/launch")),
        )


def _check_login_deployment(conf: DatabaseToolConf) -> None:
    deployment_id = request.values.get("lti_deployment_id")
    if deployment_id:
        conf.find_deployment_by_params(
            request.values.get("iss", ""), deployment_id, request.values.get("client_id")
        )


@bp.route("/login", methods=["GET", "POST"])
def login() -> Any:
    """Start the OIDC third-party initiated login: answer with a redirect to the platform."""
    settings = app_state().settings
    session = db()
    lti_request = _lti_request()
    conf = DatabaseToolConf(session)
    _check_target_link_uri()
    cookies = ToolCookieService(lti_request, secure=settings.is_https)
    oidc = ToolOIDCLogin(
        lti_request, conf, cookie_service=cookies,
        launch_data_storage=DatabaseLaunchDataStorage(session),
    )
    login_params = {k: request.values[k][:2048] for k in LOGIN_PARAMS if request.values.get(k)}
    oidc.pass_params_to_launch({"login": login_params})
    try:
        response = oidc.redirect(settings.url("/lti/launch"))
        _check_login_deployment(conf)
    except OIDCException as exc:
        raise LaunchRefused(gettext("The login request was refused: %(reason)s.", reason=str(exc))) from exc
    session.commit()
    return response


def _blocked_cookie_page(launch: ToolMessageLaunch) -> Response | None:
    """If the state is ours but its cookie did not come back, offer a new window."""
    params = launch.get_params_from_login() if request.form.get("state") else None
    login = params.get("login") if isinstance(params, dict) else None
    if not isinstance(login, dict):
        return None
    new_window = url_for("lti.login", **login, lti1p3_new_window="1")
    html = render_template("cookies_blocked.html", new_window_url=new_window)
    return Response(html, status=401)


@bp.post("/launch")
def launch() -> Any:
    """Validate an id_token, sync its claims and start the tool's session."""
    state = app_state()
    settings = state.settings
    session = db()
    lti_request = _lti_request()
    conf = DatabaseToolConf(session)
    message_launch = ToolMessageLaunch(
        lti_request,
        conf,
        cookie_service=ToolCookieService(lti_request, secure=settings.is_https),
        session_service=FlaskSessionService(lti_request),
        launch_data_storage=DatabaseLaunchDataStorage(session),
        keysets=state.keysets,
        base_url=settings.base_url,
    )
    message_launch.set_launch_data_lifetime(STATE_LIFETIME)
    try:
        message_launch.validate()
    except StateMismatch:
        blocked = _blocked_cookie_page(message_launch)
        if blocked is not None:
            return blocked
        raise
    except LaunchRefused:
        raise
    except (LtiException, OIDCException) as exc:
        raise LaunchRefused(gettext("The launch was refused: %(reason)s.", reason=str(exc))) from exc
    synced = _accept_launch(message_launch, conf)
    _record_launch(synced)
    tool_session = create_tool_session(
        session, synced, lifetime=settings.session_lifetime,
        launch_id=message_launch.get_launch_id(),
    )
    session.commit()
    return _enter_tool(synced, state.tokens.sign(tool_session.id))


def _accept_launch(message_launch: ToolMessageLaunch, conf: DatabaseToolConf) -> SyncedLaunch:
    session = db()
    claims = message_launch.claims()
    platform = conf.platform
    assert platform is not None
    deployment = platforms.find_deployment(session, platform, claims[v.CLAIM_DEPLOYMENT_ID])
    assert deployment is not None
    if not consume_nonce(session, message_launch.nonce()):
        raise LaunchRefused(
            gettext("This id_token has already been used (a replayed launch)."), status=401,
            hint=gettext("Launch again from the LMS."),
        )
    return sync_launch(session, platform, deployment, claims)


def _record_launch(synced: SyncedLaunch) -> None:
    """Queue ``launched`` for a learner's resource-link launch, with the unit or activity it opens."""
    learner = Capability.STUDY in capabilities_for(synced.roles)
    if synced.message_type != v.MESSAGE_RESOURCE_LINK or not learner:
        return
    state = app_state()
    unit, activity = _selected(synced)
    tracker = Tracker(state.settings, state.framework,
                      subject_of(synced.user, synced.platform, synced.context, synced.locale))
    now = utcnow()
    tracker.queue(db(), lambda scene: [events.launched(scene, unit, activity, now)])


def _selected(synced: SyncedLaunch) -> tuple[Unit | None, Activity | None]:
    """Return the unit and activity a launch's custom parameters select (either may be None)."""
    catalog = app_state().catalog
    activity_id = str(synced.custom.get(v.CUSTOM_ACTIVITY) or "")
    activity_unit = catalog.unit_of_activity(activity_id) if activity_id else None
    unit = catalog.unit(str(synced.custom.get(v.CUSTOM_UNIT) or ""))
    if activity_unit is not None and (unit is None or unit.id == activity_unit.id):
        return activity_unit, activity_unit.activity(activity_id)
    return unit, None


def _landing(synced: SyncedLaunch) -> tuple[str, dict[str, Any]]:
    """Where a launch lands: deep linking, the activity or unit the link selects, or the unit list."""
    if synced.message_type == v.MESSAGE_DEEP_LINKING:
        return "home.deep_linking", {}
    unit, activity = _selected(synced)
    if unit is not None and activity is not None:
        return "units.activity_overview", {"unit_id": unit.id, "activity_id": activity.id}
    if unit is not None:
        return "units.unit_overview", {"unit_id": unit.id}
    requested = str(synced.custom.get(v.CUSTOM_UNIT) or synced.custom.get(v.CUSTOM_ACTIVITY) or "")
    return "home.index", ({"unknown": requested} if requested else {})


def _enter_tool(synced: SyncedLaunch, token: str) -> BaseResponse:
    endpoint, values = _landing(synced)
    values[SESSION_PARAM] = token
    response = redirect(url_for(endpoint, **values), code=303)
    settings = app_state().settings
    response.set_cookie(
        SESSION_COOKIE, token, max_age=settings.session_lifetime, httponly=True,
        secure=settings.is_https, samesite="None" if settings.is_https else "Lax", path="/",
    )
    return response


@bp.get("/jwks")
def jwks() -> Response:
    """Publish the tool's public keys, exactly ``{"keys": [...]}``."""
    session = db()
    key_set = keys.published_jwks(session)
    if not key_set["keys"]:
        keys.ensure_signing_key(session)
        session.commit()
        key_set = keys.published_jwks(session)
    response = jsonify(key_set)
    response.cache_control.max_age = 300
    response.cache_control.public = True
    return response

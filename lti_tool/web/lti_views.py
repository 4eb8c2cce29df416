"""LTI endpoints: OIDC login initiation, the launch, and the tool's public key set."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, jsonify, redirect, render_template, request, url_for
from pylti1p3.contrib.flask.request import FlaskRequest
from pylti1p3.contrib.flask.session import FlaskSessionService
from pylti1p3.exception import LtiException, OIDCException
from sqlalchemy import text
from sqlalchemy.orm import Session
from werkzeug.wrappers import Response as BaseResponse

from course_units.content import Activity, Unit
from l2i_db import utcnow
from lti_tool import keys
from lti_tool import vocabulary as v
from lti_tool.linking import link_by_email
from lti_tool.lti.errors import LaunchRefused, StateMismatch
from lti_tool.lti.launch import (
    MAX_ID_TOKEN_BYTES,
    STATE_LIFETIME,
    STORAGE_TARGET,
    ToolCookieService,
    ToolMessageLaunch,
    ToolOIDCLogin,
    is_own_url,
    platform_origin,
)
from lti_tool.lti.storage import DatabaseLaunchDataStorage, consume_nonce
from lti_tool.lti.tool_conf import DatabaseToolConf
from lti_tool.principal import Capability, capabilities_for
from lti_tool.sessions import create_tool_session
from lti_tool.sync import SyncedLaunch, sync_launch
from lti_tool.tracking import Tracker, subject_of
from lti_tool.web.auth import SESSION_COOKIE, SESSION_PARAM
from lti_tool.web.link_views import recompute_settings
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


def _storage_target() -> str | None:
    """Return the request's ``lti_storage_target`` (None if absent); refuse a malformed one."""
    target = request.values.get("lti_storage_target")
    if not target:
        return None
    if not STORAGE_TARGET.fullmatch(target):
        raise LaunchRefused(gettext(
            "lti_storage_target must be \"_parent\" or a frame name of 1 to 64 letters, digits, "
            "\"_\" or \"-\"."
        ))
    return target


@bp.route("/login", methods=["GET", "POST"])
def login() -> Any:
    """Start the OIDC third-party initiated login: answer with a redirect to the platform.

    With ``lti_storage_target`` the answer is instead a page that first puts the state and
    the nonce in the platform's storage (LTI Client Side postMessages), then goes on to the
    platform; see :func:`launch` for how the launch uses them.
    """
    settings = app_state().settings
    session = db()
    lti_request = _lti_request()
    conf = DatabaseToolConf(session)
    conf.expect_deployment(request.values.get("lti_deployment_id"))
    _check_target_link_uri()
    storage_target = _storage_target()
    cookies = ToolCookieService(lti_request, secure=settings.is_https)
    oidc = ToolOIDCLogin(
        lti_request, conf, cookie_service=cookies,
        launch_data_storage=DatabaseLaunchDataStorage(session), storage_target=storage_target,
    )
    login_params = {k: request.values[k][:2048] for k in LOGIN_PARAMS if request.values.get(k)}
    oidc.pass_params_to_launch({"login": login_params})
    try:
        if storage_target:
            auth_url = oidc.get_redirect_object(settings.url("/lti/launch")).get_redirect_url()
        else:
            response = oidc.redirect(settings.url("/lti/launch"))
        _check_login_deployment(conf)
    except OIDCException as exc:
        raise LaunchRefused(gettext("The login request was refused: %(reason)s.", reason=str(exc))) from exc
    if storage_target:
        html = render_template("lti_storage_login.html", auth_url=auth_url,
                               storage=oidc.platform_storage(auth_url))
        response = Response(html)
        cookies.update_response(response)  # the cookie still serves browsers that keep it
    commit_without_waiting_for_disk(session)
    return response


def commit_without_waiting_for_disk(session: Session) -> None:
    """Commit a login's state and nonce; on PostgreSQL without waiting for the WAL to reach the disk.

    They live ten minutes and only serve the launch that follows, so a crash that loses the
    last logins costs those people one more click, not data; the launch itself, which spends
    the nonce and starts the session, still commits durably.
    """
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SET LOCAL synchronous_commit TO OFF"))
    session.commit()


def _new_window_url(launch: ToolMessageLaunch) -> str | None:
    """Return the login URL that starts this launch again in a window of its own, or None."""
    params = launch.get_params_from_login() if request.form.get("state") else None
    login = params.get("login") if isinstance(params, dict) else None
    if not isinstance(login, dict):
        return None
    return url_for("lti.login", **login, lti1p3_new_window="1")


def _blocked_cookie_page(launch: ToolMessageLaunch) -> Response | None:
    """If the state is ours but its cookie did not come back, offer a new window."""
    new_window = _new_window_url(launch)
    if new_window is None:
        return None
    html = render_template("cookies_blocked.html", new_window_url=new_window)
    return Response(html, status=401)


def _platform_storage_page(launch: ToolMessageLaunch) -> Response | None:
    """If the login kept its state in the platform's storage, serve the page that reads it back."""
    storage = launch.platform_storage()
    id_token = request.form.get("id_token", "")
    if storage is None or not id_token or len(id_token) > MAX_ID_TOKEN_BYTES:
        return None
    html = render_template(
        "lti_storage_launch.html", storage=storage, state=request.form["state"], id_token=id_token,
        new_window_url=_new_window_url(launch),
    )
    return Response(html)


def _check_platform_storage_proof(launch: ToolMessageLaunch, proof: str) -> None:
    """Accept a launch whose state the browser read back from the platform's storage, or refuse it.

    The proof is only believed when the server itself recorded, at login, that this state
    was issued for the platform's storage, when the re-submission comes from the tool's own
    page (its ``Origin``: a page elsewhere cannot forge the form without it showing), and when
    the value read back equals the state; the nonce bound to the state is then checked and
    consumed as in every launch.
    """
    settings = app_state().settings
    if request.headers.get("Origin") != platform_origin(settings.base_url):
        raise LaunchRefused(
            gettext("This launch claims a check the tool's own page did not make; refusing it."),
            status=403, hint=gettext("Launch again from the LMS."),
        )
    state = request.form.get("state", "")
    if not state or len(state) > 255:
        return  # validate_state refuses it with its own message
    if launch.platform_storage() is None:
        raise LaunchRefused(
            gettext("This launch's login did not use the learning platform's storage, so it cannot "
                    "be checked there."),
            status=401, hint=gettext("Launch again from the LMS."),
        )
    if proof != state:
        raise LaunchRefused(
            gettext("The learning platform does not hold this launch's state: the launch was not "
                    "started in this browser."),
            status=401,
            hint=gettext("Launch again from the LMS. If it keeps failing, open the activity in a new "
                         "window."),
        )


@bp.post("/launch")
def launch() -> Any:
    """Validate an id_token, sync its claims and start the tool's session.

    The state normally comes back with its cookie. When the browser did not keep the cookie
    but the login put the state in the platform's storage (``lti_storage_target``), the
    launch answers with a page that reads the state back from the platform's frame
    (``lti.get_data``, to and from the platform's registered origin only) and posts the
    id_token again with the value it read as ``lti_storage_state``. That value alone proves
    nothing to the server, which stays the authority: see :func:`_check_platform_storage_proof`.
    What the browser adds is what the cookie gave: evidence that the login was started in
    this browser, which keeps another person's id_token (login CSRF) out.
    """
    state = app_state()
    settings = state.settings
    session = db()
    lti_request = _lti_request()
    conf = DatabaseToolConf(session)
    _storage_target()
    proof = request.form.get("lti_storage_state")
    message_launch = ToolMessageLaunch(
        lti_request,
        conf,
        cookie_service=ToolCookieService(lti_request, secure=settings.is_https),
        session_service=FlaskSessionService(lti_request),
        launch_data_storage=DatabaseLaunchDataStorage(session),
        keysets=state.keysets,
        base_url=settings.base_url,
        state_verified_by_platform=proof is not None,
    )
    message_launch.set_launch_data_lifetime(STATE_LIFETIME)
    if proof is not None:
        _check_platform_storage_proof(message_launch, proof)
    try:
        message_launch.validate()
    except StateMismatch:
        blocked = _platform_storage_page(message_launch) or _blocked_cookie_page(message_launch)
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
    deployment = conf.find_deployment_row(platform, claims[v.CLAIM_DEPLOYMENT_ID])
    assert deployment is not None
    if not consume_nonce(session, message_launch.nonce()):
        raise LaunchRefused(
            gettext("This id_token has already been used (a replayed launch)."), status=401,
            hint=gettext("Launch again from the LMS."),
        )
    synced = sync_launch(session, platform, deployment, claims)
    # Learners' records only. When no enabled registration of the issuer trusts email addresses,
    # link_by_email would find the issuer untrusted and link nothing: skip it and its query.
    if Capability.STUDY in capabilities_for(synced.roles) and conf.issuer_trusts_email(platform) is not False:
        link_by_email(session, synced.user, recompute_settings())
    return synced


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
        return "deep_linking.picker", {}
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

"""The emulated LMS over HTTP: one Flask app, one set of routes per institution under ``/<slug>/``.

Views are thin: they read the request, call the pure functions of the emulator's
modules and shape the response. Refusals arrive as ServiceError (JSON) or PageError
(an HTML page) and are turned into responses by the error handlers.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, cast

from flask import Blueprint, Flask, Response, abort, current_app, g, redirect, render_template, request

from lms_emulator import ags, nrps, oauth, oidc
from lms_emulator import vocabulary as v
from lms_emulator.deep_linking import receive_deep_linking_response
from lms_emulator.errors import PageError, ServiceError
from lms_emulator.paging import Page
from lms_emulator.platform import Course, EmulatorConfig, Institution

EXTENSION_KEY = "lms_emulator"
MAX_REQUEST_BYTES = 1024 * 1024

LINE_ITEM_READ_SCOPES = (v.SCOPE_AGS_LINEITEM, v.SCOPE_AGS_LINEITEM_READONLY)
LINE_ITEM_WRITE_SCOPES = (v.SCOPE_AGS_LINEITEM,)
SCORE_SCOPES = (v.SCOPE_AGS_SCORE,)
RESULT_SCOPES = (v.SCOPE_AGS_RESULT_READONLY,)
NRPS_SCOPES = (v.SCOPE_NRPS,)

site = Blueprint("site", __name__)
lms = Blueprint("lms", __name__, url_prefix="/<slug>")


# -- helpers ---------------------------------------------------------------------


def emulator_config() -> EmulatorConfig:
    """Return the EmulatorConfig of the running app."""
    return cast(EmulatorConfig, current_app.extensions[EXTENSION_KEY])


def current_institution() -> Institution:
    """Return the institution named by the URL's slug."""
    return cast(Institution, g.institution)


@lms.url_value_preprocessor
def load_institution(endpoint: str | None, values: dict[str, Any] | None) -> None:
    """Resolve ``<slug>`` to an institution, or answer 404."""
    slug = (values or {}).pop("slug", "")
    institution = emulator_config().find_institution(slug)
    if institution is None:
        abort(404)
    g.institution = institution


def json_response(
    body: Any,
    status: int = 200,
    media_type: str = "application/json",
    headers: Mapping[str, str] | None = None,
) -> Response:
    """Build a JSON response with the given media type."""
    response = Response(json.dumps(body, ensure_ascii=False), status=status, mimetype=media_type)
    response.headers.update(headers or {})
    return response


def read_json_body(media_type: str) -> Any:
    """Parse the request body as JSON of ``media_type``; ServiceError 415/400 otherwise."""
    if request.mimetype != media_type:
        raise ServiceError(415, "invalid_request", f"Content-Type must be {media_type}")
    try:
        return json.loads(request.get_data(as_text=True))
    except ValueError as exc:
        raise ServiceError(400, "invalid_request", f"the body is not JSON: {exc}") from exc


def require_scope(*scopes: str) -> None:
    """Refuse the call unless its bearer token grants one of ``scopes``."""
    oauth.authorize_bearer(current_institution(), request.headers.get("Authorization"), any_of=scopes)


def service_course(context_id: str) -> Course:
    """Return the course of an AGS/NRPS URL, or raise ServiceError 404."""
    return ags.find_course(current_institution(), context_id)


def paged_response(page: Page[dict[str, Any]], media_type: str, body: Any = None) -> Response:
    """Build a container response, with a ``Link: <...>; rel="next"`` header when there is more."""
    headers = {"Link": f'<{page.next_url}>; rel="next"'} if page.next_url else {}
    return json_response(page.items if body is None else body, media_type=media_type, headers=headers)


def handle_service_error(error: ServiceError) -> Response:
    """Answer a refused service call with RFC 6749-style JSON."""
    headers = {}
    if error.status == 401 and error.error == "invalid_token":
        description = error.description.replace('"', "'")
        headers["WWW-Authenticate"] = f'Bearer error="invalid_token", error_description="{description}"'
    elif error.status == 403:
        headers["WWW-Authenticate"] = 'Bearer error="insufficient_scope"'
    body = {"error": error.error, "error_description": error.description}
    return json_response(body, status=error.status, headers=headers)


def handle_page_error(error: PageError) -> tuple[str, int]:
    """Answer a refused browser request with an HTML page saying why."""
    page = render_template("message.html", title="Request refused", error=error)
    return page, error.status


# -- site-wide pages -----------------------------------------------------------


@site.get("/")
def index() -> str:
    """Show the institutions with their registration details."""
    return render_template("index.html", config=emulator_config())


# -- browser pages of an institution ---------------------------------------------


@lms.get("/")
def institution_home() -> str:
    """Show the institution's course page: links, people, Launch and Deep Linking buttons."""
    institution = current_institution()
    with institution.lock:
        courses = [
            {"course": course, "links": list(course.links), "members": institution.course_members(course)}
            for course in institution.courses
        ]
    return render_template("institution.html", institution=institution, courses=courses)


@lms.get("/frame")
def frame() -> str:
    """Show a course page embedding the launch in an iframe, the way Moodle does."""
    institution = current_institution()
    args = request.args
    user = institution.find_user(args.get("user", ""))
    found = institution.find_link(args.get("link", "")) if args.get("link") else None
    if user is None:
        raise PageError(404, "not_found", "No such user.")
    launch_args = {
        key: value for key, value in args.items()
        if key in ("user", "link", "message", "course", "locale", "storage_target")
    }
    return render_template(
        "frame.html",
        institution=institution,
        user=user,
        link=found[1] if found else None,
        deep_linking=args.get("message") == oidc.DEEP_LINKING_MESSAGE,
        launch_args=launch_args,
        tool_origin=institution.tool_origin,
    )


@lms.get("/launch")
def launch() -> Response:
    """Third-party initiated login: 302 to the tool's /lti/login."""
    args = request.args
    url = oidc.initiate_launch(
        current_institution(),
        user_sub=args.get("user"),
        link_id=args.get("link"),
        course_id=args.get("course"),
        message=args.get("message"),
        document_target=args.get("target"),
        locale=args.get("locale"),
        storage_target=args.get("storage_target"),
    )
    return cast(Response, redirect(url, code=302))


@lms.route("/auth", methods=["GET", "POST"])
def authorize() -> Response:
    """OIDC authorization endpoint: a self-submitting form that posts the id_token."""
    params = request.form if request.method == "POST" else request.args
    answer = oidc.authorize(current_institution(), params.to_dict())
    page = render_template("auth_form.html", answer=answer)
    response = Response(page, mimetype="text/html")
    response.headers["Cache-Control"] = "no-store"
    return response


@lms.post("/dl/return")
def deep_linking_return() -> str:
    """Deep Linking return: verify the tool's response and place its items."""
    institution = current_institution()
    placement = receive_deep_linking_response(emulator_config(), institution, request.form.get("JWT"))
    return render_template("dl_result.html", institution=institution, placement=placement)


@lms.get("/return")
def launch_return() -> str:
    """Show the tool's lti_msg / lti_errormsg: the launch_presentation return_url."""
    return render_template(
        "return.html",
        institution=current_institution(),
        message=request.args.get("lti_msg"),
        error_message=request.args.get("lti_errormsg"),
    )


@lms.get("/gradebook")
def gradebook() -> str:
    """Show the gradebook: line items by users, with the latest score and its progress."""
    institution = current_institution()
    books = [(course, *ags.gradebook(institution, course)) for course in institution.courses]
    return render_template("gradebook.html", institution=institution, books=books)


@lms.get("/_record")
def record() -> Response:
    """Everything the institution recorded, as JSON."""
    return json_response(current_institution().record())


# -- keys and tokens -----------------------------------------------------------


@lms.get("/jwks")
def jwks() -> Response:
    """Publish the platform's public keys: exactly ``{"keys": [...]}``."""
    return json_response(current_institution().public_jwks())


@lms.post("/token")
def token() -> Response:
    """OAuth2 client_credentials grant with a private_key_jwt client assertion."""
    body = oauth.issue_token_response(
        current_institution(), emulator_config().tool_keys, request.form.to_dict()
    )
    return json_response(body, headers={"Cache-Control": "no-store", "Pragma": "no-cache"})


# -- Assignment and Grade Services ----------------------------------------------


@lms.get("/ags/<context_id>/lineitems")
def list_line_items(context_id: str) -> Response:
    """AGS: the course's line items (filters: resource_link_id, resource_id, tag)."""
    require_scope(*LINE_ITEM_READ_SCOPES)
    course = service_course(context_id)
    page = ags.list_line_items(current_institution(), course, request.args.to_dict())
    return paged_response(page, v.MEDIA_LINEITEM_CONTAINER)


@lms.post("/ags/<context_id>/lineitems")
def create_line_item(context_id: str) -> Response:
    """AGS: create a line item."""
    require_scope(*LINE_ITEM_WRITE_SCOPES)
    course = service_course(context_id)
    body = ags.create_line_item(current_institution(), course, read_json_body(v.MEDIA_LINEITEM))
    return json_response(body, 201, v.MEDIA_LINEITEM, headers={"Location": body["id"]})


@lms.get("/ags/<context_id>/lineitems/<item_id>")
def get_line_item(context_id: str, item_id: str) -> Response:
    """AGS: one line item."""
    require_scope(*LINE_ITEM_READ_SCOPES)
    institution, course = current_institution(), service_course(context_id)
    with institution.lock:
        body = ags.line_item_json(institution, course, ags.find_line_item(course, item_id))
    return json_response(body, media_type=v.MEDIA_LINEITEM)


@lms.put("/ags/<context_id>/lineitems/<item_id>")
def update_line_item(context_id: str, item_id: str) -> Response:
    """AGS: update a line item."""
    require_scope(*LINE_ITEM_WRITE_SCOPES)
    course = service_course(context_id)
    body = ags.update_line_item(current_institution(), course, item_id, read_json_body(v.MEDIA_LINEITEM))
    return json_response(body, media_type=v.MEDIA_LINEITEM)


@lms.delete("/ags/<context_id>/lineitems/<item_id>")
def delete_line_item(context_id: str, item_id: str) -> Response:
    """AGS: delete a line item."""
    require_scope(*LINE_ITEM_WRITE_SCOPES)
    ags.delete_line_item(current_institution(), service_course(context_id), item_id)
    return Response(status=204)


@lms.post("/ags/<context_id>/lineitems/<item_id>/scores")
def post_score(context_id: str, item_id: str) -> Response:
    """AGS: publish a score; an older one than on record is recorded but not applied."""
    require_scope(*SCORE_SCOPES)
    course = service_course(context_id)
    ags.post_score(current_institution(), course, item_id, read_json_body(v.MEDIA_SCORE))
    return Response(status=204)


@lms.get("/ags/<context_id>/lineitems/<item_id>/results")
def list_results(context_id: str, item_id: str) -> Response:
    """AGS: the line item's results (filter: user_id)."""
    require_scope(*RESULT_SCOPES)
    course = service_course(context_id)
    page = ags.list_results(current_institution(), course, item_id, request.args.to_dict())
    return paged_response(page, v.MEDIA_RESULT_CONTAINER)


# -- Names and Role Provisioning Services -------------------------------------------


@lms.get("/nrps/<context_id>/memberships")
def memberships(context_id: str) -> Response:
    """NRPS 2.0: the course roster, paged with ``Link: rel="next"``."""
    require_scope(*NRPS_SCOPES)
    course = service_course(context_id)
    body, next_url = nrps.membership_page(
        emulator_config(), current_institution(), course, request.args.to_dict()
    )
    headers = {"Link": f'<{next_url}>; rel="next"'} if next_url else {}
    return json_response(body, media_type=v.MEDIA_MEMBERSHIP_CONTAINER, headers=headers)


# -- the factory -------------------------------------------------------------------


def create_emulator_app(config: EmulatorConfig) -> Flask:
    """Build the emulated LMS's Flask app for ``config``."""
    app = Flask(__name__)
    app.config["MAX_CONTENT_LENGTH"] = MAX_REQUEST_BYTES
    app.jinja_env.trim_blocks = True
    app.jinja_env.lstrip_blocks = True
    app.extensions[EXTENSION_KEY] = config
    app.register_error_handler(ServiceError, handle_service_error)
    app.register_error_handler(PageError, handle_page_error)
    for blueprint in (site, lms):
        app.register_blueprint(blueprint)
    return app

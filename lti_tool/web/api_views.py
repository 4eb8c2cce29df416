"""``/api/v1``: a read-only JSON API for institutions' reporting tools, one platform per API key.

Every endpoint but the OpenAPI document wants ``Authorization: Bearer <key>`` (``l2i apikey
create``) and sees only the key's platform: a course of another platform is "not found". The
learners and summary endpoints answer with the same :func:`lti_tool.cohorts.build_course_view` as
the trainer dashboard, so the numbers agree. The OpenAPI document is built with apispec from the
schemas in :mod:`lti_tool.api_schemas` and the YAML each view declares with :func:`operation`.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
import textwrap
from collections.abc import Callable, Mapping
from typing import Any, TypeVar
from urllib.parse import urlencode

import yaml
from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin
from flask import Blueprint, Flask, Response, abort, current_app, g, jsonify, make_response, request
from marshmallow import Schema
from werkzeug.exceptions import Unauthorized

from competencies.dashboard import NO_LEVEL
from competencies.exchange.case import case_uri
from competencies.framework import Node
from l2i_db import utcnow
from lti_tool import api_schemas
from lti_tool.api_keys import ApiKeyError, authenticate
from lti_tool.api_queries import (
    ProficiencyQuery,
    SetSummary,
    count_platform_contexts,
    find_platform_context,
    list_platform_contexts,
    list_proficiency,
    read_member_subs,
    summarise_proficiency,
)
from lti_tool.api_schemas import (
    MAX_ID,
    ArgumentError,
    ContextPageSchema,
    CourseSummarySchema,
    FrameworkSchema,
    LearnerPageSchema,
    PagingArgsSchema,
    ProficiencyArgsSchema,
    ProficiencyPageSchema,
    load_args,
)
from lti_tool.cohorts import (
    CourseView,
    FilterError,
    LearnerRow,
    build_course_view,
    proficient_share,
    read_filter,
)
from lti_tool.models import Context
from lti_tool.web import errors
from lti_tool.web.state import app_state, db
from lti_tool.web.translation import message_of

bp = Blueprint("api", __name__, url_prefix="/api/v1")

API_TITLE = "L2I Engine API"
API_VERSION = "1.0.0"
OPENAPI_VERSION = "3.1.0"
REALM = 'Bearer realm="l2i"'
PUBLIC_ENDPOINTS = frozenset({"api.openapi"})
FUNNEL_STEPS = ("in_course", "started", "handed_in", "completed")
OPERATIONS = "openapi_operations"
_RULE_ARGUMENT = re.compile(r"<(?:[^<>:]+:)?([^<>:]+)>")

View = TypeVar("View", bound=Callable[..., Any])


def operation(yaml_text: str) -> Callable[[View], View]:
    """Attach a view's OpenAPI operations, written in YAML (``get: ...``), for :func:`build_openapi`."""
    operations = yaml.safe_load(textwrap.dedent(yaml_text))

    def attach(view: View) -> View:
        setattr(view, OPERATIONS, operations)
        return view

    return attach


class KeyRefused(Unauthorized):
    """A missing or unusable API key; ``challenge`` is the ``WWW-Authenticate`` header to send."""

    def __init__(self, description: str, challenge: str = REALM) -> None:
        super().__init__(description=description)
        self.challenge = challenge


@bp.before_request
def require_api_key() -> None:
    """Let a request in only with an active key; remember the key's platform for the views."""
    if request.endpoint in PUBLIC_ENDPOINTS:
        return
    header = request.headers.get("Authorization", "").strip()
    if not header:
        raise KeyRefused("Send an API key as 'Authorization: Bearer l2i_<key id>_<secret>'. The tool's "
                         "administrator makes one with `l2i apikey create`.")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise KeyRefused("The Authorization header must read 'Bearer l2i_<key id>_<secret>'.",
                         f'{REALM}, error="invalid_request"')
    try:
        key = authenticate(db(), token.strip(), utcnow())
    except ApiKeyError as exc:
        raise KeyRefused(str(exc), f'{REALM}, error="invalid_token"') from exc
    g.api_platform_id = key.platform_id
    db().commit()  # the key's last use


@bp.errorhandler(Unauthorized)
def refuse_key(exc: Unauthorized) -> Response:
    """Answer 401 as JSON with the bearer challenge."""
    response = make_response(errors.handle_http_error(exc))
    response.headers["WWW-Authenticate"] = getattr(exc, "challenge", REALM)
    return response


def _platform_id() -> int:
    platform_id: int = g.api_platform_id
    return platform_id


def _args(schema: Schema) -> dict[str, Any]:
    try:
        return load_args(schema, request.args)
    except ArgumentError as exc:
        abort(400, description=exc.message)


def _context_or_404(context_id: int) -> Context:
    context = find_platform_context(db(), _platform_id(), context_id)
    if context is None:
        abort(404, description=f"This key's platform has no course {context_id}. "
                               "/api/v1/contexts lists its courses.")
    return context


def _next_url(page: int, per_page: int, total: int) -> str | None:
    if page * per_page >= total:
        return None
    args = [(name, value) for name, values in request.args.lists() if name not in ("page", "per_page")
            for value in values]
    args += [("page", str(page + 1)), ("per_page", str(per_page))]
    return app_state().settings.url(request.path) + "?" + urlencode(args)


def _paged(schema: Schema, items: list[Any], page: int, per_page: int, total: int) -> Response:
    next_url = _next_url(page, per_page, total)
    response = jsonify(schema.dump({"items": items, "page": page, "per_page": per_page, "total": total,
                                    "next": next_url}))
    if next_url:
        response.headers["Link"] = f'<{next_url}>; rel="next"'
    return response


def _node(node: Node, base_url: str) -> dict[str, Any]:
    case = {"identifier": node.uuid, "uri": case_uri(base_url, "CFItems", node.uuid)} if node.uuid else None
    return {"idnumber": node.idnumber, "kind": node.kind, "shortname": node.shortname,
            "description": node.description, "parent": node.parent, "sortorder": node.sortorder, "case": case}


@bp.get("/competencies")
@operation("""
    get:
      operationId: getCompetencies
      summary: The competency framework
      description: The proficiency scale (with the proficient level), the domains and the competencies,
        with their CASE identifiers as `l2i framework export --format case` writes them.
      tags: [framework]
      responses:
        200:
          description: The framework.
          content:
            application/json:
              schema: FrameworkSchema
        401: Unauthorized
""")
def competencies() -> Response:
    """Return the competency framework: scale, domains and competencies."""
    state = app_state()
    fw, base_url = state.framework, state.settings.base_url
    return jsonify(FrameworkSchema().dump({
        "idnumber": fw.idnumber, "version": fw.version, "shortname": fw.shortname,
        "case": ({"identifier": fw.uuid, "uri": case_uri(base_url, "CFDocuments", fw.uuid)}
                 if fw.uuid else None),
        "scale": {"name": fw.scale.name, "proficient_level": fw.scale.proficient_level,
                  "levels": list(fw.scale.levels)},
        "domains": [_node(node, base_url) for node in fw.domains()],
        "competencies": [_node(node, base_url) for node in fw.competencies()],
    }))


@bp.get("/contexts")
@operation("""
    get:
      operationId: listContexts
      summary: The platform's courses
      tags: [courses]
      parameters:
        - in: query
          schema: PagingArgsSchema
      responses:
        200:
          description: One page of courses, oldest first.
          headers:
            Link: NextLink
          content:
            application/json:
              schema: ContextPageSchema
        400: BadRequest
        401: Unauthorized
""")
def contexts() -> Response:
    """Return one page of the platform's courses with their numbers of learners."""
    paging = _args(PagingArgsSchema())
    page, per_page = paging["page"], paging["per_page"]
    items = list_platform_contexts(db(), _platform_id(), (page - 1) * per_page, per_page)
    return _paged(ContextPageSchema(), items, page, per_page, count_platform_contexts(db(), _platform_id()))


def _course_view(context: Context) -> CourseView:
    state = app_state()
    try:
        cohort_filter = read_filter(request.args, state.catalog, state.framework)
    except FilterError as exc:
        abort(400, description=message_of(exc))
    return build_course_view(db(), state.catalog, state.framework, [context.id], cohort_filter)


def _learner_item(row: LearnerRow, view: CourseView, subs: Mapping[int, str]) -> dict[str, Any]:
    member = row.member
    return {
        "user_id": subs.get(member.learner_id, ""), "name": member.name, "group": member.group,
        "institution": member.institution, "last_activity": row.last_activity,
        "progress": {unit.id: row.progress[unit.id] for unit in view.units if unit.id in row.progress},
        "competencies": {c.idnumber: row.cells.get(c.idnumber, NO_LEVEL) for c in view.competencies},
    }


@bp.get("/contexts/<int(max=2147483647):context_id>/learners")
@operation("""
    get:
      operationId: listLearners
      summary: A course's learners
      description: The trainer dashboard's rows, filtered and sorted by the same arguments, then paged.
      tags: [courses]
      parameters:
        - ContextId
        - in: query
          schema: CourseFilterArgsSchema
        - in: query
          schema: PagingArgsSchema
      responses:
        200:
          description: One page of learners.
          headers:
            Link: NextLink
          content:
            application/json:
              schema: LearnerPageSchema
        400: BadRequest
        401: Unauthorized
        404: NotFound
""")
def learners(context_id: int) -> Response:
    """Return one page of a course's learners with progress and competencies, as the dashboard has them."""
    context = _context_or_404(context_id)
    paging = _args(PagingArgsSchema())
    page, per_page = paging["page"], paging["per_page"]
    view = _course_view(context)
    subs = read_member_subs(db(), context.id)
    shown = view.rows[(page - 1) * per_page:page * per_page]
    return _paged(LearnerPageSchema(), [_learner_item(row, view, subs) for row in shown],
                  page, per_page, len(view.rows))


@bp.get("/contexts/<int(max=2147483647):context_id>/summary")
@operation("""
    get:
      operationId: getCourseSummary
      summary: A course's aggregates
      description: The trainer dashboard's charts, for the learners the filter shows.
      tags: [courses]
      parameters:
        - ContextId
        - in: query
          schema: CourseFilterArgsSchema
      responses:
        200:
          description: The aggregates.
          content:
            application/json:
              schema: CourseSummarySchema
        400: BadRequest
        401: Unauthorized
        404: NotFound
""")
def summary(context_id: int) -> Response:
    """Return a course's aggregates: level counts, share proficient, unit funnels and the weekly trend."""
    context = _context_or_404(context_id)
    view = _course_view(context)
    proficient = app_state().framework.scale.proficient_level
    shares = proficient_share(view, proficient)
    return jsonify(CourseSummarySchema().dump({
        "context_id": context.id, "learners_shown": len(view.rows), "learners_total": view.total,
        "proficient_level": proficient,
        "competencies": [{"competency_id": c.idnumber, "levels": view.levels[c.idnumber],
                          "proficient_share": shares[c.idnumber]} for c in view.competencies],
        "units": [dict(zip(FUNNEL_STEPS, view.funnels[u.id], strict=True), unit_id=u.id) for u in view.units],
        "trend": view.trend,
    }))


def proficiency_etag(query: ProficiencyQuery, page: int, per_page: int, found: SetSummary) -> str:
    """Return the entity tag of one page of proficiency rows: it changes when any row of the set does."""
    since = query.updated_since.isoformat() if query.updated_since else None
    newest = found.newest.isoformat() if found.newest else None
    key = json.dumps(["v1", query.platform_id, query.context_id, since, page, per_page, newest, found.total])
    return hashlib.sha256(key.encode("utf-8")).hexdigest()[:32]


def _not_modified(etag: str, last_modified: dt.datetime | None) -> bool:
    if request.if_none_match:  # it wins over If-Modified-Since (RFC 9110, 13.2.2)
        return request.if_none_match.contains_weak(etag)
    since = request.if_modified_since
    return since is not None and last_modified is not None and last_modified <= since


@bp.get("/proficiency")
@operation("""
    get:
      operationId: listProficiency
      summary: Learners' proficiency, one row per learner and competency
      description: Every proficiency row of the learners who study at this platform, ordered by learner
        and competency. Send the ETag back as If-None-Match (or the Last-Modified as If-Modified-Since)
        to get 304 Not Modified while nothing in the selection has changed.
      tags: [proficiency]
      parameters:
        - in: query
          schema: ProficiencyArgsSchema
        - in: header
          name: If-None-Match
          schema: {type: string}
          description: An ETag from an earlier answer.
        - in: header
          name: If-Modified-Since
          schema: {type: string}
          description: A Last-Modified from an earlier answer.
      responses:
        200:
          description: One page of proficiency rows.
          headers:
            ETag: ETag
            Last-Modified: LastModified
            Link: NextLink
          content:
            application/json:
              schema: ProficiencyPageSchema
        304: NotModified
        400: BadRequest
        401: Unauthorized
        404: NotFound
""")
def proficiency() -> Response:
    """Return one page of the platform's learners' proficiency rows; answer 304 if nothing changed."""
    args = _args(ProficiencyArgsSchema())
    page, per_page = args["page"], args["per_page"]
    if args["context"] is not None:
        _context_or_404(args["context"])
    query = ProficiencyQuery(platform_id=_platform_id(), context_id=args["context"],
                             updated_since=args["updated_since"])
    found = summarise_proficiency(db(), query)
    etag = proficiency_etag(query, page, per_page, found)
    last_modified = found.newest.replace(microsecond=0) if found.newest else None
    if _not_modified(etag, last_modified):
        response = Response(status=304)
    else:
        items = list_proficiency(db(), query, (page - 1) * per_page, per_page)
        response = _paged(ProficiencyPageSchema(), items, page, per_page, found.total)
    response.set_etag(etag)
    if last_modified is not None:
        response.last_modified = last_modified
    response.headers["Cache-Control"] = "private, no-cache"
    return response


@bp.get("/openapi.json")
@operation("""
    get:
      operationId: getOpenApi
      summary: This document
      security: []
      tags: [meta]
      responses:
        200:
          description: The OpenAPI 3.1 document.
          content:
            application/json:
              schema: {type: object}
""")
def openapi() -> Response:
    """Return the OpenAPI 3.1 document of this API (no key needed)."""
    return jsonify(build_openapi(current_app))


def _error_response(description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": api_schemas.ErrorSchema}}}


def openapi_path(rule: str) -> str:
    """Turn a Flask rule (``/c/<int:context_id>``) into an OpenAPI path (``/c/{context_id}``)."""
    return _RULE_ARGUMENT.sub(r"{\1}", rule)


def bind_schemas(node: Any) -> Any:
    """Replace schema names (``schema: LearnerPageSchema``) with the classes of :mod:`lti_tool.api_schemas`.

    apispec would otherwise look the names up in marshmallow's global registry, where another
    package's schema of the same name makes them ambiguous.
    """
    if isinstance(node, dict):
        return {key: (getattr(api_schemas, value) if key == "schema" and isinstance(value, str)
                      and isinstance(getattr(api_schemas, value, None), type) else bind_schemas(value))
                for key, value in node.items()}
    if isinstance(node, list):
        return [bind_schemas(item) for item in node]
    return node


def build_openapi(app: Flask) -> dict[str, Any]:
    """Build the OpenAPI document from the blueprint's routes, their docstrings and the schemas."""
    spec = APISpec(
        title=API_TITLE, version=API_VERSION, openapi_version=OPENAPI_VERSION, plugins=[MarshmallowPlugin()],
        info={"description": "Progress and proficiency of one platform's learners, for institutions' "
                             "reporting tools. Ask the tool's administrator for a key: `l2i apikey create`."},
        servers=[{"url": app_state(app).settings.base_url}],
        security=[{"bearer": []}],
    )
    spec.components.security_scheme("bearer", {
        "type": "http", "scheme": "bearer", "bearerFormat": "l2i_<key id>_<secret>",
        "description": "An API key from `l2i apikey create`; it sees one platform's data."})
    spec.components.parameter("ContextId", "path", {
        "name": "context_id", "required": True, "description": "A course's id, from /api/v1/contexts.",
        "schema": {"type": "integer", "minimum": 0, "maximum": MAX_ID}})
    spec.components.header("NextLink", {"description": 'The next page, as <URL>; rel="next" (absent on the '
                                                       "last page).", "schema": {"type": "string"}})
    spec.components.header("ETag", {"description": "Identifies this answer; send it as If-None-Match.",
                                    "schema": {"type": "string"}})
    spec.components.header("LastModified", {"description": "When the newest row of the selection changed.",
                                            "schema": {"type": "string"}})
    spec.components.response("BadRequest", _error_response("A query argument is wrong; the message says so."))
    spec.components.response("Unauthorized", {
        **_error_response("No API key, or one that is malformed, unknown or revoked."),
        "headers": {"WWW-Authenticate": {"description": REALM, "schema": {"type": "string"}}}})
    spec.components.response("NotFound", _error_response("This key's platform has no such course."))
    spec.components.response("NotModified", {"description": "Nothing in the selection changed.",
                                             "headers": {"ETag": "ETag", "Last-Modified": "LastModified"}})
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.rule):
        if rule.endpoint.split(".", 1)[0] != bp.name:
            continue
        operations = getattr(app.view_functions[rule.endpoint], OPERATIONS, {})
        spec.path(path=openapi_path(rule.rule), operations=bind_schemas(operations))
    return spec.to_dict()

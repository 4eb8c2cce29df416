"""Linking a learner's identities at several institutions: the learner's page and the administrators' view."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, redirect, render_template, request
from sqlalchemy import select

from lti_tool.access import has_programme_access
from lti_tool.linking import (
    BY_ADMIN,
    BY_LEARNER,
    CODE_LIFETIME,
    LinkError,
    count_linked_records,
    identities_of,
    issue_link_code,
    links_of,
    list_linked_records,
    list_unlinks,
    preview_link,
    redeem_link_code,
    unlink_identity,
)
from lti_tool.merging import Recompute
from lti_tool.models import Learner, Platform, PlatformUser
from lti_tool.principal import Capability
from lti_tool.web.auth import launch_required, launched, tool_url
from lti_tool.web.state import app_state, db
from lti_tool.web.translation import gettext, message_of

bp = Blueprint("links", __name__)
RECORDS_PER_PAGE = 50
MAX_CODE_FIELD = 64


def recompute_settings() -> Recompute:
    """Return what a link or unlink needs to recompute standings and completions."""
    state = app_state()
    return Recompute(state.settings.proficiency, state.catalog)


def platform_names() -> dict[str, str]:
    """Return each registered issuer's display name."""
    return {issuer: name for issuer, name in db().execute(select(Platform.issuer, Platform.name)
                                                          .order_by(Platform.id.desc()))}


def _render_links(*, issued: Any = None, problem: str | None = None, status: int = 200,
                  code: str = "") -> Any:
    user = launched().user
    learner = db().get(Learner, user.learner_id)
    return render_template(
        "links.html", identities=identities_of(db(), user.learner_id), links=links_of(db(), user.learner_id),
        names=platform_names(), me=user, issued=issued, problem=problem, code=code,
        minutes=CODE_LIFETIME.seconds // 60, sharing=learner.shares_evidence_since if learner else None,
        done=request.args.get("done"),
    ), status


def _entered_code() -> str:
    text = request.form.get("code") or ""
    if len(text) > MAX_CODE_FIELD:
        abort(422, description=gettext("A link code has 10 letters and digits; what was sent is far longer."))
    return text


@bp.get("/account/links")
@launch_required(Capability.STUDY)
def my_links() -> Any:
    """Show the learner's identities at each institution and how to link another one."""
    return _render_links()


@bp.post("/account/links/code")
@launch_required(Capability.STUDY)
def make_code() -> Any:
    """Make a one-time link code for the learner to enter at their other institution."""
    issued = issue_link_code(db(), launched().user)
    db().commit()
    return _render_links(issued=issued)


@bp.post("/account/links/check")
@launch_required(Capability.STUDY)
def check_code() -> Any:
    """Check an entered code and ask the learner to confirm what it would link."""
    text = _entered_code()
    try:
        preview = preview_link(db(), launched().user, text)
    except LinkError as exc:
        db().commit()  # a refused code counts towards the rate limit
        return _render_links(problem=message_of(exc), status=exc.status, code=text)
    return render_template("link_confirm.html", preview=preview, names=platform_names(), me=launched().user)


@bp.post("/account/links/confirm")
@launch_required(Capability.STUDY)
def confirm_code() -> Any:
    """Link the learner's identity here to the record the code came from."""
    text = _entered_code()
    try:
        redeem_link_code(db(), launched().user, text, recompute_settings())
    except LinkError as exc:
        db().commit()  # nothing was linked; a refused code counts towards the rate limit
        return _render_links(problem=message_of(exc), status=exc.status, code=text)
    db().commit()
    return redirect(tool_url("links.my_links", done="linked"), code=303)


def _identity_of_record(user_id: int, learner_id: int) -> PlatformUser:
    user = db().get(PlatformUser, user_id)
    if user is None or user.learner_id != learner_id:
        abort(404, description=gettext("This identity is not part of your record."))
    return user


@bp.post("/account/links/<int:user_id>/unlink")
@launch_required(Capability.STUDY)
def unlink_mine(user_id: int) -> Any:
    """Unlink one identity of the learner's own record: it gets its own record again."""
    user = _identity_of_record(user_id, launched().user.learner_id)
    try:
        unlink_identity(db(), user, recompute_settings(), by=BY_LEARNER)
    except LinkError as exc:
        db().rollback()
        return _render_links(problem=message_of(exc), status=exc.status)
    db().commit()
    return redirect(tool_url("links.my_links", done="unlinked"), code=303)


def _require_programme_access() -> None:
    if not has_programme_access(db(), launched()):
        abort(403, description=gettext("Linked learner records are shown to the programme's administrators "
                                       "only. Ask the tool's operator to run `l2i trainer grant` for you."))


def _page_number() -> int:
    raw = request.args.get("page", "1")
    if not raw.isdigit() or not 0 < int(raw) <= 100_000:
        abort(400, description=gettext("The page number must be a whole number from 1."))
    return int(raw)


@bp.get("/programme/links")
@launch_required(Capability.VIEW_COURSE_DASHBOARD)
def all_links() -> Any:
    """Show every learner record that spans institutions, and the latest unlinks."""
    _require_programme_access()
    page = _page_number()
    total = count_linked_records(db())
    records = list_linked_records(db(), offset=(page - 1) * RECORDS_PER_PAGE, limit=RECORDS_PER_PAGE)
    return render_template("admin_links.html", records=records, unlinks=list_unlinks(db()), total=total,
                           page=page, pages=max(1, -(-total // RECORDS_PER_PAGE)), names=platform_names(),
                           done=request.args.get("done"))


@bp.post("/programme/links/<int:user_id>/unlink")
@launch_required(Capability.VIEW_COURSE_DASHBOARD)
def unlink_any(user_id: int) -> Any:
    """Unlink one identity from its record, as an administrator."""
    _require_programme_access()
    user = db().get(PlatformUser, user_id)
    if user is None:
        abort(404, description=gettext("There is no such identity."))
    try:
        unlink_identity(db(), user, recompute_settings(), by=BY_ADMIN)
    except LinkError as exc:
        db().rollback()
        abort(exc.status, description=message_of(exc))
    db().commit()
    return redirect(tool_url("links.all_links", done="unlinked"), code=303)

"""Deep Linking 2.0: the picker an instructor's request lands on, and the signed response.

The request's settings (return URL, accepted types, ``accept_multiple``, ``data``) are read
from what the tool kept of the validated launch (:mod:`lti_tool.deep_linking`), never from
the form. A placement answers the request once: a replay finds nothing pending (409).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from flask import Blueprint, Response, abort, make_response, render_template, request

from course_units.text import localise
from lti_tool import deep_linking as dl
from lti_tool import keys
from lti_tool import vocabulary as v
from lti_tool.principal import Capability, Launch
from lti_tool.web.auth import launch_required, launched
from lti_tool.web.security import content_security_policy, origin_of
from lti_tool.web.state import app_state, db
from lti_tool.web.translation import gettext

bp = Blueprint("deep_linking", __name__)

CHOICE_FIELD = "item"
MAX_TITLE = 255


def _refuse_unrequested() -> None:
    abort(403, description=gettext(
        "A deep-linking response to a request the tool never saw: this session did not start "
        "with a request from your LMS to add content. Start again from your LMS's "
        "\"add an activity\" page."))


def _refuse_answered() -> None:
    abort(409, description=gettext(
        "This request to add content has already been answered, or it has expired. To place more "
        "content, start again from your LMS's \"add an activity\" page."))


def require_pending_request(launch: Launch) -> dl.DeepLinkRequest:
    """Return the launch's unanswered deep-linking request; 403 if it had none, 409 if answered."""
    if launch.message_type != v.MESSAGE_DEEP_LINKING:
        _refuse_unrequested()
    pending = dl.pending_request(db(), launch.session_id)
    if pending is None:
        _refuse_answered()
    assert pending is not None
    return pending


def render_picker(
    launch: Launch, pending: dl.DeepLinkRequest, *, chosen: Sequence[str] = (),
    problem: str | None = None, status: int = 200,
) -> tuple[str, int]:
    """Render the picker: every unit and its activities, with what is already chosen ticked."""
    state = app_state()
    page = render_template(
        "deep_linking.html", launch=launch, units=state.catalog.units, framework=state.framework,
        request_settings=pending, chosen=frozenset(chosen), problem=problem, locale=launch.locale,
        choice_field=CHOICE_FIELD, choice_value=dl.choice_value,
    )
    return page, status


@bp.get("/deep-linking")
@launch_required(Capability.PLACE_CONTENT)
def picker() -> Any:
    """Where an instructor's deep-linking request lands: choose units and activities to place."""
    launch = launched()
    pending = require_pending_request(launch)
    db().commit()  # the request is now kept for the whole tool session
    return render_picker(launch, pending)


def selection_problem(pending: dl.DeepLinkRequest, choices: Sequence[dl.Choice]) -> str | None:
    """Return why this selection cannot be placed, or None when it can."""
    if not pending.accepts_resource_links:
        return gettext("Your LMS does not accept links to activities (ltiResourceLink) for this "
                       "request, so nothing can be placed from here.")
    if not choices:
        return gettext("Choose at least one unit or activity to place in your course.")
    if len(choices) > 1 and not pending.accept_multiple:
        return gettext("Your LMS accepts only one item for this request. Choose a single unit "
                       "or activity.")
    return None


def item_title(choice: dl.Choice, locale: str | None) -> str:
    """Return the title the placed link gets in the course."""
    if choice.activity is not None:
        title = localise(choice.activity.title, locale)
    else:
        title = gettext("Unit %(n)s:", n=choice.unit.order) + " " + localise(choice.unit.title, locale)
    return title[:MAX_TITLE]


def sign_placement(launch: Launch, pending: dl.DeepLinkRequest, choices: Sequence[dl.Choice]) -> str:
    """Build the content items for ``choices`` and return the signed response JWT."""
    launch_url = app_state().settings.url("/lti/launch")
    items = [
        dl.content_item(choice, title=item_title(choice, launch.locale),
                        text=dl.summary_text(choice, launch.locale), launch_url=launch_url)
        for choice in choices
    ]
    claims = dl.response_claims(pending, items, client_id=launch.platform.client_id,
                                issuer=launch.platform.issuer)
    return dl.sign_response(claims, keys.ensure_signing_key(db()))


def return_page_policy(launch: Launch, pending: dl.DeepLinkRequest) -> str:
    """Return the CSP of the self-submitting page: its form may go to the request's return URL."""
    urls = (launch.platform.issuer, launch.platform.auth_login_url, pending.return_url)
    origins = sorted({o for o in (origin_of(u) for u in urls) if o})
    return content_security_policy(tuple(origins))


@bp.post("/deep-linking")
@launch_required(Capability.PLACE_CONTENT)
def place() -> Any:
    """Answer the request: sign the chosen items and send them back to the LMS (self-submitting form)."""
    launch = launched()
    pending = require_pending_request(launch)
    values = request.form.getlist(CHOICE_FIELD)
    try:
        choices = dl.read_choices(app_state().catalog, values)
    except dl.UnknownChoiceError:
        return render_picker(launch, pending, chosen=values, status=422, problem=gettext(
            "The form named a unit or activity this tool does not have. Choose again from the list."))
    problem = selection_problem(pending, choices)
    if problem is not None:
        return render_picker(launch, pending, chosen=values, problem=problem, status=422)
    if not dl.consume_request(db(), launch.session_id):
        _refuse_answered()
    token = sign_placement(launch, pending, choices)
    db().commit()
    response: Response = make_response(render_template(
        "deep_linking_return.html", return_url=pending.return_url, jwt=token, count=len(choices)))
    response.headers["Content-Security-Policy"] = return_page_policy(launch, pending)
    return response

"""The administrator's pages: the xAPI outbox, what each LRS has been sent and what it refused."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from flask import Blueprint, abort, redirect, render_template, request
from flask_babel import format_decimal
from sqlalchemy.orm import Session

from l2i_db import utcnow
from lti_tool.grades import ags_destination
from lti_tool.principal import Capability, Launch
from lti_tool.tracking import PROGRAMME_DESTINATION, lrs_targets, platform_destination
from lti_tool.web.auth import launch_required, launched, tool_url
from lti_tool.web.state import app_state, db
from lti_tool.web.translation import gettext
from xapi.outbox import DestinationStatus, outbox_status, recent_errors, retry_dead

bp = Blueprint("admin", __name__)

RECENT_ERRORS = 20


def visible_destinations(launch: Launch) -> tuple[str, ...]:
    """Return the outbox destinations an administrator may see and repair, in the page's order.

    The programme's LRS, and the LRS and grade service of the platform they launched from: never
    another platform's, whose endpoint, errors and statements belong to another institution.
    """
    return (PROGRAMME_DESTINATION, platform_destination(launch.platform.id),
            ags_destination(launch.platform.id))


@dataclass(frozen=True)
class DestinationView:
    """One LRS as the outbox page shows it: its name, its endpoint and its queue's counts."""

    destination: str
    label: str
    endpoint: str | None
    status: DestinationStatus | None
    lag: str | None

    @property
    def total(self) -> int:
        """Every statement ever queued for this LRS and still kept: delivered, waiting or refused."""
        status = self.status
        return status.delivered + status.pending + status.dead if status else 0

    @property
    def percent(self) -> int:
        """The share delivered, rounded down (100 only when everything was delivered)."""
        return self.status.delivered * 100 // self.total if self.status and self.total else 0

    @property
    def state(self) -> str:
        """``refused``, ``behind``, ``delivered`` or ``idle`` (nothing queued yet)."""
        status = self.status
        if status is None or not self.total:
            return "idle"
        if status.dead:
            return "refused"
        return "behind" if status.pending else "delivered"


def destination_label(destination: str, launch: Launch) -> str:
    """Name a destination in words: the programme's LRS, or the launch platform's own."""
    if destination == PROGRAMME_DESTINATION:
        return gettext("Programme LRS")
    if destination == ags_destination(launch.platform.id):
        return gettext("Grades to %(platform)s", platform=launch.platform.name)
    return gettext("%(platform)s's LRS", platform=launch.platform.name)


def shown_endpoint(url: str) -> str:
    """Return an LRS endpoint without any user name or password written into it."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if ":" in host:  # an IPv6 address keeps its brackets
        host = f"[{host}]"
    netloc = f"{host}:{parts.port}" if parts.port else host
    return urlunsplit(parts._replace(netloc=netloc))


def humanise_seconds(seconds: float) -> str:
    """Say a duration briefly in the reader's language: "12 s", "4 min", "1.5 h"."""
    if seconds < 120:
        return gettext("%(n)s s", n=format_decimal(int(seconds)))
    if seconds < 3600:
        return gettext("%(n)s min", n=format_decimal(int(seconds // 60)))
    return gettext("%(n)s h", n=format_decimal(round(seconds / 3600, 1), format="#,##0.#"))


def outbox_views(session: Session, launch: Launch, now: dt.datetime) -> list[DestinationView]:
    """Return the launch's visible destinations that are configured or have anything queued."""
    endpoints = {name: target.endpoint for name, target in lrs_targets(session, app_state().settings).items()}
    grades = ags_destination(launch.platform.id)
    statuses = {row.destination: row for row in outbox_status(session, now=now)}
    if grades in statuses:  # scores go to the LMS the admin launched from
        endpoints[grades] = launch.platform.issuer
    views: list[DestinationView] = []
    for destination in visible_destinations(launch):
        endpoint, status = endpoints.get(destination), statuses.get(destination)
        if endpoint is None and status is None:
            continue
        lag = humanise_seconds(status.lag_seconds(now)) if status and status.oldest_pending_at else None
        views.append(DestinationView(
            destination=destination, label=destination_label(destination, launch),
            endpoint=shown_endpoint(endpoint) if endpoint else None, status=status, lag=lag,
        ))
    return views


def _queued_notice() -> int | None:
    queued = request.args.get("queued", "")
    return int(queued) if queued.isdigit() else None


@bp.get("/admin/outbox")
@launch_required(Capability.ADMINISTER)
def outbox() -> Any:
    """Show the outbox of the programme's LRS and the platform's own: counts, lag and errors."""
    launch = launched()
    now = utcnow()
    destinations = outbox_views(db(), launch, now)
    visible = visible_destinations(launch)
    errors = recent_errors(db(), destinations=visible, limit=RECENT_ERRORS)
    labels = {destination: destination_label(destination, launch) for destination in visible}
    return render_template(
        "admin_outbox.html", launch=launch, destinations=destinations, errors=errors,
        labels=labels, now=now, queued=_queued_notice(),
    )


@bp.post("/admin/outbox/retry")
@launch_required(Capability.ADMINISTER)
def retry() -> Any:
    """Queue a destination's refused statements again, then go back to the outbox page."""
    destination = request.form.get("destination", "")
    if destination not in visible_destinations(launched()):
        abort(404, description=gettext("There is no such LRS among the ones you administer. "
                                       "Go back to the xAPI outbox page and use its buttons."))
    count = retry_dead(db(), destination=destination)
    db().commit()
    return redirect(tool_url("admin.outbox", queued=count), code=303)

"""Every form of the tool refuses a POST without its session's CSRF token: 400, a clear message, no change.

The routes come from the app's URL map: each POST (PUT, PATCH, DELETE) route is either checked here
or listed in :data:`CSRF_EXEMPT` with the reason it needs no token; a new route that is neither
fails :func:`test_every_body_route_is_checked_or_exempted`. Each route is posted by a principal it
lets in (see :mod:`tests.lti_tool.test_request_limits`), once with no token, once with the token of
another launch session; then, as the control, with its own token, which must get past the check.
"""

from __future__ import annotations

from flask import Flask
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from werkzeug.test import TestResponse

from l2i_db import Base
from lti_tool.migrate import load_metadata
from tests.lti_tool import test_request_limits as limits
from tests.lti_tool.test_authorisation import FORMS, URLS, Visitor
from tests.lti_tool.test_request_limits import Senders, body_routes, sender_of

REFUSAL = "The form&#39;s security token is missing or wrong. Reload the page and try again."

# endpoint -> why it takes no CSRF token. Each of these reads no tool session cookie, so a forged
# cross-site POST carries no one's authority.
CSRF_EXEMPT = {
    "lti.login": "OIDC third-party initiated login: the LMS posts it cross-site by design (LTI 1.3 "
                 "§5.1.1); it only starts a login, whose state and nonce the launch must return",
    "lti.launch": "the LMS posts the signed id_token cross-site by design; the token's signature, "
                  "audience and nonce, and the state from the login, are its protection",
    "credentials.verify_presented_credential": "the public verifier (anyone may check a credential): "
                                               "it reads no session and changes nothing",
}

senders = limits.senders   # fixtures: every principal launched, plus a deep-linking trainer
world = limits.world


def checked_routes(app: Flask) -> list[tuple[str, str, str]]:
    """Return the body routes that must refuse a missing or foreign CSRF token."""
    return [route for route in body_routes(app) if route[0] not in CSRF_EXEMPT]


def other_session_token(visitors: dict[str, Visitor], sender: str) -> str:
    """Return the valid CSRF token of another principal's launch session."""
    other = "other_learner" if sender == "learner" else "learner"
    token = visitors[other].csrf
    assert token and token != visitors[sender].csrf
    return token


def row_counts(session: Session) -> dict[str, int]:
    """Count the rows of every table of the tool's database."""
    load_metadata()
    session.expire_all()
    return {table.name: session.scalar(select(func.count()).select_from(table)) or 0
            for table in Base.metadata.sorted_tables}


def post(app: Flask, url: str, method: str, visitor: Visitor, endpoint: str,
         token: str | None) -> TestResponse:
    """Post the route's form as ``visitor`` (session in the header), with ``token`` in the form or none."""
    data = dict(FORMS.get(endpoint, {}))
    if token is not None:
        data["csrf_token"] = token
    response = app.test_client().open(url, method=method, headers=visitor.headers, data=data)
    response.close()
    return response


def test_every_body_route_is_checked_or_exempted(app: Flask) -> None:
    """A new POST route must be CSRF-checked (and reachable by someone) or exempted with a reason."""
    endpoints = {endpoint for endpoint, _rule, _method in body_routes(app)}
    stale = set(CSRF_EXEMPT) - endpoints
    assert not stale, f"exempted routes that no longer take a POST: {stale}"
    checked = checked_routes(app)
    assert len(checked) == len(endpoints) - len(CSRF_EXEMPT) and len(checked) >= 12
    for endpoint, _rule, _method in checked:
        assert endpoint in URLS and sender_of(endpoint), endpoint
    assert all(len(reason) > 40 for reason in CSRF_EXEMPT.values())


def test_every_form_refuses_a_missing_or_foreign_token_and_changes_nothing(
    app: Flask, senders: Senders, db_session: Session,
) -> None:
    """No token, or a token of another session: 400 with the message, and not a row changes."""
    ids, visitors = senders
    before = row_counts(db_session)
    wrong: list[str] = []
    routes = checked_routes(app)
    for endpoint, rule, method in routes:
        sender = sender_of(endpoint)
        url = URLS[endpoint](ids)
        for label, token in (("no token", None), ("another session's token",
                                                  other_session_token(visitors, sender))):
            response = post(app, url, method, visitors[sender], endpoint, token)
            text = response.get_data(as_text=True)
            if response.status_code != 400 or REFUSAL not in text:
                wrong.append(f"{method} {rule} as {sender} with {label}: {response.status_code} {text[:200]}")
    assert not wrong, "\n".join(wrong)
    assert row_counts(db_session) == before


def test_every_form_lets_its_own_token_through(app: Flask, senders: Senders) -> None:
    """The control: with the session's own token no route gives the CSRF refusal (nor a server error)."""
    ids, visitors = senders
    wrong: list[str] = []
    for endpoint, rule, method in checked_routes(app):
        sender = sender_of(endpoint)
        response = post(app, URLS[endpoint](ids), method, visitors[sender], endpoint, visitors[sender].csrf)
        text = response.get_data(as_text=True)
        if REFUSAL in text or response.status_code >= 500 or response.status_code in (401, 403):
            wrong.append(f"{method} {rule} as {sender}: {response.status_code} {text[:200]}")
    assert not wrong, "\n".join(wrong)

"""Every route that takes a request body answers 413, with a readable message, to one over the limit.

The routes come from the app's URL map, so a new POST (PUT, PATCH, DELETE) route is covered the
day it appears; it needs only an entry in :data:`tests.lti_tool.test_authorisation.URLS` (which that
module's own test already demands). Each body is sent by a visitor the route lets in (a real launch
session and its CSRF token, from the authorisation matrix's ``world``), so the only reason left to
refuse it is its size. The limit is ``L2I_MAX_REQUEST_BYTES`` (``Settings.max_request_bytes``),
which ``create_app`` gives Flask as ``MAX_CONTENT_LENGTH``.
"""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.datastructures import FileStorage
from werkzeug.test import TestResponse, encode_multipart

from lti_tool.web.state import app_state
from tests.fixtures.lti import LaunchDriver
from tests.lti_tool import test_authorisation as matrix
from tests.lti_tool.test_authorisation import EXPECTED, URLS, Visitor, World

BODY_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
# the POST routes today number 20; a big change either way deserves a look at this module
EXPECTED_ROUTES = range(15, 41)
TOO_LARGE = "The request is larger than this tool accepts."
DEEP_LINKING_TRAINER = "deep_linking_trainer"
# who sends a route's requests: the first of these it lets in (public routes: anyone)
PREFERRED_SENDERS = ("learner", "instructor", "admin")
# routes no principal of the matrix may use: the picker needs a deep-linking launch
SPECIAL_SENDERS = {"deep_linking.place": DEEP_LINKING_TRAINER}

Route = tuple[str, str, str]   # endpoint, rule, method
Senders = tuple[World, dict[str, Visitor]]

world = matrix.world   # the authorisation matrix's fixture: every principal launched, resources made


def body_routes(app: Flask) -> list[Route]:
    """Return every (endpoint, rule, method) of the URL map whose method carries a body."""
    return sorted((rule.endpoint, rule.rule, method) for rule in app.url_map.iter_rules()
                  for method in sorted((rule.methods or set()) & BODY_METHODS))


def sender_of(endpoint: str) -> str:
    """Return the principal who sends a route's requests: one it lets in."""
    if endpoint in SPECIAL_SENDERS:
        return SPECIAL_SENDERS[endpoint]
    allowed = EXPECTED[endpoint]
    if allowed.get("anonymous") == "allow":
        return "anonymous"
    return next(p for p in PREFERRED_SENDERS if allowed.get(p) == "allow")


def deep_linking_visitor(driver: LaunchDriver) -> Visitor:
    """Launch the course's trainer with a deep-linking request; return their session and CSRF token."""
    driver.client = driver.client.application.test_client()
    trainer = driver.user("Instructor", 0, 0)
    launched = driver.launch(trainer, message="deeplink")
    assert launched.status_code == 303, launched.get_data(as_text=True)
    token = parse_qs(urlsplit(launched.headers["Location"]).query)["s"][0]
    tokens = app_state(driver.client.application).tokens
    session_id = tokens.read(token)
    assert session_id is not None
    return Visitor({"X-L2I-Session": token}, tokens.csrf_token(session_id))


@pytest.fixture
def senders(world: Senders, driver: LaunchDriver) -> Senders:
    """The matrix's principals and a trainer in a deep-linking launch."""
    ids, visitors = world
    return ids, {**visitors, DEEP_LINKING_TRAINER: deep_linking_visitor(driver)}


def send(client: FlaskClient, route: Route, url: str, visitor: Visitor, kind: str, size: int,
         csrf: str | None = None) -> TestResponse:
    """Send a body of ``size`` filler bytes, form-encoded, as JSON or multipart, with the visitor's token."""
    headers = dict(visitor.headers)
    token = csrf if csrf is not None else visitor.csrf
    if token:
        headers["X-CSRF-Token"] = token
    filler = "x" * size
    _endpoint, _rule, method = route
    if kind == "json":
        headers["Accept"] = "application/json"
        return client.open(url, method=method, headers=headers, data=json.dumps({"filler": filler}),
                           content_type="application/json")
    if kind == "multipart":
        # encoded here, in memory: the test client would spool a large body to a file nobody closes
        boundary, body = encode_multipart({
            "csrf_token": token or "", "file": FileStorage(io.BytesIO(filler.encode()), "big.jwt")})
        return client.open(url, method=method, headers=headers, data=body,
                           content_type=f"multipart/form-data; boundary={boundary}")
    return client.open(url, method=method, headers=headers,
                       data={"csrf_token": token or "", "filler": filler})


def assert_readable_413(response: TestResponse, what: str) -> None:
    """Check a 413 that says, in words, that the request is too large (JSON when JSON was asked for)."""
    text = response.get_data(as_text=True)
    assert response.status_code == 413, f"{what}: {response.status_code} {text[:300]}"
    assert "Traceback" not in text and len(text) < 50_000, what
    if response.is_json:
        body: dict[str, Any] = response.get_json()
        assert body["message"] == TOO_LARGE, f"{what}: {body}"
    else:
        assert response.mimetype == "text/html", what
        assert TOO_LARGE in text, f"{what}: {text[:300]}"


def limit_of(app: Flask) -> int:
    """Return the configured limit, checking Flask was given the same one."""
    limit = app_state(app).settings.max_request_bytes
    assert app.config["MAX_CONTENT_LENGTH"] == limit
    return limit


def test_the_body_routes_are_the_ones_expected(app: Flask) -> None:
    """The URL map has POST routes, each with a URL to try and someone allowed to send it."""
    routes = body_routes(app)
    assert len(routes) in EXPECTED_ROUTES, [r[1] for r in routes]
    missing = [endpoint for endpoint, _rule, _method in routes if endpoint not in URLS]
    assert not missing, f"add these routes to tests/lti_tool/test_authorisation.py URLS: {missing}"
    for endpoint, _rule, _method in routes:
        assert sender_of(endpoint)


def test_every_body_route_answers_413_with_a_message_to_a_body_over_the_limit(
    app: Flask, senders: Senders,
) -> None:
    """Every POST route, as a visitor it lets in: form-encoded, JSON and multipart bodies over the limit."""
    ids, visitors = senders
    limit = limit_of(app)
    client = app.test_client()
    routes = body_routes(app)
    tried = 0
    for route in routes:
        endpoint, rule, method = route
        url = URLS[endpoint](ids)
        for kind in ("form", "json", "multipart"):
            response = send(client, route, url, visitors[sender_of(endpoint)], kind, limit + 1)
            assert_readable_413(response, f"{method} {rule} ({kind}) as {sender_of(endpoint)}")
            response.close()
            tried += 1
    assert tried == 3 * len(routes) and routes


def test_a_visitor_without_a_session_is_refused_without_the_body_being_read(
    app: Flask, senders: Senders,
) -> None:
    """Without a session the door answers first (401, or 413 for the public routes); never a 5xx."""
    ids, visitors = senders
    limit = limit_of(app)
    client = app.test_client()
    for route in body_routes(app):
        endpoint, rule, method = route
        response = send(client, route, URLS[endpoint](ids), visitors["anonymous"], "form", limit + 1)
        public = EXPECTED[endpoint].get("anonymous") == "allow"
        assert response.status_code == (413 if public else 401), f"{method} {rule}: {response.status_code}"
        response.close()


def exact_form(fields: dict[str, str], filler_field: str, total: int) -> str:
    """Return a form-encoded body of exactly ``total`` bytes, padding ``filler_field``."""
    head = "&".join(f"{name}={value}" for name, value in fields.items())
    prefix = f"{head}&{filler_field}=" if head else f"{filler_field}="
    body = prefix + "x" * (total - len(prefix))
    assert len(body.encode()) == total
    return body


UNDER_THE_LIMIT: dict[str, tuple[str, Callable[[Visitor], dict[str, str]]]] = {
    # endpoint -> (the field padded, the other fields)
    "credentials.verify_presented_credential": ("token", lambda visitor: {}),
    "units.save_attempt": ("answer", lambda visitor: {"csrf_token": visitor.csrf or ""}),
}


@pytest.mark.parametrize("endpoint", sorted(UNDER_THE_LIMIT))
def test_a_body_of_exactly_the_limit_is_read_and_one_byte_more_is_not(
    app: Flask, senders: Senders, endpoint: str,
) -> None:
    """At the limit the view answers for the content (not 413); one byte over, 413."""
    ids, visitors = senders
    limit = limit_of(app)
    client = app.test_client()
    visitor = visitors[sender_of(endpoint)]
    field, others = UNDER_THE_LIMIT[endpoint]
    url = URLS[endpoint](ids)
    for size, over in ((limit, False), (limit + 1, True)):
        response = client.post(url, headers=visitor.headers, data=exact_form(others(visitor), field, size),
                                content_type="application/x-www-form-urlencoded")
        if over:
            assert_readable_413(response, f"{endpoint} at {size} bytes")
        else:
            text = response.get_data(as_text=True)
            assert response.status_code != 413 and response.status_code < 500, (
                f"{endpoint} at {size} bytes: {response.status_code} {text[:300]}")
            assert TOO_LARGE not in text and "security token" not in text
        response.close()

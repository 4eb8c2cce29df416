"""Course rosters over NRPS: parsing, paging over real HTTP, hostile platforms, Moodle's answer replayed.

The platform here is a small HTTP server on loopback (a token endpoint and memberships pages
scripted by each test), so the client's requests, headers and paging run for real.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

import pytest
import requests
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from lti_tool import vocabulary as v
from lti_tool.keys import SigningKey
from lti_tool.models import Context, Deployment, Learner, Membership, Platform, PlatformUser, ResourceLink
from lti_tool.roster import (
    Member,
    Roster,
    RosterClient,
    RosterError,
    is_stale,
    never_launched,
    next_link,
    parse_page,
    record_failure,
    store_roster,
)
from lti_tool.roster_models import RosterFetch, RosterMember
from lti_tool.services import PlatformAccess, ServiceError, ServiceTokens
from lti_tool.web.state import app_state
from tests.fixtures.captures import read_capture
from tests.fixtures.lti import LaunchDriver
from tests.fixtures.servers import free_port
from tests.lti_tool.test_learning_flow import csrf_of, enter


@dataclass
class Reply:
    """What the scripted platform answers to one request."""

    body: bytes = b""
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    length: bool = True


Route = Callable[[str], Reply]


class FakePlatform:
    """A scripted platform on loopback: ``/token`` grants tokens, other paths are scripted."""

    def __init__(self) -> None:
        self.routes: dict[str, Route] = {}
        self.seen: list[tuple[str, str, dict[str, str]]] = []
        self.tokens_granted = 0
        platform = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.0"

            def log_message(self, format: str, *args: Any) -> None:
                return

            def do_POST(self) -> None:
                self.rfile.read(int(self.headers.get("Content-Length", "0")))
                platform.tokens_granted += 1
                self._send(Reply(json.dumps({"access_token": f"tok-{platform.tokens_granted}",
                                             "expires_in": 3600}).encode()))

            def do_GET(self) -> None:
                platform.seen.append(("GET", self.path, dict(self.headers)))
                route = platform.routes.get(urlsplit(self.path).path)
                self._send(route(self.path) if route else Reply(b"not here", status=404))

            def _send(self, reply: Reply) -> None:
                self.send_response(reply.status)
                for name, value in reply.headers.items():
                    self.send_header(name, value)
                if reply.length:
                    self.send_header("Content-Length", str(len(reply.body)))
                self.end_headers()
                with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                    self.wfile.write(reply.body)

        self.port = free_port()
        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.url = f"http://127.0.0.1:{self.port}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @property
    def access(self) -> PlatformAccess:
        """The platform as the tool's service client sees it."""
        return PlatformAccess(1, "client-1", f"{self.url}/token")

    def stop(self) -> None:
        """Stop serving."""
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def platform() -> Iterator[FakePlatform]:
    served = FakePlatform()
    yield served
    served.stop()


@pytest.fixture(scope="module")
def key() -> SigningKey:
    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = private.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption()).decode()
    return SigningKey("test-key", pem)


@pytest.fixture
def client() -> Iterator[RosterClient]:
    with requests.Session() as http:
        yield RosterClient(http, ServiceTokens(http, 2.0), 2.0)


def container(*members: dict[str, Any]) -> bytes:
    return json.dumps({"id": "x", "context": {"id": "c"}, "members": list(members)}).encode()


def person(user_id: str, role: str = "Learner", **extra: Any) -> dict[str, Any]:
    return {"user_id": user_id, "roles": [role], "name": f"Person {user_id}", **extra}


def page_route(pages: list[bytes], next_of: Callable[[int], str | None]) -> Route:
    """Serve ``pages`` at ``?page=N`` (1 when absent), with the Link header ``next_of(N)`` gives."""

    def answer(path: str) -> Reply:
        query = dict(p.split("=", 1) for p in urlsplit(path).query.split("&") if "=" in p)
        number = int(query.get("page", "1"))
        following = next_of(number)
        headers = {"Content-Type": v.MEDIA_MEMBERSHIP_CONTAINER}
        if following:
            headers["Link"] = f'<{following}>; rel="next"'
        return Reply(pages[number - 1], headers=headers)

    return answer


# -- parsing ------------------------------------------------------------------------------


def test_moodle_45_answer_replayed_over_http(platform: FakePlatform, client: RosterClient,
                                              key: SigningKey) -> None:
    moodle = read_capture("nrps_members_response.json")
    platform.routes["/mod/lti/services.php/2/bindings/1/memberships"] = \
        lambda _path: Reply(json.dumps(moodle).encode(), headers={"Content-Type": "application/json"})
    url = f"{platform.url}/mod/lti/services.php/2/bindings/1/memberships"
    roster = client.fetch(platform.access, key, url)
    assert (roster.pages, roster.skipped) == (1, 0)
    by_id = {m.user_id: m for m in roster.members}
    assert by_id["4"] == Member(user_id="4", name="Student1 Probe", given_name="Student1",
                                family_name="Probe", email="student1@example.com",
                                roles=(v.ROLE_LEARNER,), status="Active")
    assert by_id["3"].roles == (v.ROLE_INSTRUCTOR,), "Moodle's short role names become full URIs"
    _, _, headers = platform.seen[0]
    assert headers["Authorization"] == "Bearer tok-1"
    assert v.MEDIA_MEMBERSHIP_CONTAINER in headers["Accept"]


def test_members_without_user_id_are_skipped_and_counted() -> None:
    members, skipped = parse_page({"members": [
        person("1"), {"roles": ["Learner"], "name": "No id"}, {"user_id": "", "roles": []}, "junk",
        person("2", status="Inactive"), person("3", status="Weird"), {"user_id": 7, "roles": "Learner"},
    ]})
    assert [m.user_id for m in members] == ["1", "2", "3", "7"]
    assert skipped == 3
    assert [m.status for m in members] == ["Active", "Inactive", "Active", "Active"]
    assert members[3].roles == ()


@pytest.mark.parametrize("body", [[], {"members": {}}, {"id": "x"}, "members"])
def test_a_body_that_is_not_a_container_is_refused(body: object) -> None:
    with pytest.raises(RosterError, match="not a membership container"):
        parse_page(body)


def test_next_link_parsing() -> None:
    base = "https://lms.test/nrps/c/memberships"
    assert next_link(None, base) is None
    assert next_link('<https://lms.test/x?page=2>; rel="next"', base) == "https://lms.test/x?page=2"
    both = '<https://lms.test/a?page=1>; rel="prev", <?page=3>; rel="next"'
    assert next_link(both, base) == "https://lms.test/nrps/c/memberships?page=3"
    assert next_link('<https://lms.test/y>; rel="last next"', base) == "https://lms.test/y"
    assert next_link('<https://lms.test/a>; rel="differences"', base) is None


# -- paging ------------------------------------------------------------------------------


def test_paging_follows_next_links_with_one_token(platform: FakePlatform, client: RosterClient,
                                                  key: SigningKey) -> None:
    pages = [container(person("1"), person("2")), container(person("3")), container(person("4"))]
    nexts = {1: f"{platform.url}/members?page=2", 2: "/members?page=3"}
    platform.routes["/members"] = page_route(pages, nexts.get)
    roster = client.fetch(platform.access, key, f"{platform.url}/members")
    assert [m.user_id for m in roster.members] == ["1", "2", "3", "4"]
    assert roster.pages == 3
    assert platform.tokens_granted == 1
    assert [path for _, path, _ in platform.seen] == ["/members", "/members?page=2", "/members?page=3"]


def test_a_next_link_to_another_host_is_refused(platform: FakePlatform, client: RosterClient,
                                                key: SigningKey) -> None:
    elsewhere = FakePlatform()
    try:
        elsewhere.routes["/members"] = page_route([container(person("9"))], lambda _n: None)
        platform.routes["/members"] = page_route([container(person("1"))],
                                                 lambda _n: f"{elsewhere.url}/members")
        with pytest.raises(RosterError, match="another host"):
            client.fetch(platform.access, key, f"{platform.url}/members")
        assert elsewhere.seen == [], "the token must never travel to another host"
        # Same address, other name: still another host.
        platform.routes["/members"] = page_route([container(person("1"))],
                                                 lambda _n: f"http://localhost:{platform.port}/members")
        with pytest.raises(RosterError, match="another host"):
            client.fetch(platform.access, key, f"{platform.url}/members")
    finally:
        elsewhere.stop()


def test_redirects_are_not_followed(platform: FakePlatform, client: RosterClient, key: SigningKey) -> None:
    platform.routes["/members"] = lambda _p: Reply(status=302, headers={"Location": "http://elsewhere.test/"})
    with pytest.raises(ServiceError, match="HTTP 302"):
        client.fetch(platform.access, key, f"{platform.url}/members")


def test_next_links_in_a_circle_stop(platform: FakePlatform, client: RosterClient, key: SigningKey) -> None:
    platform.routes["/members"] = page_route([container(person("1")), container(person("2"))],
                                             lambda n: f"/members?page={2 if n == 1 else 1}")
    with pytest.raises(RosterError, match="circle"):
        client.fetch(platform.access, key, f"{platform.url}/members")


def test_pages_and_members_are_capped(platform: FakePlatform, key: SigningKey) -> None:
    platform.routes["/members"] = page_route([container(person(str(n))) for n in range(1, 6)],
                                             lambda n: f"/members?page={n + 1}" if n < 5 else None)
    with requests.Session() as http:
        tokens = ServiceTokens(http, 2.0)
        with pytest.raises(RosterError, match="more than 3 pages"):
            RosterClient(http, tokens, 2.0, max_pages=3).fetch(platform.access, key,
                                                               f"{platform.url}/members")
        with pytest.raises(RosterError, match="more than 2 members"):
            RosterClient(http, tokens, 2.0, max_members=2).fetch(platform.access, key,
                                                                 f"{platform.url}/members")
        whole = RosterClient(http, tokens, 2.0, max_pages=5).fetch(platform.access, key,
                                                                   f"{platform.url}/members")
    assert len(whole.members) == 5


# -- hostile or broken answers -----------------------------------------------------------------


def test_a_page_that_is_not_json(platform: FakePlatform, client: RosterClient, key: SigningKey) -> None:
    platform.routes["/members"] = lambda _p: Reply(b"<html>Maintenance</html>",
                                                   headers={"Content-Type": "text/html"})
    with pytest.raises(RosterError, match="not JSON"):
        client.fetch(platform.access, key, f"{platform.url}/members")
    platform.routes["/members"] = lambda _p: Reply(b"[" * 200_000)
    with pytest.raises(RosterError, match="not JSON"):
        client.fetch(platform.access, key, f"{platform.url}/members")


@pytest.mark.parametrize("declared", [True, False])
def test_oversized_pages_are_refused(platform: FakePlatform, key: SigningKey, declared: bool) -> None:
    big = container(*(person(str(n), name="x" * 200) for n in range(100)))
    platform.routes["/members"] = lambda _p: Reply(big, length=declared)
    with requests.Session() as http, pytest.raises(RosterError, match="larger than"):
        RosterClient(http, ServiceTokens(http, 2.0), 2.0, max_page_bytes=10_000).fetch(
            platform.access, key, f"{platform.url}/members")


def test_a_401_forgets_the_token_and_asks_for_a_new_one_once(platform: FakePlatform, client: RosterClient,
                                                            key: SigningKey) -> None:
    def first_refused(_path: str) -> Reply:
        refused = sum(1 for _, p, _ in platform.seen if p == "/members") == 1
        return Reply(b"expired", status=401) if refused else Reply(container(person("1")))

    platform.routes["/members"] = first_refused
    roster = client.fetch(platform.access, key, f"{platform.url}/members")
    assert [m.user_id for m in roster.members] == ["1"]
    assert platform.tokens_granted == 2
    assert [h["Authorization"] for _, _, h in platform.seen] == ["Bearer tok-1", "Bearer tok-2"]

    platform.routes["/members"] = lambda _p: Reply(b"no", status=401)
    with pytest.raises(ServiceError) as refused:
        client.fetch(platform.access, key, f"{platform.url}/members")
    assert (refused.value.status, refused.value.retryable) == (401, True)
    assert platform.tokens_granted == 3, "the cached token, then one fresh token"
    assert client.tokens._cache == {}, "the refused token is not kept"


def test_errors_and_silence(platform: FakePlatform, key: SigningKey) -> None:
    platform.routes["/members"] = lambda _p: Reply(b"x" * 10_000, status=503)
    with requests.Session() as http:
        client = RosterClient(http, ServiceTokens(http, 2.0), 2.0)
        with pytest.raises(ServiceError, match="HTTP 503") as failed:
            client.fetch(platform.access, key, f"{platform.url}/members")
        assert failed.value.retryable and len(str(failed.value)) < 400
        with pytest.raises(ServiceError, match="cannot connect"):
            client.fetch(platform.access, key, f"http://127.0.0.1:{free_port()}/members")
        with pytest.raises(RosterError, match="not an HTTP address"):
            client.fetch(platform.access, key, "file:///etc/passwd")


# -- the stored snapshot -------------------------------------------------------------------


def _course(session: Session) -> tuple[Platform, Context]:
    platform = Platform(name="P", issuer="https://lms.test", client_id="c", auth_login_url="https://lms.test/a",
                        auth_token_url="https://lms.test/t", key_set_url="https://lms.test/k")
    deployment = Deployment(platform=platform, deployment_id="d")
    context = Context(deployment=deployment, context_id="course-1")
    session.add_all([platform, deployment, context])
    session.flush()
    return platform, context


def test_stored_roster_and_who_never_launched(db_session: Session) -> None:
    platform, context = _course(db_session)
    other_platform_user = PlatformUser(issuer="https://other.test", sub="12", learner=Learner())
    launched = PlatformUser(issuer=platform.issuer, sub="11", learner=Learner(),
                            last_launch_at=dt.datetime.now(dt.UTC))
    db_session.add_all([other_platform_user, launched,
                        Membership(user=launched, context=context, roles=[v.ROLE_LEARNER])])
    roster = Roster(members=[
        Member("10", family_name="Zed", roles=(v.ROLE_LEARNER,)),
        Member("11", roles=(v.ROLE_LEARNER,)),
        Member("12", name="Same sub elsewhere", family_name="Alpha", roles=(v.ROLE_LEARNER,)),
        Member("13", roles=(v.ROLE_INSTRUCTOR,)),
        Member("14", roles=(v.ROLE_LEARNER,), status="Inactive"),
    ], skipped=2)
    fetch = store_roster(db_session, context.id, roster)
    assert (fetch.member_count, fetch.skipped_count, fetch.last_error) == (5, 2, None)
    assert [m.sub for m in never_launched(db_session, context, platform)] == ["12", "10"]
    assert not is_stale(fetch)
    assert is_stale(fetch, dt.datetime.now(dt.UTC) + dt.timedelta(hours=2))

    store_roster(db_session, context.id, Roster(members=[Member("10", roles=(v.ROLE_LEARNER,))]))
    assert db_session.scalars(select(RosterMember.sub)).all() == ["10"], "a refresh replaces the roster"
    failed = record_failure(db_session, context.id, "roster: HTTP 500")
    assert failed.last_error == "roster: HTTP 500" and failed.fetched_at is not None
    assert db_session.scalars(select(RosterMember.sub)).all() == ["10"], "a failure keeps the last roster"
    assert db_session.get(RosterFetch, context.id) is failed


def test_two_refreshes_of_one_roster_at_once_take_turns(app: Flask) -> None:
    factory = app_state(app).session_factory
    with factory() as session:
        _, context = _course(session)
        session.commit()
        context_id = context.id
    start, errors = threading.Barrier(2), []

    def refresh(subs: list[str]) -> None:
        try:
            with factory() as session:
                start.wait(timeout=10)
                store_roster(session, context_id, Roster(members=[
                    Member(sub, roles=(v.ROLE_LEARNER,)) for sub in subs]))
                time.sleep(0.2)  # hold the transaction open while the other one tries
                session.commit()
        except Exception as exc:
            errors.append(exc)

    threads = [threading.Thread(target=refresh, args=(subs,)) for subs in (["1", "2"], ["2", "3", "4"])]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert errors == []
    with factory() as session:
        stored = sorted(session.scalars(select(RosterMember.sub)))
        fetch = session.get(RosterFetch, context_id)
    assert stored in (["1", "2"], ["2", "3", "4"]), "one refresh wins whole, never a mix"
    assert fetch is not None and fetch.member_count == len(stored)


# -- the trainer dashboard (tool in-process: the emulator cannot reach its key set) ----------------


def test_dashboard_roster_section_and_refresh_failure(driver: LaunchDriver, app: Flask) -> None:
    trainer, _ = enter(driver, "Instructor")
    page = trainer.get("/trainer").get_data(as_text=True)
    assert "In the course roster but never opened the tool" in page
    assert "The course roster has not been fetched from the LMS yet." in page
    assert trainer.post("/trainer/roster").status_code == 400, "CSRF is checked"

    refreshed = trainer.post("/trainer/roster", data={"csrf_token": csrf_of(page)})
    assert refreshed.status_code == 200
    text = refreshed.get_data(as_text=True)
    assert "The LMS did not answer the roster request: " in text
    with app_state(app).session_factory() as session:
        fetch = session.scalars(select(RosterFetch)).one()
        assert fetch.fetched_at is None and fetch.last_error


def test_learners_cannot_refresh_and_no_claim_means_no_roster(driver: LaunchDriver, app: Flask) -> None:
    learner, _ = enter(driver, "Learner")
    assert learner.post("/trainer/roster", data={"csrf_token": "x"}).status_code == 403
    trainer: FlaskClient
    trainer, _ = enter(driver, "Instructor")
    csrf = csrf_of(trainer.get("/trainer").get_data(as_text=True))
    with app_state(app).session_factory() as session:
        for link in session.scalars(select(ResourceLink)):
            link.memberships_url = None
        session.commit()
    page = trainer.get("/trainer").get_data(as_text=True)
    assert "The LMS does not share its course roster with the tool" in page
    refreshed = trainer.post("/trainer/roster", data={"csrf_token": csrf})
    assert refreshed.status_code == 200
    assert "The LMS does not share its course roster with the tool" in refreshed.get_data(as_text=True)


def test_dashboard_lists_stored_roster_escaped_and_its_empty_state(driver: LaunchDriver, app: Flask) -> None:
    trainer, _ = enter(driver, "Instructor")
    with app_state(app).session_factory() as session:
        context = session.scalars(select(Context)).one()
        store_roster(session, context.id, Roster(members=[
            Member("900", name="<script>alert(1)</script>", email="x@example.org", roles=(v.ROLE_LEARNER,)),
            Member("901", name="Teacher", roles=(v.ROLE_INSTRUCTOR,)),
        ], skipped=1))
        session.commit()
        page = trainer.get("/trainer").get_data(as_text=True)
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page and "<script>alert" not in page
        assert "Teacher" not in page
        assert "1 entry without a user id was left out." in page
        store_roster(session, context.id, Roster(members=[Member("901", roles=(v.ROLE_INSTRUCTOR,))]))
        session.commit()
    page = trainer.get("/trainer").get_data(as_text=True)
    assert "Every learner in the course roster has opened the tool." in page

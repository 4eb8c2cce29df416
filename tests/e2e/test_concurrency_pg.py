"""Fifty learners hand in a quiz at the same moment through ``l2i serve``, on PostgreSQL.

Everything runs as in production, on loopback: the tool under gunicorn with two web workers on a
fresh PostgreSQL database, the LMS emulator (a real LTI 1.3 platform with a gradebook), a real
Ralph LRS behind a counting proxy, and two ``l2i worker`` processes draining the outbox while the
learners work. Each learner launches from the emulator's course page with a browser of their own
(a ``requests`` session with its own cookies) and starts the unit 1 quiz; then all of them submit
at once, ten pressing "Submit" twice, and ten start and submit a second attempt together.

What must hold afterwards, read from the database, the gradebook and the LRS: one attempt per
submission, numbered without gaps or duplicates; the evidence of every graded attempt, once; each
learner's stored proficiency equal to the rule recomputed from their evidence; every outbox row
delivered; every statement in Ralph exactly once, and sent once; every score in the gradebook, in
one column; and no answer of 500 or above, to the browsers or in the server's access log.

Three races are then forced rather than hoped for: a table lock held by the test stops both web
workers at the insert that decides the race (first launches into a new course, "Start" pressed
twice, "Submit" pressed twice) and releases them together.
"""

from __future__ import annotations

import collections
import re
import secrets
import signal
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any, TypeVar, cast
from urllib.parse import urljoin

import pytest
import requests
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.orm import Session

from competencies.models import Evidence, Proficiency
from competencies.proficiency import ProficiencyRule, compute_standing, read_evidence_points
from course_units.content import Activity
from course_units.loader import load_catalog
from course_units.models import Attempt
from l2i_db import create_db_engine, create_session_factory
from lms_emulator.lrs import RalphLRS
from lms_emulator.platform import EmulatorConfig, Institution, User
from lms_emulator.server import RunningEmulator, start_emulator
from lti_tool.demo import DemoServers, register_emulator
from lti_tool.grades import ags_destination
from lti_tool.models import Context, Membership, Platform, PlatformUser, ResourceLink
from lti_tool.settings import load_settings
from tests.e2e.support import (
    HTTP_TIMEOUT,
    PROGRAMME_LINK_TITLE,
    Form,
    first_learner,
    launch_from_emulator,
    parse_page,
)
from tests.e2e.test_serve import L2I, START_TIMEOUT, STOP_TIMEOUT, Served, l2i_env
from tests.fixtures.database import new_pg_database
from tests.fixtures.lrs import LrsProxy
from tests.fixtures.servers import free_port
from tests.lti_tool.test_learning_flow import csrf_of, right_answers
from tests.xapi.test_worker_process import wait_for, worker_env
from xapi.models import OutboxMessage

T = TypeVar("T")

UNIT_ID, QUIZ_ID = "u1-challenges", "u1-quiz"
LEARNERS = 50
DOUBLE_SUBMIT = range(0, 10)    # these learners press "Submit" twice at the same moment
SECOND_ATTEMPT = range(10, 20)  # these then start a second attempt, all at the same moment
FIRST_LAUNCHES = 8              # learners entering a new course at the same moment
DOUBLE_STARTS = 3               # learners pressing "Start" twice at the same moment
LOCK_WAIT_SECONDS = 10.0        # how long a race waits for both web workers to reach the lock
LAUNCH_THREADS = 8
WEB_WORKERS = 2
DRAIN_TIMEOUT = 60.0
ALREADY_SUBMITTED = "already submitted"
ACCESS_STATUS = re.compile(r'"[A-Z]+ [^"]*" (\d{3}) ')


StackParts = tuple["ServedTool", Served, RunningEmulator, str, dict[str, str]]


@dataclass(frozen=True)
class ServedTool:
    """What :func:`launch_from_emulator` reads of a running demo: the emulator and both addresses."""

    emulator: EmulatorConfig
    lms_url: str
    tool_url: str


@dataclass
class Answers:
    """Every HTTP answer the browsers received, for the no-5xx check."""

    seen: list[tuple[str, str, int]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def record(self, response: requests.Response, *_args: Any, **_kwargs: Any) -> None:
        """A ``requests`` response hook: remember the method, URL and status."""
        with self.lock:
            self.seen.append((response.request.method or "", response.url, response.status_code))

    def server_errors(self) -> list[tuple[str, str, int]]:
        """The answers of 500 or above."""
        return [answer for answer in self.seen if answer[2] >= 500]


@dataclass
class Stack:
    """The running pieces: the served tool, the emulator, the database, the LRS and its proxy."""

    tool: ServedTool
    served: Served
    lms: RunningEmulator
    database_url: str
    env: dict[str, str]
    ralph: RalphLRS | None = None
    proxy: LrsProxy | None = None
    answers: Answers = field(default_factory=Answers)


@dataclass
class Learner:
    """One learner's browser after the launch, with the attempt they started and its form."""

    index: int
    user: User
    browser: requests.Session
    token: str
    attempt_url: str = ""
    csrf: str = ""


def enrol_learners(institution: Institution, count: int) -> list[User]:
    """Add ``count`` learners to the institution and its course; return them.

    The course keeps only its programme link: its page (which every launch reads) then lists one
    Launch button per person rather than six.
    """
    roles = first_learner(institution).roles
    users = [User(sub=str(90000 + n), given_name="Learner", family_name=f"No. {n:02d}",
                  email=f"learner{n:02d}@{institution.slug}.example.org", username=f"learner{n:02d}",
                  roles=roles, role_label="Learner") for n in range(count)]
    with institution.lock:
        course = institution.courses[0]
        course.links = [link for link in course.links if link.title == PROGRAMME_LINK_TITLE]
        institution.users.extend(users)
        course.member_subs.extend(u.sub for u in users)
    return users


def register(database_url: str, emulator: EmulatorConfig) -> None:
    """Register the emulated institution as a platform of the tool."""
    engine = create_db_engine(database_url)
    with create_session_factory(engine)() as session:
        register_emulator(session, emulator)
        session.commit()
    engine.dispose()


def healthy(served: Served) -> bool:
    """Return whether ``/healthz`` answers 200 (a slow answer while the workers boot is a no)."""
    assert served.process.poll() is None, f"l2i serve exited:\n{served.output()}"
    try:
        return requests.get(f"{served.url}/healthz", timeout=5).status_code == 200
    except requests.RequestException:
        return False


@contextmanager
def serving(tmp_path: Path, env: dict[str, str], port: int) -> Iterator[Served]:
    """``l2i serve`` with :data:`WEB_WORKERS` workers, healthy; stopped on exit."""
    log = tmp_path / "serve.log"
    with log.open("wb") as sink:
        process = subprocess.Popen([str(L2I), "serve", "--bind", f"127.0.0.1:{port}",
                                    "--workers", str(WEB_WORKERS)],
                                   env=env, cwd=tmp_path, stdout=sink, stderr=subprocess.STDOUT)
    served = Served(process=process, url=f"http://127.0.0.1:{port}", log=log)
    try:
        wait_for(lambda: healthy(served), START_TIMEOUT, f"l2i serve to answer /healthz:\n{log}")
        yield served
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=STOP_TIMEOUT)


@contextmanager
def open_stack(tmp_path: Path, **lrs: str) -> Iterator[StackParts]:
    """Serve the tool with gunicorn on a fresh PostgreSQL database beside a running emulator."""
    port = free_port()
    tool_url = f"http://127.0.0.1:{port}"
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    with new_pg_database("l2i_test_conc") as database_url:
        lms = start_emulator(tool_url, institutions=1)
        try:
            register(database_url, lms.config)
            env = l2i_env(L2I_SECRET_KEY=secrets.token_urlsafe(48), L2I_DATABASE_URL=database_url,
                          L2I_BASE_URL=tool_url, XDG_RUNTIME_DIR=str(run_dir), L2I_HTTP_TIMEOUT="10", **lrs)
            with serving(tmp_path, env, port) as served:
                yield ServedTool(lms.config, lms.base_url, tool_url), served, lms, database_url, env
        finally:
            lms.stop()


@pytest.fixture
def stack(tmp_path: Path, ralph: RalphLRS, lrs_proxy: LrsProxy) -> Iterator[Stack]:
    """The tool served by gunicorn on a fresh PostgreSQL database, the emulator, and Ralph as its LRS."""
    with open_stack(tmp_path, L2I_LRS_ENDPOINT=lrs_proxy.endpoint, L2I_LRS_USERNAME=ralph.username,
                    L2I_LRS_PASSWORD=ralph.password) as (tool, served, lms, database_url, env):
        yield Stack(tool=tool, served=served, lms=lms, database_url=database_url, env=env, ralph=ralph,
                    proxy=lrs_proxy)


@pytest.fixture
def bare_stack(tmp_path: Path) -> Iterator[Stack]:
    """The same without an LRS (for the races that need no statements)."""
    with open_stack(tmp_path) as (tool, served, lms, database_url, env):
        yield Stack(tool=tool, served=served, lms=lms, database_url=database_url, env=env)


def new_browser(answers: Answers) -> requests.Session:
    """A browser of its own (its own cookie jar) whose every answer is recorded."""
    browser = requests.Session()
    browser.hooks["response"].append(answers.record)
    return browser


def launch(stack: Stack, index: int, user: User) -> Learner:
    """Launch the programme link as ``user`` from the emulator's course page."""
    browser = new_browser(stack.answers)
    outcome = launch_from_emulator(browser, cast(DemoServers, stack.tool), user)
    token = re.search(r"[?&]s=([^&]+)", outcome.landing_url)
    assert token, outcome.landing_url
    return Learner(index=index, user=user, browser=browser, token=token.group(1))


def activity_url(stack: Stack, learner: Learner, suffix: str = "") -> str:
    """The quiz's overview page (or ``suffix`` under it), with the learner's session token."""
    return f"{stack.tool.tool_url}/units/{UNIT_ID}/activities/{QUIZ_ID}{suffix}?s={learner.token}"


def press_start(stack: Stack, learner: Learner, csrf: str) -> requests.Response:
    """POST the activity page's "Start" form."""
    return learner.browser.post(activity_url(stack, learner, "/attempts"), data={"csrf_token": csrf},
                                allow_redirects=False, timeout=HTTP_TIMEOUT)


def start_csrf(stack: Stack, learner: Learner) -> str:
    """Open the quiz's page and return its form's CSRF token."""
    page = learner.browser.get(activity_url(stack, learner), timeout=HTTP_TIMEOUT)
    assert page.status_code == 200, page.text[:500]
    return csrf_of(page.text)


def open_attempt(stack: Stack, learner: Learner, started: requests.Response) -> None:
    """Follow a "Start" answer to the attempt's page and keep its URL and form token."""
    assert started.status_code == 303, started.text[:500]
    learner.attempt_url = urljoin(stack.tool.tool_url, started.headers["Location"])
    page = learner.browser.get(learner.attempt_url, timeout=HTTP_TIMEOUT)
    assert page.status_code == 200, page.text[:500]
    learner.csrf = csrf_of(page.text)


def prepare(stack: Stack, index: int, user: User) -> Learner:
    """Launch ``user`` and start their first attempt at the quiz."""
    learner = launch(stack, index, user)
    open_attempt(stack, learner, press_start(stack, learner, start_csrf(stack, learner)))
    return learner


def answers_for(quiz: Activity, learner: Learner) -> dict[str, Any]:
    """Different learners answer a different number of items right (so their scores differ)."""
    right = right_answers(quiz)
    keep = {f"item-{item.id}" for item in quiz.items[: learner.index % (len(quiz.items) + 1)]}
    return {name: value for name, value in right.items()
            if any(name == k or name.startswith(k + "-") for k in keep)}


def press_submit(learner: Learner, fields: dict[str, Any]) -> requests.Response:
    """POST the attempt's form to its submit address."""
    base, _, query = learner.attempt_url.partition("?")
    return learner.browser.post(f"{base}/submit?{query}", data={"csrf_token": learner.csrf, **fields},
                                allow_redirects=False, timeout=HTTP_TIMEOUT)


def all_at_once(calls: list[Callable[[], T]]) -> list[T]:
    """Run every call in its own thread, released together by a barrier; return their results."""
    barrier = threading.Barrier(len(calls))
    results: list[Any] = [None] * len(calls)

    def run(n: int) -> None:
        barrier.wait(timeout=60)
        try:
            results[n] = calls[n]()
        except Exception as exc:  # reported by the caller, with the others' answers
            results[n] = exc

    threads = [threading.Thread(target=run, args=(n,)) for n in range(len(calls))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    failed = [r for r in results if isinstance(r, Exception)]
    assert not failed, failed
    return results


def start_workers(stack: Stack, ralph: RalphLRS, proxy: LrsProxy,
                  tmp_path: Path) -> list[subprocess.Popen[bytes]]:
    """Start two ``l2i worker`` processes on the tool's database, logging to files."""
    env = worker_env(stack.database_url, proxy, ralph,
                     L2I_SECRET_KEY=stack.env["L2I_SECRET_KEY"], L2I_OUTBOX_BATCH_SIZE="50")
    workers = []
    for n in range(2):
        with (tmp_path / f"worker-{n}.log").open("wb") as sink:
            workers.append(subprocess.Popen([str(L2I), "worker", "--idle", "0.2"], env=env,
                                            stdout=sink, stderr=subprocess.STDOUT))
    return workers


def stop_workers(workers: list[subprocess.Popen[bytes]], tmp_path: Path) -> list[str]:
    """Stop the workers with SIGTERM; return their logs (each must have exited cleanly)."""
    for worker in workers:
        if worker.poll() is None:
            worker.send_signal(signal.SIGTERM)
    logs = []
    for n, worker in enumerate(workers):
        worker.wait(timeout=30)
        logs.append((tmp_path / f"worker-{n}.log").read_text(errors="replace"))
        assert worker.returncode == 0, logs[-1]
    return logs


def outbox_rows(database_url: str) -> list[OutboxMessage]:
    """Every outbox row, detached."""
    engine = create_db_engine(database_url)
    with create_session_factory(engine)() as session:
        rows = list(session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)))
        session.expunge_all()
    engine.dispose()
    return rows


def check_attempts(session: Session, learners: list[Learner], quiz: Activity) -> list[Attempt]:
    """Each learner has one graded attempt per submission, numbered 1.. without duplicates."""
    attempts = list(session.scalars(select(Attempt).where(Attempt.activity_id == QUIZ_ID)))
    by_learner = collections.defaultdict(list)
    for attempt in attempts:
        by_learner[attempt.learner_id].append(attempt)
    assert len(by_learner) == len(learners), f"{len(by_learner)} learners have attempts"
    keys = [(a.learner_id, a.activity_id, a.number) for a in attempts]
    assert len(keys) == len(set(keys)), "two attempts share a (learner, activity, number)"
    expected_second = len(SECOND_ATTEMPT)
    assert len(attempts) == len(learners) + expected_second, sorted(keys)
    for own in by_learner.values():
        assert sorted(a.number for a in own) == list(range(1, len(own) + 1)), [a.number for a in own]
        assert all(a.status == "graded" and a.score is not None for a in own), [a.status for a in own]
    seconds = [own for own in by_learner.values() if len(own) == 2]
    assert len(seconds) == expected_second
    return attempts


def check_evidence(session: Session, attempts: list[Attempt], quiz: Activity) -> None:
    """Every graded attempt gave one evidence row per competency of the quiz, and no more."""
    rows = list(session.scalars(select(Evidence).where(Evidence.activity_id == QUIZ_ID)))
    per_attempt = collections.defaultdict(list)
    for row in rows:
        per_attempt[row.attempt_id].append(row.competency_id)
    assert set(per_attempt) == {a.id for a in attempts}, "evidence without an attempt, or missing"
    for attempt in attempts:
        assert sorted(per_attempt[attempt.id]) == sorted(quiz.weights), (attempt.id, per_attempt[attempt.id])
        assert {r.learner_id for r in rows if r.attempt_id == attempt.id} == {attempt.learner_id}


def check_proficiency(session: Session, rule: ProficiencyRule) -> int:
    """Each stored standing equals the rule applied to the learner's evidence; return how many."""
    pairs = set(session.execute(select(Evidence.learner_id, Evidence.competency_id)).tuples())
    stored = {(p.learner_id, p.competency_id): p for p in session.scalars(select(Proficiency))}
    assert set(stored) == pairs, "a standing without evidence, or evidence without a standing"
    for (learner_id, competency_id), row in stored.items():
        standing = compute_standing(read_evidence_points(session, learner_id, competency_id), rule)
        computed = (standing.score, standing.level, standing.sources, standing.overridden)
        assert (row.score, row.level, row.sources, row.overridden) == computed, (learner_id, competency_id)
    return len(stored)


def check_gradebook(stack: Stack, session: Session, learners: list[Learner]) -> int:
    """The quiz has one column in the course, holding every learner's best score; return how many."""
    best: dict[str, float] = {}
    subs = {learner.user.sub for learner in learners}
    for attempt in session.scalars(select(Attempt).where(Attempt.activity_id == QUIZ_ID)):
        sub = session.scalars(select(PlatformUser.sub).where(
            PlatformUser.learner_id == attempt.learner_id)).one()
        best[sub] = max(best.get(sub, 0.0), round((attempt.score or 0.0) * 100, 2))
    assert set(best) == subs
    course = stack.lms.config.institutions[0].courses[0]
    columns = [item for item in course.line_items.values() if item.resource_id == QUIZ_ID]
    assert len(columns) == 1, [(c.id, c.label, len(c.results)) for c in columns]
    given = {sub: result.score_given for sub, result in columns[0].results.items()}
    assert given == best
    return len(given)


def assert_no_server_errors(stack: Stack) -> int:
    """No browser got a 5xx, and the access log shows none; return how many requests it logged."""
    assert not stack.answers.server_errors(), stack.answers.server_errors()[:10]
    statuses = [int(s) for s in ACCESS_STATUS.findall(stack.served.output())]
    assert statuses, "the access log shows no request"
    assert not [s for s in statuses if s >= 500], stack.served.output()[-5000:]
    assert "Traceback" not in stack.served.output(), stack.served.output()[-5000:]
    return len(statuses)


def check_outbox_and_lrs(stack: Stack, ralph: RalphLRS, proxy: LrsProxy) -> tuple[int, int]:
    """Every outbox row delivered; Ralph holds every statement once, and each was sent once.

    Returns how many statements and scores were delivered.
    """
    rows = outbox_rows(stack.database_url)
    statements = [m for m in rows if m.destination.startswith("lrs:")]
    scores = [m for m in rows if m.destination.startswith("ags:")]
    assert statements and scores
    assert not [m for m in rows if m.status != "delivered"], [
        (m.destination, m.status, m.last_error) for m in rows if m.status != "delivered"][:5]
    stored = collections.Counter(s["id"] for s in ralph.read_statements())
    assert set(stored) == {m.message_id for m in statements}
    assert max(stored.values()) == 1, "Ralph stored a statement twice"
    assert proxy.statements_forwarded == len(statements), "a statement was sent twice"
    engine = create_db_engine(stack.database_url)
    with Session(engine) as session:
        platform_id = session.scalars(select(Platform.id)).one()
    engine.dispose()
    assert {m.destination for m in scores} == {ags_destination(platform_id)}
    return len(statements), len(scores)


def assert_submissions(answers: list[requests.Response], learners: list[Learner]) -> None:
    """Each first press goes to the result (303); a second press at the same moment either does too,
    or says the attempt was already submitted (4xx); never a 5xx."""
    firsts, seconds = answers[:len(learners)], answers[len(learners):]
    for response in answers:
        assert response.status_code < 500, response.text[:1000]
    for n, second in zip(DOUBLE_SUBMIT, seconds, strict=True):
        pair = [firsts[n], second]
        assert any(r.status_code == 303 for r in pair), [r.status_code for r in pair]
        for response in pair:
            assert response.status_code == 303 or (
                response.status_code in (409, 422) and ALREADY_SUBMITTED in response.text), (
                response.status_code, response.text[:500])
    others = [r for n, r in enumerate(firsts) if n not in DOUBLE_SUBMIT]
    assert [r.status_code for r in others] == [303] * len(others), [r.text[:300] for r in others]


def launch_everyone(stack: Stack, users: list[User]) -> list[Learner]:
    """Launch every user and open their first attempt; the first launch alone, then the others in parallel.

    The first launch into the course creates its rows (learners entering a new course at the same
    moment is :func:`test_learners_entering_a_new_course_at_once_all_get_in`).
    """
    learners = [prepare(stack, 0, users[0])]
    with ThreadPoolExecutor(LAUNCH_THREADS) as pool:
        learners += pool.map(lambda n: prepare(stack, n, users[n]), range(1, len(users)))
    return learners


def submit_all_at_once(quiz: Activity, learners: list[Learner]) -> None:
    """Everyone submits at the same moment; the :data:`DOUBLE_SUBMIT` learners press twice."""
    calls: list[Callable[[], requests.Response]] = [
        partial(press_submit, lr, answers_for(quiz, lr)) for lr in learners]
    calls += [partial(press_submit, learners[n], answers_for(quiz, learners[n])) for n in DOUBLE_SUBMIT]
    assert_submissions(all_at_once(calls), learners)


def second_attempts_at_once(stack: Stack, quiz: Activity, learners: list[Learner]) -> None:
    """The :data:`SECOND_ATTEMPT` learners start a second attempt at the same moment, then submit it."""
    again = [learners[n] for n in SECOND_ATTEMPT]
    tokens = {lr.index: start_csrf(stack, lr) for lr in again}
    starts = all_at_once([partial(press_start, stack, lr, tokens[lr.index]) for lr in again])
    for learner, started in zip(again, starts, strict=True):
        open_attempt(stack, learner, started)
    resubmitted = all_at_once([partial(press_submit, lr, answers_for(quiz, lr)) for lr in again])
    assert [r.status_code for r in resubmitted] == [303] * len(again), [r.text[:300] for r in resubmitted]


@pytest.mark.slow
@pytest.mark.postgres
def test_fifty_learners_submit_at_once_through_gunicorn(
    stack: Stack, ralph: RalphLRS, lrs_proxy: LrsProxy, tmp_path: Path,
) -> None:
    quiz = load_catalog().activity(QUIZ_ID)
    assert quiz is not None and quiz.max_attempts >= 2
    users = enrol_learners(stack.tool.emulator.institutions[0], LEARNERS)
    workers = start_workers(stack, ralph, lrs_proxy, tmp_path)
    try:
        learners = launch_everyone(stack, users)
        submit_all_at_once(quiz, learners)
        second_attempts_at_once(stack, quiz, learners)
        wait_for(lambda: all(m.status != "pending" for m in outbox_rows(stack.database_url)),
                 DRAIN_TIMEOUT, "the two workers to drain the outbox")
    finally:
        logs = stop_workers(workers, tmp_path)
    assert not [log for log in logs if "Traceback" in log], logs

    check_outbox_and_lrs(stack, ralph, lrs_proxy)
    engine = create_db_engine(stack.database_url)
    with create_session_factory(engine)() as session:
        attempts = check_attempts(session, learners, quiz)
        check_evidence(session, attempts, quiz)
        check_proficiency(session, load_settings(stack.env).proficiency)
        check_gradebook(stack, session, learners)
    engine.dispose()
    assert_no_server_errors(stack)


def reach_launch_form(stack: Stack, browser: requests.Session, user: User) -> Form:
    """Go from the LMS's login initiation to the tool's login and the LMS's id_token form; stop there."""
    institution = stack.tool.emulator.institutions[0]
    link = institution.courses[0].links[0]
    initiation = browser.get(f"{stack.tool.lms_url}/{institution.slug}/launch",
                             params={"user": user.sub, "link": link.id, "locale": "en"},
                             allow_redirects=False, timeout=HTTP_TIMEOUT)
    assert initiation.status_code == 302, initiation.text[:500]
    login = browser.get(initiation.headers["Location"], allow_redirects=False, timeout=HTTP_TIMEOUT)
    assert login.status_code == 302, login.text[:500]
    auth = browser.get(login.headers["Location"], allow_redirects=False, timeout=HTTP_TIMEOUT)
    assert auth.status_code == 200, auth.text[:500]
    forms = parse_page(auth.text).forms
    assert len(forms) == 1 and forms[0].action == f"{stack.tool.tool_url}/lti/launch", auth.text[:500]
    return forms[0]


def lock_waiters(database_url: str) -> int:
    """How many sessions of this database wait for a lock right now."""
    engine = create_engine(database_url, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            return int(conn.scalar(text(
                "SELECT count(*) FROM pg_stat_activity "
                "WHERE datname = current_database() AND wait_event_type = 'Lock'")) or 0)
    finally:
        engine.dispose()


def race_behind_table_lock(database_url: str, table: str, calls: list[Callable[[], T]]) -> list[T]:
    """Run ``calls`` at once while ``table`` takes no new rows; let them go once both web workers wait.

    ``LOCK TABLE ... IN SHARE MODE`` lets the requests read (and find nothing) but holds their
    first insert into ``table``: both web workers are then past their check and about to insert,
    which is the moment a race needs. Releasing the lock lets both inserts through together.
    """
    engine = create_engine(database_url)
    try:
        with engine.connect() as holder, ThreadPoolExecutor(len(calls)) as pool:
            holder.execute(text(f'LOCK TABLE "{table}" IN SHARE MODE'))
            futures = [pool.submit(call) for call in calls]
            deadline = time.monotonic() + LOCK_WAIT_SECONDS
            while lock_waiters(database_url) < WEB_WORKERS and time.monotonic() < deadline:
                time.sleep(0.05)
            holder.rollback()
            return [future.result(timeout=60) for future in futures]
    finally:
        engine.dispose()


@pytest.mark.slow
@pytest.mark.postgres
def test_learners_entering_a_new_course_at_once_all_get_in(bare_stack: Stack) -> None:
    """The first launches into a course nobody opened yet, at the same moment: each one lands."""
    users = enrol_learners(bare_stack.tool.emulator.institutions[0], FIRST_LAUNCHES)
    browsers = [new_browser(bare_stack.answers) for _ in users]
    with ThreadPoolExecutor(LAUNCH_THREADS) as pool:
        forms = list(pool.map(lambda n: reach_launch_form(bare_stack, browsers[n], users[n]),
                              range(len(users))))
    launched = race_behind_table_lock(bare_stack.database_url, Context.__tablename__, [
        partial(b.post, f.action, data=f.fields, allow_redirects=False, timeout=HTTP_TIMEOUT)
        for b, f in zip(browsers, forms, strict=True)])
    assert [r.status_code for r in launched] == [303] * len(users), [
        (r.status_code, r.text[:300]) for r in launched if r.status_code != 303]
    engine = create_db_engine(bare_stack.database_url)
    with Session(engine) as session:
        assert session.scalar(select(func.count()).select_from(Context)) == 1
        assert session.scalar(select(func.count()).select_from(ResourceLink)) == 1
        assert session.scalar(select(func.count()).select_from(Membership)) == len(users)
    engine.dispose()
    assert_no_server_errors(bare_stack)


@pytest.mark.slow
@pytest.mark.postgres
def test_start_pressed_twice_at_once_opens_one_attempt(bare_stack: Stack) -> None:
    """A double click on "Start": both clicks open the same draft; no second attempt, no error."""
    users = enrol_learners(bare_stack.tool.emulator.institutions[0], DOUBLE_STARTS)
    for n, user in enumerate(users):
        learner = launch(bare_stack, n, user)
        csrf = start_csrf(bare_stack, learner)
        first, second = race_behind_table_lock(bare_stack.database_url, Attempt.__tablename__,
                                               [partial(press_start, bare_stack, learner, csrf)] * 2)
        assert (first.status_code, second.status_code) == (303, 303), (
            first.status_code, first.text[:500], second.status_code, second.text[:500])
        assert first.headers["Location"].split("?")[0] == second.headers["Location"].split("?")[0]
    engine = create_db_engine(bare_stack.database_url)
    with Session(engine) as session:
        rows = session.execute(select(Attempt.learner_id, Attempt.number, Attempt.status)).all()
    engine.dispose()
    assert sorted((number, status) for _, number, status in rows) == [(1, "draft")] * len(users), rows
    assert_no_server_errors(bare_stack)


@pytest.mark.slow
@pytest.mark.postgres
def test_submit_pressed_twice_at_once_grades_once(bare_stack: Stack) -> None:
    """A double click on "Submit", both requests inside the tool at once: one grading, no error.

    The evidence table holds the first request's insert, so the second reaches the attempt while
    the first still holds it; the second then finds it handed in.
    """
    quiz = load_catalog().activity(QUIZ_ID)
    assert quiz is not None
    users = enrol_learners(bare_stack.tool.emulator.institutions[0], DOUBLE_STARTS)
    for n, user in enumerate(users):
        learner = prepare(bare_stack, n + 1, user)
        answers = answers_for(quiz, learner)
        pair = race_behind_table_lock(bare_stack.database_url, Evidence.__tablename__,
                                      [partial(press_submit, learner, answers)] * 2)
        assert sorted(r.status_code for r in pair)[0] == 303, [r.status_code for r in pair]
        for response in pair:
            assert response.status_code == 303 or (
                response.status_code in (409, 422) and ALREADY_SUBMITTED in response.text), (
                response.status_code, response.text[:500])
    engine = create_db_engine(bare_stack.database_url)
    with Session(engine) as session:
        attempts = list(session.scalars(select(Attempt)))
        assert [(a.number, a.status) for a in attempts] == [(1, "graded")] * len(users)
        check_evidence(session, attempts, quiz)
    engine.dispose()
    assert_no_server_errors(bare_stack)

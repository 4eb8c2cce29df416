"""Benchmark: full LTI 1.3 launches against ``l2i serve`` (gunicorn), against a plain pylti1p3 tool.

    .venv/bin/python bench/launch.py [--database-url URL] [--clients 1,8,32] [--seconds 8]
        [--workers 3] [--learners 200] [--quick]
    .venv/bin/python bench/launch.py --in-process 500 [--database-url URL] [--learners 200]

With no arguments (as ``make bench`` runs it) the whole benchmark runs on a temporary SQLite
file; ``--database-url postgresql+psycopg://postgres@127.0.0.1:5432/postgres`` runs it on a fresh
database ``l2i_bench_launch_<random>`` made on that server (and dropped afterwards).

What one launch is, for both tools, each as a fresh browser (no cookies) of a random learner
among ``--learners`` on a random link of the emulated course (the programme or one unit):

1. GET the tool's OIDC login with the platform's parameters (iss, login_hint, target_link_uri,
   lti_message_hint, client_id, lti_deployment_id); the tool answers 302 to the platform's
   authorization endpoint with a fresh state (in a cookie) and nonce;
2. the platform signs the id_token: the LMS emulator's own claim building and RS256 signing
   (``lms_emulator.platform.Institution``), run in the client process so that the platform's
   web server is not what is measured;
3. POST the id_token and state to the tool's launch endpoint: the tool validates the state, the
   JWT and its signature against the platform's JWKS, the nonce, the claims, and starts its
   session; it answers 303;
4. GET the page the redirect names, and check it is a whole HTML page (status 200).

The tool: ``l2i serve`` (gunicorn, its production settings from ``lti_tool.server``) with the
emulated institution registered as in ``l2i demo``; the launch stores state and nonce in the
database, consumes the nonce, syncs the user, course, membership and link, queues the xAPI
``launched`` statement in the outbox (an LRS is configured; no outbox worker runs, so nothing
is sent), creates the tool session and renders the unit list or the unit. Its JWKS cache is per
worker: warmed up once, as in production. After the run, the database must hold one tool session
and one queued statement per launch.

The naive way (``bench/naive_tool.py``): pylti1p3's Flask classes with a JSON registration,
its state and nonce in the Flask session cookie, the platform's JWKS fetched from the emulator
over loopback HTTP on every launch, the launch's claims kept in the session cookie and rendered
on its first page. Both are served by gunicorn with the same settings and ``--workers``, driven
by the same client, level by level in turn, after a warm-up.

``--in-process N`` measures instead what the tool itself spends, without gunicorn or HTTP: the
app in this process behind Flask's test client, the same three requests, each learner's first
launch and then N launches of learners it knows, with the CPU time (``time.process_time``) and
the SQL statements (a ``before_cursor_execute`` count) of each step; the platform's signing
between the steps is not counted.

The emulator serves its JWKS from a process of its own. The client is one process of threads
(``http.client``, one connection per request, as gunicorn's sync workers close each). All of it,
the database included, shares the machine's CPUs, which the output counts: CPU milliseconds per
launch of the tool's gunicorn processes, of the emulator and of the client. Latency is the sum of
the tool's three answers (login, launch, first page); the platform's signing between them is left
out of it, but not out of launches per second.
"""

from __future__ import annotations

import argparse
import datetime as dt
import http.client
import json
import logging
import multiprocessing
import os
import platform as host
import random
import secrets
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import parse_qs, urlencode, urljoin, urlsplit

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from flask import Flask
from proficiency import percentile  # bench/ is on sys.path as a script
from sqlalchemy import event, func, select
from sqlalchemy.engine import make_url
from werkzeug.serving import make_server
from werkzeug.test import TestResponse
from xapi_delivery import fresh_database

from l2i_db import create_db_engine, create_session_factory
from lms_emulator import vocabulary as lms_v
from lms_emulator.app import create_emulator_app
from lms_emulator.platform import EmulatorConfig, Institution, ResourceLink, User, default_seed
from lti_tool.app import create_app
from lti_tool.demo import register_emulator
from lti_tool.models import ToolSession
from lti_tool.server import gunicorn_options
from lti_tool.settings import Settings
from lti_tool.web.state import app_state
from xapi.models import OutboxMessage

BENCH_DIR = Path(__file__).resolve().parent
BIN = Path(sys.executable).parent
HTTP_TIMEOUT = 60.0
START_TIMEOUT = 90.0
P95_GOAL_MS = 50.0
P95_GOAL_CLIENTS = 8
RATIO_GOAL = 2.0
RSS_GOAL_MB = 200.0
# The LRS the tool is configured with: web workers only queue statements, and no outbox worker runs.
UNUSED_LRS = "http://127.0.0.1:9/xAPI/"
WARM_UP_LAUNCHES_PER_WORKER = 25  # each worker compiles its templates and fills its caches once
IN_PROCESS_URL = "http://localhost"  # the tool's address for --in-process (Flask's test client)
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


class LaunchFailedError(Exception):
    """A launch that did not end on the tool's first page."""


# --- the platform -------------------------------------------------------------------------------

@dataclass(frozen=True)
class Target:
    """A tool under test: its name, login and launch URLs, and its gunicorn master."""

    name: str
    login_url: str
    launch_url: str
    process: subprocess.Popen[bytes]


class BenchPlatform:
    """The emulated institution's side of a launch: login parameters and signed id_tokens."""

    def __init__(self, institution: Institution, learners: int) -> None:
        self.institution = institution
        self.links: list[ResourceLink] = list(institution.courses[0].links)
        self.users = [
            User(sub=f"bench-{n}", given_name="Learner", family_name=f"No. {n}",
                 email=f"learner{n}@{institution.slug}.example.org", username=f"learner{n}",
                 roles=(lms_v.ROLE_LEARNER,), role_label="Learner", locale="en")
            for n in range(1, learners + 1)
        ]

    def login_params(self, launch_url: str, user: User, link: ResourceLink) -> dict[str, str]:
        """The third-party initiated login's parameters, as the emulator sends them."""
        inst = self.institution
        return {"iss": inst.issuer, "login_hint": user.sub, "target_link_uri": launch_url,
                "lti_message_hint": link.id, "client_id": inst.client_id,
                "lti_deployment_id": inst.deployment_id}

    def id_token(self, launch_url: str, user: User, link: ResourceLink, nonce: str) -> str:
        """Build and sign the id_token the emulator's authorization endpoint would answer with."""
        claims = self.institution.build_launch_claims(user, link, nonce=nonce)
        claims[lms_v.CLAIM_TARGET_LINK_URI] = launch_url
        return self.institution.sign_id_token(claims)


def serve_emulator(config: EmulatorConfig, port: int) -> None:
    """Serve the emulator (its JWKS is what the tools fetch) until terminated; runs in a child."""
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    make_server("127.0.0.1", port, create_emulator_app(config), threaded=True).serve_forever()


# --- the client ---------------------------------------------------------------------------------

@dataclass
class Answer:
    """One HTTP answer: status, Location and body."""

    status: int
    location: str
    body: bytes


@dataclass
class Browser:
    """A minimal browser: one connection per request, and a cookie jar."""

    cookies: dict[str, str] = field(default_factory=dict)

    def send(self, method: str, url: str, form: dict[str, str] | None = None) -> Answer:
        """Send one request with the jar's cookies; keep the cookies the answer sets."""
        parts = urlsplit(url)
        headers = {"Cookie": "; ".join(f"{k}={v}" for k, v in self.cookies.items())} if self.cookies else {}
        body = None
        if form is not None:
            body = urlencode(form)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        connection = http.client.HTTPConnection(parts.netloc, timeout=HTTP_TIMEOUT)
        try:
            connection.request(method, parts.path + (f"?{parts.query}" if parts.query else ""), body, headers)
            response = connection.getresponse()
            data = response.read()
        except OSError as exc:
            raise LaunchFailedError(f"{method} {parts.path}: {type(exc).__name__}: {exc}") from exc
        finally:
            connection.close()
        for cookie in response.msg.get_all("Set-Cookie") or []:
            self.keep_cookie(cookie)
        return Answer(response.status, response.getheader("Location", ""), data)

    def keep_cookie(self, header: str) -> None:
        """Store (or drop, when it expires now) the cookie of one ``Set-Cookie`` header."""
        pair, _, attributes = header.partition(";")
        name, _, value = pair.strip().partition("=")
        if "max-age=0" in attributes.lower().replace(" ", ""):
            self.cookies.pop(name, None)
        else:
            self.cookies[name] = value


def expect(answer: Answer, status: int, step: str) -> None:
    """Fail the launch unless ``answer`` has ``status``."""
    if answer.status != status:
        raise LaunchFailedError(f"{step}: HTTP {answer.status} (expected {status}): {answer.body[:200]!r}")


def launch(target: Target, platform: BenchPlatform, user: User, link: ResourceLink) -> float:
    """Do one whole launch as a fresh browser; return the seconds the tool took to answer."""
    browser = Browser()
    start = time.perf_counter()
    params = platform.login_params(target.launch_url, user, link)
    login = browser.send("GET", f"{target.login_url}?{urlencode(params)}")
    tool_seconds = time.perf_counter() - start
    expect(login, 302, "login")
    query = parse_qs(urlsplit(login.location).query)
    if not query.get("state") or not query.get("nonce"):
        raise LaunchFailedError(f"login: the redirect has no state or nonce: {login.location[:200]}")
    token = platform.id_token(target.launch_url, user, link, query["nonce"][0])
    start = time.perf_counter()
    launched = browser.send("POST", target.launch_url, {"id_token": token, "state": query["state"][0]})
    expect(launched, 303, "launch")
    page = browser.send("GET", urljoin(target.launch_url, launched.location))
    tool_seconds += time.perf_counter() - start
    expect(page, 200, "first page")
    if b"</html>" not in page.body:
        raise LaunchFailedError(f"first page: not a whole HTML page: {page.body[:200]!r}")
    return tool_seconds


# --- measuring ----------------------------------------------------------------------------------

def process_seconds(pid: int, *, with_children: bool = False) -> float:
    """CPU seconds of ``pid`` (user + system), with its reaped children's when asked."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    ticks = int(fields[11]) + int(fields[12])  # utime, stime
    if with_children:
        ticks += int(fields[13]) + int(fields[14])  # cutime, cstime
    return ticks / CLOCK_TICKS


def children_of(pid: int) -> list[int]:
    """The live child processes of ``pid`` (gunicorn's workers, for its master)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
            found.append(int(entry.name))
    return sorted(found)


def server_seconds(master: int) -> float:
    """CPU seconds of a gunicorn master, its live workers and the workers it has reaped."""
    total = process_seconds(master, with_children=True)
    for worker in children_of(master):
        try:
            total += process_seconds(worker)
        except OSError:  # a worker that just ended is counted in the master's children
            continue
    return total


def database_seconds(name: str | None) -> dict[int, float]:
    """CPU seconds of each PostgreSQL backend serving database ``name`` (none for SQLite)."""
    if name is None:
        return {}
    found = {}
    for entry in Path("/proc").iterdir():
        try:
            title = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            if entry.name.isdigit() and title.startswith("postgres:") and f" {name} " in title:
                found[int(entry.name)] = process_seconds(int(entry.name))
        except OSError:
            continue
    return found


def memory_mb(pid: int) -> tuple[float, float]:
    """(VmRSS, VmHWM) of ``pid`` in MB."""
    values = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        name, _, rest = line.partition(":")
        if name in ("VmRSS", "VmHWM"):
            values[name] = int(rest.split()[0]) / 1024
    return values["VmRSS"], values["VmHWM"]


@dataclass
class Level:
    """One tool at one number of concurrent clients."""

    clients: int
    seconds: float
    latencies: list[float]
    errors: list[str]
    server_cpu: float
    database_cpu: float
    emulator_cpu: float
    client_cpu: float

    @property
    def rate(self) -> float:
        """Launches completed per second."""
        return len(self.latencies) / self.seconds

    def ms(self, share: float) -> float:
        """A percentile of the tool's latency, in milliseconds."""
        return percentile(self.latencies, share) if self.latencies else float("nan")

    def per_launch(self, cpu_seconds: float) -> float:
        """CPU milliseconds per completed launch."""
        return cpu_seconds * 1000 / max(1, len(self.latencies))


@dataclass(frozen=True)
class Probes:
    """The other processes whose CPU a launch costs: the emulator, and PostgreSQL's backends."""

    emulator: int
    database: str | None

    def seconds(self) -> tuple[float, dict[int, float]]:
        """The emulator's CPU seconds, and each database backend's."""
        return process_seconds(self.emulator), database_seconds(self.database)


def run_level(target: Target, platform: BenchPlatform, probes: Probes, clients: int, seconds: float,
              seed: int, at_least: int = 0) -> Level:
    """Run ``clients`` threads launching back to back for ``seconds`` (and ``at_least`` launches)."""
    latencies: list[float] = []
    errors: list[str] = []
    gate = threading.Barrier(clients + 1)
    deadline = [0.0]

    def client(number: int) -> None:
        rng = random.Random(seed * 1000 + number)
        gate.wait()
        while time.perf_counter() < deadline[0] or len(latencies) + len(errors) < at_least:
            try:
                user, link = rng.choice(platform.users), rng.choice(platform.links)
                latencies.append(launch(target, platform, user, link))
            except LaunchFailedError as exc:
                errors.append(str(exc))

    threads = [threading.Thread(target=client, args=(n,), daemon=True) for n in range(clients)]
    for thread in threads:
        thread.start()
    server_before, (emulator_before, database_before) = server_seconds(target.process.pid), probes.seconds()
    client_before, start = time.process_time(), time.perf_counter()
    deadline[0] = start + seconds
    gate.wait()
    for thread in threads:
        thread.join()
    wall = time.perf_counter() - start
    client_cpu = time.process_time() - client_before
    server_cpu = server_seconds(target.process.pid) - server_before
    emulator_after, database_after = probes.seconds()
    database_cpu = sum(spent - database_before.get(pid, 0.0) for pid, spent in database_after.items())
    return Level(clients, wall, latencies, errors, server_cpu, database_cpu, emulator_after - emulator_before,
                 client_cpu)


# --- the servers --------------------------------------------------------------------------------

def free_port() -> int:
    """A free TCP port on 127.0.0.1."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def wait_until_serving(url: str, alive: Callable[[], bool], log: Path | None = None) -> None:
    """Wait until ``url`` answers; fail with the log's tail if the server exits or never answers."""
    started = time.monotonic()
    tail = "" if log is None else log.read_text()[-2000:]
    while time.monotonic() - started < START_TIMEOUT:
        if not alive():
            raise SystemExit(f"{url}: the server exited:\n{tail}")
        try:
            Browser().send("GET", url)
            return
        except LaunchFailedError:
            time.sleep(0.2)
    raise SystemExit(f"{url} did not answer within {START_TIMEOUT:g} s:\n{tail}")


@contextmanager
def running(command: Sequence[str], env: dict[str, str], ready_url: str,
            log: Path) -> Iterator[subprocess.Popen[bytes]]:
    """Start a gunicorn server (its output to ``log``), wait for it, stop it on exit."""
    with log.open("wb") as out:
        process = subprocess.Popen(list(command), env=env, stdout=out, stderr=subprocess.STDOUT)
        try:
            wait_until_serving(ready_url, lambda: process.poll() is None, log)
            yield process
        finally:
            process.terminate()
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def tool_command(port: int, workers: int) -> list[str]:
    """``l2i serve`` on ``port``."""
    return [str(BIN / "l2i"), "serve", "--bind", f"127.0.0.1:{port}", "--workers", str(workers)]


def naive_command(folder: Path, settings: Settings, port: int, workers: int) -> list[str]:
    """gunicorn serving the naive tool with exactly the options ``l2i serve`` uses."""
    options = gunicorn_options(settings, bind=f"127.0.0.1:{port}", workers=workers)
    config = folder / "naive_gunicorn.py"
    config.write_text("".join(f"{name} = {value!r}\n" for name, value in options.items()))
    return [str(BIN / "gunicorn"), "--config", str(config), "--pythonpath", str(BENCH_DIR),
            "naive_tool:create_app()"]


def write_naive_registration(folder: Path, institution: Institution) -> Path:
    """The naive tool's pylti1p3 JSON registration, with its own RSA key pair in files."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    (folder / "naive_private.key").write_bytes(key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
    (folder / "naive_public.key").write_bytes(key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo))
    reg = institution.registration()
    path = folder / "naive_lti.json"
    path.write_text(json.dumps({reg["issuer"]: [{
        "default": True, "client_id": reg["client_id"], "auth_login_url": reg["auth_login_url"],
        "auth_token_url": reg["auth_token_url"], "key_set_url": reg["key_set_url"], "key_set": None,
        "private_key_file": "naive_private.key", "public_key_file": "naive_public.key",
        "deployment_ids": [reg["deployment_id"]],
    }]}, indent=2))
    return path


def print_server_error(name: str, log: Path) -> None:
    """Print the end of the last traceback in a server's log, down to its exception (the errors' cause)."""
    lines = log.read_text(errors="replace").splitlines()
    starts = [n for n, line in enumerate(lines) if line.startswith("Traceback")]
    if not starts:
        print(f"\n{name}: no traceback in its log")
        return
    block = lines[starts[-1]:]
    end = next((n for n, line in enumerate(block[1:], 1)
                if line and not line.startswith((" ", "Traceback", "During", "The above"))), len(block) - 1)
    print(f"\n{name}'s last server error (end of its traceback):\n"
          + "\n".join(line[:300] for line in block[max(1, end - 12):end + 1]))


def print_sessions(database_url: str, launched: int) -> None:
    """Check that every launch of the tool started one session of its own (in the database)."""
    engine = create_db_engine(database_url)
    try:
        with engine.connect() as conn:
            sessions = conn.execute(select(func.count()).select_from(ToolSession)).scalar_one()
            queued = conn.execute(select(func.count()).select_from(OutboxMessage)).scalar_one()
    finally:
        engine.dispose()
    print(f"{'l2i launches that left a tool session in the database':52} {f'{sessions} of {launched}':>14} "
          f"{met(sessions == launched):>5}")
    print(f"{'l2i launches that queued their xAPI statement':52} {f'{queued} of {launched}':>14} "
          f"{met(queued == launched):>5}")


def register(database_url: str, config: EmulatorConfig) -> str:
    """Register the emulated institution in the tool, as ``l2i demo`` does; return the database's name."""
    engine = create_db_engine(database_url)
    try:
        with create_session_factory(engine)() as session:
            register_emulator(session, config)
            session.commit()
        if engine.dialect.name == "sqlite":
            return f"sqlite {sqlite3.sqlite_version} (WAL, synchronous=NORMAL)"
        with engine.connect() as conn:
            return f"postgresql {conn.exec_driver_sql('SHOW server_version').scalar_one()}"
    finally:
        engine.dispose()


# --- in process ---------------------------------------------------------------------------------

STEPS = ("login", "launch", "first page")


@dataclass
class StepCost:
    """CPU seconds and SQL statements one step of the launches cost in total."""

    cpu: float = 0.0
    statements: int = 0


class InProcessTool:
    """The tool's app in this process (Flask test client), counting its SQL statements."""

    def __init__(self, app: Flask) -> None:
        self.app = app
        self.statements = 0
        event.listen(app_state(app).engine, "before_cursor_execute", self._count)

    def _count(self, *_args: object) -> None:
        self.statements += 1

    def launch(self, platform: BenchPlatform, user: User, link: ResourceLink,
               costs: dict[str, StepCost]) -> None:
        """One whole launch as a fresh browser, adding each step's CPU and statements to ``costs``."""
        client = self.app.test_client()
        launch_url = f"{IN_PROCESS_URL}/lti/launch"
        login = self._step(costs["login"], lambda: client.get(
            "/lti/login?" + urlencode(platform.login_params(launch_url, user, link))))
        if login.status_code != 302:
            raise LaunchFailedError(f"login: HTTP {login.status_code}")
        query = parse_qs(urlsplit(login.headers["Location"]).query)
        token = platform.id_token(launch_url, user, link, query["nonce"][0])  # the platform's work
        launched = self._step(costs["launch"], lambda: client.post(
            "/lti/launch", data={"id_token": token, "state": query["state"][0]}))
        if launched.status_code != 303:
            raise LaunchFailedError(f"launch: HTTP {launched.status_code}")
        page = self._step(costs["first page"], lambda: client.get(launched.headers["Location"]))
        if page.status_code != 200 or b"</html>" not in page.data:
            raise LaunchFailedError(f"first page: HTTP {page.status_code}")

    def _step(self, cost: StepCost, request: Callable[[], TestResponse]) -> TestResponse:
        statements, cpu = self.statements, time.process_time()
        response = request()
        cost.cpu += time.process_time() - cpu
        cost.statements += self.statements - statements
        return response


def print_in_process(name: str, costs: dict[str, StepCost], launches: int) -> None:
    """One line per kind of launch: CPU ms and SQL statements per launch, in all and per step."""
    cpu = sum(cost.cpu for cost in costs.values()) * 1000 / launches
    statements = sum(cost.statements for cost in costs.values()) / launches
    steps = ", ".join(f"{step} {costs[step].cpu * 1000 / launches:.1f} ms / "
                      f"{costs[step].statements / launches:.1f}" for step in STEPS)
    print(f"  {name:19} {launches:5d} launches: CPU {cpu:5.1f} ms, SQL statements {statements:5.1f} "
          f"per launch ({steps})", flush=True)


def start_lms(stack: ExitStack, options: argparse.Namespace, folder: Path, config: EmulatorConfig,
              lms_port: int) -> tuple[str, str, multiprocessing.process.BaseProcess]:
    """Make a fresh database with the emulator's institution registered, and start the emulator.

    Returns the database URL, its description and the emulator's process (stopped with ``stack``).
    """
    url = stack.enter_context(fresh_database(options.database_url, folder, "l2i_bench_launch"))
    database = register(url, config)
    emulator = multiprocessing.get_context("fork").Process(
        target=serve_emulator, args=(config, lms_port), daemon=True)
    emulator.start()
    stack.callback(emulator.terminate)
    return url, database, emulator


def run_in_process(options: argparse.Namespace, folder: Path) -> None:
    """Measure the tool's own CPU and SQL statements per launch, in this process, without gunicorn.

    Each learner's first launch (the tool creates their rows), then as many launches of learners
    it knows; the platform's signing is done between the steps and not counted.
    """
    lms_port = free_port()
    config = default_seed(f"http://127.0.0.1:{lms_port}", IN_PROCESS_URL, 1)
    platform = BenchPlatform(config.institutions[0], options.learners)
    with ExitStack() as stack:
        url, database, emulator = start_lms(stack, options, folder, config, lms_port)
        wait_until_serving(platform.institution.key_set_url, emulator.is_alive)
        logging.getLogger().setLevel(logging.WARNING)
        app = create_app(Settings(base_url=IN_PROCESS_URL, secret_key=secrets.token_urlsafe(48),
                                  database_url=url, instance_path=folder, lrs_endpoint=UNUSED_LRS))
        stack.callback(app_state(app).engine.dispose)
        tool = InProcessTool(app)
        rng = random.Random(0)
        for user in platform.users[:WARM_UP_LAUNCHES_PER_WORKER]:  # templates, caches, the JWKS
            tool.launch(platform, user, rng.choice(platform.links), {step: StepCost() for step in STEPS})
        print(f"in process ({database}; {options.learners} learners, {len(platform.links)} links; CPU of "
              "this process and statements per launch, then per step):", flush=True)
        for name, users in (("first launches", platform.users[WARM_UP_LAUNCHES_PER_WORKER:]),
                            ("returning learners", [rng.choice(platform.users)
                                                   for _ in range(options.in_process)])):
            costs = {step: StepCost() for step in STEPS}
            for user in users:
                tool.launch(platform, user, rng.choice(platform.links), costs)
            print_in_process(name, costs, len(users))


# --- the report ---------------------------------------------------------------------------------

def met(ok: bool) -> str:
    """Say whether a goal is met."""
    return "yes" if ok else "NO"


def print_level(name: str, level: Level) -> None:
    """One line per tool and level, as it is measured."""
    print(f"  {name:6} {level.clients:3d} clients: {len(level.latencies):5d} launches in "
          f"{level.seconds:5.1f} s = {level.rate:6.1f}/s, p50 {level.ms(.5):6.1f} p95 {level.ms(.95):6.1f} "
          f"p99 {level.ms(.99):6.1f} ms, errors {len(level.errors)}; CPU ms/launch: server "
          f"{level.per_launch(level.server_cpu):5.1f}, "
          f"PostgreSQL {level.per_launch(level.database_cpu):4.1f}, "
          f"JWKS server {level.per_launch(level.emulator_cpu):4.1f}, "
          f"client {level.per_launch(level.client_cpu):4.1f}", flush=True)
    for error in sorted(set(level.errors))[:3]:
        print(f"    error: {error[:300]}")


def print_table(pairs: Sequence[tuple[Level, Level]]) -> None:
    """The table: per client count, both tools and the ratio."""
    print(f"\n{'clients':>7} | {'l2i/s':>7} {'p50':>6} {'p95':>6} {'p99':>6} {'err':>4} | "
          f"{'naive/s':>7} {'p50':>6} {'p95':>6} {'p99':>6} {'err':>4} | {'ratio':>6}")
    for tool, naive in pairs:
        print(f"{tool.clients:7d} | {tool.rate:7.1f} {tool.ms(.5):6.1f} {tool.ms(.95):6.1f} "
              f"{tool.ms(.99):6.1f} {len(tool.errors):4d} | {naive.rate:7.1f} {naive.ms(.5):6.1f} "
              f"{naive.ms(.95):6.1f} {naive.ms(.99):6.1f} {len(naive.errors):4d} | "
              f"{tool.rate / naive.rate:5.2f}x")
    print("(launches per second; latency percentiles in ms: the tool's login + launch + first page)")


def print_memory(name: str, master: int) -> list[float]:
    """Print the RSS of each gunicorn worker of ``master``; return the RSS figures."""
    rss = []
    for worker in children_of(master):
        now, peak = memory_mb(worker)
        rss.append(now)
        print(f"  {name} worker {worker}: RSS {now:.1f} MB (peak {peak:.1f} MB)")
    return rss


def print_goals(pairs: Sequence[tuple[Level, Level]], tool_rss: Sequence[float]) -> None:
    """The goals and whether each is met."""
    print(f"\n{'goal':52} {'figure':>14} {'met?':>5}")
    for tool, naive in pairs:
        ratio = tool.rate / naive.rate
        print(f"{f'throughput >= {RATIO_GOAL:g}x naive, {tool.clients} clients':52} {ratio:13.2f}x "
              f"{met(ratio >= RATIO_GOAL):>5}")
    at_goal = [tool for tool, _ in pairs if tool.clients == P95_GOAL_CLIENTS]
    for tool in at_goal:
        print(f"{f'p95 <= {P95_GOAL_MS:g} ms at {P95_GOAL_CLIENTS} clients':52} {tool.ms(.95):11.1f} ms "
              f"{met(tool.ms(.95) <= P95_GOAL_MS):>5}")
    print(f"{f'web worker RSS <= {RSS_GOAL_MB:g} MB':52} {max(tool_rss, default=0):11.1f} MB "
          f"{met(bool(tool_rss) and max(tool_rss) <= RSS_GOAL_MB):>5}")
    errors = sum(len(t.errors) + len(n.errors) for t, n in pairs)
    print(f"{'errors (both tools)':52} {errors:14d} {met(errors == 0):>5}")


# --- the run ------------------------------------------------------------------------------------

def run(options: argparse.Namespace, folder: Path) -> None:
    """Set up the emulator, both tools and the database; measure each level; print the figures."""
    load = "/".join(f"{figure:.2f}" for figure in os.getloadavg())
    tool_port, naive_port, lms_port = free_port(), free_port(), free_port()
    tool_url, naive_url = f"http://127.0.0.1:{tool_port}", f"http://127.0.0.1:{naive_port}"
    config = default_seed(f"http://127.0.0.1:{lms_port}", tool_url, 1)
    platform = BenchPlatform(config.institutions[0], options.learners)
    with ExitStack() as stack:
        url, database, emulator = start_lms(stack, options, folder, config, lms_port)
        assert emulator.pid is not None
        probes = Probes(emulator.pid, make_url(url).database if url.startswith("postgresql") else None)
        settings = Settings(base_url=tool_url, secret_key=secrets.token_urlsafe(48), database_url=url,
                            instance_path=folder)
        env = {**os.environ, "L2I_BASE_URL": tool_url, "L2I_SECRET_KEY": settings.secret_key,
               "L2I_DATABASE_URL": url, "L2I_INSTANCE_PATH": str(folder),
               "NAIVE_LTI_CONFIG": str(write_naive_registration(folder, platform.institution)),
               "NAIVE_SECRET_KEY": secrets.token_urlsafe(48)}
        for name in ("L2I_LRS_USERNAME", "L2I_LRS_PASSWORD"):
            env.pop(name, None)
        env["L2I_LRS_ENDPOINT"] = UNUSED_LRS
        wait_until_serving(platform.institution.key_set_url, emulator.is_alive)
        tool = Target("l2i", f"{tool_url}/lti/login", f"{tool_url}/lti/launch", stack.enter_context(
            running(tool_command(tool_port, options.workers), env, f"{tool_url}/healthz",
                    folder / "tool.log")))
        naive = Target("naive", f"{naive_url}/login", f"{naive_url}/launch", stack.enter_context(
            running(naive_command(folder, settings, naive_port, options.workers), env, f"{naive_url}/first",
                    folder / "naive.log")))
        print(f"database: {database}; gunicorn: {options.workers} sync workers per tool; learners: "
              f"{options.learners}; links: {len(platform.links)}; {options.seconds:g} s per level after a "
              f"warm-up of {options.warm_up:g} s and at least {WARM_UP_LAUNCHES_PER_WORKER} launches per "
              "worker", flush=True)
        at_least = WARM_UP_LAUNCHES_PER_WORKER * options.workers
        warm_ups = [run_level(target, platform, probes, max(options.clients), options.warm_up, seed=0,
                              at_least=at_least) for target in (tool, naive)]
        print(f"  warm-up: l2i {len(warm_ups[0].latencies)} launches, naive {len(warm_ups[1].latencies)}, "
              f"errors {len(warm_ups[0].errors) + len(warm_ups[1].errors)}", flush=True)
        pairs: list[tuple[Level, Level]] = []
        for index, clients in enumerate(options.clients, start=1):
            measured = (run_level(tool, platform, probes, clients, options.seconds, seed=index),
                        run_level(naive, platform, probes, clients, options.seconds, seed=index))
            for target, level in zip((tool, naive), measured, strict=True):
                print_level(target.name, level)
            pairs.append(measured)
        print("\nmemory after the run:")
        tool_rss = print_memory("l2i", tool.process.pid)
        print_memory("naive", naive.process.pid)
        print_table(pairs)
        print_goals(pairs, tool_rss)
        for name, log, levels in (("l2i", folder / "tool.log", [warm_ups[0], *(t for t, _ in pairs)]),
                                  ("naive", folder / "naive.log", [warm_ups[1], *(n for _, n in pairs)])):
            if any(level.errors for level in levels):
                print_server_error(name, log)
        launched = len(warm_ups[0].latencies) + sum(len(tool_level.latencies) for tool_level, _ in pairs)
        print_sessions(url, launched)
        print(f"machine: {os.cpu_count()} CPUs (load average {load} at the start), {host.platform()}, "
              f"Python {host.python_version()}; database: {database}; the client, the emulator, the "
              f"database and both tools share these CPUs; "
              f"date: {dt.datetime.now().astimezone():%Y-%m-%d %H:%M %Z}")


def client_counts(text: str) -> list[int]:
    """Parse ``1,8,32``."""
    counts = [int(part) for part in text.split(",") if part.strip()]
    if not counts or min(counts) <= 0:
        raise argparse.ArgumentTypeError("give positive client counts, e.g. 1,8,32")
    return counts


def main() -> None:
    """Parse the options and run the benchmark."""
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database-url", default=None,
                        help="PostgreSQL: a fresh database is made on its server; default: temporary SQLite")
    parser.add_argument("--clients", type=client_counts, default=[1, 8, 32],
                        help="concurrent clients per level")
    parser.add_argument("--seconds", type=float, default=8.0, help="measured seconds per tool and level")
    parser.add_argument("--warm-up", type=float, default=2.0, help="unmeasured seconds per tool first")
    parser.add_argument("--workers", type=int, default=3, help="gunicorn workers of each tool")
    parser.add_argument("--learners", type=int, default=200, help="distinct learners launching")
    parser.add_argument("--quick", action="store_true", help="a smoke run: 2 s per level, 1 s warm-up")
    parser.add_argument("--in-process", type=int, default=0, metavar="N",
                        help="instead: the tool's CPU and SQL statements per launch, measured in this "
                        "process (no gunicorn) over each learner's first launch and N returning launches")
    options = parser.parse_args()
    if options.quick:
        options.seconds, options.warm_up = 2.0, 1.0
    with tempfile.TemporaryDirectory() as name:
        if options.in_process:
            run_in_process(options, Path(name))
        else:
            run(options, Path(name))


if __name__ == "__main__":
    main()

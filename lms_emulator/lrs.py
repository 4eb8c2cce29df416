"""A real Ralph LRS in a subprocess, for the tests, the benchmark and the demo.

Ralph lives in its own venv (``make ralph`` builds ``.venv-ralph``; its pins clash with
the project's), so this module never imports it: it runs ``scripts/serve_ralph.py`` with
that venv's python, on Ralph's file-system backend, with one user allowed everything.
Every statement Ralph stores is one JSON line in :attr:`RalphLRS.statements_file`.

    with start_ralph(tmp_path) as lrs:
        requests.post(lrs.endpoint + "statements", json=[...], auth=lrs.auth,
                      headers=XAPI_HEADERS)
        lrs.read_statements()
"""

from __future__ import annotations

import atexit
import json
import os
import secrets
import signal
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any, Self

import requests

REPO_ROOT = Path(__file__).resolve().parent.parent
#: Where ``make ralph`` installs Ralph; ``L2I_RALPH_VENV`` points elsewhere.
DEFAULT_RALPH_VENV = REPO_ROOT / ".venv-ralph"
RALPH_VENV = Path(os.environ.get("L2I_RALPH_VENV") or DEFAULT_RALPH_VENV)
SERVE_SCRIPT = REPO_ROOT / "scripts" / "serve_ralph.py"

XAPI_VERSION = "1.0.3"
#: The header every xAPI request to Ralph carries.
XAPI_HEADERS = {"X-Experience-API-Version": XAPI_VERSION}

STATEMENTS_FILE_NAME = "fs_lrs.jsonl"
AUTH_FILE_NAME = "auth.json"
LOG_FILE_NAME = "ralph.log"

START_TIMEOUT_SECONDS = 30.0
STOP_TIMEOUT_SECONDS = 10.0
POLL_SECONDS = 0.05
LOG_TAIL_LINES = 40
REQUEST_TIMEOUT_SECONDS = 30.0

# bcrypt is only in Ralph's venv: its python hashes the password read on stdin.
# Four rounds (the minimum) keep the start fast; the password is random and local.
_HASH_SCRIPT = (
    "import sys, bcrypt; "
    "print(bcrypt.hashpw(sys.stdin.buffer.read(), bcrypt.gensalt(rounds=4)).decode())"
)


class RalphNotInstalledError(RuntimeError):
    """Ralph's venv is missing: ``make ralph`` (which ``make test`` and ``make demo`` run) builds it."""

    def __init__(self, venv: Path) -> None:
        super().__init__(
            f"Ralph LRS is not installed in {venv}: run `make ralph` "
            "(`make test` and `make demo` do it), or point L2I_RALPH_VENV at a venv that has "
            "ralph-malph[lrs,cli]==5.1.0"
        )
        self.venv = venv


class RalphStartError(RuntimeError):
    """Ralph did not answer its heartbeat in time, or its process ended while starting."""


def ralph_venv() -> Path:
    """Return the venv Ralph runs from: ``L2I_RALPH_VENV`` if set, else ``.venv-ralph``."""
    return Path(os.environ.get("L2I_RALPH_VENV") or DEFAULT_RALPH_VENV)


def ralph_python(venv: Path | None = None) -> Path:
    """Return the python of Ralph's venv, or raise :class:`RalphNotInstalledError`."""
    venv = venv if venv is not None else ralph_venv()
    python = venv / "bin" / "python"
    if not python.exists():
        raise RalphNotInstalledError(venv)
    return python


def free_port(host: str = "127.0.0.1") -> int:
    """Return a TCP port on ``host`` that is free right now."""
    with socket.socket() as sock:
        sock.bind((host, 0))
        port: int = sock.getsockname()[1]
        return port


# Every Ralph this interpreter started and has not stopped yet, by pid: killed at exit.
_LIVE: dict[int, subprocess.Popen[bytes]] = {}


def _stop_all() -> None:
    for process in list(_LIVE.values()):
        _terminate(process)
    _LIVE.clear()


def _terminate(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=STOP_TIMEOUT_SECONDS)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    _LIVE.pop(process.pid, None)


atexit.register(_stop_all)


@dataclass
class RalphLRS:
    """One Ralph LRS serving on ``host:port`` with its statements in ``data_dir``.

    ``port`` 0 picks a free port on :meth:`start`; :meth:`restart` keeps it, and the data.
    """

    data_dir: Path
    port: int = 0
    host: str = "127.0.0.1"
    username: str = "l2i-engine"
    password: str = field(default_factory=lambda: secrets.token_urlsafe(18))
    agent_mbox: str = "mailto:l2i-engine@example.org"
    venv: Path = field(default_factory=ralph_venv)
    start_timeout: float = START_TIMEOUT_SECONDS
    process: subprocess.Popen[bytes] | None = field(default=None, init=False, repr=False)
    _auth_written: bool = field(default=False, init=False, repr=False)

    @property
    def url(self) -> str:
        """Return Ralph's root URL, e.g. ``http://127.0.0.1:8100``."""
        if not self.port:
            raise RuntimeError("Ralph has no port yet: start() it first")
        return f"http://{self.host}:{self.port}"

    @property
    def endpoint(self) -> str:
        """Return the xAPI endpoint, e.g. ``http://127.0.0.1:8100/xAPI/``."""
        return f"{self.url}/xAPI/"

    @property
    def auth(self) -> tuple[str, str]:
        """Return the basic-auth pair of the one user Ralph accepts."""
        return (self.username, self.password)

    @property
    def statements_file(self) -> Path:
        """Return the JSON-lines file that holds every stored statement, one a line."""
        return self.data_dir / STATEMENTS_FILE_NAME

    @property
    def auth_file(self) -> Path:
        """Return Ralph's users file."""
        return self.data_dir / AUTH_FILE_NAME

    @property
    def log_file(self) -> Path:
        """Return the file Ralph's output goes to (appended to on every start)."""
        return self.data_dir / LOG_FILE_NAME

    @property
    def running(self) -> bool:
        """Return whether Ralph's process is alive."""
        return self.process is not None and self.process.poll() is None

    def start(self) -> Self:
        """Launch Ralph and return once its heartbeat answers 200.

        Raises :class:`RalphNotInstalledError` without the venv and :class:`RalphStartError`
        (with the end of Ralph's log) if it does not come up within ``start_timeout`` seconds.
        """
        if self.running:
            return self
        python = ralph_python(self.venv)
        self.data_dir.mkdir(parents=True, exist_ok=True)
        if not self._auth_written:  # this instance's password, even in a reused directory
            self._write_auth_file(python)
        if not self.port:
            self.port = free_port(self.host)
        command = [
            str(python),
            str(SERVE_SCRIPT),
            "--host",
            self.host,
            "--port",
            str(self.port),
            "--exit-with-parent",
            str(os.getpid()),
        ]
        with self.log_file.open("ab") as log:
            log.write(f"--- starting Ralph on {self.url} at {time.strftime('%H:%M:%S')}\n".encode())
            log.flush()
            # cwd is the data directory: Ralph also reads settings from ./.env.
            self.process = subprocess.Popen(  # noqa: S603 (a fixed command)
                command,
                cwd=self.data_dir,
                env=self._environment(),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        _LIVE[self.process.pid] = self.process
        try:
            self._wait_until_up()
        except BaseException:
            self.kill()
            raise
        return self

    def stop(self) -> None:
        """Stop Ralph gracefully (SIGTERM, then SIGKILL after 10 s) and wait for it to end."""
        if self.process is not None:
            _terminate(self.process)

    def kill(self) -> None:
        """Kill Ralph at once (SIGKILL), as a crash would, and reap it."""
        if self.process is not None:
            if self.process.poll() is None:
                self.process.send_signal(signal.SIGKILL)
                self.process.wait()
            _LIVE.pop(self.process.pid, None)

    def restart(self) -> Self:
        """Stop Ralph if it runs and start it again on the same port with the same data."""
        self.stop()
        return self.start()

    def read_statements(self) -> list[dict[str, Any]]:
        """Return every statement Ralph stored, in write order, read straight from its file."""
        if not self.statements_file.exists():
            return []
        with self.statements_file.open(encoding="utf-8") as lines:
            return [json.loads(line) for line in lines if line.strip()]

    def query(self, **params: str | int) -> dict[str, Any]:
        """GET ``/xAPI/statements`` with ``params``; return the decoded answer.

        The answer is ``{"statements": [...], "more": "..."}``, even for ``statementId``
        (Ralph wraps the one statement in the list); an error status raises
        :class:`requests.HTTPError`.
        """
        response = requests.get(
            self.endpoint + "statements",
            params=params,
            auth=self.auth,
            headers=XAPI_HEADERS,
            timeout=REQUEST_TIMEOUT_SECONDS,
        )
        response.raise_for_status()
        answer: dict[str, Any] = response.json()
        return answer

    def log_tail(self, lines: int = LOG_TAIL_LINES) -> str:
        """Return the last ``lines`` lines of Ralph's log."""
        if not self.log_file.exists():
            return ""
        text = self.log_file.read_text(encoding="utf-8", errors="replace")
        return "\n".join(text.splitlines()[-lines:])

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    def _environment(self) -> dict[str, str]:
        # Only this harness's settings: a RALPH_* variable inherited from the shell would
        # change the backend, the auth file or the data directory under the tests' feet.
        env = {key: value for key, value in os.environ.items() if not key.startswith("RALPH_")}
        env.update(
            {
                "RALPH_APP_DIR": str(self.data_dir),
                "RALPH_AUTH_FILE": str(self.auth_file),
                "RALPH_RUNSERVER_BACKEND": "fs",
                "RALPH_BACKENDS__LRS__FS__DEFAULT_DIRECTORY_PATH": str(self.data_dir),
                "RALPH_BACKENDS__LRS__FS__DEFAULT_LRS_FILE": STATEMENTS_FILE_NAME,
                "PYTHONUNBUFFERED": "1",
            }
        )
        return env

    def _write_auth_file(self, python: Path) -> None:
        hashed = subprocess.run(  # noqa: S603 (a fixed command)
            [str(python), "-c", _HASH_SCRIPT],
            input=self.password.encode(),
            capture_output=True,
            check=True,
            timeout=START_TIMEOUT_SECONDS,
        ).stdout.decode().strip()
        user = {
            "username": self.username,
            "hash": hashed,
            "scopes": ["all"],
            "agent": {"mbox": self.agent_mbox},
        }
        self.auth_file.write_text(json.dumps([user], indent=2) + "\n", encoding="utf-8")
        self._auth_written = True

    def _wait_until_up(self) -> None:
        assert self.process is not None
        deadline = time.monotonic() + self.start_timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RalphStartError(
                    f"Ralph exited with status {self.process.returncode} while starting on "
                    f"{self.url}; the end of {self.log_file}:\n{self.log_tail()}"
                )
            try:
                if requests.get(self.url + "/__heartbeat__", timeout=1).status_code == 200:
                    return
            except requests.RequestException:
                pass
            time.sleep(POLL_SECONDS)
        raise RalphStartError(
            f"Ralph did not answer {self.url}/__heartbeat__ within {self.start_timeout:g} s; "
            f"the end of {self.log_file}:\n{self.log_tail()}"
        )


def start_ralph(data_dir: Path, port: int | None = None) -> RalphLRS:
    """Start a Ralph LRS storing into ``data_dir`` on ``port`` (None: a free one); return it running."""
    return RalphLRS(data_dir=data_dir, port=port or 0).start()


__all__ = [
    "DEFAULT_RALPH_VENV",
    "RALPH_VENV",
    "XAPI_HEADERS",
    "XAPI_VERSION",
    "RalphLRS",
    "RalphNotInstalledError",
    "RalphStartError",
    "free_port",
    "ralph_python",
    "ralph_venv",
    "start_ralph",
]

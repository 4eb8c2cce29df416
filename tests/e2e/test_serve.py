"""``l2i serve``: gunicorn with several workers, as an operator starts it, and its refusals."""

from __future__ import annotations

import os
import secrets
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests

from tests.fixtures.servers import free_port

L2I = Path(sys.executable).with_name("l2i")
START_TIMEOUT = 30.0
STOP_TIMEOUT = 30.0
PRIVATE_JWK_MEMBERS = {"d", "p", "q", "dp", "dq", "qi", "oth", "k"}


def l2i_env(**values: str) -> dict[str, str]:
    """The current environment without any ``L2I_*`` variable, plus ``values``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("L2I_")}
    env.update(values)
    return env


@dataclass
class Served:
    """A running ``l2i serve`` process and where its output goes."""

    process: subprocess.Popen[bytes]
    url: str
    log: Path

    def output(self) -> str:
        """Everything the server wrote so far."""
        return self.log.read_text(errors="replace")


def wait_until_healthy(served: Served) -> dict[str, str]:
    """Poll ``/healthz`` until it answers ok; fail with the server's output if it never does."""
    deadline = time.monotonic() + START_TIMEOUT
    last = "no answer"
    while time.monotonic() < deadline:
        if served.process.poll() is not None:
            pytest.fail(f"l2i serve exited with {served.process.returncode} before it was healthy:\n"
                        f"{served.output()}")
        try:
            response = requests.get(f"{served.url}/healthz", timeout=2)
        except requests.ConnectionError as exc:
            last = f"connection failed: {exc}"
        else:
            last = f"{response.status_code} {response.text}"
            if response.status_code == 200:
                body: dict[str, str] = response.json()
                return body
        time.sleep(0.1)
    pytest.fail(f"/healthz did not answer 200 within {START_TIMEOUT} s (last: {last}):\n{served.output()}")


@pytest.fixture
def served(tmp_path: Path) -> Iterator[Served]:
    """``l2i serve --workers 2`` on a migrated temporary SQLite database, stopped afterwards."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    run_dir = tmp_path / "run"  # gunicorn's control socket goes here, not under $HOME
    run_dir.mkdir()
    env = l2i_env(
        L2I_SECRET_KEY=secrets.token_urlsafe(36),
        L2I_DATABASE_URL=f"sqlite:///{tmp_path / 'served.sqlite3'}",
        L2I_BASE_URL=url,
        XDG_RUNTIME_DIR=str(run_dir),
    )
    assert len(env["L2I_SECRET_KEY"]) == 48
    upgrade = subprocess.run([str(L2I), "db", "upgrade"], env=env, cwd=tmp_path, capture_output=True,
                             text=True, timeout=120, check=False)
    assert upgrade.returncode == 0, upgrade.stdout + upgrade.stderr
    log = tmp_path / "serve.log"
    with log.open("wb") as sink:
        process = subprocess.Popen(
            [str(L2I), "serve", "--bind", f"127.0.0.1:{port}", "--workers", "2"],
            env=env, cwd=tmp_path, stdout=sink, stderr=subprocess.STDOUT,
        )
    try:
        yield Served(process=process, url=url, log=log)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=STOP_TIMEOUT)


@pytest.mark.slow
def test_serve_answers_health_and_jwks_then_stops_cleanly(served: Served) -> None:
    health = wait_until_healthy(served)
    assert health["status"] == "ok", health
    assert health.get("database") == "ok", health

    with requests.Session() as client:
        first = client.get(f"{served.url}/lti/jwks", timeout=5)
        assert first.status_code == 200, first.text
        assert first.headers["Content-Type"].startswith("application/json")
        body = first.json()
        assert isinstance(body, dict) and set(body) == {"keys"}, body
        assert isinstance(body["keys"], list) and body["keys"], body
        for jwk in body["keys"]:
            assert {"kid", "alg", "use", "kty", "n", "e"} <= set(jwk), jwk
            assert jwk["alg"] == "RS256" and jwk["use"] == "sig" and jwk["kty"] == "RSA", jwk
            assert jwk["kid"] and jwk["n"] and jwk["e"], jwk
            assert not PRIVATE_JWK_MEMBERS & set(jwk), f"private key material published: {sorted(jwk)}"
        # Every worker publishes the same key set (several requests reach both workers).
        for _ in range(6):
            again = requests.get(f"{served.url}/lti/jwks", timeout=5)
            assert again.json() == body

    served.process.send_signal(signal.SIGTERM)
    try:
        returncode = served.process.wait(timeout=STOP_TIMEOUT)
    except subprocess.TimeoutExpired:
        pytest.fail(f"l2i serve did not stop within {STOP_TIMEOUT} s of SIGTERM:\n{served.output()}")
    output = served.output()
    assert returncode == 0, output
    assert output.count("Booting worker with pid") == 2, output
    assert "Shutting down: Master" in output, output
    assert "Traceback" not in output, output


def _serve_refused(tmp_path: Path, **values: str) -> subprocess.CompletedProcess[str]:
    port = free_port()
    return subprocess.run(
        [str(L2I), "serve", "--bind", f"127.0.0.1:{port}", "--workers", "1"],
        env=l2i_env(L2I_DATABASE_URL=f"sqlite:///{tmp_path / 'refused.sqlite3'}", **values),
        cwd=tmp_path, capture_output=True, text=True, timeout=60, check=False,
    )


def test_serve_without_secret_key_exits_2(tmp_path: Path) -> None:
    result = _serve_refused(tmp_path, L2I_BASE_URL="http://127.0.0.1:8000")
    assert result.returncode == 2, result.stdout + result.stderr
    assert "L2I_SECRET_KEY" in result.stderr
    assert "Booting worker" not in result.stdout + result.stderr


def test_serve_with_bad_base_url_exits_2(tmp_path: Path) -> None:
    result = _serve_refused(tmp_path, L2I_SECRET_KEY=secrets.token_urlsafe(48), L2I_BASE_URL="not a url")
    assert result.returncode == 2, result.stdout + result.stderr
    assert "L2I_BASE_URL" in result.stderr
    assert "L2I_SECRET_KEY" not in result.stderr, "a good secret key was reported as a problem"
    assert "Booting worker" not in result.stdout + result.stderr

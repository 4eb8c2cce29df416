"""Run the emulated LMS on a real socket, in a background thread (for ``l2i demo`` and e2e tests).

The issuer of every institution contains the LMS's own URL, so the port must be known
before the institutions are built: the server binds first (port 0 picks a free one),
then the seed is made with the URL it got.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from flask import Flask
from werkzeug.serving import BaseWSGIServer, make_server

from lms_emulator.app import create_emulator_app
from lms_emulator.platform import DEFAULT_NRPS_PAGE_SIZE, EmulatorConfig, default_seed
from lms_emulator.tool_keys import JwksFetcher

POLL_INTERVAL_SECONDS = 0.1


class _DeferredApp:
    """A WSGI app whose target is set once the server knows its port."""

    def __init__(self) -> None:
        self.target: Flask | None = None

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        if self.target is None:
            raise RuntimeError("the emulator app is not ready yet")
        return self.target(environ, start_response)


@dataclass
class RunningEmulator:
    """An emulated LMS serving in a background thread."""

    config: EmulatorConfig
    app: Flask
    server: BaseWSGIServer
    thread: threading.Thread

    @property
    def base_url(self) -> str:
        """Return the LMS's root URL, e.g. ``http://127.0.0.1:5001``."""
        return self.config.base_url

    def stop(self) -> None:
        """Stop serving and close the socket."""
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)


def start_emulator(
    tool_base_url: str,
    *,
    host: str = "127.0.0.1",
    port: int = 0,
    institutions: int = 1,
    jwks_fetcher: JwksFetcher | None = None,
    nrps_page_size: int = DEFAULT_NRPS_PAGE_SIZE,
) -> RunningEmulator:
    """Seed the demo LMS and serve it on ``host:port`` (0: a free port) in a daemon thread."""
    deferred = _DeferredApp()
    server = make_server(host, port, deferred, threaded=True)
    config = default_seed(
        f"http://{host}:{server.server_port}",
        tool_base_url,
        institutions,
        jwks_fetcher=jwks_fetcher,
        nrps_page_size=nrps_page_size,
    )
    app = create_emulator_app(config)
    deferred.target = app
    thread = threading.Thread(
        target=server.serve_forever,
        kwargs={"poll_interval": POLL_INTERVAL_SECONDS},
        name="lms-emulator",
        daemon=True,
    )
    thread.start()
    return RunningEmulator(config=config, app=app, server=server, thread=thread)

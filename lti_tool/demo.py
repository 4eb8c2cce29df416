"""``l2i demo``: the tool plus the built-in LMS emulator on localhost, on SQLite, with no other set-up."""

from __future__ import annotations

import os
import secrets
import threading
from dataclasses import dataclass

import click
from flask import Flask
from sqlalchemy.orm import Session
from werkzeug.serving import BaseWSGIServer, make_server

from l2i_db import create_db_engine, create_session_factory
from lms_emulator.platform import EmulatorConfig
from lms_emulator.server import RunningEmulator, start_emulator
from lti_tool import keys, platforms
from lti_tool.app import create_app
from lti_tool.migrate import upgrade_database
from lti_tool.settings import Settings, load_settings


@dataclass
class DemoServers:
    """The tool's server (not yet serving) and the running LMS emulator."""

    tool: BaseWSGIServer
    lms: RunningEmulator
    tool_url: str

    @property
    def lms_url(self) -> str:
        """The demo LMS's address."""
        return self.lms.base_url

    @property
    def emulator(self) -> EmulatorConfig:
        """The emulated institutions."""
        return self.lms.config

    def start(self) -> None:
        """Serve the tool in a background thread."""
        threading.Thread(target=self.tool.serve_forever, daemon=True).start()

    def stop(self) -> None:
        """Stop both servers."""
        self.tool.shutdown()
        self.tool.server_close()
        self.lms.stop()


def register_emulator(session: Session, emulator: EmulatorConfig) -> list[str]:
    """Register every emulated institution as a platform; return their names."""
    names = []
    for institution in emulator.institutions:
        reg = institution.registration()
        platforms.add_platform(
            session,
            platforms.PlatformSpec(
                issuer=reg["issuer"], client_id=reg["client_id"],
                auth_login_url=reg["auth_login_url"], auth_token_url=reg["auth_token_url"],
                key_set_url=reg["key_set_url"], deployment_ids=(reg["deployment_id"],),
                name=reg["name"],
            ),
        )
        names.append(reg["name"])
    keys.ensure_signing_key(session)
    return names


def build_demo(
    settings: Settings, *, host: str, port: int, lms_port: int, institutions: int = 1
) -> DemoServers:
    """Migrate the database, start the LMS emulator, register it, and create the tool's server.

    Call :meth:`DemoServers.start` to serve the tool.
    """
    upgrade_database(settings.database_url)
    lms = start_emulator(settings.base_url, host=host, port=lms_port, institutions=institutions)
    engine = create_db_engine(settings.database_url)
    with create_session_factory(engine)() as session:
        register_emulator(session, lms.config)
        session.commit()
    engine.dispose()
    tool_app: Flask = create_app(settings)
    return DemoServers(
        tool=make_server(host, port, tool_app, threaded=True), lms=lms, tool_url=settings.base_url
    )


def run_demo(*, host: str, port: int, lms_port: int, institutions: int = 1) -> None:
    """Run the demo until interrupted, printing the URL to open."""
    if not os.environ.get("L2I_SECRET_KEY"):
        os.environ["L2I_SECRET_KEY"] = secrets.token_urlsafe(48)
        click.echo("L2I_SECRET_KEY is not set: using a random one for this demo run.")
    settings = load_settings()
    servers = build_demo(settings, host=host, port=port, lms_port=lms_port, institutions=institutions)
    servers.start()
    click.echo(f"L2I Engine is running at {servers.tool_url} (database {settings.database_url}).")
    click.echo(f"Open the demo LMS and launch as any user:  {servers.lms_url}/")
    click.echo("Press Ctrl-C to stop.")
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        click.echo("Stopping.")
    finally:
        servers.stop()

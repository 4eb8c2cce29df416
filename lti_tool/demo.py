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
from lms_emulator.app import create_emulator_app
from lms_emulator.platform import EmulatorConfig, default_seed
from lti_tool import keys, platforms
from lti_tool.app import create_app
from lti_tool.migrate import upgrade_database
from lti_tool.settings import Settings, load_settings


@dataclass
class DemoServers:
    """The two running servers and the URLs a person opens."""

    tool: BaseWSGIServer
    lms: BaseWSGIServer
    tool_url: str
    lms_url: str
    emulator: EmulatorConfig

    def start(self) -> None:
        """Serve both in background threads."""
        for server in (self.tool, self.lms):
            threading.Thread(target=server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        """Stop both servers."""
        for server in (self.tool, self.lms):
            server.shutdown()
            server.server_close()


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
    """Migrate the database, register the emulator, and create (not start) both servers."""
    upgrade_database(settings.database_url)
    lms_url = f"http://{host}:{lms_port}"
    emulator = default_seed(lms_url, settings.base_url, institutions=institutions)
    engine = create_db_engine(settings.database_url)
    with create_session_factory(engine)() as session:
        register_emulator(session, emulator)
        session.commit()
    engine.dispose()
    tool_app: Flask = create_app(settings)
    lms_app: Flask = create_emulator_app(emulator)
    return DemoServers(
        tool=make_server(host, port, tool_app, threaded=True),
        lms=make_server(host, lms_port, lms_app, threaded=True),
        tool_url=settings.base_url,
        lms_url=lms_url,
        emulator=emulator,
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

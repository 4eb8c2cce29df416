"""``l2i demo``: the tool plus the built-in LMS emulator on localhost, on SQLite, with no other set-up."""

from __future__ import annotations

import dataclasses
import logging
import os
import secrets
import threading
from dataclasses import dataclass

import click
from flask import Flask
from sqlalchemy.orm import Session
from werkzeug.serving import BaseWSGIServer, make_server

from competencies.store import active_framework
from course_units.loader import load_catalog
from l2i_db import create_db_engine, create_session_factory
from l2i_db.engine import start_wal_checkpointer
from lms_emulator.lrs import RalphLRS, RalphNotInstalledError, RalphStartError
from lms_emulator.platform import EmulatorConfig
from lms_emulator.server import RunningEmulator, start_emulator
from lti_tool import keys, platforms
from lti_tool.app import create_app
from lti_tool.demo_seed import SeedReport, seed_demo_work
from lti_tool.migrate import upgrade_database
from lti_tool.settings import Settings, load_settings
from lti_tool.worker import keep_programme_counted, make_courier


@dataclass
class DemoServers:
    """The tool's server (not yet serving) and the running LMS emulator."""

    tool: BaseWSGIServer
    lms: RunningEmulator
    tool_url: str
    seeded: SeedReport | None = None

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


def seed_demo(session: Session, settings: Settings, emulator: EmulatorConfig) -> SeedReport:
    """Seed the emulated learners' work (once per database) with the configured content and rule."""
    framework = active_framework(session)
    catalog = load_catalog(settings.content_dir, known_competencies=framework.competency_ids())
    return seed_demo_work(session, emulator, catalog, settings.proficiency)


def build_demo(
    settings: Settings, *, host: str, port: int, lms_port: int, institutions: int = 1, seed: bool = False
) -> DemoServers:
    """Migrate the database, start the LMS emulator, register it, and create the tool's server.

    With ``seed``, the emulated learners' work of the past weeks is written too (once per database).
    Call :meth:`DemoServers.start` to serve the tool.
    """
    upgrade_database(settings.database_url)
    lms = start_emulator(settings.base_url, host=host, port=lms_port, institutions=institutions)
    engine = create_db_engine(settings.database_url)
    with create_session_factory(engine)() as session:
        register_emulator(session, lms.config)
        seeded = seed_demo(session, settings, lms.config) if seed else None
        session.commit()
    engine.dispose()
    tool_app: Flask = create_app(settings)
    return DemoServers(
        tool=make_server(host, port, tool_app, threaded=True), lms=lms, tool_url=settings.base_url,
        seeded=seeded,
    )


def attach_demo_lrs(settings: Settings) -> tuple[Settings, RalphLRS | None]:
    """Start a local Ralph LRS for the demo's statements, unless an LRS is configured.

    Ralph keeps its statements under the instance folder (``ralph/fs_lrs.jsonl``). Without
    Ralph installed (``make ralph``) the demo runs on and says so.
    """
    if settings.lrs_endpoint:
        return settings, None
    try:
        lrs = RalphLRS(data_dir=settings.instance_path / "ralph").start()
    except (RalphNotInstalledError, RalphStartError) as exc:
        click.echo(f"No LRS for the demo's xAPI statements ({exc}); they wait in the outbox.")
        return settings, None
    return dataclasses.replace(settings, lrs_endpoint=lrs.endpoint, lrs_username=lrs.username,
                               lrs_password=lrs.password), lrs


def start_demo_worker(settings: Settings) -> threading.Event:
    """Run ``l2i worker``'s jobs in background threads: delivery, counting the programme, checkpoints.

    Set the returned event to stop them.
    """
    stop = threading.Event()
    engine = create_db_engine(settings.database_url)
    courier = make_courier(settings, engine)
    threading.Thread(target=courier.run, args=(stop, 0.5), daemon=True, name="outbox-worker").start()
    threading.Thread(target=keep_programme_counted, args=(settings, engine, stop), daemon=True,
                     name="programme-counter").start()
    start_wal_checkpointer(engine, stop)
    return stop


def run_demo(*, host: str, port: int, lms_port: int, institutions: int = 1) -> None:
    """Run the demo until interrupted, printing the URL to open."""
    if not os.environ.get("L2I_SECRET_KEY"):
        os.environ["L2I_SECRET_KEY"] = secrets.token_urlsafe(48)
        click.echo("L2I_SECRET_KEY is not set: using a random one for this demo run.")
    logging.basicConfig(level=logging.WARNING)
    settings, lrs = attach_demo_lrs(load_settings())
    servers = build_demo(settings, host=host, port=port, lms_port=lms_port, institutions=institutions,
                         seed=True)
    servers.start()
    stop_worker = start_demo_worker(settings)
    click.echo(f"L2I Engine is running at {servers.tool_url} (database {settings.database_url}).")
    if servers.seeded is not None:
        click.echo(servers.seeded.describe())
    click.echo(f"Open the demo LMS and launch as any user:  {servers.lms_url}/")
    if lrs is not None:
        click.echo(f"xAPI statements go to a local Ralph LRS at {lrs.endpoint} (user {lrs.username}, "
                   f"password {lrs.password}); they are stored in {lrs.statements_file}.")
    click.echo("Press Ctrl-C to stop.")
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        click.echo("Stopping.")
    finally:
        stop_worker.set()
        servers.stop()
        if lrs is not None:
            lrs.stop()

"""The gunicorn application: each worker builds the app, checkpoints SQLite in a thread, and freezes."""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator

import pytest
from flask import Flask

from lti_tool.server import ToolApplication, gunicorn_options
from lti_tool.settings import Settings
from lti_tool.web.state import app_state


@pytest.fixture
def unfrozen() -> Iterator[None]:
    """Give the test an unfrozen collector and leave one behind."""
    gc.unfreeze()
    yield
    gc.unfreeze()


def test_a_worker_builds_the_app_and_freezes_its_startup_objects(
    tool_settings: Settings, unfrozen: None,
) -> None:
    application = ToolApplication(tool_settings, gunicorn_options(tool_settings, bind="127.0.0.1:0",
                                                                  workers=1))
    assert gc.get_freeze_count() == 0
    app = application.load()
    assert isinstance(app, Flask)
    frozen = gc.get_freeze_count()
    assert frozen > 10_000                   # modules, mappers, the catalogue and framework
    assert len(gc.get_objects()) < frozen    # a full collection now walks only what came after
    try:
        assert app.test_client().get("/healthz").status_code == 200
        # on SQLite the worker checkpoints the WAL in a thread of its own, off the requests' path
        sqlite = app_state(app).engine.dialect.name == "sqlite"
        assert (application.checkpoints is not None) is sqlite
        assert any(t.name == "wal-checkpointer" for t in threading.enumerate()) or not sqlite
    finally:
        if application.checkpoints:
            application.checkpoints.set()
        app_state(app).engine.dispose()

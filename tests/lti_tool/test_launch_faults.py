"""A platform whose key set is down, slow or rotated: clear pages, no hang, and rotation just works."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from flask import Flask
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from lti_tool.lti.keysets import KeySetCache
from lti_tool.models import Platform, PlatformUser
from lti_tool.web.state import app_state
from tests.fixtures.lti import LaunchDriver
from tests.fixtures.servers import LiveServer, free_port, serve


@pytest.fixture
def slow_jwks() -> Iterator[LiveServer]:
    app = Flask("slow")

    @app.get("/jwks")
    def jwks() -> str:
        time.sleep(5)
        return '{"keys": []}'

    live = serve(app)
    yield live
    live.stop()


def _point_key_set_at(db_session: Session, url: str) -> None:
    db_session.execute(update(Platform).values(key_set_url=url))
    db_session.commit()


def test_key_set_down_gives_a_clear_page(driver: LaunchDriver, db_session: Session) -> None:
    _point_key_set_at(db_session, f"http://127.0.0.1:{free_port()}/jwks")
    response = driver.launch(driver.user("Learner"), driver.link(None))
    text = response.get_data(as_text=True)
    assert response.status_code == 502
    assert "could not be fetched" in text and "l2i platform list" in text
    assert db_session.scalar(select(PlatformUser.id)) is None


def test_key_set_slow_gives_a_clear_page_not_a_hang(
    driver: LaunchDriver, db_session: Session, slow_jwks: LiveServer
) -> None:
    _point_key_set_at(db_session, slow_jwks.url + "/jwks")
    started = time.monotonic()
    response = driver.launch(driver.user("Learner"), driver.link(None))
    assert response.status_code == 504
    assert "did not answer" in response.get_data(as_text=True)
    assert time.monotonic() - started < 4.5


def test_platform_key_rotation_is_picked_up(app: Flask, driver: LaunchDriver) -> None:
    state = app_state(app)
    state.keysets = KeySetCache(ttl=3600, timeout=2, min_refetch_interval=0)
    learner, link = driver.user("Learner"), driver.link(None)
    assert driver.launch(learner, link).status_code == 303
    driver.institution().rotate_key(keep_previous=False)
    assert driver.launch(learner, link).status_code == 303
    assert state.keysets.fetch_count == 2

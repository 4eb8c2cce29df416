"""Whole launches from the emulated LMS into the tool, on SQLite and PostgreSQL."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from lti_tool.models import Context, Membership, PlatformUser, ResourceLink, ToolSession
from tests.fixtures.lti import LaunchDriver


def test_learner_launch_lands_on_the_five_units(driver: LaunchDriver, db_session: Session) -> None:
    learner = driver.user("Learner")
    response = driver.launch(learner, driver.link(None))
    assert response.status_code == 303, response.get_data(as_text=True)
    page = driver.client.get(response.headers["Location"])
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    for title in ("Current and future challenges", "Social innovation"):
        assert title in html
    assert html.count("<li class=\"unit") == 5
    assert "trainer dashboard" not in html
    user = db_session.scalars(select(PlatformUser).where(PlatformUser.sub == learner.sub)).one()
    assert user.name == learner.name
    membership = db_session.scalars(select(Membership).where(Membership.user_id == user.id)).one()
    assert membership.roles == list(learner.roles)
    assert db_session.scalar(select(func.count(ResourceLink.id))) == 1
    assert db_session.scalar(select(func.count(Context.id))) == 1
    assert db_session.scalar(select(func.count(ToolSession.id))) == 1

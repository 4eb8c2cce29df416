"""The demo's seeded class: learners' work written through the real code paths, once, dated in the past."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from typing import cast

import pytest
import requests
from flask import Flask
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from competencies.models import Evidence, Proficiency, ProficiencyChange
from competencies.proficiency import ProficiencyRule
from competencies.store import active_framework
from course_units.attempts import assessed_in, attempts_to_assess
from course_units.loader import load_catalog
from course_units.models import Attempt, PageVisit, UnitCompletion, UnitPosition
from l2i_db import create_db_engine, create_session_factory, utcnow
from lms_emulator.platform import EmulatorConfig, Institution, User, default_seed
from lti_tool.demo import DemoServers, build_demo, register_emulator
from lti_tool.demo_seed import SeedReport, seed_demo_work
from lti_tool.models import Context, Deployment, Learner, Membership, Platform, PlatformUser
from lti_tool.web.state import app_state
from tests.e2e.support import demo_settings, first_learner, first_trainer, launch_from_emulator
from tests.fixtures.servers import TOOL_BASE_URL, free_port

COUNTED = (Attempt, PageVisit, UnitPosition, UnitCompletion, Evidence, Proficiency, ProficiencyChange,
           PlatformUser, Learner, Membership, Context)


@pytest.fixture
def emulated() -> EmulatorConfig:
    """Two emulated institutions (their servers need not run: seeding builds claims in-process)."""
    return default_seed("http://127.0.0.1:9", TOOL_BASE_URL, institutions=2)


@pytest.fixture
def session(database_url: str, emulated: EmulatorConfig) -> Iterator[Session]:
    """A session on a migrated database where the emulated institutions are registered."""
    engine = create_db_engine(database_url)
    with create_session_factory(engine)() as db:
        register_emulator(db, emulated)
        db.commit()
        yield db
    engine.dispose()


def seed(db: Session, emulated: EmulatorConfig) -> SeedReport:
    catalog = load_catalog(known_competencies=active_framework(db).competency_ids())
    report = seed_demo_work(db, emulated, catalog, ProficiencyRule())
    db.commit()
    return report


def people(institution: Institution, label: str) -> list[User]:
    return [u for u in institution.users if u.role_label == label]


def synced_user(db: Session, institution: Institution, user: User) -> PlatformUser | None:
    return db.scalars(select(PlatformUser).where(
        PlatformUser.issuer == institution.issuer, PlatformUser.sub == user.sub)).first()


def course_of(db: Session, institution: Institution) -> Context:
    return db.scalars(select(Context).join(Deployment).join(Platform).where(
        Platform.issuer == institution.issuer, Context.context_id == institution.courses[0].context_id)).one()


def tool_engine(demo: DemoServers) -> Engine:
    return app_state(cast(Flask, demo.tool.app)).engine


def counts(db: Session) -> dict[str, int]:
    return {model.__name__: int(db.scalar(select(func.count()).select_from(model)) or 0) for model in COUNTED}


def iso_weeks(moments: list[dt.datetime]) -> set[tuple[int, int]]:
    return {(m.isocalendar().year, m.isocalendar().week) for m in moments}


def test_the_seeded_class_looks_like_real_work(session: Session, emulated: EmulatorConfig) -> None:
    report = seed(session, emulated)
    assert not report.already_seeded
    assert report.learners == 6
    assert report.waiting >= 4 and report.assessed > 0 and report.page_visits > 0 and report.evidence > 0
    now = utcnow()

    for institution in emulated.institutions:
        course = course_of(session, institution)
        trainer = synced_user(session, institution, people(institution, "Trainer")[0])
        assert trainer is not None
        for learner in people(institution, "Learner"):
            user = synced_user(session, institution, learner)
            assert user is not None, learner.name
            assert user.last_launch_at is not None and user.last_launch_at < now - dt.timedelta(hours=1)
            membership = session.scalars(select(Membership).where(
                Membership.user_id == user.id, Membership.context_id == course.id)).one()
            assert any(role.endswith("#Learner") for role in membership.roles)
        for roster_only in people(institution, "Learner (roster only)"):
            assert synced_user(session, institution, roster_only) is None, roster_only.name

        waiting = attempts_to_assess(session, course.id)
        assert len(waiting) >= 2
        assessed = assessed_in(session, course.id)
        assert assessed and {a.graded_by_id for a in assessed} == {trainer.id}
        assert all(a.graded_at and a.submitted_at and a.submitted_at < a.graded_at for a in assessed)

        # one learner far ahead, one just started
        learner_ids = [u.learner_id for u in (synced_user(session, institution, p)
                                              for p in people(institution, "Learner")) if u]
        completed = [int(session.scalar(select(func.count()).select_from(UnitCompletion).where(
            UnitCompletion.learner_id == learner_id)) or 0) for learner_id in learner_ids]
        assert max(completed) >= 3 and min(completed) == 0 and len(set(completed)) == 3

    course_ids = {course_of(session, i).id for i in emulated.institutions}
    for attempt in session.scalars(select(Attempt)):
        assert attempt.context_id in course_ids and attempt.resource_link_id is not None
        assert attempt.created_at < now

    levels = {level for level in session.scalars(select(Proficiency.level)) if level is not None}
    assert len(levels) >= 3, levels
    assert max(levels) >= active_framework(session).scale.proficient_level

    evidence_times = list(session.scalars(select(Evidence.created_at)))
    history = list(session.scalars(select(ProficiencyChange).order_by(ProficiencyChange.id)))
    assert all(moment < now for moment in evidence_times + [h.at for h in history])
    assert len(iso_weeks(evidence_times)) >= 4
    assert len(iso_weeks([h.at for h in history])) >= 4
    for learner_id in {h.learner_id for h in history}:
        moments = [h.at for h in history if h.learner_id == learner_id]
        assert moments == sorted(moments), "a learner's history is written in time order"
    visits = list(session.scalars(select(PageVisit)))
    assert all(v.first_at < now for v in visits) and len(iso_weeks([v.first_at for v in visits])) >= 4


def test_seeding_twice_changes_nothing(session: Session, emulated: EmulatorConfig) -> None:
    seed(session, emulated)
    before = counts(session)
    again = seed(session, emulated)
    assert again.already_seeded
    assert counts(session) == before


@pytest.mark.slow
def test_a_seeded_learner_launching_lands_on_their_own_record(tmp_path: Path) -> None:
    port, lms_port = free_port(), free_port()
    settings = demo_settings(f"sqlite:///{tmp_path / 'demo.sqlite3'}", tmp_path, port)
    demo = build_demo(settings, host="127.0.0.1", port=port, lms_port=lms_port, seed=True)
    demo.start()
    try:
        assert demo.seeded is not None and not demo.seeded.already_seeded
        institution = demo.emulator.institutions[0]
        learner, trainer = first_learner(institution), first_trainer(institution)
        engine = tool_engine(demo)
        with Session(engine) as db:
            before = counts(db)
            seeded_user = synced_user(db, institution, learner)
            assert seeded_user is not None
        with requests.Session() as browser:
            launch_from_emulator(browser, demo, learner)
        with requests.Session() as browser:
            launch_from_emulator(browser, demo, trainer)
            dashboard = browser.get(f"{demo.tool_url}/trainer", timeout=10)
            assert dashboard.status_code == 200
            assert learner.family_name in dashboard.text
        with Session(engine) as db:
            after = counts(db)
            launched = synced_user(db, institution, learner)
            assert launched is not None and launched.id == seeded_user.id
            assert launched.last_launch_at is not None and seeded_user.last_launch_at is not None
            assert launched.last_launch_at > seeded_user.last_launch_at
        assert after["PlatformUser"] == before["PlatformUser"]
        assert after["Learner"] == before["Learner"]
        assert after["Attempt"] == before["Attempt"]
    finally:
        demo.stop()
        tool_engine(demo).dispose()

    rerun = build_demo(settings, host="127.0.0.1", port=free_port(), lms_port=free_port(), seed=True)
    rerun.start()
    try:
        assert rerun.seeded is not None and rerun.seeded.already_seeded
    finally:
        rerun.stop()
        tool_engine(rerun).dispose()

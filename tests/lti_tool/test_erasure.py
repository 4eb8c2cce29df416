"""Erasing a learner, and exporting their record, after real work through the tool.

A learner with distinctive identifiers launches from the emulator (a real LTI 1.3 platform),
reads, hands in a quiz and a reflection, is assessed, rated and grouped by a trainer, and also
teaches elsewhere under a second, linked identity. After the erasure every table of the schema
is read back and searched for anything of theirs. Runs on SQLite and PostgreSQL.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import re
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import Table, select, text, update
from sqlalchemy.orm import Session

from badges.models import Credential
from competencies.models import Evidence
from course_units.models import Attempt
from l2i_db import utcnow
from lms_emulator.platform import User
from lti_tool.access import grant_programme
from lti_tool.erasure import ErasureReport, erase_learner
from lti_tool.identity_models import LinkCode
from lti_tool.learner_record import export_learner_data
from lti_tool.linking import LinkError, preview_link, redeem_link_code
from lti_tool.merging import Recompute
from lti_tool.migrate import load_metadata
from lti_tool.models import Context, Deployment, Learner, Platform, PlatformUser
from lti_tool.roster import Member, Roster, store_roster
from lti_tool.settings import Settings
from lti_tool.web.state import app_state
from tests.fixtures.lti import LaunchDriver, make_settings
from tests.lti_tool.test_learning_flow import activity, csrf_of, reflection_text, right_answers, start
from xapi.erasure import TOOL_ACCOUNT_NAME
from xapi.models import OutboxMessage
from xapi.validation import statement_problems
from xapi.vocabulary import VERB_VOIDED

UNIT = "u1-challenges"
PROGRAMME_LRS = "https://lrs.programme.example/xAPI/"
HOME_PAGE = "https://l2i.example.org"
# Everything that names the person is long and unusual, so a plain substring search finds any copy.
SUBJECT = {"sub": "gdpr-subject-5c1e9a", "given_name": "Quirinella", "family_name": "Vandersloot",
           "email": "quirinella.vandersloot@erasure.example", "username": "qvandersloot"}
SUBJECT_AS_TRAINER = {**SUBJECT, "sub": "gdpr-trainer-77b3d0", "email": "q.vandersloot@teach.erasure.example"}
OWN_WORDS = "Quirinella's night-shift team in Vreden pilots a neighbourhood care circle. "
TRAINER_NOTE = "Vandersloot argued the Buurtzorg comparison well in the seminar."


@pytest.fixture
def tool_settings(database_url: str, tmp_path: Path) -> Settings:
    """The tool with the programme's LRS configured, so the learners' work queues statements."""
    return make_settings(database_url, tmp_path, lrs_endpoint=PROGRAMME_LRS)


# -- driving the tool ---------------------------------------------------------------------------


def enrol(driver: LaunchDriver, institution: int, role: str, person: dict[str, Any]) -> User:
    """Add a person to an emulated institution's course, in ``role`` (copied from a seeded user)."""
    inst = driver.institution(institution)
    template: User = driver.user(role, 0, institution)
    user = dataclasses.replace(template, **person)
    inst.users.append(user)
    inst.courses[0].member_subs.append(user.sub)
    return user


def the_subject(driver: LaunchDriver) -> User:
    """Return the subject as the emulated LMS knows them (after :func:`enrol`)."""
    user = driver.institution(0).find_user(SUBJECT["sub"])
    assert user is not None
    return user


def launch(driver: LaunchDriver, user: User, institution: int = 0, unit: str | None = UNIT) -> FlaskClient:
    """Launch ``user`` with a fresh browser; return it."""
    driver.client = driver.client.application.test_client()
    response = driver.launch(user, driver.link(unit, institution), institution)
    assert response.status_code == 303, response.get_data(as_text=True)
    return driver.client


def read_first_page(app: Flask, client: FlaskClient) -> None:
    """Open the unit's first content page."""
    unit = app_state(app).catalog.unit(UNIT)
    assert unit is not None
    assert client.get(f"/units/{UNIT}/pages/{unit.pages[0].id}").status_code == 200


def hand_in_quiz(app: Flask, client: FlaskClient) -> None:
    """Answer unit 1's quiz, all right."""
    quiz = activity(app, "u1-quiz")
    path, csrf = start(client, "", quiz.id)
    assert client.post(f"{path}/submit", data={**right_answers(quiz), "csrf_token": csrf}).status_code == 303


def hand_in_reflection(client: FlaskClient, words: str) -> None:
    """Hand in unit 1's reflection, starting with ``words``."""
    path, csrf = start(client, "", "u1-reflection")
    answer = words + reflection_text(400)
    assert client.post(f"{path}/submit", data={"csrf_token": csrf, "answer": answer}).status_code == 303


def do_unit_work(app: Flask, client: FlaskClient, words: str) -> None:
    """Read a page, hand in the quiz and the reflection."""
    read_first_page(app, client)
    hand_in_quiz(app, client)
    hand_in_reflection(client, words)


def learner_of(session: Session, issuer: str, sub: str) -> int:
    """Return the learner record id of an identity."""
    return session.scalars(select(PlatformUser.learner_id).where(
        PlatformUser.issuer == issuer, PlatformUser.sub == sub)).one()


def user_of(session: Session, issuer: str, sub: str) -> int:
    """Return the id of an identity's platform user row."""
    return session.scalars(select(PlatformUser.id).where(
        PlatformUser.issuer == issuer, PlatformUser.sub == sub)).one()


def assess_and_rate(app: Flask, trainer: FlaskClient, session: Session, learner_id: int, note: str) -> None:
    """Assess the learner's reflection with the rubric, rate one competency, put them in a group."""
    reflection = activity(app, "u1-reflection")
    session.expire_all()
    attempt_id = session.scalars(select(Attempt.id).where(
        Attempt.learner_id == learner_id, Attempt.activity_id == reflection.id)).one()
    form = csrf_of(trainer.get(f"/trainer/attempts/{attempt_id}").get_data(as_text=True))
    ratings = {f"criterion-{c.id}": "3" for c in reflection.rubric}
    assessed = trainer.post(f"/trainer/attempts/{attempt_id}",
                            data={**ratings, "csrf_token": form, "feedback": "Well argued."})
    assert assessed.status_code == 303, assessed.get_data(as_text=True)
    page = trainer.get(f"/trainer/learners/{learner_id}").get_data(as_text=True)
    competency = sorted(reflection.weights)[0]
    rated = trainer.post(f"/trainer/learners/{learner_id}/ratings", data={
        "csrf_token": csrf_of(page), "competency": competency, "level": "3", "note": note, "action": "rate"})
    assert rated.status_code == 303, rated.get_data(as_text=True)
    grouped = trainer.post(f"/trainer/learners/{learner_id}/group",
                           data={"csrf_token": csrf_of(page), "group": "Tuesday cohort"})
    assert grouped.status_code == 303


def make_link_code(client: FlaskClient) -> str:
    """Press "Make a link code" on the learner's linked-accounts page; return the code it shows."""
    page = client.get("/account/links").get_data(as_text=True)
    made = client.post("/account/links/code", data={"csrf_token": csrf_of(page)})
    assert made.status_code == 200
    found = re.search(r"<code>([A-Z0-9]{5}-[A-Z0-9]{5})</code>", made.get_data(as_text=True))
    assert found, "the page shows the code"
    return found.group(1)


def link_identity(app: Flask, session: Session, user_id: int, code: str) -> str:
    """Enter a link code for an identity (a wrong one first), joining its record to the code's.

    The identity is a trainer's, and the linking pages are for learners, so the code goes straight
    to the linking functions those pages call. Returns the key of the record that was merged away.
    """
    user = session.get(PlatformUser, user_id)
    assert user is not None
    absorbed_key = user.learner.key
    with pytest.raises(LinkError):
        preview_link(session, user, "WRONG-CODE1")
    session.commit()  # a refused code is kept for the rate limit
    state = app_state(app)
    redeem_link_code(session, user, code, Recompute(state.settings.proficiency, state.catalog))
    session.commit()
    return absorbed_key


def roster_of(driver: LaunchDriver, institution: int) -> Roster:
    """The course roster as the emulated LMS lists it (Names and Role Provisioning)."""
    inst = driver.institution(institution)
    course = inst.courses[0]
    return Roster(members=[
        Member(u.sub, name=u.name, given_name=u.given_name, family_name=u.family_name, email=u.email,
               roles=tuple(u.roles)) for u in inst.course_members(course)])


def store_rosters(driver: LaunchDriver, session: Session) -> None:
    """Store both institutions' course rosters, as a refresh from the LMS would."""
    for institution in (0, 1):
        inst = driver.institution(institution)
        context = session.scalars(
            select(Context).join(Deployment, Deployment.id == Context.deployment_id)
            .join(Platform, Platform.id == Deployment.platform_id)
            .where(Context.context_id == inst.courses[0].context_id, Platform.issuer == inst.issuer)).one()
        store_roster(session, context.id, roster_of(driver, institution))
    session.commit()


def credential(learner_id: int, competency_id: str, token: str, **extra: Any) -> Credential:
    """A credential row as the badges issuer stores it."""
    return Credential(id=str(uuid.uuid4()), learner_id=learner_id,
                      competency_id=competency_id, level=3, kid="kid-1", token=token, **extra)


# -- the world ----------------------------------------------------------------------------------


@dataclass
class World:
    """The people of the scenario, by learner record id, and what identifies the subject."""

    subject_id: int
    subject_key: str
    absorbed_key: str
    subject_user_ids: set[int]
    classmate_id: int        # studies beside the subject at institution 0
    student_id: int          # studies at institution 1, where the subject teaches
    trainer_user_id: int     # the subject's trainer at institution 0
    issuer_of: dict[int, str]

    def identifying(self) -> list[str]:
        """Return every value that identifies the subject."""
        return [SUBJECT["sub"], SUBJECT_AS_TRAINER["sub"], SUBJECT["email"], SUBJECT_AS_TRAINER["email"],
                f"{SUBJECT['given_name']} {SUBJECT['family_name']}", SUBJECT["given_name"],
                SUBJECT["family_name"], self.subject_key, self.absorbed_key, OWN_WORDS.strip()]


def use_mbox_at(session: Session, issuer: str) -> None:
    """Give one platform its own LRS, which wants learners' email addresses (mbox) in statements."""
    platform = session.scalars(select(Platform).where(Platform.issuer == issuer)).one()
    platform.lrs_endpoint, platform.xapi_actor = "https://lrs.institution.example/xAPI/", "mbox"
    session.commit()


def build_world(app: Flask, driver: LaunchDriver, session: Session) -> World:
    """Do the scenario's work through the tool, then add what the tool has no pages for yet."""
    home, abroad = driver.institution(0).issuer, driver.institution(1).issuer
    use_mbox_at(session, home)
    subject = enrol(driver, 0, "Learner", SUBJECT)
    subject_as_trainer = enrol(driver, 1, "Instructor", SUBJECT_AS_TRAINER)
    learner = launch(driver, subject)
    do_unit_work(app, learner, OWN_WORDS)
    page = learner.get("/competencies").get_data(as_text=True)
    assert learner.post("/competencies/sharing",
                        data={"share": "yes", "csrf_token": csrf_of(page)}).status_code == 303
    do_unit_work(app, launch(driver, driver.user("Learner", 0)), "Ana's words. ")
    subject_id = learner_of(session, home, SUBJECT["sub"])
    classmate_id = learner_of(session, home, driver.user("Learner", 0).sub)
    trainer = launch(driver, driver.user("Instructor", 0))
    assess_and_rate(app, trainer, session, subject_id, TRAINER_NOTE)
    assess_and_rate(app, trainer, session, classmate_id, "Ana compares well.")

    launch(driver, subject_as_trainer, 1, unit=None)  # the second identity's first launch: its own record
    subject_user = user_of(session, home, SUBJECT["sub"])
    teaching_user = user_of(session, abroad, SUBJECT_AS_TRAINER["sub"])
    absorbed_key = link_identity(app, session, teaching_user, make_link_code(launch(driver, subject)))
    do_unit_work(app, launch(driver, driver.user("Learner", 0, 1), 1), "Nika's words. ")
    student_id = learner_of(session, abroad, driver.user("Learner", 0, 1).sub)
    assess_and_rate(app, launch(driver, subject_as_trainer, 1, unit=None), session, student_id,
                    "Nika's plan is realistic.")

    competency = sorted(activity(app, "u1-quiz").weights)[0]
    session.add_all([
        credential(subject_id, competency, f"eyJ.subject.{SUBJECT['sub']}"),
        credential(student_id, competency, "eyJ.student.nika", revoked_at=utcnow(),
                   revoked_by_id=teaching_user, revocation_reason="issued by mistake"),
    ])
    grant_programme(session, abroad, SUBJECT_AS_TRAINER["sub"],
                    f"{SUBJECT['family_name']} leads the programme")
    session.commit()
    store_rosters(driver, session)
    learner_key = session.scalars(select(Learner.key).where(Learner.id == subject_id)).one()
    platforms = {p.id: p.issuer for p in session.scalars(select(Platform))}
    trainer_user = user_of(session, home, driver.user("Instructor", 0).sub)
    return World(subject_id=subject_id, subject_key=learner_key, absorbed_key=absorbed_key,
                 subject_user_ids={subject_user, teaching_user}, classmate_id=classmate_id,
                 student_id=student_id, trainer_user_id=trainer_user, issuer_of=platforms)


def settle_outbox(session: Session, world: World) -> set[tuple[str, str]]:
    """Put the subject's statements in every delivery state; return those an LRS has or may have.

    Delivered (one of them pruned), held by a worker (in flight), waiting, and dead. Their LMS
    scores are delivered too, but scores are not statements. The others' are partly delivered.
    """
    now = utcnow()
    rows = session.scalars(select(OutboxMessage).where(OutboxMessage.learner_id == world.subject_id)
                           .order_by(OutboxMessage.id)).all()
    statements = [row for row in rows if row.destination.startswith("lrs:")]
    assert len(statements) >= 8 and len(statements) < len(rows), "statements and scores were queued"
    sent: set[tuple[str, str]] = set()
    for number, row in enumerate(statements):
        state = number % 4
        if state == 0:
            row.status, row.delivered_at = "delivered", now - dt.timedelta(hours=1)
        elif state == 1:
            row.leased_until, row.lease_owner = now + dt.timedelta(minutes=10), "worker-1"
        elif state == 3:
            row.status, row.last_error = "dead", "refused"
        if state in (0, 1):
            sent.add((row.destination, row.message_id))
    statements[0].payload, statements[0].pruned = {}, True
    for row in rows:
        if not row.destination.startswith("lrs:"):
            row.status, row.delivered_at = "delivered", now
    session.execute(update(OutboxMessage).where(OutboxMessage.learner_id != world.subject_id,
                                                OutboxMessage.id % 2 == 0)
                    .values(status="delivered", delivered_at=now))
    session.commit()
    return sent


@pytest.fixture
def world(app: Flask, driver: LaunchDriver, db_session: Session) -> World:
    """The scenario, built through the tool."""
    return build_world(app, driver, db_session)


# -- reading every table back -------------------------------------------------------------------


def dump(session: Session, table: Table) -> list[dict[str, Any]]:
    """Return every row of ``table`` as a dict."""
    return [dict(row) for row in session.execute(select(table)).mappings()]


def references(table: Table, target: str) -> list[str]:
    """Return the columns of ``table`` that are foreign keys to ``target`` (``table.column``)."""
    return [fk.parent.name for fk in table.foreign_keys if fk.target_fullname == target]


def leftovers(session: Session, world: World) -> list[str]:
    """Return where anything of the subject is still stored, as readable findings."""
    found = []
    values = world.identifying()
    for table in load_metadata().sorted_tables:
        learner_columns = references(table, "learner.id")
        user_columns = references(table, "platform_user.id")
        for row in dump(session, table):
            text_of_row = json.dumps(row, default=str, ensure_ascii=False)
            found += [f"{table.name}: {value!r} in {text_of_row[:200]}" for value in values
                      if value in text_of_row]
            found += [f"{table.name}.{column} = the subject's record" for column in learner_columns
                      if row[column] == world.subject_id]
            found += [f"{table.name}.{column} = one of the subject's identities" for column in user_columns
                      if row[column] in world.subject_user_ids]
    return found


def voidings(session: Session) -> list[OutboxMessage]:
    """Return the queued voiding statements."""
    rows = session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)).all()
    return [row for row in rows if row.payload.get("verb", {}).get("id") == VERB_VOIDED]


def erase(session: Session, world: World) -> ErasureReport:
    """Erase the subject and commit."""
    report = erase_learner(session, world.subject_id, HOME_PAGE, now=utcnow())
    session.commit()
    return report


# -- the tests ----------------------------------------------------------------------------------

FIXED = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)


def test_sqlite_enforces_foreign_keys(db_session: Session) -> None:
    if db_session.get_bind().dialect.name == "sqlite":
        assert db_session.execute(text("PRAGMA foreign_keys")).scalar() == 1


def test_the_world_holds_the_subject_everywhere_before_erasure(db_session: Session, world: World) -> None:
    found = leftovers(db_session, world)
    tables = {finding.split(":")[0].split(".")[0] for finding in found}
    assert {"platform_user", "learner", "attempt", "competency_evidence", "outbox_message", "lti_value",
            "roster_member", "programme_grant", "identity_link", "credential", "link_code", "link_attempt",
            "tool_session", "membership", "course_group_member", "page_visit", "unit_position",
            "unit_completion", "competency_proficiency", "proficiency_history"} <= tables


def test_erasure_leaves_nothing_of_the_learner(db_session: Session, world: World) -> None:
    sent = settle_outbox(db_session, world)
    others = {who: export_learner_data(db_session, who, now=FIXED)
              for who in (world.classmate_id, world.student_id)}

    report = erase(db_session, world)

    assert leftovers(db_session, world) == []
    for who, before in others.items():
        assert export_learner_data(db_session, who, now=FIXED) == before
    assert report.learner_key == world.subject_key and report.voided == len(sent)
    assert len(report.identities) == 2
    assert report.removed["learner"] == 1 and report.removed["platform_user"] == 2
    assert report.removed["outbox_message"] > len(sent)
    assert all(report.removed[table] > 0 for table in (
        "attempt", "competency_evidence", "competency_proficiency", "proficiency_history", "page_visit",
        "unit_position", "unit_completion", "course_group_member", "credential", "identity_link", "link_code",
        "link_attempt", "tool_session", "membership", "roster_member", "programme_grant", "lti_value"))


def test_voiding_statements_name_only_statement_ids_and_the_tool(db_session: Session, world: World) -> None:
    sent = settle_outbox(db_session, world)
    erase(db_session, world)
    voids = voidings(db_session)
    assert {(row.destination, row.payload["object"]["id"]) for row in voids} == sent
    assert len(voids) == len(sent)
    tool = {"objectType": "Agent", "account": {"homePage": HOME_PAGE, "name": TOOL_ACCOUNT_NAME}}
    for row in voids:
        assert row.learner_id is None and row.status == "pending"
        assert statement_problems(row.payload) == []
        assert set(row.payload) <= {"id", "actor", "verb", "object", "timestamp"}
        assert row.payload["actor"] == tool
        assert row.payload["object"] == {"objectType": "StatementRef", "id": row.payload["object"]["id"]}


def test_other_peoples_records_keep_their_data_without_the_trainer(db_session: Session, world: World) -> None:
    rated_by = dict(db_session.execute(select(Evidence.id, Evidence.rated_by_id).where(
        Evidence.learner_id == world.student_id, Evidence.rated_by_id.is_not(None))).tuples().all())
    assert set(rated_by.values()) <= world.subject_user_ids and rated_by
    report = erase(db_session, world)
    assert report.cleared == {"competency_evidence.rated_by_id": len(rated_by), "attempt.graded_by_id": 1,
                              "credential.revoked_by_id": 1}
    db_session.expire_all()
    student_ratings = db_session.scalars(select(Evidence).where(Evidence.id.in_(rated_by))).all()
    assert len(student_ratings) == len(rated_by)
    assert all(e.rated_by_id is None and e.note == "Nika's plan is realistic." for e in student_ratings)
    graded = db_session.scalars(select(Attempt).where(Attempt.learner_id == world.student_id,
                                                      Attempt.activity_id == "u1-reflection")).one()
    assert (graded.status, graded.graded_by_id, graded.feedback) == ("graded", None, "Well argued.")
    revoked = db_session.scalars(select(Credential).where(Credential.learner_id == world.student_id)).one()
    assert revoked.revoked_by_id is None and revoked.revoked_at is not None
    assert revoked.revocation_reason == "issued by mistake"
    classmate_rating = db_session.scalars(select(Evidence.rated_by_id).where(
        Evidence.learner_id == world.classmate_id, Evidence.kind == "rating")).one()
    assert classmate_rating == world.trainer_user_id  # another trainer's pointers stay


def test_every_reference_to_a_learner_or_an_identity_is_handled(db_session: Session, world: World) -> None:
    report = erase(db_session, world)
    for table in load_metadata().sorted_tables:
        for column in references(table, "learner.id") + references(table, "platform_user.id"):
            pointer = f"{table.name}.{column}"
            assert table.name in report.removed or pointer in report.cleared, pointer


def test_an_erased_learner_who_launches_again_starts_afresh(
    app: Flask, driver: LaunchDriver, db_session: Session, world: World,
) -> None:
    erase(db_session, world)
    client = launch(driver, the_subject(driver))
    assert "You have not started this unit yet" in client.get(f"/units/{UNIT}").get_data(as_text=True)
    record = json.loads(client.get("/competencies/my-data.json").get_data(as_text=True))
    assert record["learner"]["key"] not in (world.subject_key, world.absorbed_key)
    assert record["learner"]["shares_evidence_since"] is None
    assert [(i["sub"], i["email"]) for i in record["identities"]] == [(SUBJECT["sub"], SUBJECT["email"])]
    for empty in ("identity_links", "link_codes", "link_attempts", "roster_entries", "programme_grants",
                  "attempts", "pages_read", "positions", "units_completed", "evidence", "proficiency",
                  "proficiency_history", "credentials"):
        assert record[empty] == [], empty
    assert [c["group"] for c in record["courses"]] == [None]


def test_erasing_an_unknown_learner_is_refused(db_session: Session) -> None:
    with pytest.raises(LookupError):
        erase_learner(db_session, 999_999, HOME_PAGE)


# -- the export ---------------------------------------------------------------------------------

# Where each table that refers to a learner or an identity shows in the export (by learner_id,
# user_id, or issuer + sub); pointers to someone as another's trainer are not theirs.
SECTIONS = {
    "platform_user": "identities", "identity_link": "identity_links", "link_code": "link_codes",
    "link_attempt": "link_attempts", "tool_session": "sessions", "membership": "courses",
    "course_group_member": "courses", "roster_member": "roster_entries",
    "programme_grant": "programme_grants",
    "attempt": "attempts", "page_visit": "pages_read", "unit_position": "positions",
    "unit_completion": "units_completed", "competency_evidence": "evidence",
    "competency_proficiency": "proficiency", "proficiency_history": "proficiency_history",
    "credential": "credentials", "outbox_message": "xapi_statements",
}
TRAINER_POINTERS = {"competency_evidence.rated_by_id", "attempt.graded_by_id", "credential.revoked_by_id"}


def test_every_table_about_a_learner_is_in_the_export() -> None:
    for table in load_metadata().sorted_tables:
        columns = {f"{table.name}.{column}"
                   for column in references(table, "learner.id") + references(table, "platform_user.id")}
        if columns - TRAINER_POINTERS and table.name != "learner":
            assert table.name in SECTIONS, f"{table.name} holds learners' data but is not in the export"


def test_the_export_is_complete(app: Flask, driver: LaunchDriver, db_session: Session, world: World) -> None:
    record = export_learner_data(db_session, world.subject_id)
    counts = {
        "identities": 2, "identity_links": 1, "link_codes": 1, "link_attempts": 1, "roster_entries": 2,
        "programme_grants": 1, "credentials": 1, "courses": 2,
    }
    for section, count in counts.items():
        assert len(record[section]) == count, section
    for section in set(SECTIONS.values()):
        assert record[section], f"{section} is empty"
    assert {r["issuer"] for r in record["roster_entries"]} == set(world.issuer_of.values())
    assert {r["email"] for r in record["roster_entries"]} == {SUBJECT["email"], SUBJECT_AS_TRAINER["email"]}
    assert record["identity_links"][0]["absorbed_key"] == world.absorbed_key
    assert record["identity_links"][0]["sub"] == SUBJECT_AS_TRAINER["sub"]
    assert set(record["link_codes"][0]) == {"created_at", "expires_at", "used_at"}
    code_hashes = db_session.scalars(select(LinkCode.code_hash)).all()
    assert code_hashes and not any(code_hash in json.dumps(record) for code_hash in code_hashes)
    assert set(record["credentials"][0]) == {"id", "competency_id", "level", "issued_at", "revoked_at",
                                             "revocation_reason", "token"}
    assert record["credentials"][0]["token"] == f"eyJ.subject.{SUBJECT['sub']}"
    assert record["programme_grants"][0]["note"] == "Vandersloot leads the programme"
    assert any(OWN_WORDS in str(a["answers"]) for a in record["attempts"])
    assert any(e["note"] == TRAINER_NOTE for e in record["evidence"])
    assert {s["destination"] for s in record["xapi_statements"]} >= {"lrs:programme"}
    assert any(s["destination"].startswith("ags:") for s in record["xapi_statements"])
    assert "Tuesday cohort" in [c["group"] for c in record["courses"]]

    client = launch(driver, the_subject(driver))
    download = json.loads(client.get("/competencies/my-data.json").get_data(as_text=True))
    assert set(download) == set(record)
    assert download["credentials"] == record["credentials"]
    assert download["identity_links"] == record["identity_links"]

"""One learner record across institutions: link codes, email linking, unlinking, the admin view.

Ana Novak studies at both emulated institutions (the same email at each). She does real work at
each through the tool's pages; the links are made through the pages too. Runs on SQLite and
PostgreSQL.
"""

from __future__ import annotations

import datetime as dt
import re

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from competencies.models import Evidence, Proficiency
from course_units.models import Attempt, PageVisit, UnitPosition
from l2i_db import utcnow
from lti_tool.identity_models import IdentityLink, LinkAttempt, LinkCode
from lti_tool.linking import MAX_FAILED_ATTEMPTS, normalise_code
from lti_tool.models import Learner, Platform, PlatformUser
from lti_tool.web.state import app_state
from tests.fixtures.lti import LaunchDriver
from tests.lti_tool.test_dashboards import do_quiz, text_of, trainer
from tests.lti_tool.test_learning_flow import UNIT, activity, csrf_of, right_answers, start
from xapi.models import OutboxMessage

A, B = 0, 1
COMPETENCY = "L2I-C1.1"


def ana(driver: LaunchDriver, institution: int) -> object:
    """Return Ana Novak as the emulated institution knows her."""
    user = driver.user("Learner", 0 if institution == A else 2, institution)
    assert user.name == "Ana Novak"
    return user


def launch_ana(app: Flask, driver: LaunchDriver, institution: int) -> FlaskClient:
    """Launch Ana into unit 1 at ``institution`` with a fresh browser."""
    driver.client = app.test_client()
    response = driver.launch(ana(driver, institution), driver.link(UNIT, institution), institution)
    assert response.status_code == 303, response.get_data(as_text=True)
    return driver.client


def identity(db_session: Session, driver: LaunchDriver, institution: int) -> PlatformUser:
    """Return Ana's platform identity at ``institution`` as the tool stored it."""
    db_session.expire_all()
    return db_session.scalars(select(PlatformUser).where(
        PlatformUser.issuer == driver.institution(institution).issuer,
        PlatformUser.sub == ana(driver, institution).sub)).one()


def linked(db_session: Session, driver: LaunchDriver) -> bool:
    """Return whether Ana's two identities share one learner record."""
    return identity(db_session, driver, A).learner_id == identity(db_session, driver, B).learner_id


def make_code(client: FlaskClient) -> str:
    """Press "Make a link code" on the learner's page and return the code it shows."""
    page = client.get("/account/links")
    assert page.status_code == 200
    made = client.post("/account/links/code", data={"csrf_token": csrf_of(page.get_data(as_text=True))})
    assert made.status_code == 200
    found = re.search(r"<code>([A-Z0-9]{5}-[A-Z0-9]{5})</code>", made.get_data(as_text=True))
    assert found, "the page shows the code"
    return found.group(1)


def enter_code(client: FlaskClient, code: str, *, confirm: bool = True) -> tuple[int, str]:
    """Enter ``code`` on the learner's page (and confirm); return the last status and page text."""
    page = client.get("/account/links").get_data(as_text=True)
    checked = client.post("/account/links/check", data={"code": code, "csrf_token": csrf_of(page)})
    html = checked.get_data(as_text=True)
    if checked.status_code != 200 or not confirm:
        return checked.status_code, text_of(html)
    done = client.post("/account/links/confirm", data={"code": code, "csrf_token": csrf_of(html)})
    return done.status_code, text_of(done.get_data(as_text=True))


def rate_at_b(driver: LaunchDriver, learner_id: int, level: int = 3) -> None:
    """Have institution B's trainer rate the learner in COMPETENCY through the learner page."""
    client = trainer(driver, institution=B)
    page = client.get(f"/trainer/learners/{learner_id}")
    assert page.status_code == 200, page.get_data(as_text=True)
    rated = client.post(f"/trainer/learners/{learner_id}/ratings", data={
        "competency": COMPETENCY, "level": str(level), "note": "Observed in the Ljubljana lab",
        "csrf_token": csrf_of(page.get_data(as_text=True))})
    assert rated.status_code == 303, rated.get_data(as_text=True)


def standing(db_session: Session, learner_id: int) -> Proficiency | None:
    """Return the learner's standing in COMPETENCY."""
    db_session.expire_all()
    return db_session.scalars(select(Proficiency).where(
        Proficiency.learner_id == learner_id, Proficiency.competency_id == COMPETENCY)).first()


def work_at_both(app: Flask, driver: LaunchDriver, db_session: Session) -> tuple[FlaskClient, FlaskClient]:
    """Ana hands in unit 1's quiz at A and is rated at B: one source of evidence at each."""
    client_a = do_quiz(app, driver, 0)
    client_b = launch_ana(app, driver, B)
    rate_at_b(driver, identity(db_session, driver, B).learner_id)
    return client_a, client_b


def test_a_code_links_two_institutions_and_the_levels_use_both(
    app: Flask, driver: LaunchDriver, db_session: Session,
) -> None:
    client_a, client_b = work_at_both(app, driver, db_session)
    record_a = identity(db_session, driver, A).learner_id
    record_b = identity(db_session, driver, B).learner_id
    assert record_a != record_b
    for record in (record_a, record_b):  # one source each: below the rule's minimum, no level yet
        row = standing(db_session, record)
        assert row is not None and row.level is None and row.sources == 1

    code = make_code(client_a)
    page = client_b.get("/account/links").get_data(as_text=True)
    checked = client_b.post("/account/links/check", data={"code": code.lower().replace("-", " "),
                                                          "csrf_token": csrf_of(page)})
    confirm_page = text_of(checked.get_data(as_text=True))
    assert checked.status_code == 200 and "Link your accounts?" in confirm_page
    assert driver.institution(A).name in confirm_page
    assert identity(db_session, driver, B).learner_id == record_b, "nothing is linked before confirming"

    assert enter_code(client_b, code)[0] == 303
    assert linked(db_session, driver) and identity(db_session, driver, A).learner_id == record_a
    assert db_session.get(Learner, record_b) is None
    row = standing(db_session, record_a)
    assert row is not None and row.sources == 2 and row.level is not None, "A's quiz and B's rating combine"
    kinds = {e.kind for e in db_session.scalars(select(Evidence).where(Evidence.learner_id == record_a))}
    assert kinds == {"attempt", "rating"}
    link = db_session.scalars(select(IdentityLink).where(
        IdentityLink.user_id == identity(db_session, driver, B).id)).one()
    assert link.method == "code" and link.learner_id == record_a and link.absorbed_key

    page_b = text_of(client_b.get("/account/links").get_data(as_text=True))
    assert driver.institution(A).name in page_b and driver.institution(B).name in page_b

    # the LRS follows her: what she does at B from now on carries the record's key
    platform_b = db_session.scalars(select(Platform).where(
        Platform.issuer == driver.institution(B).issuer)).one()
    platform_b.lrs_endpoint = "http://127.0.0.1:9/xapi"  # statements are only queued here, never sent
    db_session.commit()
    launch_ana(app, driver, B)
    key = db_session.get(Learner, record_a).key  # type: ignore[union-attr]
    latest = db_session.scalars(select(OutboxMessage).where(OutboxMessage.destination.like("lrs:%"))
                                .order_by(OutboxMessage.id.desc())).first()
    assert latest is not None and latest.payload["actor"]["account"]["name"] == key

    # a used code works once
    again, message = enter_code(launch_ana(app, driver, B), code)
    assert again == 422 and "already used" in message


def test_a_trainer_at_b_sees_the_evidence_from_a_only_with_consent(
    app: Flask, driver: LaunchDriver, db_session: Session,
) -> None:
    client_a, client_b = work_at_both(app, driver, db_session)
    enter_code(client_b, make_code(client_a))
    record = identity(db_session, driver, A).learner_id
    trainer_b = trainer(driver, institution=B)
    hidden = text_of(trainer_b.get(f"/trainer/learners/{record}").get_data(as_text=True))
    assert "Observed in the Ljubljana lab" in hidden
    assert driver.institution(A).name not in hidden, "no evidence from A without her consent"

    page = client_a.get("/competencies").get_data(as_text=True)
    assert client_a.post("/competencies/sharing", data={"share": "yes", "csrf_token": csrf_of(page)}
                         ).status_code == 303
    shown = text_of(trainer_b.get(f"/trainer/learners/{record}").get_data(as_text=True))
    assert driver.institution(A).name in shown, "the quiz evidence from A now shows, with its institution"


@pytest.mark.parametrize(("text", "message"), [
    ("", "A link code has 10 letters and digits"),
    ("ABCDE-2345", "A link code has 10 letters and digits"),
    ("<script>alert(1)</script>", "A link code has 10 letters and digits"),
    ("ABCDE-23456", "This link code is not known"),
    ("OOOOO-11111", "A link code has 10 letters and digits"),
])
def test_wrong_codes_are_refused_and_counted(
    app: Flask, driver: LaunchDriver, db_session: Session, text: str, message: str,
) -> None:
    client = launch_ana(app, driver, B)
    status, page = enter_code(client, text)
    assert status == 422 and message in page and "<script>" not in page
    assert db_session.scalars(select(LinkAttempt)).all().__len__() == 1


def test_an_oversized_code_gets_a_clear_422(app: Flask, driver: LaunchDriver) -> None:
    client = launch_ana(app, driver, B)
    status, page = enter_code(client, "A" * 5000)
    assert status == 422 and "far longer" in page


def test_guessing_is_rate_limited(app: Flask, driver: LaunchDriver, db_session: Session) -> None:
    client_a = launch_ana(app, driver, A)
    code = make_code(client_a)
    client_b = launch_ana(app, driver, B)
    for _ in range(MAX_FAILED_ATTEMPTS):
        status, _page = enter_code(client_b, "ZZZZZ-99999")
        assert status == 422
    status, page = enter_code(client_b, code)
    assert status == 429 and "Too many wrong link codes" in page
    assert not linked(db_session, driver)


def test_an_expired_code_is_refused(app: Flask, driver: LaunchDriver, db_session: Session) -> None:
    code = make_code(launch_ana(app, driver, A))
    row = db_session.scalars(select(LinkCode)).one()
    row.expires_at = utcnow() - dt.timedelta(seconds=1)
    db_session.commit()
    status, page = enter_code(launch_ana(app, driver, B), code)
    assert status == 422 and "has expired" in page


def test_two_identities_of_one_platform_are_never_linked(
    app: Flask, driver: LaunchDriver, db_session: Session,
) -> None:
    code = make_code(launch_ana(app, driver, A))
    driver.client = app.test_client()
    other = driver.user("Learner", 1, A)  # Lars Berg, also at institution A
    assert driver.launch(other, driver.link(UNIT, A), A).status_code == 303
    status, page = enter_code(driver.client, code)
    assert status == 409 and "One record holds one identity per institution" in page
    own = make_code(launch_ana(app, driver, A))
    status, page = enter_code(launch_ana(app, driver, A), own)
    assert status == 409 and "already linked" in page


def test_a_new_code_replaces_the_previous_one(app: Flask, driver: LaunchDriver) -> None:
    client_a = launch_ana(app, driver, A)
    first, second = make_code(client_a), make_code(client_a)
    assert normalise_code(first) != normalise_code(second)
    status, page = enter_code(launch_ana(app, driver, B), first)
    assert status == 422 and "not known" in page
    status, _ = enter_code(launch_ana(app, driver, B), second)
    assert status == 303


def test_unlinking_splits_the_work_by_institution(
    app: Flask, driver: LaunchDriver, db_session: Session,
) -> None:
    client_a, client_b = work_at_both(app, driver, db_session)
    enter_code(client_b, make_code(client_a))
    record = identity(db_session, driver, A).learner_id
    user_b = identity(db_session, driver, B)
    page = client_b.get("/account/links").get_data(as_text=True)
    unlinked = client_b.post(f"/account/links/{user_b.id}/unlink", data={"csrf_token": csrf_of(page)})
    assert unlinked.status_code == 303
    new_record = identity(db_session, driver, B).learner_id
    assert new_record != record
    evidence = {e.learner_id: e.kind for e in db_session.scalars(select(Evidence))}
    assert evidence == {record: "attempt", new_record: "rating"}
    for learner_id in (record, new_record):
        row = standing(db_session, learner_id)
        assert row is not None and row.level is None and row.sources == 1
    link = db_session.scalars(select(IdentityLink).where(IdentityLink.user_id == user_b.id)).one()
    assert link.unlinked_at is not None and link.unlinked_by == "learner"
    again = client_b.post(f"/account/links/{user_b.id}/unlink",
                          data={"csrf_token": csrf_of(client_b.get("/account/links").get_data(as_text=True))})
    assert again.status_code == 409 and "nothing to unlink" in again.get_data(as_text=True)


def test_someone_elses_identity_cannot_be_unlinked_by_a_learner(
    app: Flask, driver: LaunchDriver, db_session: Session,
) -> None:
    client_a = launch_ana(app, driver, A)
    enter_code(launch_ana(app, driver, B), make_code(client_a))
    driver.client = app.test_client()
    assert driver.launch(driver.user("Learner", 1, A), driver.link(UNIT, A), A).status_code == 303
    intruder = driver.client
    page = intruder.get("/account/links").get_data(as_text=True)
    refused = intruder.post(f"/account/links/{identity(db_session, driver, B).id}/unlink",
                            data={"csrf_token": csrf_of(page)})
    assert refused.status_code == 404
    assert linked(db_session, driver)


def trust_email(db_session: Session, *issuers: str) -> None:
    """Mark the platforms of ``issuers`` as verifying email addresses."""
    for platform in db_session.scalars(select(Platform).where(Platform.issuer.in_(issuers))):
        platform.trusts_email = True
    db_session.commit()


def test_the_same_verified_email_links_only_when_both_platforms_trust_it(
    app: Flask, driver: LaunchDriver, db_session: Session,
) -> None:
    launch_ana(app, driver, A)
    launch_ana(app, driver, B)
    assert not linked(db_session, driver), "off by default"
    trust_email(db_session, driver.institution(A).issuer)
    launch_ana(app, driver, B)
    assert not linked(db_session, driver), "one side trusts email addresses, the other does not"
    trust_email(db_session, driver.institution(B).issuer)
    client_b = launch_ana(app, driver, B)
    user_b = identity(db_session, driver, B)
    assert identity(db_session, driver, A).learner_id == user_b.learner_id
    link = db_session.scalars(select(IdentityLink).where(IdentityLink.user_id == user_b.id)).one()
    assert link.method == "email"
    assert "By the same verified email" in text_of(client_b.get("/account/links").get_data(as_text=True))

    page = client_b.get("/account/links").get_data(as_text=True)
    assert client_b.post(f"/account/links/{user_b.id}/unlink", data={"csrf_token": csrf_of(page)}
                         ).status_code == 303
    launch_ana(app, driver, B)
    launch_ana(app, driver, A)
    assert not linked(db_session, driver), "an unlinked identity is never linked again automatically"


def test_administrators_see_and_undo_links(app: Flask, driver: LaunchDriver, db_session: Session) -> None:
    client_a = launch_ana(app, driver, A)
    enter_code(launch_ana(app, driver, B), make_code(client_a))
    assert trainer(driver).get("/programme/links").status_code == 403, "no programme access"
    admin = trainer(driver, "Administrator")
    page = admin.get("/programme/links")
    text = text_of(page.get_data(as_text=True))
    assert page.status_code == 200 and "1 record spans institutions" in text and "Ana Novak" in text
    user_b = identity(db_session, driver, B)
    forged = admin.post(f"/programme/links/{user_b.id}/unlink", data={"csrf_token": "forged"})
    assert forged.status_code == 400
    done = admin.post(f"/programme/links/{user_b.id}/unlink",
                      data={"csrf_token": csrf_of(page.get_data(as_text=True))})
    assert done.status_code == 303
    after = text_of(admin.get("/programme/links").get_data(as_text=True))
    assert "No learner has linked accounts yet." in after
    assert "unlinked" in after and "an administrator" in after
    assert admin.get("/programme/links", query_string={"page": "x"}).status_code == 400


def test_trainers_have_no_linking_page_and_forms_need_their_token(
    app: Flask, driver: LaunchDriver,
) -> None:
    assert trainer(driver).get("/account/links").status_code == 403
    client = launch_ana(app, driver, A)
    for path in ("/account/links/code", "/account/links/check", "/account/links/confirm"):
        assert client.post(path, data={"code": "ABCDE-23456"}).status_code == 400, path


def test_work_on_the_same_activity_at_both_institutions_joins_without_clashes(
    app: Flask, driver: LaunchDriver, db_session: Session,
) -> None:
    client_a = do_quiz(app, driver, 0)
    client_b = launch_ana(app, driver, B)
    quiz = activity(app, "u1-quiz")
    for _ in range(2):   # attempts 1 and 2 at B become 2 and 3 after A's 1, without a clash midway
        path, csrf = start(client_b, "", quiz.id)
        submitted = client_b.post(f"{path}/submit", data={**right_answers(quiz), "csrf_token": csrf})
        assert submitted.status_code == 303
    first_page = app_state(app).catalog.unit(UNIT).pages[0].id  # type: ignore[union-attr]
    for client in (client_a, client_b):
        assert client.get(f"/units/{UNIT}/pages/{first_page}").status_code == 200
    assert db_session.scalars(select(PageVisit)).all().__len__() == 2

    assert enter_code(client_b, make_code(client_a))[0] == 303
    record = identity(db_session, driver, A).learner_id
    attempts = db_session.scalars(select(Attempt).where(Attempt.learner_id == record)
                                  .order_by(Attempt.number)).all()
    assert [(a.activity_id, a.number) for a in attempts] == [("u1-quiz", 1), ("u1-quiz", 2), ("u1-quiz", 3)]
    pages = [v.page_id for v in db_session.scalars(select(PageVisit).where(PageVisit.learner_id == record))]
    assert len(pages) == len(set(pages)), "one visit row per page"
    positions = db_session.scalars(select(UnitPosition).where(UnitPosition.learner_id == record)).all()
    assert len(positions) == 1
    row = standing(db_session, record)
    assert row is not None and row.sources == 1, "the same activity at two institutions is one source"
    assert client_b.get(f"/units/{UNIT}/activities/{quiz.id}").status_code == 200

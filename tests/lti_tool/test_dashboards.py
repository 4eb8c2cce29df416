"""The trainer's course dashboard, the programme view and the learner's profile, after real launches.

Learners do real work through the tool's pages; trainers and admins of two emulated institutions
look at it. Runs on SQLite and PostgreSQL.
"""

from __future__ import annotations

import csv
import io
import json
import re
from html import unescape
from urllib.parse import urlsplit

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from competencies.models import Evidence
from lti_tool.access import grant_programme
from lti_tool.cohorts import CohortFilter, CourseView, LearnerRow, Member, write_course_csv
from lti_tool.models import Context, CourseGroup, PlatformUser
from tests.fixtures.lti import LaunchDriver
from tests.lti_tool.test_learning_flow import activity, csrf_of, enter, right_answers, start

UNIT = "u1-challenges"


def do_quiz(app: Flask, driver: LaunchDriver, index: int, *, right: bool = True) -> FlaskClient:
    """Launch the ``index``-th learner and hand in unit 1's quiz (all right, or all left blank)."""
    client, _ = enter(driver, "Learner", index=index)
    quiz = activity(app, "u1-quiz")
    path, csrf = start(client, "", quiz.id)
    answers = right_answers(quiz) if right else {}
    response = client.post(f"{path}/submit", data={**answers, "csrf_token": csrf})
    assert response.status_code == 303, response.get_data(as_text=True)
    return client


def trainer(driver: LaunchDriver, role: str = "Instructor", institution: int = 0) -> FlaskClient:
    """Launch a trainer (or admin) of ``institution`` into the programme link; return their browser."""
    driver.client = driver.client.application.test_client()
    response = driver.launch(driver.user(role, 0, institution), driver.link(None, institution), institution)
    assert response.status_code == 303, response.get_data(as_text=True)
    return driver.client


def text_of(html: str) -> str:
    """Return a page's visible text, tags removed."""
    return unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html)))


def course_of(db_session: Session, institution_slug_context: str) -> Context:
    """Return the tool's row of the emulated course with this LMS context id."""
    return db_session.scalars(select(Context).where(Context.context_id == institution_slug_context)).one()


def test_an_empty_course_says_so(driver: LaunchDriver) -> None:
    html = trainer(driver).get("/trainer").get_data(as_text=True)
    assert "No learner has opened the tool in this course yet" in html
    assert "<svg" not in html  # no charts of nothing


def test_the_heatmap_shows_each_learner_level_progress_and_charts(
    app: Flask, driver: LaunchDriver, db_session: Session,
) -> None:
    do_quiz(app, driver, 0, right=True)
    do_quiz(app, driver, 1, right=False)
    html = trainer(driver).get("/trainer").get_data(as_text=True)
    text = text_of(html)
    assert "Showing 2 of 2 learners." in text
    names = [driver.user("Learner", i).name for i in (0, 1)]
    assert all(name in text for name in names)
    heatmap = html[html.index('<table class="heatmap">'):]
    rows = re.findall(r"<tr>\s*<th scope=\"row\">.*?</tr>", heatmap[:heatmap.index("</table>")], flags=re.S)
    assert len(rows) == 2
    quiz = activity(app, "u1-quiz")
    # one quiz is a single source: below min_sources there is no level yet, for both learners
    assert all("heat heat-0" in row for row in rows)
    progress = [re.findall(r'<progress max="100" value="(\d+)"', row)[0] for row in rows]
    assert all(int(p) > 0 for p in progress), "handing in the quiz is progress in unit 1"
    for chart in ("levels-chart", "funnel-u1-challenges", "trend-chart"):
        assert f'aria-labelledby="{chart}-title" aria-describedby="{chart}-desc"' in html
    funnel = re.search(r"<caption[^>]*>Learners at each stage of each unit</caption>.*?</table>", html, re.S)
    assert funnel is not None
    first_unit = re.search(r'<th scope="row">[^<]+</th>((?:<td>\d+</td>){4})', funnel.group(0))
    assert first_unit is not None
    assert re.findall(r"<td>(\d+)</td>", first_unit.group(1)) == ["2", "2", "2", "0"]
    assert len(quiz.weights) > 0


def test_filters_narrow_the_class_and_a_wrong_filter_explains_itself(
    app: Flask, driver: LaunchDriver,
) -> None:
    do_quiz(app, driver, 0)
    do_quiz(app, driver, 1)
    client = trainer(driver)
    first = driver.user("Learner", 0)
    searched = text_of(client.get("/trainer", query_string={"q": first.given_name.lower()})
                       .get_data(as_text=True))
    assert "Showing 1 of 2 learners." in searched and first.name in searched
    unit3 = client.get("/trainer", query_string={"unit": "u3-labs"}).get_data(as_text=True)
    assert unit3.count('class="unit-col"') == 1
    nobody = text_of(client.get("/trainer", query_string={"level": "4"}).get_data(as_text=True))
    assert "No learner matches these filters." in nobody
    for args, message in (({"unit": "u9-nowhere"}, "There is no unit u9-nowhere"),
                          ({"level": "high"}, "The level must be a whole number"),
                          ({"level": "9"}, "The scale has levels 1 to 4"),
                          ({"sort": "<script>"}, "The dashboard cannot sort by"),
                          ({"q": "x" * 500}, "Search for at most 100 characters")):
        response = client.get("/trainer", query_string=args)
        assert response.status_code == 400, args
        page = response.get_data(as_text=True)
        assert message in unescape(page) and "<script>" not in page
        assert "Showing 2 of 2 learners." in text_of(page)  # the class is still shown, unfiltered


def test_csv_export_has_the_dashboards_rows(app: Flask, driver: LaunchDriver) -> None:
    do_quiz(app, driver, 0)
    do_quiz(app, driver, 1, right=False)
    client = trainer(driver)
    response = client.get("/trainer/export.csv", query_string={"sort": "name"})
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert "attachment" in response.headers["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))
    assert {r["learner"] for r in rows} == {driver.user("Learner", i).name for i in (0, 1)}
    assert all(int(r["progress_u1-challenges"]) > 0 for r in rows)
    assert client.get("/trainer/export.csv", query_string={"unit": "nope"}).status_code == 400


def test_csv_cells_cannot_become_spreadsheet_formulas() -> None:
    member = Member(learner_id=1, name="=HYPERLINK(\"http://evil\")", family_name="", platform_id=1,
                    institution="+cmd", group="@SUM(A1)", last_launch_at=None)
    view = CourseView(filter=CohortFilter(), rows=[LearnerRow(member, {}, None, {})], total=1,
                      competencies=[], units=[], levels={}, funnels={}, trend=[])
    row = next(csv.DictReader(io.StringIO(write_course_csv(view))))
    assert row["learner"].startswith("'=") and row["institution"] == "'+cmd" and row["group"] == "'@SUM(A1)"


def test_a_trainer_groups_learners_and_filters_by_group(
    app: Flask, driver: LaunchDriver, db_session: Session,
) -> None:
    do_quiz(app, driver, 0)
    do_quiz(app, driver, 1)
    client = trainer(driver)
    learner_id = db_session.scalars(select(PlatformUser.learner_id).where(
        PlatformUser.sub == driver.user("Learner", 0).sub)).first()
    page = client.get(f"/trainer/learners/{learner_id}").get_data(as_text=True)
    form = {"group": "Tuesday cohort", "csrf_token": csrf_of(page)}
    assert client.post(f"/trainer/learners/{learner_id}/group", data={"group": "x"}).status_code == 400
    saved = client.post(f"/trainer/learners/{learner_id}/group", data=form)
    assert saved.status_code == 303
    assert db_session.scalars(select(CourseGroup.name)).all() == ["Tuesday cohort"]
    filtered = text_of(client.get("/trainer", query_string={"group": "tuesday cohort"})
                       .get_data(as_text=True))
    assert "Showing 1 of 2 learners." in filtered
    too_long = client.post(f"/trainer/learners/{learner_id}/group", data={**form, "group": "g" * 101})
    assert too_long.status_code == 422 and "at most 100 characters" in too_long.get_data(as_text=True)


def test_the_learner_page_shows_attempts_and_a_timeline_per_competency(
    app: Flask, driver: LaunchDriver, db_session: Session,
) -> None:
    do_quiz(app, driver, 0)
    client = trainer(driver)
    learner_id = db_session.scalars(select(PlatformUser.learner_id).where(
        PlatformUser.sub == driver.user("Learner", 0).sub)).first()
    html = client.get(f"/trainer/learners/{learner_id}").get_data(as_text=True)
    quiz = activity(app, "u1-quiz")
    assert "Attempts in this course" in html and "Scored 100%" in html and "See the answers" in html
    competencies = re.findall(r"<summary>(L2I-[^ ]+) ", html)
    assert sorted(competencies) == sorted(quiz.weights)


def test_learners_and_other_institutions_cannot_open_a_course_dashboard(
    app: Flask, driver: LaunchDriver, db_session: Session,
) -> None:
    learner, _ = enter(driver, "Learner")
    assert learner.get("/trainer").status_code == 403
    assert learner.get("/trainer/export.csv").status_code == 403
    assert learner.get("/programme").status_code == 403
    trainer(driver, institution=1)
    other_course = course_of(db_session, driver.institution(1).courses[0].context_id)
    ours = trainer(driver)
    assert ours.get(f"/trainer/courses/{other_course.id}").status_code == 404
    assert ours.get(f"/trainer/courses/{other_course.id}/export.csv").status_code == 404
    assert ours.get("/trainer/courses/999999").status_code == 404
    refused = ours.get("/programme")
    assert refused.status_code == 403 and "l2i trainer grant" in refused.get_data(as_text=True)


def test_programme_access_shows_every_institution_and_respects_consent(
    app: Flask, driver: LaunchDriver, db_session: Session,
) -> None:
    do_quiz(app, driver, 0)
    driver.client = app.test_client()
    response = driver.launch(driver.user("Learner", 0, 1), driver.link(UNIT, 1), 1)
    assert response.status_code == 303
    abroad_learner = driver.client
    their_course = course_of(db_session, driver.institution(1).courses[0].context_id)
    their_learner_id = db_session.scalars(select(PlatformUser.learner_id).where(
        PlatformUser.sub == driver.user("Learner", 0, 1).sub,
        PlatformUser.issuer == driver.institution(1).issuer)).one()

    admin = trainer(driver, "Administrator")  # an LMS institution administrator sees the programme
    html = text_of(admin.get("/programme").get_data(as_text=True))
    assert driver.institution(0).name in html and driver.institution(1).name in html
    assert "2 learners in all" in html

    grant_programme(db_session, driver.institution(0).issuer, driver.user("Instructor", 0).sub)
    db_session.commit()
    granted = trainer(driver)
    assert granted.get("/programme").status_code == 200
    dashboard = granted.get(f"/trainer/courses/{their_course.id}").get_data(as_text=True)
    assert "read-only" in dashboard and "Work waiting" not in dashboard
    drill = f"/trainer/courses/{their_course.id}/learners/{their_learner_id}"
    refused = granted.get(drill)
    assert refused.status_code == 403 and "has not agreed" in refused.get_data(as_text=True)

    page = abroad_learner.get("/competencies").get_data(as_text=True)
    shared = abroad_learner.post("/competencies/sharing", data={"share": "yes", "csrf_token": csrf_of(page)})
    assert shared.status_code == 303
    opened = granted.get(drill)
    assert opened.status_code == 200 and "Rate a competency" not in opened.get_data(as_text=True)


def test_the_learner_sees_a_chart_next_steps_and_downloads_their_data(
    app: Flask, driver: LaunchDriver, db_session: Session,
) -> None:
    client, _ = enter(driver, "Learner")
    before = client.get("/competencies").get_data(as_text=True)
    assert 'aria-labelledby="profile-chart-title" aria-describedby="profile-chart-desc"' in before
    assert "No evidence yet." in before
    suggested = re.findall(r'/units/[^/]+/activities/([a-z0-9-]+)', before)
    assert "u1-quiz" in suggested
    client = do_quiz(app, driver, 0)
    after = client.get("/competencies").get_data(as_text=True)
    assert "u1-quiz" not in re.findall(r'/units/[^/]+/activities/([a-z0-9-]+)', after)
    download = client.get("/competencies/my-data.json")
    assert download.status_code == 200 and "attachment" in download.headers["Content-Disposition"]
    record = json.loads(download.get_data(as_text=True))
    assert record["format"] == "l2i-learner-record/1"
    assert [a["activity_id"] for a in record["attempts"]] == ["u1-quiz"]
    assert len(record["evidence"]) == db_session.scalars(select(Evidence)).all().__len__()
    assert record["identities"][0]["sub"] == driver.user("Learner", 0).sub
    assert urlsplit(record["identities"][0]["issuer"]).scheme in ("http", "https")


@pytest.mark.parametrize("path", ["/competencies/sharing"])
def test_the_sharing_form_needs_its_csrf_token(driver: LaunchDriver, path: str) -> None:
    client, _ = enter(driver, "Learner")
    assert client.post(path, data={"share": "yes"}).status_code == 400

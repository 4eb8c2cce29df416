"""The dashboards in real Chromium, after real launches from the demo LMS, on the seeded demo class.

One seeded demo (two institutions, three learners each with eight weeks of work) serves the whole
module, and the tests run in file order on it:

1. the trainer of the first institution reads the course dashboard, filters it, downloads it as
   CSV, opens a learner and rates a competency, then assesses that learner's waiting reflection;
2. that learner launches and finds the trainer's rating and feedback on their own pages;
3. the institution's administrator opens the programme view and another institution's course.

Every launch goes through the emulator's course page with ``locale=en``, so texts are checked in
English. Page timings (navigation start to load event) go to ``test-artifacts/page-timings.txt``.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

import pytest
from flask import Flask
from playwright.sync_api import Frame, Locator, Page, expect

from course_units.content import Activity
from course_units.loader import load_catalog
from course_units.text import localise
from lms_emulator.platform import Institution, User
from lti_tool.demo import DemoServers, build_demo
from lti_tool.web.state import app_state
from tests.e2e.support import PROGRAMME_LINK_TITLE, demo_settings
from tests.e2e.test_browser import axe_blocking, landing_frame
from tests.fixtures.browser import artifact_name
from tests.fixtures.servers import free_port

pytestmark = pytest.mark.browser

LEARNERS_PER_INSTITUTION = 3
RATED_LEVEL = 3  # "Proficient" on the framework's scale
RATING_NOTE = "Led the team's stakeholder map in today's workshop; clear and well argued."
FEEDBACK = "Clear links between the unit's ideas and your own service. Next: say how you would measure it."
SAVED_RATING = "Saved. The learner's level was recalculated."
SAVED_ASSESSMENT = ("Your assessment was saved. The learner can see it now, "
                    "and their competency evidence was updated.")
CONSENT_REFUSAL = ("This learner studies at another institution and has not agreed "
                   "to share their record with trainers elsewhere.")
SHOWING = re.compile(r"^Showing (\d+) of (\d+) learners\.$")
TIMINGS_FILE = "page-timings.txt"


@dataclass
class Journey:
    """What the trainer's test did, for the learner's test that follows it."""

    learner_name: str = ""
    competency_id: str = ""
    activity_id: str = ""
    unit_id: str = ""
    attempt_number: int = 0
    attempt_id: int = 0
    done: bool = False


@dataclass
class Timings:
    """Page loads measured in the browser: (page, total ms, server ms, time to first byte ms)."""

    path: Path
    rows: list[tuple[str, float, float, float]] = field(default_factory=list)

    def measure(self, page: Page, label: str) -> None:
        """Read the page's navigation entry once its load event ended; print it and keep it in the file."""
        page.wait_for_function("() => { const n = performance.getEntriesByType('navigation')[0];"
                               " return n && n.loadEventEnd > 0; }")
        entry: dict[str, Any] = page.evaluate("performance.getEntriesByType('navigation')[0].toJSON()")
        total = float(entry["duration"])
        server = float(entry["responseEnd"]) - float(entry["requestStart"])
        first_byte = float(entry["responseStart"]) - float(entry["requestStart"])
        self.rows.append((label, total, server, first_byte))
        print(f"page timing: {label}: load {total:.1f} ms, request to response end {server:.1f} ms, "
              f"time to first byte {first_byte:.1f} ms")
        lines = ["page | navigation start to load event end (ms) | requestStart to responseEnd (ms)"
                 " | requestStart to responseStart (ms)"]
        lines += [f"{name} | {t:.1f} | {s:.1f} | {f:.1f}" for name, t, s, f in self.rows]
        self.path.write_text("\n".join(lines) + "\n", encoding="utf-8")


@contextmanager
def seeded_demo(path: Path) -> Iterator[DemoServers]:
    """Run the demo with two institutions and their seeded class, on free ports and SQLite in ``path``."""
    port, lms_port = free_port(), free_port()
    settings = demo_settings(f"sqlite:///{path / 'demo.sqlite3'}", path, port)
    servers = build_demo(settings, host="127.0.0.1", port=port, lms_port=lms_port, institutions=2, seed=True)
    servers.start()
    try:
        yield servers
    finally:
        servers.stop()
        app_state(cast(Flask, servers.tool.app)).engine.dispose()


@pytest.fixture(scope="module")
def demo(chromium: object, tmp_path_factory: pytest.TempPathFactory) -> Iterator[DemoServers]:
    """The seeded two-institution demo, started once for this module."""
    del chromium  # requested first: without a browser the demo is not started at all
    with seeded_demo(tmp_path_factory.mktemp("dashboard-demo")) as servers:
        seeded = servers.seeded
        assert seeded is not None and not seeded.already_seeded, seeded
        assert seeded.learners == 2 * LEARNERS_PER_INSTITUTION, seeded
        yield servers


@pytest.fixture(scope="module")
def journey() -> Journey:
    """Shared by the trainer's and the learner's tests (run in file order)."""
    return Journey()


@pytest.fixture(scope="module")
def timings(artifacts_dir: Path) -> Timings:
    """The module's page timings, written to ``test-artifacts/page-timings.txt`` as they come."""
    return Timings(artifacts_dir / TIMINGS_FILE)


# -- helpers -------------------------------------------------------------------------------------


def person(institution: Institution, role_label: str, index: int = 0) -> User:
    """Return the institution's ``index``-th seeded user with this role label."""
    return [u for u in institution.users if u.role_label == role_label][index]


def launch(page: Page, demo: DemoServers, institution: Institution, user: User) -> Frame:
    """Launch the programme link as ``user`` from the emulator's course page, in English.

    Goes from the emulator's home page to the institution's course page, takes the user's
    "Launch" link (which opens the tool in the LMS's iframe) and adds ``locale=en`` to it.
    Returns the iframe once it shows the tool's units page.
    """
    page.goto(f"{demo.lms_url}/")
    page.get_by_role("link", name=f"Open the course page of {institution.name}", exact=True).click()
    page.wait_for_url(f"{demo.lms_url}/{institution.slug}/")
    href = page.get_by_role("link", name=f"Launch {PROGRAMME_LINK_TITLE} as {user.name}",
                            exact=True).get_attribute("href")
    assert href is not None
    page.goto(f"{demo.lms_url}{href}&locale=en")
    expect(page.get_by_role("heading", level=1)).to_have_text(PROGRAMME_LINK_TITLE)
    frame = landing_frame(page, demo)
    expect(frame.locator(".who")).to_contain_text(f"Signed in as {user.name}")
    expect(frame.get_by_role("heading", level=1)).to_have_text("Learning 2 Innovate: your units")
    return frame


def open_on_its_own(page: Page, frame: Frame) -> None:
    """Open the page the iframe shows in the tab itself (the session travels in its URL)."""
    response = page.goto(frame.url)
    assert response is not None and response.status == 200, frame.url


def tool_url_pattern(demo: DemoServers, path: str) -> re.Pattern[str]:
    """Match a tool URL of ``path`` (a regex) carrying the session token."""
    return re.compile(re.escape(demo.tool_url) + path + r"\?(.*&)?s=")


def check_axe(page: Page) -> None:
    """Fail on any serious or critical axe-core violation on ``page``, listing them all."""
    blocking, report = axe_blocking(page)
    assert not blocking, report


def screenshot(page: Page, artifacts_dir: Path, request: pytest.FixtureRequest, label: str) -> None:
    """Save the whole page as ``test-artifacts/<test>-<label>.png``."""
    page.screenshot(path=artifacts_dir / artifact_name(request.node.name, label), full_page=True)


def chart_svg(page: Page, chart_id: str) -> Locator:
    """The server-drawn chart ``chart_id`` (its ``<svg>`` is labelled by ``<chart_id>-title``)."""
    return page.locator(f"svg[role=img][aria-labelledby='{chart_id}-title']")


def heatmap_rows(page: Page) -> list[dict[str, Any]]:
    """Read the heatmap: per row the learner's name, last activity, unit progress and level cells."""
    body_rows = page.locator("table.heatmap tbody tr")
    rows: list[dict[str, Any]] = body_rows.evaluate_all("""rows => rows.map(r => ({
        name: r.querySelector('th[scope=row] a').textContent.trim(),
        last: (r.querySelector('time') || {}).dateTime || '',
        progress: [...r.querySelectorAll('td.unit-progress progress')].map(p => Number(p.value)),
        cells: [...r.querySelectorAll('td.heat')].map(c => c.textContent.trim()),
    }))""")
    return rows


def assert_cells_under_headers(table: Locator) -> None:
    """Each body row has a cell under every header column, in line with it (the layout keeps the grid)."""
    misplaced = table.evaluate("""t => {
        const heads = [...t.tHead.rows[0].cells].map(h => h.getBoundingClientRect());
        const bad = [];
        for (const row of t.tBodies[0].rows) {
            const cells = [...row.cells];
            if (cells.length !== heads.length) {
                bad.push(`${cells.length} cells for ${heads.length} columns`);
                continue;
            }
            cells.forEach((c, i) => {
                const box = c.getBoundingClientRect();
                if (getComputedStyle(c).display !== 'table-cell' || Math.abs(box.left - heads[i].left) > 1
                        || Math.abs(box.width - heads[i].width) > 1) {
                    bad.push(`column ${i} (${c.textContent.trim()}): ${getComputedStyle(c).display} at `
                             + `${box.left}+${box.width}, header at ${heads[i].left}+${heads[i].width}`);
                }
            });
        }
        return bad;
    }""")
    assert not misplaced, f"cells out of line with their column headers: {misplaced[:5]}"


def competency_columns(page: Page) -> list[str]:
    """Return the competency ids heading the heatmap's level columns."""
    return page.locator("table.heatmap thead th.competency-col").all_inner_texts()


def expect_showing(page: Page, shown: int, total: int = LEARNERS_PER_INSTITUTION) -> None:
    """The dashboard's status line says ``Showing <shown> of <total> learners.`` and the rows agree."""
    expect(page.get_by_role("status").filter(has_text=SHOWING)).to_have_text(
        f"Showing {shown} of {total} learners.")
    expect(page.locator("table.heatmap tbody tr")).to_have_count(shown)


def press_show(page: Page, demo: DemoServers) -> None:
    """Submit the dashboard's filter form and wait for the filtered dashboard."""
    page.get_by_role("button", name="Show", exact=True).click()
    page.wait_for_url(tool_url_pattern(demo, "/trainer"))
    page.wait_for_load_state()


def download_csv(page: Page, tmp_dir: Path, name: str) -> list[dict[str, str]]:
    """Download the dashboard as CSV through its link; return its learner rows."""
    with page.expect_download() as download_info:
        page.get_by_role("link", name="Download as CSV").click()
    download = download_info.value
    assert download.suggested_filename.endswith("-competencies.csv"), download.suggested_filename
    target = tmp_dir / name
    download.save_as(target)
    return list(csv.DictReader(io.StringIO(target.read_text(encoding="utf-8"))))


def assert_csv_matches_heatmap(page: Page, lines: list[dict[str, str]]) -> None:
    """The CSV holds exactly the heatmap's rows, in its order, with the same levels and progress."""
    rows, columns = heatmap_rows(page), competency_columns(page)
    assert [line["learner"] for line in lines] == [row["name"] for row in rows], (lines, rows)
    units = [key for key in (lines[0] if lines else {}) if key.startswith("progress_")]
    for line, row in zip(lines, rows, strict=True):
        assert [line[c] or "0" for c in columns] == [cell.rstrip("*") for cell in row["cells"]], (line, row)
        assert [int(line[u] or 0) for u in units] == row["progress"], (line, row)
        assert line["last_activity"][:10] == row["last"][:10], (line, row)


def waiting_rows(page: Page) -> Locator:
    """The rows of the "work waiting for your assessment" table."""
    section = page.locator("table.waiting")
    return section.locator("tbody tr")


def reflection_titles() -> dict[str, Activity]:
    """The English titles of the catalogue's reflections, with their activities."""
    catalog = load_catalog()
    return {localise(a.title, "en"): a for unit in catalog.units for a in unit.activities
            if a.kind == "reflection"}


def oldest_waiting_reflection(waiting: Locator) -> tuple[Locator, Activity, int]:
    """Return the first waiting row (oldest first) that is a reflection, its activity and attempt number."""
    reflections = reflection_titles()
    for row in waiting.all():
        activity_text = row.locator("td").nth(1).inner_text()
        title = next((t for t in reflections if activity_text.startswith(t + " (attempt ")), None)
        number = re.search(r"\(attempt (\d+)\)$", activity_text)
        if title is not None and number is not None:
            return row, reflections[title], int(number.group(1))
    raise AssertionError("no reflection is waiting for assessment")


def timeline_of(page: Page, competency_id: str) -> Locator:
    """The evidence timeline (a ``<details>``) of one competency, opened."""
    details = page.locator("details.evidence-timeline").filter(
        has=page.locator("summary", has_text=re.compile(rf"^{re.escape(competency_id)} ")))
    expect(details).to_have_count(1)
    if details.get_attribute("open") is None:
        details.locator("summary").click()
    expect(details).to_have_attribute("open", "")
    return details


# -- 1. the trainer ------------------------------------------------------------------------------


def test_trainer_reads_filters_rates_and_assesses(
    page: Page, demo: DemoServers, journey: Journey, timings: Timings, artifacts_dir: Path,
    tmp_path: Path, request: pytest.FixtureRequest,
) -> None:
    institution = demo.emulator.institutions[0]
    trainer = person(institution, "Trainer")
    assert trainer.name == "Erik Johansson"
    seeded_names = {u.name for u in institution.users if u.launches and u.role_label == "Learner"}
    assert len(seeded_names) == LEARNERS_PER_INSTITUTION

    frame = launch(page, demo, institution, trainer)
    frame.get_by_role("link", name="Open the trainer dashboard").click()
    frame.wait_for_url(tool_url_pattern(demo, "/trainer"))
    expect(frame.get_by_role("heading", level=1)).to_have_text("Trainer dashboard")
    open_on_its_own(page, frame)
    timings.measure(page, "course dashboard (3 learners, 24 competencies)")

    # -- the heatmap, the charts and their tables
    expect(page.get_by_role("heading", level=1)).to_have_text("Trainer dashboard")
    expect(page.locator(".who")).to_contain_text(trainer.name)
    expect_showing(page, LEARNERS_PER_INSTITUTION)
    heatmap = page.get_by_role("table", name=re.compile("^Learners \N{MULTIPLICATION SIGN} competencies"))
    expect(heatmap).to_be_visible()
    rows = heatmap_rows(page)
    columns = competency_columns(page)
    assert {row["name"] for row in rows} == seeded_names
    assert len(columns) == 24, columns
    for row in rows:
        assert len(row["cells"]) == len(columns), row
        assert all(re.fullmatch(r"[0-4]\*?", c) for c in row["cells"]), row
        assert len(row["progress"]) == 5 and all(0 <= p <= 100 for p in row["progress"]), row
    assert any(c != "0" for row in rows for c in row["cells"]), "no seeded learner has any level"
    distinct = {tuple(row["cells"]) for row in rows}
    assert len(distinct) == LEARNERS_PER_INSTITUTION, "the seeded learners' levels should differ"
    assert_cells_under_headers(heatmap)
    cell_colours = page.locator("table.heatmap td.heat").evaluate_all(
        "cells => [...new Set(cells.map(c => getComputedStyle(c).backgroundColor))]")
    assert len(cell_colours) >= 3, f"the heatmap's cells should be coloured by level: {cell_colours}"
    bars = page.locator("table.heatmap td.unit-progress progress")
    expect(bars).to_have_count(5 * LEARNERS_PER_INSTITUTION)
    for bar in bars.all():
        expect(bar).to_have_accessible_name(re.compile(r": \d+%$"))

    charts = {"dist-heading": ("Levels per competency", "Learners at each level, per competency"),
              "funnel-heading": ("Progress through the units", "Learners at each stage of each unit"),
              "trend-heading": ("Proficiency over time",
                                "Proficiencies reached by the end of each week (cumulative)")}
    for heading_id, (heading, caption) in charts.items():
        block = page.locator(f"section.chart-block[aria-labelledby={heading_id}]")
        expect(block.get_by_role("heading", level=3)).to_have_text(heading)
        svgs = block.locator("svg[role=img]")
        expect(svgs.first).to_be_visible()
        for svg in svgs.all():
            title = svg.locator("title").first.text_content() or ""
            assert title.strip(), f"a chart under {heading!r} has no title"
            # named by its <title> (and described by its <desc>)
            expect(svg).to_have_accessible_name(re.compile("^" + re.escape(title.strip())))
        # each chart is followed by its table, with the same numbers in words
        table = block.locator("table.chart-table")
        expect(table).to_have_count(1)
        expect(table.locator("caption")).to_have_text(caption)
        follows = block.evaluate("""b => { const t = b.querySelector('table.chart-table');
            const svgs = [...b.querySelectorAll('svg[role=img]')];
            return svgs.every(s => s.compareDocumentPosition(t) & Node.DOCUMENT_POSITION_FOLLOWING); }""")
        assert follows, f"the table of {heading!r} should come after its chart"
    expect(page.locator("#levels-chart-title")).to_have_text("Learners at each level, per competency")
    expect(page.locator("section.chart-block[aria-labelledby=funnel-heading] svg[role=img]")).to_have_count(5)
    expect(page.locator("#trend-chart-title")).to_have_text("Proficiency reached over time")
    levels_chart = chart_svg(page, "levels-chart")
    expect(levels_chart.locator("rect.chart-seg.lvl-3, rect.chart-seg.lvl-4").first).to_be_attached()
    trend_weeks = page.locator("section.chart-block[aria-labelledby=trend-heading] tbody tr")
    assert trend_weeks.count() >= 8, "the trend should cover the seeded eight weeks"

    # -- the work waiting: pick the oldest waiting reflection; its author is the learner rated below
    waiting = waiting_rows(page)
    waiting_before = waiting.count()
    assert waiting_before == 3, "the seed leaves three submissions waiting per institution"
    expect(page.locator("p.callout a[href='#waiting']")).to_have_text(
        "3 submissions wait for your assessment")
    chosen_row, activity, journey.attempt_number = oldest_waiting_reflection(waiting)
    journey.learner_name = chosen_row.locator("td").first.inner_text().strip()
    journey.activity_id = activity.id
    journey.unit_id = next(u.id for u in load_catalog().units if u.activity(activity.id) is not None)
    journey.competency_id = activity.competencies[0].id
    assert journey.learner_name in seeded_names
    check_axe(page)
    screenshot(page, artifacts_dir, request, "dashboard")
    # the heatmap scrolls sideways in its region: its last columns, for the record
    region = page.get_by_role("region", name=re.compile("^Learners \N{MULTIPLICATION SIGN} competencies"))
    region.evaluate("r => { r.scrollLeft = r.scrollWidth; }")
    region.screenshot(path=artifacts_dir / artifact_name(request.node.name, "heatmap-scrolled"))
    region.evaluate("r => { r.scrollLeft = 0; }")

    # -- the CSV holds the rows shown
    assert_csv_matches_heatmap(page, download_csv(page, tmp_path, "all.csv"))

    # -- filters: a competency and a level, chosen so that some learners but not all match
    competency, level, expected = next(
        (c, lv, [r["name"] for r in rows if r["cells"][i].rstrip("*") == str(lv)])
        for i, c in enumerate(columns) for lv in (1, 2, 3, 4)
        if 0 < sum(r["cells"][i].rstrip("*") == str(lv) for r in rows) < LEARNERS_PER_INSTITUTION)
    page.get_by_label("Competency", exact=True).select_option(competency)
    page.get_by_label("Level", exact=True).select_option(str(level))
    press_show(page, demo)
    timings.measure(page, f"filtered dashboard (competency {competency}, level {level})")
    expect_showing(page, len(expected))
    assert [r["name"] for r in heatmap_rows(page)] == expected
    assert competency_columns(page) == [competency], "filtering by a competency shows that column only"
    assert all(r["cells"] == [str(level)] for r in heatmap_rows(page))
    expect(page.get_by_label("Competency", exact=True)).to_have_value(competency)
    expect(page.get_by_label("Level", exact=True)).to_have_value(str(level))
    screenshot(page, artifacts_dir, request, "filtered")
    assert_csv_matches_heatmap(page, download_csv(page, tmp_path, "filtered.csv"))

    # a name search (the filters above reset)
    family_name = journey.learner_name.split()[-1]
    page.get_by_label("Competency", exact=True).select_option("")
    page.get_by_label("Level", exact=True).select_option("")
    page.get_by_label("Name", exact=True).fill(family_name[:4].lower())
    press_show(page, demo)
    expect_showing(page, 1)
    assert [r["name"] for r in heatmap_rows(page)] == [journey.learner_name]

    # sorted by last activity, most recent first
    page.get_by_label("Name", exact=True).fill("")
    page.get_by_label("Sort by").select_option("last")
    page.get_by_label("Highest first").check()
    press_show(page, demo)
    expect_showing(page, LEARNERS_PER_INSTITUTION)
    last = [r["last"] for r in heatmap_rows(page)]
    assert all(last) and last == sorted(last, reverse=True), last
    assert last != sorted(last), "the seeded learners' last activities should differ"

    page.get_by_role("link", name="Clear the filters").click()
    page.wait_for_url(tool_url_pattern(demo, "/trainer"))
    expect_showing(page, LEARNERS_PER_INSTITUTION)
    expect(page.get_by_label("Sort by")).to_have_value("name")
    expect(page.get_by_label("Name", exact=True)).to_have_value("")
    assert [r["name"] for r in heatmap_rows(page)] == [r["name"] for r in rows]

    # -- one learner: attempts, evidence timeline, the rating form
    page.locator("table.heatmap").get_by_role("link", name=journey.learner_name, exact=True).click()
    page.wait_for_url(tool_url_pattern(demo, r"/trainer/learners/\d+"))
    timings.measure(page, f"learner page ({journey.learner_name})")
    expect(page.get_by_role("heading", level=1)).to_have_text(journey.learner_name)
    attempts = page.get_by_role("table", name="Quizzes, reflections and lab canvases, newest first")
    expect(attempts.locator("tbody tr").first).to_be_visible()
    assert attempts.locator("tbody tr").count() >= 5, "the seeded learner has done several activities"
    expect(attempts.locator("tbody")).to_contain_text("Waiting for assessment")
    expect(page.get_by_role("heading", level=2, name="Evidence, competency by competency")).to_be_visible()
    timelines = page.locator("details.evidence-timeline")
    assert timelines.count() >= 2, "the seeded learner has evidence in several competencies"
    expect(timelines.first).to_have_attribute("open", "")
    expect(timelines.first.locator("ol.timeline li").first).to_be_visible()
    check_axe(page)

    page.get_by_label("Competency", exact=True).select_option(journey.competency_id)
    page.get_by_role("group", name="Level").get_by_label(re.compile(rf"^{RATED_LEVEL}\. ")).check()
    page.get_by_label("Note (what you observed)").fill(RATING_NOTE)
    expect(page.get_by_label("Add my rating as one more piece of evidence")).to_be_checked()
    page.get_by_role("button", name="Save", exact=True).click()
    page.wait_for_url(re.compile(re.escape(demo.tool_url) + r"/trainer/learners/\d+\?(.*&)?done=rated"))
    expect(page.get_by_role("status").filter(has_text=SAVED_RATING)).to_have_text(SAVED_RATING)
    rated = timeline_of(page, journey.competency_id)
    expect(rated.locator("li").filter(has_text=RATING_NOTE)).to_contain_text("Trainer's rating: Proficient")
    check_axe(page)
    screenshot(page, artifacts_dir, request, "learner")

    # -- back to the dashboard and assess the chosen reflection
    page.get_by_role("navigation", name="Breadcrumbs").get_by_role("link", name="Trainer dashboard").click()
    page.wait_for_url(tool_url_pattern(demo, "/trainer"))
    target = waiting_rows(page).filter(has_text=journey.learner_name).filter(
        has_text=localise(activity.title, "en"))
    expect(target).to_have_count(1)
    assess_href = target.get_by_role("link", name=f"Assess {journey.learner_name}").get_attribute("href")
    assert assess_href is not None
    found = re.search(r"/trainer/attempts/(\d+)", assess_href)
    assert found is not None, assess_href
    journey.attempt_id = int(found.group(1))
    target.get_by_role("link", name=f"Assess {journey.learner_name}").click()
    page.wait_for_url(tool_url_pattern(demo, rf"/trainer/attempts/{journey.attempt_id}"))
    expect(page.get_by_role("heading", level=1)).to_have_text(localise(activity.title, "en"))
    expect(page.locator("p.meta").first).to_contain_text(f"By {journey.learner_name}, attempt")
    expect(page.locator(".answer-text").first).not_to_be_empty()
    check_axe(page)
    criteria = page.locator("fieldset.rubric-criterion")
    expect(criteria).to_have_count(len(activity.rubric))
    for criterion in criteria.all():
        radios = criterion.get_by_role("radio")
        expect(radios).to_have_count(4)
        radios.last.check()
    page.get_by_label("Feedback for the learner").fill(FEEDBACK)
    page.get_by_role("button", name="Save the assessment").click()
    page.wait_for_url(re.compile(re.escape(demo.tool_url) + r"/trainer\?(.*&)?done=assessed"))
    expect(page.get_by_role("status").filter(has_text=SAVED_ASSESSMENT)).to_have_text(SAVED_ASSESSMENT)
    expect(waiting_rows(page)).to_have_count(waiting_before - 1)
    expect(page.locator("p.callout a[href='#waiting']")).to_have_text(
        "2 submissions wait for your assessment")
    expect(page.locator("table.waiting caption")).to_have_text("2 submissions to assess")
    expect(waiting_rows(page).filter(has_text=journey.learner_name).filter(
        has_text=localise(activity.title, "en"))).to_have_count(0)
    recent = page.get_by_role("link", name=f"{journey.learner_name}: {localise(activity.title, 'en')}")
    expect(recent.first).to_be_visible()
    check_axe(page)
    screenshot(page, artifacts_dir, request, "assessed")
    journey.done = True


# -- 2. the learner ------------------------------------------------------------------------------


def test_the_assessed_learner_sees_the_rating_and_the_feedback(
    page: Page, demo: DemoServers, journey: Journey, timings: Timings, artifacts_dir: Path,
    tmp_path: Path, request: pytest.FixtureRequest,
) -> None:
    if not journey.done:
        pytest.fail("the trainer's test did not finish, so there is no rating or feedback to look for")
    institution = demo.emulator.institutions[0]
    learner = next(u for u in institution.users
                   if u.name == journey.learner_name and u.role_label == "Learner")

    frame = launch(page, demo, institution, learner)
    open_on_its_own(page, frame)
    page.get_by_role("link", name="My competencies").click()
    page.wait_for_url(tool_url_pattern(demo, "/competencies"))
    timings.measure(page, f"learner's own competencies ({learner.name})")
    expect(page.get_by_role("heading", level=1)).to_have_text("My competencies")

    chart = chart_svg(page, "profile-chart")
    expect(chart).to_be_visible()
    expect(chart).to_have_accessible_name(re.compile(r"^Your level in each competency\b"))
    assert chart.locator(".chart-level-bar").count() > 0, "the profile chart draws no level"
    standings = page.locator("table.standings")
    assert standings.count() == 8, "one standings table per domain of the framework"
    rated_row = standings.locator("tbody tr").filter(has=page.locator("th", has_text=journey.competency_id))
    expect(rated_row).to_have_count(1)
    expect(rated_row.locator("td").first).not_to_have_text("Not enough evidence yet")

    expect(page.get_by_role("heading", level=2, name="What to do next")).to_be_visible()
    suggestions = page.locator("ul.suggestions > li")
    assert suggestions.count() >= 1, "a seeded learner below proficient everywhere gets suggestions"
    expect(suggestions.first.get_by_role("link")).to_be_visible()
    expect(suggestions.first).to_contain_text("Gives evidence for:")

    rated = timeline_of(page, journey.competency_id)
    expect(rated.locator("li").filter(has_text=RATING_NOTE)).to_contain_text("Trainer's rating: Proficient")
    expect(rated.locator("li").filter(has_text=RATING_NOTE)).to_contain_text(institution.name)

    with page.expect_download() as download_info:
        page.get_by_role("link", name="Download all my data (JSON)").click()
    download = download_info.value
    assert download.suggested_filename == "my-l2i-record.json"
    target = tmp_path / "my-data.json"
    download.save_as(target)
    record = json.loads(target.read_text(encoding="utf-8"))
    attempts = {a["id"]: a for a in record["attempts"]}
    assert len(attempts) >= 5, record["attempts"]
    assessed = attempts[journey.attempt_id]
    assert assessed["activity_id"] == journey.activity_id
    assert assessed["feedback"] == FEEDBACK and assessed["status"] != "submitted", assessed
    assert any(e["note"] == RATING_NOTE and e["competency_id"] == journey.competency_id
               for e in record["evidence"]), "the trainer's rating is missing from the learner's data"
    assert {i["name"] for i in record["identities"]} == {learner.name}

    page.get_by_label("Yes, trainers at all my institutions").check()
    page.get_by_role("button", name="Save my choice").click()
    page.wait_for_url(re.compile(re.escape(demo.tool_url) + r"/competencies\?(.*&)?done=sharing"))
    expect(page.get_by_role("status")).to_have_text("Your choice was saved.")
    expect(page.get_by_label("Yes, trainers at all my institutions")).to_be_checked()
    check_axe(page)
    timeline_of(page, journey.competency_id)  # opened again for the screenshot, with the rating's note
    screenshot(page, artifacts_dir, request, "learner-profile")
    # and back to not sharing, as seeded (the programme test relies on no seeded learner sharing)
    page.get_by_label("No, only trainers where I earned it").check()
    page.get_by_role("button", name="Save my choice").click()
    expect(page.get_by_role("status")).to_have_text("Your choice was saved.")
    expect(page.get_by_label("No, only trainers where I earned it")).to_be_checked()

    # the assessed attempt, reached the way a learner would: units, the unit, the activity
    catalog = load_catalog()
    unit = catalog.unit(journey.unit_id)
    activity = catalog.activity(journey.activity_id)
    assert unit is not None and activity is not None
    page.get_by_role("navigation", name="Breadcrumbs").get_by_role("link", name="All units").click()
    page.get_by_role("link", name=f"Unit {unit.order}: {localise(unit.title, 'en')}", exact=True).click()
    page.get_by_role("link", name=localise(activity.title, "en"), exact=True).click()
    page.get_by_role("link", name=f"See attempt {journey.attempt_number}", exact=True).click()
    page.wait_for_url(tool_url_pattern(demo, rf"/attempts/{journey.attempt_id}"))
    expect(page.get_by_role("heading", level=2, name="Your trainer's assessment")).to_be_visible()
    expect(page.get_by_role("heading", level=3, name="Feedback")).to_be_visible()
    expect(page.locator(".answer-text").filter(has_text=FEEDBACK)).to_have_text(FEEDBACK)
    expect(page.get_by_role("status").filter(has_text="Score:")).to_have_text("Score: 100%")
    check_axe(page)


# -- 3. the programme view -----------------------------------------------------------------------


def test_an_institution_administrator_opens_the_programme_view(
    page: Page, demo: DemoServers, timings: Timings, artifacts_dir: Path, request: pytest.FixtureRequest,
) -> None:
    home, other = demo.emulator.institutions
    admin = person(home, "Administrator")
    assert admin.name == "Karin Lindqvist"

    frame = launch(page, demo, home, admin)
    open_on_its_own(page, frame)
    page.get_by_role("link", name="Open the trainer dashboard").click()
    page.wait_for_url(tool_url_pattern(demo, "/trainer"))
    page.get_by_role("navigation", name="Your other courses").get_by_role(
        "link", name="The whole programme, all institutions").click()
    page.wait_for_url(tool_url_pattern(demo, "/programme"))
    timings.measure(page, "programme view (2 institutions)")
    expect(page.get_by_role("heading", level=1)).to_have_text("The programme across institutions")
    expect(page.locator("main p.meta").first).to_have_text(f"{2 * LEARNERS_PER_INSTITUTION} learners in all")

    by_institution = page.get_by_role("table", name=re.compile(r"^Share of each institution's learners"))
    for institution in (home, other):
        row = by_institution.locator("tbody tr").filter(
            has=page.get_by_role("rowheader", name=institution.name, exact=True))
        expect(row).to_have_count(1)
        expect(row.locator("td").nth(0)).to_have_text("1")  # courses
        expect(row.locator("td").nth(1)).to_have_text(str(LEARNERS_PER_INSTITUTION))  # learners
        expect(row.locator("td.heat").first).to_have_text(re.compile(r"^\d+%$"))
    assert_cells_under_headers(by_institution)
    chart = chart_svg(page, "programme-levels")
    expect(chart).to_be_visible()
    expect(chart).to_have_accessible_name(re.compile(r"^Learners at each level, per competency\b"))

    courses = page.get_by_role("table", name=re.compile(r"^Every course"))
    expect(courses.locator("tbody tr")).to_have_count(2)
    for institution in (home, other):
        course_row = courses.locator("tbody tr").filter(has_text=institution.name)
        expect(course_row).to_have_count(1)
        expect(course_row.locator("td").nth(1)).to_have_text(str(LEARNERS_PER_INSTITUTION))
    counted_at = re.compile(r"^Figures counted at \d{4}-\d\d-\d\d \d\d:\d\d UTC; "
                            r"they are counted again every 5 min\.")
    expect(page.locator("main form p.meta")).to_have_text(counted_at)
    check_axe(page)
    screenshot(page, artifacts_dir, request, "programme")

    # "Count now" counts the figures at once (a POST with the page's CSRF token) and shows them again
    with page.expect_response(re.compile(re.escape(demo.tool_url) + r"/programme/refresh")) as counted:
        page.get_by_role("button", name="Count now").click()
    assert counted.value.status == 303
    page.wait_for_url(tool_url_pattern(demo, "/programme"))
    expect(page.locator("main p.meta").first).to_have_text(f"{2 * LEARNERS_PER_INSTITUTION} learners in all")
    expect(page.locator("main form p.meta")).to_have_text(counted_at)

    # the other institution's course opens read-only
    courses.locator("tbody tr").filter(has_text=other.name).get_by_role("link").click()
    page.wait_for_url(tool_url_pattern(demo, r"/trainer/courses/\d+"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Trainer dashboard")
    expect(page.locator("main p.meta").first).to_contain_text(
        "read-only: open the tool from this course to assess work there")
    expect(page.get_by_role("heading", name="Work waiting for your assessment")).to_have_count(0)
    expect(page.get_by_role("heading", name="Recently assessed")).to_have_count(0)
    expect(page.get_by_role("button", name=re.compile("roster", re.I))).to_have_count(0)
    expect_showing(page, LEARNERS_PER_INSTITUTION)
    other_names = {u.name for u in other.users if u.launches and u.role_label == "Learner"}
    assert {r["name"] for r in heatmap_rows(page)} == other_names
    assert_cells_under_headers(page.locator("table.heatmap"))
    check_axe(page)
    screenshot(page, artifacts_dir, request, "other-course")

    # their learners have not agreed to share their record: 403 with the consent message
    learner_link = page.locator("table.heatmap tbody th[scope=row] a").first
    name = learner_link.inner_text()
    drill_down = re.compile(re.escape(demo.tool_url) + r"/trainer/courses/\d+/learners/\d+")
    with page.expect_response(drill_down) as info:
        learner_link.click()
    assert info.value.status == 403, f"{name}'s record opened for another institution's administrator"
    expect(page.locator(".error-message")).to_have_text(CONSENT_REFUSAL)
    expect(page.get_by_role("heading", name=name)).to_have_count(0)
    check_axe(page)

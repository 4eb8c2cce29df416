"""The learner's and the trainer's journeys in real Chromium, with axe-core on every page type.

Launches go through the demo LMS (the emulator) as a person's do: into its iframe, or into a
window of their own. Texts are checked in English: every launch asks for ``locale=en``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
from playwright.sync_api import Browser, ConsoleMessage, Dialog, Frame, Page, Response, ViewportSize, expect

from course_units.content import Activity, Catalog, Unit
from lms_emulator.platform import Institution, ResourceLink, User
from lti_tool.demo import DemoServers
from lti_tool.web.state import app_state
from tests.e2e.support import PROGRAMME_LINK_TITLE, demo_in
from tests.e2e.test_browser import axe_blocking
from tests.fixtures.browser import TIMEOUT_MS, artifact_name

pytestmark = pytest.mark.browser

UNIT = "u1-challenges"
KEYBOARD_UNIT = "u2-social-innovation"
LAB_UNIT = "u3-labs"
WIDE: ViewportSize = {"width": 1280, "height": 900}
NARROW: ViewportSize = {"width": 360, "height": 780}
MAX_TABS = 80
HOSTILE = (
    "<script>window.__xss=1</script>",
    '<img src=x onerror="window.__xss=1">',
    '"><svg onload=window.__xss=1>',
)
Scope = Page | Frame


# -- the demo, the people and the catalogue -----------------------------------------------


@pytest.fixture(scope="module")
def demo(chromium: object, tmp_path_factory: pytest.TempPathFactory) -> Iterator[DemoServers]:
    """The demo with two institutions on a temporary SQLite database, for this module.

    The journeys use the first institution's course; the accessibility walk uses the second,
    so that it sees a trainer dashboard with nothing waiting whatever ran before it.
    """
    del chromium  # requested first: without a browser the demo is not started at all
    with demo_in(tmp_path_factory.mktemp("journey-demo"), institutions=2) as servers:
        yield servers


@pytest.fixture
def other_page(chromium: Browser, artifacts_dir: Path, request: pytest.FixtureRequest) -> Iterator[Page]:
    """A second person's browser (its own context and cookies), screenshotted at the end."""
    context = chromium.new_context(viewport=WIDE, locale="en-GB")
    context.set_default_timeout(TIMEOUT_MS)
    context.set_default_navigation_timeout(TIMEOUT_MS)
    second = context.new_page()
    try:
        yield second
    finally:
        try:
            second.screenshot(path=artifacts_dir / artifact_name(request.node.name, "other"), full_page=True)
        finally:
            context.close()


def catalog(demo: DemoServers) -> Catalog:
    """The catalogue the running tool serves."""
    found: Catalog = app_state(demo.tool.app).catalog  # type: ignore[attr-defined]
    return found


def unit_of(demo: DemoServers, unit_id: str) -> Unit:
    unit = catalog(demo).unit(unit_id)
    assert unit is not None, unit_id
    return unit


def activity_of(demo: DemoServers, activity_id: str) -> Activity:
    found = catalog(demo).activity(activity_id)
    assert found is not None, activity_id
    return found


def learners(institution: Institution) -> list[User]:
    """The institution's seeded learners who launch, in seed order."""
    return [u for u in institution.users if u.launches and u.role_label == "Learner"]


def trainer_of(institution: Institution) -> User:
    return next(u for u in institution.users if u.role_label == "Trainer")


def link_for(institution: Institution, unit_id: str | None) -> ResourceLink:
    """The course's link opening ``unit_id`` (None: the programme link, landing on the unit list)."""
    links = institution.courses[0].links
    if unit_id is None:
        return next(link for link in links if link.title == PROGRAMME_LINK_TITLE)
    return next(link for link in links if link.custom.get("unit") == unit_id)


def en(text: Any) -> str:
    """The English text of a language map."""
    return str(text["en"])


def squash(text: str) -> str:
    return " ".join(text.split())


def reflection_text(words: int) -> str:
    sentence = "Our team supports older people living at home and their family carers every day."
    return " ".join([sentence] * (words // 14 + 1))


# -- launching and moving around ------------------------------------------------------------


@dataclass
class Visit:
    """Someone launched into the tool: the page or frame showing it, and their session token."""

    scope: Scope
    token: str
    tool_url: str

    def url(self, path: str) -> str:
        """A tool URL carrying this session's token, as the tool's own links do."""
        return f"{self.tool_url}{path}?{urlencode({'s': self.token})}"

    def go(self, path: str) -> int:
        """Open ``path`` in this session and return the HTTP status."""
        response = self.scope.goto(self.url(path))
        assert response is not None
        return response.status

    def wait_for(self, path_pattern: str) -> None:
        """Wait until the tool shows a page whose path matches ``path_pattern`` (a regex)."""
        self.scope.wait_for_url(re.compile(re.escape(self.tool_url) + path_pattern + r"\?(.*&)?s="))
        self.scope.wait_for_load_state()


def launch(page: Page, demo: DemoServers, user: User, unit_id: str | None = UNIT, *,
           institution: int = 0, in_frame: bool = False) -> Visit:
    """Launch ``unit_id``'s link as ``user`` from the emulator: in its iframe, or in the window."""
    place = demo.emulator.institutions[institution]
    query = {"user": user.sub, "link": link_for(place, unit_id).id, "locale": "en"}
    if in_frame:
        page.goto(f"{demo.lms_url}/{place.slug}/frame?{urlencode(query)}")
        expect(page.locator("iframe")).to_have_count(1)
        found = page.locator("iframe").element_handle().content_frame()
        assert found is not None, "the emulator's frame page has no content frame"
        scope: Scope = found
    else:
        page.goto(f"{demo.lms_url}/{place.slug}/launch?{urlencode({**query, 'target': 'window'})}")
        scope = page
    visit = Visit(scope=scope, token="", tool_url=demo.tool_url)
    visit.wait_for(re.escape(f"/units/{unit_id}" if unit_id else "/"))
    expect(scope.locator(".who")).to_contain_text(user.name)
    visit.token = parse_qs(urlsplit(scope.url).query)["s"][0]
    return visit


def start_attempt(visit: Visit, unit_id: str, activity: Activity) -> str:
    """Open ``activity``'s page, press Start, and return the attempt's URL."""
    visit.go(f"/units/{unit_id}/activities/{activity.id}")
    expect(visit.scope.get_by_role("heading", level=1)).to_have_text(en(activity.title))
    visit.scope.get_by_role("button", name=re.compile(r"^Start( a new attempt)?$")).click()
    visit.wait_for(r"/attempts/\d+")
    expect(visit.scope.locator("form.attempt-form")).to_be_visible()
    return visit.scope.url


def control(scope: Scope, element_id: str) -> Any:
    """The form control with this id (ids hold item and option ids, so no CSS escaping games)."""
    return scope.locator(f'[id="{element_id}"]')


def answer_quiz(scope: Scope, quiz: Activity) -> None:
    """Answer every item of ``quiz`` right, with the mouse: radios, checkboxes and selects."""
    for item in quiz.items:
        prefix = f"item-{item.id}"
        if item.type == "single":
            control(scope, f"{prefix}-{next(o.id for o in item.options if o.correct)}").check()
        elif item.type == "multiple":
            for option in item.options:
                control(scope, f"{prefix}-{option.id}").set_checked(option.correct)
        elif item.type == "matching":
            for pair in item.pairs:
                control(scope, f"{prefix}-{pair.id}").select_option(value=pair.id)
        else:  # ordering: the catalogue lists the steps in the right order
            for position, step in enumerate(item.steps, 1):
                control(scope, f"{prefix}-{step.id}").select_option(value=str(position))


def explanations(quiz: Activity) -> list[str]:
    """Every explanation the result page must show once the quiz is submitted."""
    found: list[str] = []
    for item in quiz.items:
        found += [en(o.explanation) for o in item.options] + [en(p.explanation) for p in item.pairs]
        if item.explanation is not None:
            found.append(en(item.explanation))
    return found


def submit_quiz_right(visit: Visit, unit_id: str, quiz: Activity) -> str:
    """Start ``quiz``, answer it all right, submit; return the attempt's URL."""
    url = start_attempt(visit, unit_id, quiz)
    answer_quiz(visit.scope, quiz)
    visit.scope.get_by_role("button", name="Submit answers").click()
    visit.wait_for(r"/attempts/\d+")
    expect(visit.scope.locator("p.score")).to_contain_text("Your score: 100%")
    return url


def hand_in(visit: Visit, unit_id: str, activity: Activity, text: str) -> str:
    """Start ``activity`` (a reflection), hand ``text`` in; return the attempt's URL."""
    url = start_attempt(visit, unit_id, activity)
    visit.scope.get_by_label(re.compile(r"^Your answer")).fill(text)
    visit.scope.get_by_role("button", name="Hand in for assessment").click()
    visit.wait_for(r"/attempts/\d+")
    expect(visit.scope.locator(".notice")).to_contain_text("Handed in.")
    return url


def open_dashboard(visit: Visit) -> None:
    """From the trainer's unit list, follow the link to the trainer dashboard."""
    visit.scope.get_by_role("link", name="Open the trainer dashboard").click()
    visit.wait_for(re.escape("/trainer"))
    expect(visit.scope.get_by_role("heading", level=1)).to_have_text("Trainer dashboard")


def assess(visit: Visit, learner: User, activity: Activity, levels: list[int], feedback: str) -> None:
    """From the dashboard, open ``learner``'s submission and rate every criterion; save."""
    row = visit.scope.get_by_role("row").filter(has_text=learner.name).filter(has_text=en(activity.title))
    expect(row).to_have_count(1)
    row.get_by_role("link", name=f"Assess {learner.name}").click()
    visit.wait_for(r"/trainer/attempts/\d+")
    expect(visit.scope.get_by_role("heading", level=1)).to_have_text(en(activity.title))
    expect(visit.scope.locator(".meta")).to_contain_text(f"By {learner.name}")
    for criterion, level in zip(activity.rubric, levels, strict=True):
        group = visit.scope.get_by_role("group", name=en(criterion.criterion), exact=True)
        group.get_by_role("radio", name=re.compile(rf"^{level}:")).check()
    visit.scope.get_by_label("Feedback for the learner").fill(feedback)
    visit.scope.get_by_role("button", name="Save the assessment").click()
    visit.wait_for(re.escape("/trainer"))
    expect(visit.scope.locator(".notice")).to_contain_text("Your assessment was saved")


def people_link(page: Page, person: User) -> Any:
    """The dashboard's link to ``person`` in the heatmap of the course's learners."""
    return page.locator("table.heatmap").get_by_role("link", name=person.name, exact=True)


def standing(page: Page, competency_id: str) -> Any:
    """The level cell of ``competency_id`` in a standings table."""
    tag = page.locator(".tag", has_text=re.compile(rf"^{re.escape(competency_id)}$"))
    return page.locator("table.standings tr").filter(has=tag).locator("td.level")


def focused(scope: Scope) -> Any:
    """What ``document.activeElement`` is: tag, type, id, checked state and text."""
    return scope.evaluate(
        "() => { const e = document.activeElement; return e && {tag: e.tagName.toLowerCase(),"
        " type: e.type || '', id: e.id, checked: !!e.checked, text: (e.textContent || '').trim(),"
        " visible: e.matches(':focus-visible'),"
        " outline: getComputedStyle(e).outlineStyle, width: parseFloat(getComputedStyle(e).outlineWidth)}; }"
    )


def tab_until(page: Page, wanted: Any, what: str) -> Any:
    """Press Tab until ``wanted(focused element)`` holds; fail after MAX_TABS presses."""
    for _ in range(MAX_TABS):
        page.keyboard.press("Tab")
        now = focused(page)
        if now and wanted(now):
            return now
    pytest.fail(f"{MAX_TABS} presses of Tab never reached {what} (focus: {focused(page)})")


def assert_focus_visible(element: Any) -> None:
    assert element["visible"], f"the focused control does not match :focus-visible: {element}"
    assert element["outline"] != "none" and element["width"] > 0, f"no visible focus outline: {element}"


# -- 1. the learner's journey, inside the LMS's iframe -----------------------------------


def test_learner_studies_a_unit_inside_the_lms_frame(page: Page, demo: DemoServers) -> None:
    learner = learners(demo.emulator.institutions[0])[0]
    unit = unit_of(demo, UNIT)
    quiz, reflection = activity_of(demo, "u1-quiz"), activity_of(demo, "u1-reflection")
    visit = launch(page, demo, learner, UNIT, in_frame=True)
    frame = visit.scope
    assert isinstance(frame, Frame) and frame is not page.main_frame

    # The empty state: not started, the progress bar at 0, one way in.
    expect(frame.get_by_role("heading", level=1)).to_have_text(f"Unit {unit.order}: {en(unit.title)}")
    expect(frame.locator("p.empty")).to_contain_text("You have not started this unit yet")
    bar = frame.get_by_role("progressbar")
    expect(bar).to_have_attribute("value", "0")
    expect(bar).to_have_accessible_name("Your progress in this unit")
    expect(frame.get_by_role("link", name=re.compile(r"^Resume:"))).to_have_count(0)
    frame.get_by_role("link", name="Start the unit").click()

    # Read with the pager: the first page, then Next twice.
    for page_number in range(3):
        content = unit.pages[page_number]
        visit.wait_for(re.escape(f"/units/{UNIT}/pages/{content.id}"))
        expect(frame.locator(".content-page")).to_contain_text(en(content.title))
        expect(frame.locator("p.meta").first).to_contain_text(f"Page {page_number + 1} of {len(unit.pages)}")
        if page_number < 2:
            frame.get_by_role("navigation", name="Pages of this unit").locator('a[rel="next"]').click()
    last_read = unit.pages[2]

    # Back on the overview: progress above 0, and Resume points at the last page read.
    frame.get_by_role("navigation", name="Breadcrumbs").get_by_role("link", name=f"Unit {unit.order}").click()
    visit.wait_for(re.escape(f"/units/{UNIT}"))
    expect(frame.locator("p.empty")).to_have_count(0)
    value = frame.get_by_role("progressbar").get_attribute("value")
    assert value is not None and float(value) > 0, f"progress after reading 3 pages: {value}"
    resume = frame.get_by_role("link", name=f"Resume: {en(last_read.title)}")
    expect(resume).to_have_count(1)
    assert urlsplit(resume.get_attribute("href") or "").path == f"/units/{UNIT}/pages/{last_read.id}"
    expect(frame.locator(".done-mark")).to_have_count(3)

    # The quiz: start, answer every item right with radios, checkboxes and selects, submit.
    frame.get_by_role("link", name=en(quiz.title)).click()
    visit.wait_for(re.escape(f"/units/{UNIT}/activities/{quiz.id}"))
    frame.get_by_role("button", name="Start", exact=True).click()
    visit.wait_for(r"/attempts/\d+")
    answer_quiz(frame, quiz)
    frame.get_by_role("button", name="Submit answers").click()
    visit.wait_for(r"/attempts/\d+")
    expect(frame.locator("p.score")).to_contain_text("Your score: 100%")
    expect(frame.locator("p.score")).to_contain_text("You passed.")
    shown = squash(frame.locator("main").inner_text())
    missing = [text for text in explanations(quiz) if squash(text) not in shown]
    assert not missing, f"explanations missing from the result page: {missing}"
    expect(frame.locator("p.verdict")).to_have_text(["Correct"] * len(quiz.items))

    # The reflection: start, type, autosave (JSON), reload: the draft came from the server.
    frame.get_by_role("link", name="Back to the unit").click()
    visit.wait_for(re.escape(f"/units/{UNIT}"))
    frame.get_by_role("link", name=en(reflection.title)).click()
    visit.wait_for(re.escape(f"/units/{UNIT}/activities/{reflection.id}"))
    frame.get_by_role("button", name="Start", exact=True).click()
    visit.wait_for(r"/attempts/\d+")
    attempt_url = frame.url
    attempt_path = urlsplit(attempt_url).path
    draft = "First thoughts: our home care team visits forty older people each week."
    answer = frame.get_by_label(re.compile(r"^Your answer"))

    def full_draft_saved(response: Response) -> bool:  # an earlier save may carry part of the text
        request = response.request
        return urlsplit(request.url).path == f"{attempt_path}/save" and draft in (request.post_data or "")

    with page.expect_response(full_draft_saved) as saving:
        answer.press_sequentially(draft)
    saved = saving.value
    assert saved.request.method == "POST"
    assert saved.request.headers.get("accept") == "application/json"
    assert saved.status == 200 and "saved_at" in saved.json(), saved.text()
    expect(frame.locator(".autosave-status")).to_contain_text("Draft saved automatically at")
    expect(frame.locator("#answer-count")).to_have_text(f"{len(draft.split())} words")

    frame.goto(attempt_url)  # a fresh load, not a history restore of the form's state
    expect(frame.get_by_label(re.compile(r"^Your answer"))).to_have_value(draft)
    served = page.request.get(attempt_url)  # and straight from the server, no browser state at all
    assert served.status == 200
    assert re.search(r"<textarea[^>]*>" + re.escape(draft) + "</textarea>", served.text()), served.text()

    # Hand it in with enough words.
    full = reflection_text((reflection.min_words or 0) + 20)
    frame.get_by_label(re.compile(r"^Your answer")).fill(full)
    frame.get_by_role("button", name="Hand in for assessment").click()
    visit.wait_for(re.escape(attempt_path))
    expect(frame.locator(".notice")).to_contain_text("Handed in.")
    expect(frame.locator(".answer-text")).to_have_text(full)
    expect(frame.locator("p.meta").first).to_have_text("Submitted, waiting for your trainer")
    expect(frame.locator("form.attempt-form")).to_have_count(0)


# -- 2. the keyboard alone ----------------------------------------------------------------


def test_a_quiz_can_be_answered_and_submitted_with_the_keyboard(page: Page, demo: DemoServers) -> None:
    learner = learners(demo.emulator.institutions[0])[2]
    quiz = next(a for a in unit_of(demo, KEYBOARD_UNIT).activities if a.kind == "quiz")
    visit = launch(page, demo, learner, KEYBOARD_UNIT)
    start_attempt(visit, KEYBOARD_UNIT, quiz)
    first = quiz.items[0]
    assert first.type in ("single", "multiple"), "the keyboard test expects a choice question first"

    page.bring_to_front()
    choice = tab_until(page, lambda e: e["id"].startswith(f"item-{first.id}-"), "the first question")
    assert choice["type"] in ("radio", "checkbox") and not choice["checked"], choice
    assert_focus_visible(choice)
    page.keyboard.press("Space")
    chosen = focused(page)
    assert chosen["id"] == choice["id"] and chosen["checked"], chosen
    expect(control(page, chosen["id"])).to_be_checked()

    submit = tab_until(page, lambda e: e["tag"] == "button" and e["text"] == "Submit answers",
                       "the Submit answers button")
    assert_focus_visible(submit)
    page.keyboard.press("Enter")
    visit.wait_for(r"/attempts/\d+")
    expect(page.locator("p.score")).to_contain_text("Your score:")
    option_id = chosen["id"].removeprefix(f"item-{first.id}-")
    option = first.option(option_id)
    assert option is not None
    picked = page.locator("section.quiz-feedback").first.locator("li.picked")
    expect(picked).to_have_count(1)
    expect(picked).to_contain_text(en(option.text))
    expect(picked).to_contain_text("Your choice.")


# -- 3. the trainer assesses; the learner sees it -----------------------------------------


def test_trainer_assesses_and_the_learner_sees_feedback_and_competencies(
    page: Page, other_page: Page, demo: DemoServers,
) -> None:
    institution = demo.emulator.institutions[0]
    learner, trainer = learners(institution)[1], trainer_of(institution)
    quiz, reflection = activity_of(demo, "u1-quiz"), activity_of(demo, "u1-reflection")
    studying = launch(page, demo, learner, UNIT)
    submit_quiz_right(studying, UNIT, quiz)
    attempt_url = hand_in(studying, UNIT, reflection, reflection_text((reflection.min_words or 0) + 5))

    assessing = launch(other_page, demo, trainer, None)
    open_dashboard(assessing)
    expect(other_page.locator("table.waiting caption")).to_contain_text(
        re.compile(r"\d+ submissions? to assess"))
    levels = [3 - (n % 2) for n in range(len(reflection.rubric))]  # 3, 2, 3, ...
    feedback = "Clear and specific.\nNext time, say what the family carers told you."
    assess(assessing, learner, reflection, levels, feedback)
    recent = other_page.get_by_role("link", name=f"{learner.name}: {en(reflection.title)}")
    expect(recent).to_be_visible()

    # The learner reloads their attempt: the trainer's levels and feedback are there.
    page.goto(attempt_url)
    expect(page.get_by_role("heading", name="Your trainer's assessment")).to_be_visible()
    expect(page.locator("p.meta").first).to_have_text(re.compile(r"^Scored \d+%$"))
    table = page.get_by_role("table", name="Level given for each criterion (0 to 3)")
    for criterion, level in zip(reflection.rubric, levels, strict=True):
        row = table.get_by_role("row").filter(has=page.get_by_role("rowheader", name=en(criterion.criterion)))
        expect(row.get_by_role("cell").first).to_have_text(str(level))
        descriptor = next(x for x in criterion.levels if x.score == level).descriptor
        expect(row.get_by_role("cell").nth(1)).to_have_text(en(descriptor))
    expect(page.get_by_role("heading", name="Feedback")).to_be_visible()
    expect(page.locator(".answer-text").last).to_have_text(feedback)
    expect(page.locator(".notice")).to_have_count(0)

    # Their competencies: a level wherever the quiz and the reflection both gave evidence.
    page.get_by_role("link", name="Back to the unit").click()
    page.get_by_role("navigation", name="Breadcrumbs").get_by_role("link", name="All units").click()
    page.get_by_role("link", name="My competencies").click()
    studying.wait_for(re.escape("/competencies"))
    expect(page.get_by_role("heading", level=1)).to_have_text("My competencies")
    both = sorted(set(quiz.weights) & set(reflection.weights))
    assert both
    for competency_id in both:
        expect(standing(page, competency_id)).not_to_have_text("Not enough evidence yet")
        expect(standing(page, competency_id)).to_have_class(re.compile(r"\blevel-[1-4]\b"))
    evidence = page.get_by_role("table", name="Evidence, newest first")
    for activity_id in (quiz.id, reflection.id):
        expect(evidence.get_by_role("cell", name=activity_id, exact=True).first).to_be_visible()

    # The trainer's view of the same learner shows the same levels.
    assessing.go("/trainer")
    people_link(other_page, learner).click()
    assessing.wait_for(r"/trainer/learners/\d+")
    expect(other_page.get_by_role("heading", level=1)).to_have_text(learner.name)
    for competency_id in both:
        expect(standing(other_page, competency_id)).not_to_have_text("Not enough evidence yet")


# -- 4. hostile text stays text -------------------------------------------------------------


@dataclass
class Watch:
    """What a page did that it must not: dialogs opened, CSP refusals logged."""

    dialogs: list[str]
    refusals: list[str]


def watch(page: Page) -> Watch:
    seen = Watch(dialogs=[], refusals=[])

    def on_dialog(dialog: Dialog) -> None:
        seen.dialogs.append(f"{dialog.type}: {dialog.message} on {page.url}")
        dialog.dismiss()

    def on_console(message: ConsoleMessage) -> None:
        if "Content Security Policy" in message.text:
            seen.refusals.append(f"{message.text} on {page.url}")

    page.on("dialog", on_dialog)
    page.on("console", on_console)
    return seen


def assert_inert(page: Page, seen: Watch, where: str) -> None:
    """Nothing of the hostile text ran or became markup on the page now shown."""
    page.wait_for_load_state("load")
    assert page.evaluate("() => window.__xss") is None, f"injected script ran on {where}"
    markup = page.evaluate(
        "() => ({inline: document.querySelectorAll('script:not([src])').length,"
        " svg: document.querySelectorAll('main svg:not(svg.chart[role=img])').length,"
        " img: document.querySelectorAll('main img[src=\"x\"]').length})"
    )
    assert markup == {"inline": 0, "svg": 0, "img": 0}, f"hostile text became markup on {where}: {markup}"
    assert not seen.dialogs, seen.dialogs
    assert not seen.refusals, f"the page tried to run injected code (CSP refused it): {seen.refusals}"


def expect_literal(scope: Any, texts: tuple[str, ...]) -> None:
    for text in texts:
        expect(scope).to_contain_text(text)


def test_hostile_text_is_shown_as_text_everywhere(page: Page, other_page: Page, demo: DemoServers) -> None:
    institution = demo.emulator.institutions[0]
    learner, trainer = learners(institution)[2], trainer_of(institution)
    reflection = activity_of(demo, "u1-reflection")
    learner_seen, trainer_seen = watch(page), watch(other_page)
    answer = " ".join(HOSTILE) + "\n" + reflection_text((reflection.min_words or 0) + 5)
    feedback = "Feedback " + " then ".join(HOSTILE)
    note = "Observed " + " and ".join(HOSTILE)

    studying = launch(page, demo, learner, UNIT)
    attempt_url = hand_in(studying, UNIT, reflection, answer)
    assert_inert(page, learner_seen, "the learner's handed-in attempt")
    expect_literal(page.locator(".answer-text"), HOSTILE)

    assessing = launch(other_page, demo, trainer, None)
    open_dashboard(assessing)
    assert_inert(other_page, trainer_seen, "the trainer dashboard with work waiting")
    row = other_page.get_by_role("row").filter(has_text=learner.name).filter(has_text=en(reflection.title))
    row.get_by_role("link", name=f"Assess {learner.name}").click()
    assessing.wait_for(r"/trainer/attempts/\d+")
    assess_url = other_page.url
    assert_inert(other_page, trainer_seen, "the assessment page")
    expect_literal(other_page.locator(".answer-text"), HOSTILE)
    assessing.go("/trainer")
    assess(assessing, learner, reflection, [2] * len(reflection.rubric), feedback)
    assert_inert(other_page, trainer_seen, "the trainer dashboard after assessing")

    # The assessed work, reopened by the trainer: the feedback is back in its textarea, as typed.
    other_page.goto(assess_url)
    assert_inert(other_page, trainer_seen, "the assessment page with feedback")
    expect(other_page.get_by_label("Feedback for the learner")).to_have_value(feedback)

    # A rating note, shown on the trainer's learner page and on the learner's competencies page.
    assessing.go("/trainer")
    people_link(other_page, learner).click()
    assessing.wait_for(r"/trainer/learners/\d+")
    other_page.get_by_label("Competency", exact=True).select_option(index=0)
    other_page.get_by_role("group", name="Level").get_by_role("radio").first.check()
    other_page.get_by_label("Note (what you observed)").fill(note)
    other_page.get_by_role("button", name="Save", exact=True).click()
    assessing.wait_for(r"/trainer/learners/\d+")
    expect(other_page.locator(".notice")).to_contain_text("Saved.")
    assert_inert(other_page, trainer_seen, "the trainer's learner page")
    expect_literal(other_page.get_by_role("table", name="Evidence, newest first"), (note,))

    page.goto(attempt_url)
    assert_inert(page, learner_seen, "the learner's assessed attempt")
    expect_literal(page.locator(".answer-text").first, HOSTILE)
    expect(page.locator(".answer-text").last).to_have_text(feedback)
    studying.go("/competencies")
    assert_inert(page, learner_seen, "the learner's competencies page")
    expect_literal(page.get_by_role("table", name="Evidence, newest first"), (note,))
    studying.go("/")
    assert_inert(page, learner_seen, "the learner's unit list")


# -- 5. axe-core and a narrow viewport on every page type ----------------------------------


@dataclass
class Audit:
    """axe-core's serious/critical violations and sideways scrolling, page type by page type.

    Each page is checked at desktop width and again at 360 px, the width of the LMS's iframe on
    a phone: axe-core a second time (scrolling regions only become regions when content
    overflows) and whether the body scrolls sideways.
    """

    page: Page
    checked: list[str] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)

    def axe(self, label: str) -> None:
        print(f"[{label}]")
        blocking, report = axe_blocking(self.page)
        if blocking:
            self.failures.append(f"[{label}] axe-core: {report}")

    def __call__(self, label: str) -> None:
        self.page.wait_for_load_state("load")
        self.axe(label)
        self.page.set_viewport_size(NARROW)
        try:
            overflow = self.page.evaluate(OVERFLOW_JS)
            self.axe(f"{label}, {NARROW['width']} px")
        finally:
            self.page.set_viewport_size(WIDE)
        if overflow["scroll"] > overflow["inner"] + 1:
            self.failures.append(f"[{label}] at {NARROW['width']} px the body scrolls sideways: {overflow}")
        self.checked.append(label)


OVERFLOW_JS = """() => {
  const inner = window.innerWidth;
  const wide = [...document.querySelectorAll('body *')]
    .filter(e => e.getBoundingClientRect().right > inner + 1)
    .filter(e => !e.closest('.visually-hidden, .skip-link'))
    .filter(e => !e.parentElement || !e.parentElement.closest('.table-scroll'))
    .slice(0, 8)
    .map(e => e.tagName.toLowerCase() + (e.className ? '.' + String(e.className).split(' ').join('.') : '')
         + ' (' + Math.round(e.getBoundingClientRect().right) + 'px)');
  return {scroll: document.documentElement.scrollWidth, inner, wide};
}"""

def open_rubric(page: Page) -> None:
    """Open the "How your trainer will assess this" details, so its table is checked too."""
    page.locator("details.rubric > summary").click()
    expect(page.get_by_role("region", name="Assessment criteria and levels")).to_be_visible()


PAGE_TYPES = (
    "trainer dashboard (empty)", "unit overview (empty state)", "unit list", "content page",
    "case-study page", "unit overview (in progress)", "activity page", "quiz form", "quiz result",
    "reflection form", "reflection handed in", "lab canvas form", "error page (404)",
    "trainer dashboard (with work)", "assessment page", "trainer's learner page",
    "activity page (with attempts)", "assessed work (learner's view)", "learner's competencies page",
)


def test_every_page_type_passes_axe_and_fits_a_narrow_frame(
    page: Page, other_page: Page, demo: DemoServers,
) -> None:
    institution = demo.emulator.institutions[1]  # a course no other test hands work in
    learner, trainer = learners(institution)[0], trainer_of(institution)
    unit = unit_of(demo, UNIT)
    quiz, reflection = activity_of(demo, "u1-quiz"), activity_of(demo, "u1-reflection")
    canvas = activity_of(demo, "u3-lab-canvas")
    audit = Audit(page=page)
    trainer_audit = Audit(page=other_page, checked=audit.checked, failures=audit.failures)

    assessing = launch(other_page, demo, trainer, None, institution=1)
    open_dashboard(assessing)
    expect(other_page.locator("p.empty", has_text="Nothing is waiting")).to_be_visible()
    trainer_audit("trainer dashboard (empty)")

    studying = launch(page, demo, learner, UNIT, institution=1)
    expect(page.locator("p.empty")).to_contain_text("You have not started this unit yet")
    audit("unit overview (empty state)")
    studying.go("/")
    expect(page.locator("ol.unit-list > li")).to_have_count(5)
    audit("unit list")
    studying.go(f"/units/{UNIT}/pages/{unit.pages[0].id}")
    expect(page.locator(".content-page table").first).to_be_visible()
    audit("content page")
    case = next(p for p in unit.pages if p.kind == "case-study")
    studying.go(f"/units/{UNIT}/pages/{case.id}")
    expect(page.locator("p.meta").first).to_contain_text("Case study")
    audit("case-study page")
    studying.go(f"/units/{UNIT}")
    expect(page.get_by_role("link", name=re.compile(r"^Resume:"))).to_be_visible()
    audit("unit overview (in progress)")
    studying.go(f"/units/{UNIT}/activities/{quiz.id}")
    audit("activity page")
    start_attempt(studying, UNIT, quiz)
    audit("quiz form")
    answer_quiz(page, quiz)
    page.get_by_role("button", name="Submit answers").click()
    studying.wait_for(r"/attempts/\d+")
    expect(page.locator("p.score")).to_contain_text("Your score: 100%")
    audit("quiz result")
    studying.go(f"/units/{UNIT}/activities/{quiz.id}")
    expect(page.get_by_role("table", name="Your attempts at this activity")).to_be_visible()
    audit("activity page (with attempts)")
    reflection_url = start_attempt(studying, UNIT, reflection)
    page.get_by_label(re.compile(r"^Your answer")).fill("A first line.")
    open_rubric(page)
    audit("reflection form")
    page.get_by_label(re.compile(r"^Your answer")).fill(reflection_text((reflection.min_words or 0) + 5))
    page.get_by_role("button", name="Hand in for assessment").click()
    studying.wait_for(r"/attempts/\d+")
    expect(page.locator(".notice")).to_contain_text("Handed in.")
    open_rubric(page)
    audit("reflection handed in")
    start_attempt(studying, LAB_UNIT, canvas)
    expect(page.locator("section.canvas-section")).to_have_count(len(canvas.sections))
    open_rubric(page)
    audit("lab canvas form")
    assert studying.go("/units/u9-nowhere") == 404
    expect(page.locator(".error-message")).to_contain_text("There is no unit")
    expect(page.locator(".who")).to_contain_text(learner.name)
    audit("error page (404)")

    assessing.go("/trainer")
    expect(other_page.locator("table.waiting caption")).to_contain_text("1 submission to assess")
    trainer_audit("trainer dashboard (with work)")
    row = other_page.get_by_role("row").filter(has_text=learner.name)
    row.get_by_role("link", name=f"Assess {learner.name}").click()
    assessing.wait_for(r"/trainer/attempts/\d+")
    trainer_audit("assessment page")
    assessing.go("/trainer")
    assess(assessing, learner, reflection, [3] * len(reflection.rubric), "Well argued.\nKeep going.")
    people_link(other_page, learner).click()
    assessing.wait_for(r"/trainer/learners/\d+")
    expect(other_page.get_by_role("table", name="Evidence, newest first")).to_be_visible()
    trainer_audit("trainer's learner page")

    page.goto(reflection_url)
    expect(page.get_by_role("heading", name="Your trainer's assessment")).to_be_visible()
    audit("assessed work (learner's view)")
    studying.go("/competencies")
    expect(page.get_by_role("table", name="Evidence, newest first")).to_be_visible()
    expect(page.get_by_role("region", name="Evidence, newest first")).to_be_visible()
    audit("learner's competencies page")

    assert sorted(audit.checked) == sorted(PAGE_TYPES)
    assert not audit.failures, "\n\n".join(audit.failures)


def test_content_page_tables_scroll_by_keyboard_at_narrow_width(page: Page, demo: DemoServers) -> None:
    learner = learners(demo.emulator.institutions[1])[1]
    unit = unit_of(demo, UNIT)
    visit = launch(page, demo, learner, UNIT, institution=1)
    page.set_viewport_size(NARROW)
    visit.go(f"/units/{UNIT}/pages/{unit.pages[0].id}")
    expect(page.locator(".content-page table").first).to_be_visible()
    wider = page.evaluate("() => [...document.querySelectorAll('.content-page .table-scroll')]"
                          ".some(t => t.scrollWidth > t.clientWidth)")
    assert wider, "no content table overflows at 360 px: this test no longer shows anything"
    blocking, report = axe_blocking(page)
    assert not [v for v in blocking if v["id"] == "scrollable-region-focusable"], report

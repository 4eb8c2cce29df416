"""One learner across two institutions, in real Chromium, on the seeded two-institution demo.

Ana Novak studies at both emulated institutions (seeded work at each, two separate records):

1. she makes a link code at the first institution and enters it at the second, confirms, and
   her evidence from both shows on her profile, each row with its institution;
2. the second institution's trainer sees the first institution's evidence only after she
   agrees to share it;
3. she gets an Open Badges 3.0 credential for a competency where she is proficient, the public
   page verifies it, and the downloaded credential fails verification once its payload is edited.

The tests run in file order on one demo. axe-core checks every page the learner and trainer use.
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from lms_emulator.platform import Institution, User
from lti_tool.demo import DemoServers
from tests.e2e.test_dashboard_browser import (
    check_axe,
    launch,
    open_on_its_own,
    person,
    screenshot,
    seeded_demo,
    tool_url_pattern,
)

pytestmark = pytest.mark.browser

LEARNER = "Ana Novak"
CREDENTIAL_COMPETENCY = "L2I-C3.1"


@pytest.fixture(scope="module")
def demo(chromium: object, tmp_path_factory: pytest.TempPathFactory) -> Iterator[DemoServers]:
    """The seeded two-institution demo, started once for this module."""
    del chromium
    with seeded_demo(tmp_path_factory.mktemp("cross-institution-demo")) as servers:
        yield servers


def ana(institution: Institution) -> User:
    """Return Ana Novak as ``institution`` knows her."""
    return next(u for u in institution.users if u.name == LEARNER)


PATHS = {"Your institutions": "/account/links", "My competencies": "/competencies",
         "Open the trainer dashboard": "/trainer"}


def open_tool_page(page: Page, demo: DemoServers, institution: Institution, user: User, link: str) -> None:
    """Launch as ``user`` and open the tool page behind the units page's link ``link``, in the tab."""
    frame = launch(page, demo, institution, user)
    frame.get_by_role("link", name=link, exact=True).click()
    frame.wait_for_url(tool_url_pattern(demo, PATHS[link]))
    frame.wait_for_load_state()
    open_on_its_own(page, frame)


def evidence_institutions(page: Page) -> set[str]:
    """Return the institutions named in the learner's flat evidence table."""
    cells = page.locator("table.evidence tbody tr td:nth-child(6)").all_inner_texts()
    return {c.strip() for c in cells}


def test_a_learner_links_her_two_institutions(
    page: Page, demo: DemoServers, artifacts_dir: Path, request: pytest.FixtureRequest,
) -> None:
    first, second = demo.emulator.institutions
    open_tool_page(page, demo, first, ana(first), "Your institutions")
    expect(page.get_by_role("heading", level=1)).to_have_text("Your institutions")
    expect(page.get_by_role("table").locator("tbody tr")).to_have_count(1)
    check_axe(page)
    page.get_by_role("button", name="Make a link code").click()
    code = page.locator(".link-code code").inner_text()
    assert len(code) == 11 and code[5] == "-", code
    check_axe(page)

    open_tool_page(page, demo, second, ana(second), "Your institutions")
    page.get_by_label("Link code").fill(code.lower())
    page.get_by_role("button", name="Check the code").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Link your accounts?")
    expect(page.locator("main")).to_contain_text(first.name)
    check_axe(page)
    screenshot(page, artifacts_dir, request, "confirm")
    page.get_by_role("button", name="Yes, link these accounts").click()
    expect(page.get_by_role("status")).to_have_text(
        "Your accounts are linked. Your levels now use the evidence from all of them.")
    rows = page.get_by_role("table").locator("tbody tr")
    expect(rows).to_have_count(2)
    expect(rows.nth(0)).to_contain_text(first.name)
    expect(rows.nth(1)).to_contain_text(second.name)
    check_axe(page)
    screenshot(page, artifacts_dir, request, "linked")

    page.get_by_role("link", name="My competencies").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("My competencies")
    assert evidence_institutions(page) >= {first.name, second.name}, "her evidence from both, each labelled"

    # the code worked once
    open_tool_page(page, demo, second, ana(second), "Your institutions")
    page.get_by_label("Link code").fill(code)
    page.get_by_role("button", name="Check the code").click()
    expect(page.get_by_role("alert")).to_contain_text("already used")


def trainers_view_of_ana(page: Page, demo: DemoServers, institution: Institution) -> str:
    """Open the course dashboard as ``institution``'s trainer, then Ana's page; return its main text."""
    open_tool_page(page, demo, institution, person(institution, "Trainer"), "Open the trainer dashboard")
    page.locator("table.heatmap").get_by_role("link", name=LEARNER).click()
    expect(page.get_by_role("heading", level=1)).to_contain_text(LEARNER)
    check_axe(page)
    return page.locator("main").inner_text()


def test_the_other_institutions_trainer_needs_her_consent(page: Page, demo: DemoServers) -> None:
    first, second = demo.emulator.institutions
    before = trainers_view_of_ana(page, demo, second)
    assert first.name not in before, "evidence from the first institution is hidden without consent"
    assert second.name in before

    open_tool_page(page, demo, second, ana(second), "My competencies")
    page.get_by_label("Yes, trainers at all my institutions").check()
    page.get_by_role("button", name="Save my choice").click()
    expect(page.get_by_role("status")).to_have_text("Your choice was saved.")

    after = trainers_view_of_ana(page, demo, second)
    assert first.name in after, "with her consent the first institution's evidence shows, labelled"

    # the trainer records what they observed: Proficient in one competency, for the next test
    page.get_by_label("Competency", exact=True).select_option(CREDENTIAL_COMPETENCY)
    page.get_by_label("3. Proficient").check()
    page.get_by_label("Note (what you observed)").fill("Ran the lab's stakeholder session on her own.")
    page.get_by_label("Override: set this level, whatever the evidence says").check()
    page.get_by_role("button", name="Save", exact=True).click()
    expect(page.get_by_role("status").first).to_contain_text("Saved.")


def test_her_credential_verifies_and_fails_once_edited(
    page: Page, demo: DemoServers, artifacts_dir: Path, request: pytest.FixtureRequest, tmp_path: Path,
) -> None:
    first = demo.emulator.institutions[0]  # proficient by the other institution's trainer: one record
    open_tool_page(page, demo, first, ana(first), "My competencies")
    row = page.locator("#eligible-caption").locator("xpath=..").locator("tbody tr").filter(
        has_text=CREDENTIAL_COMPETENCY)
    expect(row).to_have_count(1)
    row.get_by_role("button", name=re.compile("^Issue credential")).click()
    expect(page.get_by_role("status").first).to_contain_text("Your credential is ready.")
    check_axe(page)
    row = page.locator("#eligible-caption").locator("xpath=..").locator("tbody tr").filter(
        has_text=CREDENTIAL_COMPETENCY)
    with page.expect_download() as download_info:
        row.get_by_role("link", name=re.compile(r"^Download \(\.jwt\)")).click()
    target = tmp_path / "credential.jwt"
    download_info.value.save_as(target)
    token = target.read_text(encoding="utf-8").strip()
    assert token.count(".") == 2, token[:40]

    row.get_by_role("link", name=re.compile("^Verification page")).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Credential check")
    expect(page.get_by_role("status").first).to_contain_text(
        "Valid: this credential was issued by this tool, is unchanged, and has not been revoked.")
    expect(page.locator("main")).to_contain_text(CREDENTIAL_COMPETENCY)
    check_axe(page)
    screenshot(page, artifacts_dir, request, "credential")

    page.goto(f"{demo.tool_url}/credentials/verify")  # the public form anyone can use
    expect(page.get_by_role("heading", level=1)).to_have_text("Check a credential")
    page.get_by_label("The credential's text (the content of its .jwt file)").fill(tamper(token))
    page.get_by_role("button", name="Check", exact=True).click()
    expect(page.get_by_role("status").first).to_contain_text(
        "Not valid: the credential was changed after it was issued.")
    check_axe(page)
    screenshot(page, artifacts_dir, request, "tampered")
    page.get_by_label("The credential's text (the content of its .jwt file)").fill(token)
    page.get_by_role("button", name="Check", exact=True).click()
    expect(page.get_by_role("status").first).to_contain_text("Valid: this credential was issued by this tool")


def tamper(token: str) -> str:
    """Return the VC-JWT with one character of its credential changed and the signature kept."""
    header, payload, signature = token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    text = json.dumps(claims).replace('"Proficient"', '"Expert"', 1)
    assert text != json.dumps(claims), "the credential names the level it attests"
    edited = base64.urlsafe_b64encode(text.encode()).rstrip(b"=").decode()
    return ".".join((header, edited, signature))

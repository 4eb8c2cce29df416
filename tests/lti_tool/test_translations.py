"""The UI in English, Swedish, Slovenian and Spanish: complete catalogues, and pages in the launch's language.

Content (units, pages, activities) is English-only for now and falls back to English per field;
the words around it (navigation, buttons, messages) come from ``lti_tool/translations``.
"""

from __future__ import annotations

import ast
import gettext
import io
import re
from pathlib import Path
from typing import Any

import pytest
from babel.messages.catalog import Catalog, Message
from babel.messages.frontend import CommandLineInterface
from babel.messages.mofile import write_mo
from babel.messages.plurals import get_plural
from babel.messages.pofile import read_po
from flask import Flask
from flask.testing import FlaskClient

from course_units.content import count_words
from course_units.i18n import N_, Count
from course_units.i18n import Message as DomainMessage
from course_units.text import localise
from lti_tool.app import SUPPORTED_LOCALES
from lti_tool.web.state import app_state
from lti_tool.web.translation import translate
from tests.fixtures.lti import LaunchDriver

ROOT = Path(__file__).resolve().parents[2]
TRANSLATIONS = ROOT / "lti_tool" / "translations"
TEMPLATE = TRANSLATIONS / "messages.pot"
LOCALES = [locale for locale in SUPPORTED_LOCALES if locale != "en"]
# The same command as README's "Languages" section.
EXTRACT = ["pybabel", "extract", "-F", "babel.cfg", "-k", "_", "-k", "N_", "-k", "lazy_gettext",
           "-k", "ngettext:1,2", "--no-wrap", "--sort-by-file", "--project", "L2I Engine"]
PLACEHOLDER = re.compile(r"%\((\w+)\)[sdr]")
UNIT = "u1-challenges"
# Seeded learners of the first emulated institution, by the locale their LMS sends.
LEARNER_INDEX = {"sl": 0, "sv": 1, "es": 2}


def po_path(locale: str) -> Path:
    return TRANSLATIONS / locale / "LC_MESSAGES" / "messages.po"


def read_catalog(path: Path, locale: str | None = None) -> Catalog:
    with path.open("rb") as handle:
        return read_po(handle, locale=locale)


def entries(catalog: Catalog) -> list[Message]:
    return [m for m in catalog if m.id]


def forms(value: str | tuple[str, ...] | None) -> tuple[str, ...]:
    if value is None:
        return ()
    return (value,) if isinstance(value, str) else tuple(value)


def names(text: str) -> set[str]:
    return set(PLACEHOLDER.findall(text))


def msgstr(locale: str, msgid: str) -> str:
    """Return the translation of ``msgid`` in ``locale``'s catalogue."""
    message = read_catalog(po_path(locale), locale).get(msgid)
    assert message is not None and isinstance(message.string, str), msgid
    return message.string


# ---------------------------------------------------------------------------------------------
# The catalogues


@pytest.mark.parametrize("locale", LOCALES)
def test_every_message_is_translated_and_none_is_fuzzy(locale: str) -> None:
    catalog = read_catalog(po_path(locale), locale)
    assert str(catalog.locale) == locale
    assert not catalog.fuzzy, "the catalogue's header is marked fuzzy"
    plural_forms = get_plural(locale)  # what pybabel init writes: 2 for sv and es, 4 for sl
    assert catalog.num_plurals == plural_forms.num_plurals
    assert catalog.plural_forms == plural_forms.plural_forms
    problems = []
    for message in entries(catalog):
        strings = forms(message.string)
        if message.fuzzy:
            problems.append(f"fuzzy: {message.id!r}")
        if not strings or not all(s.strip() for s in strings):
            problems.append(f"untranslated: {message.id!r}")
        if message.pluralizable and len(strings) != catalog.num_plurals:
            problems.append(f"{len(strings)} plural forms instead of {catalog.num_plurals}: {message.id!r}")
    assert not problems, "\n".join(problems)
    assert entries(catalog), "an empty catalogue"


@pytest.mark.parametrize("locale", LOCALES)
def test_translations_keep_every_placeholder(locale: str) -> None:
    catalog = read_catalog(po_path(locale), locale)
    problems = []
    for message in entries(catalog):
        expected = set().union(*(names(i) for i in forms(message.id)))
        for text in forms(message.string):
            if names(text) != expected:
                problems.append(f"{message.id!r}: {sorted(names(text))} instead of {sorted(expected)}")
            if "%" in PLACEHOLDER.sub("", text).replace("%%", ""):
                problems.append(f"{message.id!r}: a lone % (write %% for a percent sign): {text!r}")
    for message, errors in catalog.check():  # Babel's own python-format and plural checks
        problems.extend(f"{message.id!r}: {error}" for error in errors)
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("locale", LOCALES)
def test_the_catalogue_compiles_and_chooses_plural_forms(locale: str) -> None:
    catalog = read_catalog(po_path(locale), locale)
    buffer = io.BytesIO()
    write_mo(buffer, catalog)
    buffer.seek(0)
    compiled = gettext.GNUTranslations(buffer)
    singular, plural = "%(num)d attempt left", "%(num)d attempts left"
    strings = forms(catalog[singular].string)
    expected_index = {
        "sv": lambda n: 0 if n == 1 else 1,
        "es": lambda n: 0 if n == 1 else 1,
        "sl": lambda n: 0 if n % 100 == 1 else 1 if n % 100 == 2 else 2 if n % 100 in (3, 4) else 3,
    }[locale]
    for n in (0, 1, 2, 3, 4, 5, 11, 101, 102, 103, 105):
        assert compiled.ngettext(singular, plural, n) == strings[expected_index(n)], n
    assert compiled.gettext("Save draft") == msgstr(locale, "Save draft")


@pytest.mark.parametrize("locale", LOCALES)
def test_the_compiled_catalogue_the_app_reads_is_up_to_date(locale: str) -> None:
    source = po_path(locale)
    compiled = source.with_suffix(".mo")
    assert compiled.exists() and compiled.stat().st_mtime >= source.stat().st_mtime, (
        f"{compiled} is missing or older than its .po: run `make translations` "
        "(or .venv/bin/pybabel compile -d lti_tool/translations)"
    )


def test_the_template_and_the_catalogues_match_the_sources(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.chdir(ROOT)
    fresh = tmp_path / "messages.pot"
    CommandLineInterface().run([*EXTRACT, "-o", str(fresh), "."])
    capsys.readouterr()  # the extractor lists every file it reads
    extracted = {m.id for m in entries(read_catalog(fresh))}
    stored = {m.id for m in entries(read_catalog(TEMPLATE))}
    assert extracted == stored, (
        "lti_tool/translations/messages.pot is out of date (see README, Languages): "
        f"new {sorted(map(str, extracted - stored))}, gone {sorted(map(str, stored - extracted))}"
    )
    for locale in LOCALES:
        in_po = {m.id for m in entries(read_catalog(po_path(locale), locale))}
        assert in_po == stored, f"{locale}: run pybabel update, then translate what is new"


def test_the_domain_packages_do_not_import_flask() -> None:
    for package in ("course_units", "competencies"):
        for path in (ROOT / package).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if isinstance(node, ast.Import):
                    modules = [alias.name for alias in node.names]
                elif isinstance(node, ast.ImportFrom):
                    modules = [node.module or ""]
                else:
                    continue
                assert not any(m.split(".")[0] in ("flask", "flask_babel") for m in modules), path


# ---------------------------------------------------------------------------------------------
# Domain messages


def test_a_domain_message_is_english_text_until_the_web_layer_translates_it(app: Flask) -> None:
    template = N_("Your answer is %(chars)s characters long; the limit is %(limit)s. Shorten it.")
    message = DomainMessage(template, chars=Count(50_001), limit=Count(50_000))
    assert message == "Your answer is 50,001 characters long; the limit is 50,000. Shorten it."
    with app.test_request_context(headers={"Accept-Language": "en"}):
        assert translate(message) == message
    with app.test_request_context(headers={"Accept-Language": "sl"}):
        shown = translate(message)
    assert shown == msgstr("sl", template) % {"chars": "50.001", "limit": "50.000"}
    with app.test_request_context(headers={"Accept-Language": "es"}):
        assert translate("plain text is left as it is") == "plain text is left as it is"


# ---------------------------------------------------------------------------------------------
# Real launches


def launch(driver: LaunchDriver, locale: str, link: Any) -> tuple[FlaskClient, str]:
    """Launch the seeded learner whose LMS speaks ``locale``; return the client and the landing path."""
    driver.client = driver.client.application.test_client()
    learner = driver.user("Learner", LEARNER_INDEX[locale])
    assert learner.locale == locale
    response = driver.launch(learner, link, locale=None)
    assert response.status_code == 303, response.get_data(as_text=True)
    return driver.client, response.headers["Location"]


@pytest.mark.parametrize("locale", ["sv", "sl", "es"])
def test_a_learner_sees_the_unit_list_in_the_language_of_their_lms(driver: LaunchDriver, locale: str) -> None:
    client, landing = launch(driver, locale, driver.link(None))
    html = client.get(landing).get_data(as_text=True)
    assert f'<html lang="{locale}">' in html
    assert msgstr(locale, "Learning 2 Innovate: your units") in html
    assert msgstr(locale, "Unit %(n)s:") % {"n": 1} in html
    assert msgstr(locale, "My competencies") in html
    assert "your units" not in html and "My competencies" not in html


def test_an_english_launch_keeps_the_english_ui(driver: LaunchDriver) -> None:
    driver.client = driver.client.application.test_client()
    response = driver.launch(driver.user("Learner", LEARNER_INDEX["sv"]), driver.link(None), locale="en")
    html = driver.client.get(response.headers["Location"]).get_data(as_text=True)
    assert '<html lang="en">' in html and "Learning 2 Innovate: your units" in html


def test_a_page_shows_english_content_inside_a_swedish_ui(app: Flask, driver: LaunchDriver) -> None:
    unit = app_state(app).catalog.unit(UNIT)
    assert unit is not None
    page = unit.pages[0]
    assert "sv" not in page.body and "sv" not in page.title, "the content now has Swedish: update this test"
    client, _ = launch(driver, "sv", driver.link(UNIT))
    html = client.get(f"/units/{UNIT}/pages/{page.id}").get_data(as_text=True)
    with app.test_request_context(headers={"Accept-Language": "sv"}):
        body = str(app.jinja_env.filters["markdown"](localise(page.body, "sv")))
    assert body and body in html  # the English body, as the page's markdown filter renders it
    assert localise(page.body, "sv") == page.body["en"]
    assert msgstr("sv", "All units") in html
    assert msgstr("sv", "Page %(number)s of %(total)s") % {"number": 1, "total": len(unit.pages)} in html
    assert "All units" not in html


def test_a_too_short_reflection_is_refused_in_the_learners_language(app: Flask, driver: LaunchDriver) -> None:
    reflection = app_state(app).catalog.activity("u1-reflection")
    assert reflection is not None
    client, _ = launch(driver, "sl", driver.link(UNIT))
    page = client.get(f"/units/{UNIT}/activities/{reflection.id}").get_data(as_text=True)
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert csrf
    started = client.post(f"/units/{UNIT}/activities/{reflection.id}/attempts",
                          data={"csrf_token": csrf.group(1)})
    assert started.status_code == 303
    path = started.headers["Location"].split("?")[0]
    answer = "Too short to hand in."
    short = client.post(f"{path}/submit", data={"csrf_token": csrf.group(1), "answer": answer})
    assert short.status_code == 422
    html = short.get_data(as_text=True)
    template = "Your answer has %(words)s words; write at least %(min)s."
    assert msgstr("sl", template) % {"words": count_words(answer), "min": reflection.min_words} in html
    assert "Your answer has" not in html


def test_a_refusal_from_the_web_layer_is_translated(driver: LaunchDriver) -> None:
    client, _ = launch(driver, "es", driver.link(None))
    response = client.get("/units/u9-nowhere")
    assert response.status_code == 404
    html = response.get_data(as_text=True)
    template = "There is no unit '%(unit)s' in this programme. Go back to the list of units."
    assert msgstr("es", template) % {"unit": "u9-nowhere"} in html
    assert f"<h1>{msgstr('es', 'Not Found')}</h1>" in html


@pytest.mark.parametrize(("header", "locale"),
                         [("es-ES,es;q=0.9", "es"), ("sv", "sv"), ("de", "en"), ("", "en")])
def test_without_a_launch_the_browser_language_is_used(app: Flask, header: str, locale: str) -> None:
    headers = {"Accept-Language": header} if header else {}
    html = app.test_client().get("/", headers=headers).get_data(as_text=True)
    assert f'<html lang="{locale}">' in html
    intro = ("It opens from your learning platform: go to your course and choose the "
             "Learning 2 Innovate activity.")
    assert (msgstr(locale, intro) if locale != "en" else intro) in html

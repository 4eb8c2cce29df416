"""Loading the five units, and reporting content faults with file and line."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from competencies.framework import load_framework
from course_units.content import Catalog
from course_units.loader import (
    CONTENT_DIR,
    ContentError,
    ContentProblem,
    Problems,
    YamlDocument,
    load_catalog,
    read_yaml,
    validate_document,
)
from course_units.schemas import UnitSchema, schema_for_kind

KNOWN = load_framework().competency_ids()
UNIT_IDS = ["u1-challenges", "u2-social-innovation", "u3-labs", "u4-teams-and-users", "u5-impact"]
CANVAS_SECTIONS = ["problem", "target-group", "members", "stakeholders", "methods", "evaluation"]


# ---------------------------------------------------------------------------------------------
# The real content


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return load_catalog(known_competencies=KNOWN)


def test_the_five_units_load_in_order(catalog: Catalog) -> None:
    assert [u.id for u in catalog.units] == UNIT_IDS
    assert [u.order for u in catalog.units] == [1, 2, 3, 4, 5]


@pytest.mark.parametrize("unit_id", UNIT_IDS)
def test_each_unit_has_objectives_pages_and_a_case_study(catalog: Catalog, unit_id: str) -> None:
    unit = catalog.unit(unit_id)
    assert unit is not None
    assert 3 <= len(unit.objectives) <= 6
    assert all(o["en"].strip() for o in unit.objectives)
    assert len(unit.pages) >= 5
    assert any(p.kind == "case-study" for p in unit.pages)
    for page in unit.pages:
        assert page.unit_id == unit_id
        assert page.body["en"].startswith(f"# {page.title['en']}\n")
        assert unit.page(page.id) is page
    assert 90 <= unit.estimated_minutes <= 180
    assert unit.completion.all_activities is True


@pytest.mark.parametrize("unit_id", UNIT_IDS)
def test_each_unit_has_a_mixed_quiz_and_a_reflection_with_a_four_level_rubric(
    catalog: Catalog, unit_id: str
) -> None:
    unit = catalog.unit(unit_id)
    assert unit is not None
    quizzes = [a for a in unit.activities if a.kind == "quiz"]
    reflections = [a for a in unit.activities if a.kind == "reflection"]
    assert len(quizzes) == 1 and len(reflections) == 1
    quiz, reflection = quizzes[0], reflections[0]
    types = [item.type for item in quiz.items]
    assert len(types) >= 6
    assert "single" in types and "multiple" in types
    assert "matching" in types or "ordering" in types
    assert quiz.auto_graded and quiz.pass_score == pytest.approx(0.7)
    for item in quiz.items:
        if item.type == "single":
            assert sum(o.correct for o in item.options) == 1
        if item.type == "ordering":
            assert item.explanation is not None
    assert not reflection.auto_graded
    assert reflection.rubric and reflection.prompt is not None
    assert 0 < reflection.min_words < reflection.max_words
    for criterion in reflection.rubric:
        assert [level.score for level in criterion.levels] == [0, 1, 2, 3]
    assert reflection.max_rubric_score == 3 * len(reflection.rubric)
    assert set(reflection.weights) <= KNOWN and set(quiz.weights) <= KNOWN


def test_unit_3_has_a_lab_canvas_with_the_six_sections(catalog: Catalog) -> None:
    canvas = catalog.activity("u3-lab-canvas")
    assert canvas is not None
    assert canvas.kind == "lab-canvas" and canvas.unit_id == "u3-labs"
    assert [s.id for s in canvas.sections] == CANVAS_SECTIONS
    assert all(s.min_words > 0 and s.guidance["en"] for s in canvas.sections)
    assert len(canvas.rubric) >= 4


def test_each_unit_has_a_plausible_amount_of_english_text_for_its_study_time(catalog: Catalog) -> None:
    for unit in catalog.units:
        words = unit.word_count("en")
        pages = sum(p.word_count() for p in unit.pages)
        print(f"{unit.id}: {words} words ({pages} in pages), {unit.estimated_minutes} minutes")
        # 1.5 to 3 hours of study: the pages take 45-120 minutes at a careful 100 words a minute,
        # and the quiz, reflection and canvas the rest.
        assert 5_000 <= words <= 14_000
        assert 45 <= pages / 100 <= 120
        assert sum(p.minutes for p in unit.pages) < unit.estimated_minutes
        assert words == pages + sum(a.word_count() for a in unit.activities)
    # A translation falls back to English, so a locale with no text counts the same.
    assert catalog.units[0].word_count("sv") == catalog.units[0].word_count("en")


def test_catalog_lookups(catalog: Catalog) -> None:
    assert len(catalog.activities()) == 11
    unit = catalog.unit_of_activity("u2-quiz")
    assert unit is not None and unit.id == "u2-social-innovation"
    assert catalog.unit_of_activity("nope") is None and catalog.activity("nope") is None
    assert catalog.unit("nope") is None
    assert catalog.competency_ids() <= KNOWN
    assert "L2I-C1.1" in catalog.competency_ids()
    quiz = catalog.activity("u1-quiz")
    assert quiz is not None and quiz.weights["L2I-C8.1"] == pytest.approx(0.6)
    assert quiz.max_rubric_score == 0


# ---------------------------------------------------------------------------------------------
# Broken copies


@pytest.fixture
def content(tmp_path: Path) -> Path:
    target = tmp_path / "content"
    shutil.copytree(CONTENT_DIR, target)
    return target


def edit(path: Path, old: str, new: str, count: int = 1) -> None:
    text = path.read_text(encoding="utf-8")
    assert text.count(old) == count, f"{old!r} occurs {text.count(old)} times in {path}"
    path.write_text(text.replace(old, new), encoding="utf-8")


def rewrite_yaml(path: Path, change: Callable[[dict[str, Any]], None]) -> None:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    change(data)
    path.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=200), encoding="utf-8")


def line_of(path: Path, needle: str, occurrence: int = 1) -> int:
    numbers = [n for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1) if needle in line]
    assert len(numbers) >= occurrence, f"{needle!r} not found {occurrence} times in {path}"
    return numbers[occurrence - 1]


def load_error(content: Path) -> ContentError:
    with pytest.raises(ContentError) as info:
        load_catalog(content, known_competencies=KNOWN)
    return info.value


def assert_reported(error: ContentError, path: Path, line: int | None, fragment: str) -> ContentProblem:
    matching = [p for p in error.problems if p.path == path and p.line == line and fragment in p.message]
    assert matching, f"no problem at {path}:{line} with {fragment!r} in:\n{error}"
    where = (
        f"{path.relative_to(path.parents[2])}:{line}: " if line else f"{path.relative_to(path.parents[2])}: "
    )
    assert where + matching[0].message in str(error)
    return matching[0]


def test_a_yaml_syntax_error_is_reported_at_its_line(content: Path) -> None:
    quiz = content / "u1-challenges/activities/u1-quiz.yaml"
    edit(quiz, "max_attempts: 3\n", "max_attempts: 3\n  oops: here\n")
    error = load_error(content)
    assert_reported(error, quiz, line_of(quiz, "  oops: here"), "not valid YAML")


def test_an_unclosed_flow_mapping_is_reported_near_its_line(content: Path) -> None:
    unit = content / "u2-social-innovation/unit.yaml"
    edit(unit, 'title: {en: "What is social innovation?"}', 'title: {en: "What is social innovation?"')
    error = load_error(content)
    problem = assert_reported(
        error, unit, line_of(unit, 'title: {en: "What is social innovation?"') + 1, "YAML"
    )
    assert "flow mapping" in problem.message


def test_a_missing_required_field_is_reported_at_its_parent(content: Path) -> None:
    quiz = content / "u1-challenges/activities/u1-quiz.yaml"
    edit(
        quiz,
        "        explanation: {en: \"It may look like a saving in the municipality's accounts, but the total "
        'cost, and the harm to people, went up."}\n',
        "",
    )
    error = load_error(content)
    option_line = line_of(quiz, 'text: {en: "A successful efficiency saving"}') - 1
    assert_reported(error, quiz, option_line, "items[2].options[1].explanation: required field is missing")


def test_a_missing_top_level_field_is_reported_at_line_1(content: Path) -> None:
    quiz = content / "u2-social-innovation/activities/u2-quiz.yaml"
    edit(quiz, "pass_score: 0.7\n", "")
    assert_reported(load_error(content), quiz, 1, "pass_score: required field is missing")


def test_an_activity_id_used_in_two_units_is_refused(content: Path) -> None:
    copy = content / "u2-social-innovation/activities/u1-reflection.yaml"
    shutil.copy(content / "u1-challenges/activities/u1-reflection.yaml", copy)
    edit(
        content / "u2-social-innovation/unit.yaml",
        "  - u2-reflection\n",
        "  - u2-reflection\n  - u1-reflection\n",
    )
    error = load_error(content)
    problem = assert_reported(error, copy, 1, "activity id 'u1-reflection' is already used by")
    assert "u1-challenges/activities/u1-reflection.yaml" in problem.message


def test_a_single_choice_item_with_two_correct_options_is_refused(content: Path) -> None:
    quiz = content / "u1-challenges/activities/u1-quiz.yaml"
    edit(
        quiz,
        'text: {en: "People aged 15 to 64"}\n        correct: false',
        'text: {en: "People aged 15 to 64"}\n        correct: true',
    )
    error = load_error(content)
    assert_reported(
        error,
        quiz,
        line_of(quiz, "    options:"),
        "items[0].options: a single-choice item needs exactly one correct",
    )


def test_an_unknown_competency_id_is_refused_with_where_to_look(content: Path) -> None:
    quiz = content / "u1-challenges/activities/u1-quiz.yaml"
    edit(quiz, "L2I-C8.1", "L2I-C9.9", count=3)
    error = load_error(content)
    problem = assert_reported(error, quiz, line_of(quiz, "{id: L2I-C9.9, weight: 0.6}"), "competencies[4].id")
    assert problem.message.endswith(
        "unknown competency id L2I-C9.9; known ids are in competencies/framework/l2i.yaml"
    )
    assert len(error.problems) == 1


def test_competency_ids_are_not_checked_without_a_framework(content: Path) -> None:
    edit(content / "u1-challenges/activities/u1-quiz.yaml", "L2I-C8.1", "L2I-C9.9", count=3)
    assert "L2I-C9.9" in load_catalog(content).competency_ids()


def test_a_missing_page_file_is_reported_at_its_entry(content: Path) -> None:
    (content / "u4-teams-and-users/pages/03-stakeholders.en.md").unlink()
    unit = content / "u4-teams-and-users/unit.yaml"
    assert_reported(
        load_error(content),
        unit,
        line_of(unit, "file: pages/03-stakeholders"),
        "pages[2].file: page file pages/03-stakeholders.en.md does not exist",
    )


def test_an_activity_listed_without_a_file_is_reported(content: Path) -> None:
    (content / "u5-impact/activities/u5-reflection.yaml").unlink()
    unit = content / "u5-impact/unit.yaml"
    assert_reported(
        load_error(content),
        unit,
        line_of(unit, "  - u5-reflection"),
        "activity 'u5-reflection' is listed but activities/u5-reflection.yaml does not exist",
    )


def test_an_activity_file_that_is_not_listed_is_reported(content: Path) -> None:
    edit(content / "u1-challenges/unit.yaml", "  - u1-reflection\n", "")
    reflection = content / "u1-challenges/activities/u1-reflection.yaml"
    assert_reported(load_error(content), reflection, None, "activity file is not listed under activities:")


@pytest.mark.parametrize(
    "relative", ["u5-impact/pages/03-evidence.en.md", "u1-challenges/activities/u1-quiz.yaml"]
)
def test_a_file_over_1_mb_is_refused(content: Path, relative: str) -> None:
    big = content / relative
    with big.open("a", encoding="utf-8") as stream:
        stream.write("# padding\n" * 110_000)
    problem = assert_reported(load_error(content), big, None, "over the 1 MB limit")
    assert "1,048,576 bytes" in problem.message


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        (
            "    minutes: 20\n    kind: case-study",
            '    minutes: "20"\n    kind: case-study',
            "pages[6].minutes",
        ),
        ("estimated_minutes: 160", "estimated_minutes: 16O", "estimated_minutes: Not a whole number"),
        (
            "  all_activities: true",
            "  all_activities: yes please",
            "completion.all_activities: Not true or false",
        ),
    ],
)
def test_a_value_of_the_wrong_type_is_reported_at_its_line(
    content: Path, old: str, new: str, message: str
) -> None:
    unit = content / "u1-challenges/unit.yaml"
    edit(unit, old, new)
    problem = assert_reported(load_error(content), unit, line_of(unit, new.split("\n")[0].strip()), message)
    assert "Not a whole number" in problem.message or "Not true or false" in problem.message


def test_a_string_weight_is_refused(content: Path) -> None:
    quiz = content / "u1-challenges/activities/u1-quiz.yaml"
    edit(quiz, "{id: L2I-C8.1, weight: 0.6}", '{id: L2I-C8.1, weight: "0.6"}')
    assert_reported(
        load_error(content), quiz, line_of(quiz, 'weight: "0.6"'), "competencies[4].weight: Not a number"
    )


# (file, old, new, line needle, its occurrence, message fragment): one fault each, reported at that line.
QUIZ = "u1-challenges/activities/u1-quiz.yaml"
REFLECTION = "u1-challenges/activities/u1-reflection.yaml"
UNIT = "u1-challenges/unit.yaml"
UNIT2 = "u2-social-innovation/unit.yaml"
CANVAS = "u3-labs/activities/u3-lab-canvas.yaml"
SECOND_OPTION = 'id: b\n        text: {en: "People aged 15 to 64"}'
LAST_LEVEL = '      - {score: 3, descriptor: {en: "The writer reflects'
FAULTS = [
    (QUIZ, "max_attempts: 3\n", "max_attempts: 3\nmax_attempts: 4\n", "max_attempts: 4", 1, "duplicate key"),
    (QUIZ, "pass_score: 0.7", "pass_scor: 0.7", "pass_scor:", 1, "pass_scor: unknown field"),
    (QUIZ, "weight: 0.6}", "weight: 1.5}", "weight: 1.5", 1, "competencies[4].weight: must be > 0 and <= 1"),
    (QUIZ, "weight: 0.6}", "weight: 0}", "weight: 0}", 1, "competencies[4].weight: must be > 0"),
    (QUIZ, "    type: ordering", "    type: sorting", "type: sorting", 1, "items[7].type: Must be one of"),
    (QUIZ, "competencies: [L2I-C1.3]\n", "competencies: [L2I-C2.1]\n", "[L2I-C2.1]", 1, "L2I-C2.1 not among"),
    (
        QUIZ,
        'title: {en: "Check',
        'title: {sv: "Check',
        "title: {sv:",
        1,
        "title: The English text (en) is required",
    ),
    (QUIZ, 'title: {en: "Check', 'title: {english: "Check', "title: {english:", 1, "Not a locale: 'english'"),
    (QUIZ, '{en: "People aged 80 and over"}', '{en: ""}', 'text: {en: ""}', 1, "non-empty string"),
    (
        QUIZ,
        'title: {en: "Check your understanding: challenges for social services"}',
        "title: Check",
        "title: Check",
        1,
        'Not a language map: write {en: "..."}',
    ),
    (QUIZ, "weight: 0.6}", "weight: .nan}", "weight: .nan", 1, "competencies[4].weight: Not a number"),
    (QUIZ, "version: 1", "version: true", "version: true", 1, "version: Not a whole number"),
    (QUIZ, "max_attempts: 3", "max_attempts:", "max_attempts:", 1, "max_attempts: must not be empty"),
    (QUIZ, "kind: quiz", "kind: survey", "kind: survey", 1, "kind: Must be one of"),
    (QUIZ, "id: u1-quiz", "id: u1-quizz", "id: u1-quizz", 1, "must match the file name (u1-quiz.yaml)"),
    (
        QUIZ,
        SECOND_OPTION,
        SECOND_OPTION.replace("id: b", "id: a"),
        "options:",
        1,
        "duplicate option id(s): a",
    ),
    (QUIZ, "  - id: q2\n", "  - id: q1\n", "items:", 1, "items: duplicate item id(s): q1"),
    (
        REFLECTION,
        LAST_LEVEL,
        LAST_LEVEL.replace("score: 3", "score: 2"),
        "    levels:",
        4,
        "rubric[3].levels: a",
    ),
    (
        REFLECTION,
        "min_words: 300",
        "min_words: 3000",
        "max_words:",
        1,
        "max_words must be greater than min_words",
    ),
    (REFLECTION, "  - id: r4\n", "  - id: r1\n", "rubric:", 1, "rubric: duplicate criterion id(s): r1"),
    (
        CANVAS,
        "  - id: evaluation",
        "  - id: evaluating",
        "sections:",
        1,
        "missing lab-canvas section(s): evaluation",
    ),
    (UNIT2, "order: 2", "order: 1", "order: 1", 1, "order: 1 is already the order of"),
    (
        UNIT,
        "id: u1-p2-ageing",
        "id: u1-p1-turning-point",
        "pages:",
        1,
        "duplicate page id(s): u1-p1-turning-point",
    ),
    (
        UNIT,
        "estimated_minutes: 160",
        "estimated_minutes: 600",
        "estimated_minutes: 600",
        1,
        "or equal to 180",
    ),
    (UNIT, "    kind: case-study", "    kind: story", "kind: story", 1, "pages[6].kind: Must be one of"),
    (UNIT, "file: pages/01-turning-point", "file: ../../secrets", "../../secrets", 1, "Not a page file"),
    (UNIT, "id: u1-challenges", "id: u1-challenge", "id: u1-challenge", 1, "must match the folder name"),
]


@pytest.mark.parametrize(("relative", "old", "new", "needle", "occurrence", "fragment"), FAULTS)
def test_each_fault_is_reported_at_its_line(
    content: Path, relative: str, old: str, new: str, needle: str, occurrence: int, fragment: str
) -> None:
    path = content / relative
    edit(path, old, new)
    error = load_error(content)
    assert_reported(error, path, line_of(path, needle, occurrence), fragment)


def test_a_page_id_used_in_two_units_is_refused(content: Path) -> None:
    unit = content / UNIT2
    edit(unit, "id: u2-p1-what-is-social-innovation", "id: u1-p1-turning-point")
    problem = assert_reported(
        load_error(content), unit, line_of(unit, "id: u1-p1-turning-point"), "pages[0].id"
    )
    assert "page id 'u1-p1-turning-point' is already used at" in problem.message


def test_an_ordering_item_needs_an_explanation(content: Path) -> None:
    quiz = content / QUIZ
    rewrite_yaml(quiz, lambda data: data["items"][7].pop("explanation"))
    assert_reported(
        load_error(content),
        quiz,
        line_of(quiz, "- id: q8"),
        "items[7].explanation: an ordering item needs an explanation",
    )


def test_a_quiz_needs_six_items(content: Path) -> None:
    quiz = content / QUIZ
    rewrite_yaml(quiz, lambda data: data.update(items=data["items"][:5]))
    assert_reported(
        load_error(content), quiz, line_of(quiz, "items:"), "a quiz needs at least 6 items, not 5"
    )


def test_a_quiz_needs_a_matching_or_ordering_item(content: Path) -> None:
    quiz = content / QUIZ

    def drop(data: dict[str, Any]) -> None:
        data["items"] = [i for i in data["items"] if i["type"] in ("single", "multiple")]

    rewrite_yaml(quiz, drop)
    assert_reported(
        load_error(content), quiz, line_of(quiz, "items:"), "at least one matching or ordering item"
    )


def test_a_multiple_choice_item_needs_a_correct_and_a_wrong_option(content: Path) -> None:
    quiz = content / QUIZ

    def all_wrong(data: dict[str, Any]) -> None:
        for option in data["items"][1]["options"]:
            option["correct"] = False

    rewrite_yaml(quiz, all_wrong)
    options_line = line_of(quiz, "options:", occurrence=2)
    assert_reported(load_error(content), quiz, options_line, "items[1].options: a multiple-choice item needs")


def test_a_declared_competency_without_an_item_is_reported(content: Path) -> None:
    quiz = content / QUIZ

    def narrow_all(data: dict[str, Any]) -> None:
        for item in data["items"]:
            item["competencies"] = [c for c in item.get("competencies", ["L2I-C1.1"]) if c != "L2I-C8.1"] or [
                "L2I-C1.1"
            ]

    rewrite_yaml(quiz, narrow_all)
    assert_reported(
        load_error(content), quiz, line_of(quiz, "competencies:"), "no item gives evidence for L2I-C8.1"
    )


def test_yaml_aliases_are_refused(content: Path) -> None:
    quiz = content / QUIZ
    edit(quiz, 'title: {en: "Check', 'title: &t {en: "Check')
    edit(quiz, "instructions:\n  en: |", "instructions: *t\nold_instructions:\n  en: |")
    assert_reported(load_error(content), quiz, line_of(quiz, "instructions: *t"), "YAML aliases")


def test_a_case_study_needs_its_questions(content: Path) -> None:
    page = content / "u1-challenges/pages/07-case-linkoping.en.md"
    edit(page, "## Questions to think about", "## Some questions")
    assert_reported(
        load_error(content), page, None, "a case study ends with a '## Questions to think about' list"
    )


def test_page_markdown_rules(content: Path) -> None:
    page = content / "u2-social-innovation/pages/02-how-it-develops.en.md"
    with page.open("a", encoding="utf-8") as stream:
        stream.write("\n# A second title\n\nSee <b>this</b>, but `<i>` in code is fine.\n")
    error = load_error(content)
    assert_reported(error, page, line_of(page, "# A second title"), "only the page title is a '# ' heading")
    assert_reported(error, page, line_of(page, "<b>this</b>"), "raw HTML")
    assert len(error.problems) == 2


def test_a_page_title_that_differs_from_unit_yaml_is_reported(content: Path) -> None:
    page = content / "u1-challenges/pages/02-ageing.en.md"
    edit(page, "# An ageing Europe", "# An ageing world")
    assert_reported(load_error(content), page, 1, "differs from unit.yaml's 'An ageing Europe'")


def test_a_translation_is_loaded_and_an_odd_locale_file_is_refused(content: Path) -> None:
    pages = content / "u1-challenges/pages"
    (pages / "02-ageing.sv.md").write_text("# Ett åldrande Europa\n\nText.\n", encoding="utf-8")
    loaded = load_catalog(content, known_competencies=KNOWN)
    unit = loaded.unit("u1-challenges")
    assert unit is not None
    page = unit.page("u1-p2-ageing")
    assert page is not None and page.body["sv"].startswith("# Ett åldrande Europa")
    assert page.word_count("sv") == 4
    (pages / "02-ageing.swedish.md").write_text("# X\n", encoding="utf-8")
    assert_reported(load_error(content), pages / "02-ageing.swedish.md", None, "'swedish' is not a locale")


def test_faults_in_several_files_are_all_reported_at_once(content: Path) -> None:
    (content / "u4-teams-and-users/pages/03-stakeholders.en.md").unlink()
    quiz = content / QUIZ
    edit(quiz, "pass_score: 0.7", 'pass_score: "0.7"')
    reflection = content / "u5-impact/activities/u5-reflection.yaml"
    edit(reflection, "kind: reflection", "kind: essay")
    error = load_error(content)
    assert {p.path.name for p in error.problems} == {"unit.yaml", "u1-quiz.yaml", "u5-reflection.yaml"}
    assert str(error).count("\n") == len(error.problems) - 1


def test_a_missing_content_folder_is_reported(tmp_path: Path) -> None:
    with pytest.raises(ContentError, match="content folder does not exist"):
        load_catalog(tmp_path / "nowhere")
    with pytest.raises(ContentError, match="no units found"):
        load_catalog(tmp_path)


def test_deeply_nested_yaml_is_refused_before_parsing(content: Path) -> None:
    quiz = content / QUIZ
    quiz.write_text("id: u1-quiz\nitems: " + "[" * 200_000 + "]" * 200_000 + "\n", encoding="utf-8")
    assert_reported(load_error(content), quiz, None, "nested more than 32 levels deep")


def test_a_page_file_that_is_not_listed_is_reported(content: Path) -> None:
    stray = content / "u3-labs/pages/08-extra.en.md"
    stray.write_text("# Extra\n\nText.\n", encoding="utf-8")
    assert_reported(load_error(content), stray, None, "page file is not listed under pages: in unit.yaml")


# ---------------------------------------------------------------------------------------------
# Any value anywhere gives problems, never a crash


def data_paths(value: Any, here: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    paths = [here] if here else []
    if isinstance(value, dict):
        for key, child in value.items():
            paths += data_paths(child, (*here, key))
    elif isinstance(value, list):
        for index, child in enumerate(value):
            paths += data_paths(child, (*here, index))
    return paths


def replaced(data: Any, path: tuple[Any, ...], new: Any) -> Any:
    copy = yaml.safe_load(yaml.safe_dump(data))
    target = copy
    for part in path[:-1]:
        target = target[part]
    target[path[-1]] = new
    return copy


yaml_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=6),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=4), children, max_size=4)
    ),
    max_leaves=10,
)
SOURCES = {
    relative: yaml.safe_load((CONTENT_DIR / relative).read_text(encoding="utf-8"))
    for relative in (QUIZ, REFLECTION, CANVAS, UNIT)
}


@settings(max_examples=300, deadline=None)
@given(data=st.data(), relative=st.sampled_from(sorted(SOURCES)), value=yaml_values)
def test_any_value_anywhere_is_reported_not_crashed_on(
    data: st.DataObject, relative: str, value: Any
) -> None:
    source = SOURCES[relative]
    path = data.draw(st.sampled_from(data_paths(source)))
    document = YamlDocument(Path(relative), replaced(source, path, value), {(): 1})
    schema = UnitSchema() if relative == UNIT else schema_for_kind(document.data.get("kind"))
    problems = Problems()
    validated = validate_document(document, schema, problems)
    assert (validated.data is None) == bool(problems.items)
    assert all(p.line == 1 and p.message for p in problems.items)


# ---------------------------------------------------------------------------------------------
# Any bytes in a content file give problems, never a crash

yaml_tokens = st.sampled_from([
    "kind: quiz\n", "id: ", "title: {en: ", "}", "{", "[", "]", "- ", "  ", "\n", ":", "&a ", "*a",
    "!!python/object:os.system ", "!!binary ", "? [a]\n: b\n", "\ufeff", "\t", "'", '"', "\\x", "\\ud800",
    "%YAML 1.1\n", "---\n", "...\n", "#", "1e999", "0x", "2026-13-45", "<<: *a\n", "\r", "\x00", "\x85",
])


@settings(max_examples=200, deadline=None)
@given(raw=st.binary(max_size=200) | st.lists(yaml_tokens, max_size=40).map("".join).map(
    lambda text: text.encode("utf-8", "surrogatepass")) | st.text(max_size=200).map(str.encode))
def test_any_bytes_in_a_yaml_file_are_read_or_reported(raw: bytes) -> None:
    """Any bytes in a content file (bad UTF-8, tags, aliases, merge keys, BOMs, NULs): read, or reported."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder, "unit.yaml")
        path.write_bytes(raw)
        problems = Problems()
        document = read_yaml(path, problems)
    assert (document is None) == bool(problems.items)
    assert all(p.message and p.path == path for p in problems.items)
    if document is not None:
        assert isinstance(document.data, dict) and document.line_of(("no", "such", "path")) >= 1

"""Scoring quizzes and rubrics on the server, checking open answers, and display shuffles."""

from __future__ import annotations

import math
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from course_units.content import (
    Activity,
    Catalog,
    CompetencyWeight,
    Option,
    Pair,
    QuizItem,
    Step,
)
from course_units.loader import load_catalog
from course_units.scoring import (
    MAX_ANSWER_CHARS,
    AnswerError,
    QuizResult,
    check_open_answer,
    count_words,
    score_quiz,
    score_rubric,
    shuffled_pairs,
    shuffled_steps,
)

T = {"en": "text"}


def option(option_id: str, correct: bool = False) -> Option:
    return Option(option_id, {"en": option_id}, correct, {"en": "why"})


SINGLE = QuizItem("q1", "single", T, ("C1",), options=(option("a", True), option("b"), option("c")))
MULTIPLE = QuizItem(
    "q2",
    "multiple",
    T,
    ("C1",),
    options=(option("a", True), option("b", True), option("c", True), option("d"), option("e")),
)
MATCHING = QuizItem(
    "q3", "matching", T, (), pairs=tuple(Pair(f"p{n}", {"en": "l"}, {"en": f"r{n}"}, T) for n in range(1, 5))
)
ORDERING = QuizItem(
    "q4",
    "ordering",
    T,
    ("C2",),
    steps=tuple(Step(f"s{n}", {"en": f"step {n}"}) for n in range(1, 6)),
    explanation=T,
)
QUIZ = Activity(
    id="t-quiz",
    unit_id="t",
    kind="quiz",
    version=1,
    title=T,
    instructions=T,
    max_attempts=0,
    competencies=(CompetencyWeight("C1", 1.0), CompetencyWeight("C2", 0.5)),
    pass_score=0.7,
    items=(SINGLE, MULTIPLE, MATCHING, ORDERING),
)
PERFECT = {
    "q1": "a",
    "q2": ["a", "b", "c"],
    "q3": {"p1": "p1", "p2": "p2", "p3": "p3", "p4": "p4"},
    "q4": ["s1", "s2", "s3", "s4", "s5"],
}


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return load_catalog()


def real(catalog: Catalog, activity_id: str) -> Activity:
    activity = catalog.activity(activity_id)
    assert activity is not None
    return activity


def perfect_answers(activity: Activity) -> dict[str, Any]:
    answers: dict[str, Any] = {}
    for item in activity.items:
        if item.type == "single":
            answers[item.id] = next(o.id for o in item.options if o.correct)
        elif item.type == "multiple":
            answers[item.id] = [o.id for o in item.options if o.correct]
        elif item.type == "matching":
            answers[item.id] = {p.id: p.id for p in item.pairs}
        else:
            answers[item.id] = [s.id for s in item.steps]
    return answers


def item_score(result: QuizResult, item_id: str) -> float:
    return next(i.score for i in result.items if i.item_id == item_id)


# ---------------------------------------------------------------------------------------------
# Quiz scoring


def test_a_perfect_quiz_scores_1_and_passes() -> None:
    result = score_quiz(QUIZ, PERFECT)
    assert result.score == 1.0 and result.passed
    assert all(i.correct and i.score == 1.0 for i in result.items)
    assert result.competency_scores == {"C1": 1.0, "C2": 1.0}
    assert [i.item_id for i in result.items] == ["q1", "q2", "q3", "q4"]
    assert result.items[1].chosen == ["a", "b", "c"]


def test_every_real_quiz_scores_1_with_its_correct_answers(catalog: Catalog) -> None:
    for activity in catalog.activities():
        if activity.auto_graded:
            result = score_quiz(activity, perfect_answers(activity))
            assert result.score == pytest.approx(1.0) and result.passed
            assert set(result.competency_scores) == set(activity.weights)


def test_a_single_choice_scores_1_or_0() -> None:
    assert item_score(score_quiz(QUIZ, {"q1": "a"}), "q1") == 1.0
    result = score_quiz(QUIZ, {"q1": "b"})
    assert item_score(result, "q1") == 0.0 and not result.items[0].correct
    assert result.items[0].chosen == "b"


@pytest.mark.parametrize(
    ("chosen", "expected"),
    [
        (["a", "b", "c"], 1.0),
        (["a", "b"], 2 / 3),
        (["a"], 1 / 3),
        (["a", "b", "c", "d"], 0.5),  # all right ones, one of two wrong ones
        (["a", "b", "c", "d", "e"], 0.0),  # ticking every box never pays
        (["a", "d", "e"], 0.0),  # floored at 0, never negative
        (["d"], 0.0),
        ([], 0.0),
        (("c", "b", "a"), 1.0),  # order doesn't matter; a tuple is a list
    ],
)
def test_multiple_choice_scores_right_minus_wrong_choices(chosen: list[str], expected: float) -> None:
    result = score_quiz(QUIZ, {"q2": chosen})
    assert item_score(result, "q2") == pytest.approx(expected)
    assert result.items[1].correct is (expected == 1.0)


@pytest.mark.parametrize(
    ("chosen", "expected"),
    [
        ({"p1": "p1", "p2": "p2", "p3": "p3", "p4": "p4"}, 1.0),
        ({"p1": "p2", "p2": "p1", "p3": "p3", "p4": "p4"}, 0.5),
        ({"p1": "p1", "p2": "p3", "p3": "p2"}, 0.25),  # p4 left unmatched counts as wrong
        ({"p1": "p1", "p2": "p1", "p3": "p1", "p4": "p1"}, 0.25),  # the same right side picked for all
        ({"p1": "p1", "p2": None, "p3": ""}, 0.25),
        ({}, 0.0),
    ],
)
def test_matching_scores_the_share_of_pairs_matched(chosen: dict[str, Any], expected: float) -> None:
    assert item_score(score_quiz(QUIZ, {"q3": chosen}), "q3") == pytest.approx(expected)


@pytest.mark.parametrize(
    ("order", "expected"),
    [
        (["s1", "s2", "s3", "s4", "s5"], 1.0),
        (["s5", "s1", "s2", "s3", "s4"], 0.75),  # one step misplaced: 3 of 4 links kept
        (["s2", "s1", "s3", "s4", "s5"], 0.5),  # neighbours swapped
        (["s1", "s2", "s4", "s3", "s5"], 0.25),
        (["s5", "s4", "s3", "s2", "s1"], 0.0),  # reversed
    ],
)
def test_ordering_scores_the_share_of_links_kept(order: list[str], expected: float) -> None:
    assert item_score(score_quiz(QUIZ, {"q4": order}), "q4") == pytest.approx(expected)


def test_missing_answers_score_0() -> None:
    result = score_quiz(QUIZ, {})
    assert result.score == 0.0 and not result.passed
    assert all(i.score == 0.0 and i.chosen is None and not i.correct for i in result.items)
    assert result.competency_scores == {"C1": 0.0, "C2": 0.0}
    assert score_quiz(QUIZ, {"q1": None, "q2": None}).score == 0.0
    assert score_quiz(QUIZ, {"q1": "a"}).score == pytest.approx(0.25)


def test_competency_scores_follow_item_narrowing() -> None:
    answers = {**PERFECT, "q3": {}}  # q3 (no narrowing, counts for C1 and C2) scores 0
    result = score_quiz(QUIZ, answers)
    assert result.score == pytest.approx(0.75)
    assert result.competency_scores["C1"] == pytest.approx(2 / 3)  # q1, q2, q3
    assert result.competency_scores["C2"] == pytest.approx(0.5)  # q3, q4
    assert result.passed  # 0.75 >= 0.7


def test_the_real_quiz_passes_exactly_at_its_threshold(catalog: Catalog) -> None:
    quiz = real(catalog, "u1-quiz")
    assert len(quiz.items) == 10 and quiz.pass_score == pytest.approx(0.7)
    answers = perfect_answers(quiz)
    seven = {k: answers[k] for k in list(answers)[:7]}
    at_threshold = score_quiz(quiz, seven)
    assert at_threshold.score == pytest.approx(0.7) and at_threshold.passed
    six = {k: answers[k] for k in list(answers)[:6]}
    below = score_quiz(quiz, six)
    assert below.score == pytest.approx(0.6) and not below.passed


def test_the_real_quiz_narrows_competencies(catalog: Catalog) -> None:
    quiz = real(catalog, "u1-quiz")
    answers = perfect_answers(quiz)
    answers.pop("q7")  # narrowed to L2I-C8.3 only
    result = score_quiz(quiz, answers)
    assert result.competency_scores["L2I-C1.1"] == 1.0
    # L2I-C8.3: q6 (all), q7, q8, q9 -> (1 + 0 + 1 + 1) / 4
    assert result.competency_scores["L2I-C8.3"] == pytest.approx(0.75)


BAD_ANSWERS = [
    ({"q99": "a"}, "no question 'q99'"),
    ({1: "a"}, "no question of type int"),
    ({"q1": "z"}, "Question q1 has no option 'z'"),
    ({"q1": ["a"]}, "Question q1 has no option of type list"),
    ({"q1": True}, "Question q1 has no option of type bool"),
    ({"q1": 1}, "of type int"),
    ({"q1": b"a"}, "of type bytes"),
    ({"q1": math.nan}, "of type float"),
    ({"q2": "a"}, "Question q2: give a list of options"),
    ({"q2": {"a": True}}, "give a list"),
    ({"q2": ["a", "a"]}, "each option can be given only once"),
    ({"q2": ["a", "x"]}, "Question q2 has no option 'x'"),
    ({"q2": ["a"] * 1_000_000}, "has only 5 options; 1000000 were given"),
    ({"q2": [["a"]]}, "of type list"),
    ({"q3": ["p1"]}, "Question q3: match each item"),
    ({"q3": {"px": "p1"}}, "has no item to match 'px'"),
    ({"q3": {"p1": "px"}}, "has no match 'px'"),
    ({"q3": {"p1": {"p1": "p1"}}}, "has no match of type dict"),
    ({"q3": {f"p{n}": "p1" for n in range(9)}}, "match each item"),
    ({"q4": ["s1", "s2", "s3", "s4"]}, "put all 5 steps in order"),
    ({"q4": ["s1", "s1", "s2", "s3", "s4"]}, "each step can be given only once"),
    ({"q4": ["s1", "s2", "s3", "s4", "s9"]}, "has no step 's9'"),
    ({"q4": "s1 s2 s3 s4 s5"}, "give a list of steps"),
    ({"q1": "a", "q2": ["a"], "q3": {}, "q4": None, "q5": None}, "4 questions but 5 answers"),
    ({"q1": "x" * 10_000}, "..."),
]


@pytest.mark.parametrize(("answers", "message"), BAD_ANSWERS)
def test_answers_that_do_not_fit_are_refused(answers: dict[Any, Any], message: str) -> None:
    with pytest.raises(AnswerError) as info:
        score_quiz(QUIZ, answers)
    assert message in str(info.value)
    assert len(str(info.value)) < 200  # a long hostile value is not echoed back


@pytest.mark.parametrize("answers", [["q1", "a"], "q1=a", None, 42])
def test_answers_that_are_not_a_mapping_are_refused(answers: Any) -> None:
    with pytest.raises(AnswerError, match="per question"):
        score_quiz(QUIZ, answers)


def test_a_quiz_scorer_refuses_a_reflection(catalog: Catalog) -> None:
    with pytest.raises(AnswerError, match="not a quiz"):
        score_quiz(real(catalog, "u1-reflection"), {})


ids = st.sampled_from(["q1", "q2", "q3", "q4", "a", "b", "d", "p1", "p2", "p4", "s1", "s3", "s5", ""])
junk = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats()
    | st.text(max_size=8)
    | st.binary(max_size=4)
    | ids,
    lambda children: (
        st.lists(children, max_size=6)
        | st.tuples(children, children)
        | st.dictionaries(st.text(max_size=4) | ids, children, max_size=5)
    ),
    max_leaves=20,
)
plausible = st.one_of(
    ids,
    st.lists(ids, max_size=7),
    st.permutations(["s1", "s2", "s3", "s4", "s5"]),
    st.dictionaries(st.sampled_from(["p1", "p2", "p3", "p4"]), st.sampled_from(["p1", "p2", "p3", "p4", ""])),
)


@settings(max_examples=400, deadline=None)
@given(answers=st.dictionaries(ids | st.integers() | st.text(max_size=3), plausible | junk, max_size=6))
def test_score_quiz_only_ever_raises_answer_error_and_scores_within_0_and_1(answers: dict[Any, Any]) -> None:
    try:
        result = score_quiz(QUIZ, answers)
    except AnswerError:
        return
    assert 0.0 <= result.score <= 1.0
    assert all(0.0 <= i.score <= 1.0 for i in result.items)
    assert all(0.0 <= s <= 1.0 for s in result.competency_scores.values())
    assert result.passed is (result.score + 1e-9 >= 0.7)


@settings(max_examples=200, deadline=None)
@given(
    single=st.sampled_from(["a", "b", "c"]),
    multiple=st.sets(st.sampled_from(["a", "b", "c", "d", "e"])).map(sorted),
    order=st.permutations(["s1", "s2", "s3", "s4", "s5"]),
    matching=st.dictionaries(
        st.sampled_from(["p1", "p2", "p3", "p4"]), st.sampled_from(["p1", "p2", "p3", "p4"])
    ),
)
def test_well_formed_answers_are_always_scored(
    single: str, multiple: list[str], order: list[str], matching: dict[str, str]
) -> None:
    result = score_quiz(QUIZ, {"q1": single, "q2": multiple, "q3": matching, "q4": order})
    assert 0.0 <= result.score <= 1.0
    assert item_score(result, "q4") == 1.0 or order != ["s1", "s2", "s3", "s4", "s5"]


# ---------------------------------------------------------------------------------------------
# Rubrics


def test_a_rubric_scores_the_share_of_the_maximum_and_per_competency(catalog: Catalog) -> None:
    reflection = real(catalog, "u1-reflection")  # r1 C1.1; r2 C1.3 + C1.2; r3 C8.3; r4 no narrowing
    result = score_rubric(reflection, {"r1": 3, "r2": 1, "r3": 2, "r4": 0})
    assert result.score == pytest.approx(6 / 12)
    assert result.criteria == {"r1": 3, "r2": 1, "r3": 2, "r4": 0}
    assert result.competency_scores == pytest.approx(
        {"L2I-C1.1": 0.5, "L2I-C1.3": 1 / 6, "L2I-C8.3": 1 / 3, "L2I-C1.2": 1 / 6}
    )
    top = score_rubric(reflection, {"r1": 3, "r2": 3, "r3": 3, "r4": 3})
    assert top.score == 1.0 and set(top.competency_scores.values()) == {1.0}


def test_the_lab_canvas_rubric_is_scored(catalog: Catalog) -> None:
    canvas = real(catalog, "u3-lab-canvas")
    result = score_rubric(canvas, {c.id: 2 for c in canvas.rubric})
    assert result.score == pytest.approx(2 / 3)
    assert set(result.competency_scores) == set(canvas.weights)


@pytest.mark.parametrize(
    ("ratings", "message"),
    [
        ({"r1": 3, "r2": 1, "r3": 2}, "Rate criterion r4 too"),
        ({"r1": 3, "r2": 1, "r3": 2, "r4": 0, "r5": 1}, "no criterion 'r5'"),
        ({"r1": 4, "r2": 1, "r3": 2, "r4": 0}, "Criterion r1: the level must be a whole number from 0 to 3"),
        ({"r1": -1, "r2": 1, "r3": 2, "r4": 0}, "from 0 to 3"),
        ({"r1": "2", "r2": 1, "r3": 2, "r4": 0}, "from 0 to 3"),
        ({"r1": 2.0, "r2": 1, "r3": 2, "r4": 0}, "from 0 to 3"),
        ({"r1": True, "r2": 1, "r3": 2, "r4": 0}, "from 0 to 3"),
        ({"r1": [3], "r2": 1, "r3": 2, "r4": 0}, "from 0 to 3"),
        ({3: 3}, "no criterion of type int"),
    ],
)
def test_ratings_that_do_not_fit_are_refused(catalog: Catalog, ratings: dict[Any, Any], message: str) -> None:
    with pytest.raises(AnswerError, match=message):
        score_rubric(real(catalog, "u1-reflection"), ratings)


def test_a_quiz_has_no_rubric(catalog: Catalog) -> None:
    with pytest.raises(AnswerError, match="no rubric"):
        score_rubric(real(catalog, "u1-quiz"), {})
    not_a_mapping: Any = [3, 3, 3, 3]
    with pytest.raises(AnswerError, match="one rating per criterion"):
        score_rubric(real(catalog, "u1-reflection"), not_a_mapping)


# ---------------------------------------------------------------------------------------------
# Open answers


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("", 0),
        ("   \n ", 0),
        ("Hello world", 2),
        ("Don't stop: well-being matters to 70,000 people.", 7),
        ("## Title\n\n- item one\n| a | b |\n|---|---|", 5),
        ("naïve café — Linköping\u2019s", 3),
        ("**bold** _it_ `code`", 3),
    ],
)
def test_count_words(text: str, words: int) -> None:
    assert count_words(text) == words


def words(n: int) -> str:
    return " ".join(["word"] * n)


def test_a_reflection_needs_between_min_and_max_words(catalog: Catalog) -> None:
    reflection = real(catalog, "u1-reflection")  # 300..1200
    assert check_open_answer(reflection, words(300)) == []
    assert check_open_answer(reflection, words(1200)) == []
    assert check_open_answer(reflection, words(299)) == ["Your answer has 299 words; write at least 300."]
    assert check_open_answer(reflection, words(1201)) == [
        "Your answer has 1201 words; shorten it to at most 1200."
    ]
    assert check_open_answer(reflection, "") == ["Your answer has 0 words; write at least 300."]


@pytest.mark.parametrize("answer", [None, 42, ["text"], {"answer": "text"}, b"text"])
def test_a_reflection_answer_must_be_text(catalog: Catalog, answer: Any) -> None:
    with pytest.raises(AnswerError, match="must be text"):
        check_open_answer(real(catalog, "u1-reflection"), answer)


def test_an_overlong_answer_is_refused(catalog: Catalog) -> None:
    reflection = real(catalog, "u1-reflection")
    with pytest.raises(AnswerError, match="the limit is 50,000"):
        check_open_answer(reflection, "a" * (MAX_ANSWER_CHARS + 1))
    canvas = real(catalog, "u3-lab-canvas")
    with pytest.raises(
        AnswerError, match="The section 'How you will know if it helped' is 50,001 characters"
    ):
        check_open_answer(canvas, {"evaluation": "a" * (MAX_ANSWER_CHARS + 1)})


def test_a_lab_canvas_needs_each_section_long_enough(catalog: Catalog) -> None:
    canvas = real(catalog, "u3-lab-canvas")
    full = {s.id: words(s.min_words) for s in canvas.sections}
    assert check_open_answer(canvas, full) == []
    short = {**full, "problem": words(10)}
    assert check_open_answer(canvas, short) == [
        "The section 'The problem your lab takes on' has 10 words; write at least 80."
    ]
    missing = {k: v for k, v in full.items() if k != "members"}
    assert check_open_answer(canvas, missing) == [
        "The section 'Members, structure and ownership' has 0 words; write at least 80."
    ]
    assert len(check_open_answer(canvas, {})) == 6
    assert len(check_open_answer(canvas, {s.id: "" for s in canvas.sections})) == 6


@pytest.mark.parametrize(
    ("answer", "message"),
    [
        ("my plan", "section by section"),
        (["problem"], "section by section"),
        ({"budget": "x"}, "no section 'budget'"),
        ({1: "x"}, "no section of type int"),
        ({"problem": 5}, "The section 'The problem your lab takes on' must be text"),
        ({"problem": ["a"]}, "must be text"),
        ({f"s{n}": "x" for n in range(7)}, "has 6 sections; 7 were given"),
    ],
)
def test_a_lab_canvas_answer_must_fit_its_sections(catalog: Catalog, answer: Any, message: str) -> None:
    with pytest.raises(AnswerError, match=message):
        check_open_answer(real(catalog, "u3-lab-canvas"), answer)


def test_a_quiz_has_no_open_answer(catalog: Catalog) -> None:
    with pytest.raises(AnswerError, match="is a quiz"):
        check_open_answer(real(catalog, "u1-quiz"), "text")


# ---------------------------------------------------------------------------------------------
# Display order


def test_shuffled_steps_are_fixed_by_the_seed_and_never_the_correct_order() -> None:
    orders = set()
    for n in range(300):
        shown = shuffled_steps(ORDERING, f"attempt-{n}")
        assert sorted(s.id for s in shown) == [s.id for s in ORDERING.steps]
        assert shown != ORDERING.steps
        assert shuffled_steps(ORDERING, f"attempt-{n}") == shown
        orders.add(tuple(s.id for s in shown))
    assert len(orders) > 50


def test_two_steps_are_always_swapped() -> None:
    two = QuizItem("q", "ordering", T, (), steps=(Step("s1", T), Step("s2", T)))
    assert all([s.id for s in shuffled_steps(two, str(n))] == ["s2", "s1"] for n in range(50))


def test_shuffled_pairs_are_fixed_by_the_seed_and_never_the_listed_order() -> None:
    orders = set()
    for n in range(200):
        shown = shuffled_pairs(MATCHING, f"{n}-1")
        assert shown != MATCHING.pairs and sorted(shown, key=lambda p: p.id) == list(MATCHING.pairs)
        assert shuffled_pairs(MATCHING, f"{n}-1") == shown
        orders.add(tuple(p.id for p in shown))
    assert len(orders) == 23  # every permutation of 4 but the listed one


def test_the_real_ordering_items_are_never_shown_in_their_correct_order(catalog: Catalog) -> None:
    items = [i for a in catalog.activities() for i in a.items if i.type == "ordering"]
    assert len(items) == 5
    for item in items:
        for n in range(100):
            assert shuffled_steps(item, f"{n}-1") != item.steps

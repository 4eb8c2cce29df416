"""Coverage of the framework by activities: the matrix, its problems and its rendering."""

from __future__ import annotations

import pytest

from competencies.coverage import CoverageReport, MappedActivity, coverage_matrix, render_matrix
from competencies.framework import Framework, load_framework
from lti_tool.cli_framework import _mapped_activities


@pytest.fixture(scope="module")
def fw() -> Framework:
    return load_framework()


def full_coverage(fw: Framework) -> list[MappedActivity]:
    """A quiz and a reflection that each map every competency."""
    weights = dict.fromkeys(fw.competency_ids(), 1.0)
    return [MappedActivity("quiz", "u1", True, weights), MappedActivity("reflection", "u1", False, weights)]


def test_full_coverage_has_no_problems(fw: Framework) -> None:
    report = coverage_matrix(fw, full_coverage(fw))
    assert report.problems == []
    assert [c.idnumber for c in report.competencies] == [c.idnumber for c in fw.competencies()]
    assert report.weight("L2I-C4.2", "quiz") == 1.0
    assert "No problems" in render_matrix(report)


def test_the_course_covers_every_competency(fw: Framework) -> None:
    activities = _mapped_activities()
    report = coverage_matrix(fw, activities)
    assert report.problems == []
    assert {a.unit_id for a in activities} == {
        "u1-challenges", "u2-social-innovation", "u3-labs", "u4-teams-and-users", "u5-impact"}
    quizzes = [a for a in activities if a.auto_graded]
    assert [a.id for a in quizzes] == ["u1-quiz", "u2-quiz", "u3-quiz", "u4-quiz", "u5-quiz"]
    assert report.weight("L2I-C1.1", "u1-quiz") > 0
    assert report.weight("L2I-C1.1", "u5-quiz") == 0.0


def test_thin_evidence_is_a_problem(fw: Framework) -> None:
    activities = full_coverage(fw)
    weights = {k: v for k, v in activities[1].weights.items() if k != "L2I-C3.2"}
    activities[1] = MappedActivity("reflection", "u1", False, weights)
    report = coverage_matrix(fw, activities)
    assert report.problems == [
        "L2I-C3.2 Lab structure, membership and ownership: evidence from 1 activity, at least 2 needed"]


def test_missing_auto_graded_evidence_is_a_problem(fw: Framework) -> None:
    activities = full_coverage(fw)
    quiz_weights = {k: v for k, v in activities[0].weights.items() if k != "L2I-C6.1"}
    activities[0] = MappedActivity("quiz", "u1", True, quiz_weights)
    activities.append(MappedActivity("canvas", "u3", False, {"L2I-C6.1": 0.5}))
    report = coverage_matrix(fw, activities)
    assert report.problems == [
        "L2I-C6.1 Outcomes rather than outputs: no auto-graded activity gives evidence"]


def test_a_zero_weight_gives_no_evidence(fw: Framework) -> None:
    activities = [*full_coverage(fw), MappedActivity("extra", "u2", True, {})]
    activities[0] = MappedActivity("quiz", "u1", True, {**activities[0].weights, "L2I-C8.1": 0.0})
    report = coverage_matrix(fw, activities)
    assert report.problems == ["L2I-C8.1 Digital tools in services and collaboration: evidence from 1 "
                               "activity, at least 2 needed",
                               "L2I-C8.1 Digital tools in services and collaboration: no auto-graded "
                               "activity gives evidence"]


def test_unknown_ids_in_a_mapping_are_problems(fw: Framework) -> None:
    activities = [*full_coverage(fw),
                  MappedActivity("u9-quiz", "u9", True, {"L2I-C9.9": 1.0, "L2I-D1": 1.0}),
                  MappedActivity("quiz", "u2", True, {})]
    report = coverage_matrix(fw, activities)
    assert report.problems == [
        "activity u9-quiz (u9) maps L2I-C9.9, which is not in framework L2I-FW",
        "activity u9-quiz (u9) maps L2I-D1, a domain, not a competency",
        "activity quiz appears twice",
    ]
    assert "L2I-C9.9" not in report.matrix


def test_render_matrix_is_a_table_with_a_legend_and_the_problems(fw: Framework) -> None:
    activities = [MappedActivity("u1-quiz", "u1-challenges", True, {"L2I-C1.1": 1.0, "L2I-C1.2": 0.5}),
                  MappedActivity("u1-reflection", "u1-challenges", False, {"L2I-C1.1": 0.8})]
    report = coverage_matrix(fw, activities)
    text = render_matrix(report)
    lines = text.splitlines()
    assert "    1  u1-quiz  (u1-challenges, auto-graded)" in lines
    assert "    2  u1-reflection  (u1-challenges, trainer-rated)" in lines
    row = next(line for line in lines if line.startswith("L2I-C1.1 "))
    assert row.startswith("L2I-C1.1 Demographic and social change")
    assert row.split()[-3:] == ["1.0", "0.8", "2"]
    row = next(line for line in lines if line.startswith("L2I-C1.2 "))
    assert row.split()[-3:] == ["0.5", ".", "1"]
    assert len({len(line) for line in lines if line.startswith("L2I-C")}) == 1  # aligned columns
    assert f"{len(report.problems)} problem(s):" in lines
    problem = "L2I-C1.2 Resources, budgets and workforce: evidence from 1 activity, at least 2 needed"
    assert f"  - {problem}" in lines and problem in report.problems
    assert isinstance(report, CoverageReport)

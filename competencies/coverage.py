"""Coverage of the framework by the course's activities: which activity gives evidence for what.

Every competency should get evidence from at least two activities, at least one of them
auto-graded (a quiz), so that a learner can reach a level without waiting for a trainer; and no
activity may map an id that is not a competency of the framework.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from competencies.framework import Framework, Node

MIN_ACTIVITIES = 2
NAME_WIDTH = 52
CELL_WIDTH = 5


@dataclass(frozen=True)
class MappedActivity:
    """An activity and the competencies it gives evidence for (competency idnumber -> weight)."""

    id: str
    unit_id: str
    auto_graded: bool
    weights: Mapping[str, float]


@dataclass(frozen=True)
class CoverageReport:
    """The competency x activity matrix of weights, and what is wrong with the coverage."""

    competencies: tuple[Node, ...]
    activities: tuple[MappedActivity, ...]
    matrix: Mapping[str, Mapping[str, float]]
    problems: list[str] = field(default_factory=list)

    def weight(self, competency_id: str, activity_id: str) -> float:
        """Return the weight of ``activity_id`` for ``competency_id`` (0.0 when it is not mapped)."""
        return self.matrix.get(competency_id, {}).get(activity_id, 0.0)

    def evidence_sources(self, competency_id: str) -> tuple[MappedActivity, ...]:
        """Return the activities that give evidence (a positive weight) for ``competency_id``."""
        return tuple(a for a in self.activities if self.weight(competency_id, a.id) > 0)


def _mapping_problems(fw: Framework, activities: Sequence[MappedActivity]) -> list[str]:
    problems = []
    seen: set[str] = set()
    for activity in activities:
        if activity.id in seen:
            problems.append(f"activity {activity.id} appears twice")
        seen.add(activity.id)
        for competency_id in activity.weights:
            node = fw.node(competency_id)
            if node is None:
                problems.append(f"activity {activity.id} ({activity.unit_id}) maps {competency_id}, "
                                f"which is not in framework {fw.idnumber}")
            elif node.kind != "competency":
                problems.append(f"activity {activity.id} ({activity.unit_id}) maps {competency_id}, "
                                f"a {node.kind}, not a competency")
    return problems


def _coverage_problems(report: CoverageReport) -> list[str]:
    problems = []
    for competency in report.competencies:
        sources = report.evidence_sources(competency.idnumber)
        label = f"{competency.idnumber} {competency.shortname}"
        if len(sources) < MIN_ACTIVITIES:
            noun = "activity" if len(sources) == 1 else "activities"
            problems.append(f"{label}: evidence from {len(sources)} {noun}, at least {MIN_ACTIVITIES} needed")
        if not any(source.auto_graded for source in sources):
            problems.append(f"{label}: no auto-graded activity gives evidence")
    return problems


def coverage_matrix(fw: Framework, activities: Sequence[MappedActivity]) -> CoverageReport:
    """Build the competency x activity matrix of ``fw`` and list the coverage problems."""
    competencies = fw.competencies()
    matrix = {
        competency.idnumber: {a.id: float(a.weights[competency.idnumber])
                              for a in activities if competency.idnumber in a.weights}
        for competency in competencies
    }
    report = CoverageReport(competencies, tuple(activities), matrix)
    report.problems.extend(_mapping_problems(fw, activities))
    report.problems.extend(_coverage_problems(report))
    return report


def _cell(weight: float) -> str:
    return f"{weight:>{CELL_WIDTH}.1f}" if weight else f"{'.':>{CELL_WIDTH}}"


def render_matrix(report: CoverageReport) -> str:
    """Render the matrix as a plain-text table (columns numbered, with a legend) and the problems."""
    lines = ["Activities (columns):"]
    for number, activity in enumerate(report.activities, 1):
        graded = "auto-graded" if activity.auto_graded else "trainer-rated"
        lines.append(f"  {number:>3}  {activity.id}  ({activity.unit_id}, {graded})")
    lines.append("")
    header = f"{'competency':<{NAME_WIDTH}}" + "".join(
        f"{number:>{CELL_WIDTH}}" for number in range(1, len(report.activities) + 1))
    lines.extend([header + "  sources", "-" * (len(header) + 9)])
    for competency in report.competencies:
        label = f"{competency.idnumber} {competency.shortname}"
        if len(label) > NAME_WIDTH - 1:
            label = label[: NAME_WIDTH - 4] + "..."
        cells = "".join(_cell(report.weight(competency.idnumber, a.id)) for a in report.activities)
        lines.append(f"{label:<{NAME_WIDTH}}{cells}  {len(report.evidence_sources(competency.idnumber)):>7}")
    lines.append("")
    if report.problems:
        lines.append(f"{len(report.problems)} problem(s):")
        lines.extend(f"  - {problem}" for problem in report.problems)
    else:
        lines.append(f"No problems: every competency has evidence from at least {MIN_ACTIVITIES} "
                     "activities, one of them auto-graded.")
    return "\n".join(lines) + "\n"

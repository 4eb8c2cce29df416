"""What a learner could do next: activities for the competencies they are not yet proficient in."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass

from course_units.content import Activity, Catalog, Unit


@dataclass(frozen=True)
class Suggestion:
    """An activity to do next, and the competencies below proficient it gives evidence for."""

    unit: Unit
    activity: Activity
    competencies: tuple[str, ...]
    weight: float


def suggest_activities(catalog: Catalog, levels: Mapping[str, int | None], handed_in: Collection[str],
                       proficient_level: int, limit: int = 5) -> list[Suggestion]:
    """Return up to ``limit`` activities not yet handed in, those serving most weak competencies first.

    A competency is weak while its level is below ``proficient_level`` (or there is none yet).
    Ties keep the programme's order, so the learner is sent to the earliest unit.
    """
    weak = {c for c in catalog.competency_ids() if (levels.get(c) or 0) < proficient_level}
    found = []
    for unit in catalog.units:
        for activity in unit.activities:
            if activity.id in handed_in:
                continue
            serves = tuple(sorted(c.id for c in activity.competencies if c.id in weak))
            if serves:
                weight = sum(c.weight for c in activity.competencies if c.id in weak)
                found.append(Suggestion(unit, activity, serves, weight))
    found.sort(key=lambda s: -s.weight)   # stable: programme order within equal weights
    return found[:limit]

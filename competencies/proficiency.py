"""Evidence in, proficiency out: the documented rule, and its incremental update for one learner.

The rule (see ``docs/proficiency.md``):

1. Evidence is grouped by *source*: each activity is one source, each trainer who rates the
   competency is one source.
2. Per source, the latest evidence counts (``method="latest"``) or the best (``"best"``).
3. The score is the weighted mean of the sources' scores, using each source's weight.
4. The level is the highest level whose threshold the score reaches, but only once there are at
   least ``min_sources`` sources; before that the learner has no level yet.
5. A trainer's override sets the level and wins over the computed one, until a later override
   replaces it or the trainer clears it. The computed score stays visible beside it.

Updating is incremental: new evidence for one learner recomputes only that learner's affected
competencies, reading their evidence rows through an index in one query. Nobody else is touched.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Literal, cast

from sqlalchemy import Table, bindparam, insert, select, update
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from competencies.models import Evidence, EvidenceKind, Proficiency, ProficiencyChange
from l2i_db import utcnow

Method = Literal["latest", "best"]


@dataclass(frozen=True)
class ProficiencyRule:
    """How evidence becomes a level; configured from ``L2I_PROFICIENCY_*`` settings."""

    method: Method = "latest"
    min_sources: int = 2
    thresholds: tuple[float, ...] = (0.0, 0.4, 0.7, 0.9)   # minimum score of levels 1..n
    rating_weight: float = 1.0

    def __post_init__(self) -> None:
        """Refuse a rule that cannot be applied."""
        if self.method not in ("latest", "best"):
            raise ValueError(f"unknown proficiency method {self.method!r}; use 'latest' or 'best'")
        if self.min_sources < 1:
            raise ValueError("the minimum number of evidence sources must be at least 1")
        steps = self.thresholds
        if not steps or steps[0] != 0.0 or list(steps) != sorted(set(steps)) or steps[-1] > 1.0:
            raise ValueError("thresholds must start at 0 and rise strictly up to at most 1, "
                             "one per level, e.g. 0,0.4,0.7,0.9")
        if not 0 < self.rating_weight <= 10:
            raise ValueError("the weight of a trainer's rating must be above 0 and at most 10")

    @property
    def levels(self) -> int:
        """How many levels the rule distinguishes."""
        return len(self.thresholds)

    def level_for(self, score: float) -> int:
        """Return the highest level (1-based) whose threshold ``score`` reaches."""
        return max(i + 1 for i, minimum in enumerate(self.thresholds) if score >= minimum - 1e-9)

    def score_for_level(self, level: int) -> float:
        """Return the score that stands for ``level`` in a rating: the middle of its band."""
        if not 1 <= level <= self.levels:
            raise ValueError(f"level must be between 1 and {self.levels}")
        low = self.thresholds[level - 1]
        high = self.thresholds[level] if level < self.levels else 1.0
        return round((low + high) / 2, 4)


@dataclass(frozen=True)
class EvidencePoint:
    """The fields of an evidence row the rule reads, oldest first."""

    kind: str
    score: float | None
    weight: float
    level: int | None
    activity_id: str | None
    rated_by_id: int | None


@dataclass(frozen=True)
class Standing:
    """A learner's computed standing in one competency."""

    score: float | None
    level: int | None
    sources: int
    overridden: bool


def _source_of(point: EvidencePoint) -> tuple[str, str] | None:
    if point.kind == EvidenceKind.ATTEMPT.value and point.activity_id:
        return ("activity", point.activity_id)
    if point.kind == EvidenceKind.RATING.value:
        return ("rating", str(point.rated_by_id))
    return None


def _counted_sources(points: Sequence[EvidencePoint], method: Method) -> dict[tuple[str, str], EvidencePoint]:
    counted: dict[tuple[str, str], EvidencePoint] = {}
    for point in points:
        source = _source_of(point)
        if source is None or point.score is None:
            continue
        earlier = counted.get(source)
        if method == "latest" or earlier is None or point.score >= (earlier.score or 0.0):
            counted[source] = point
    return counted


def _override_level(points: Sequence[EvidencePoint]) -> int | None:
    for point in reversed(points):
        if point.kind == EvidenceKind.OVERRIDE.value:
            return point.level
        if point.kind == EvidenceKind.CLEAR.value:
            return None
    return None


def compute_standing(points: Sequence[EvidencePoint], rule: ProficiencyRule) -> Standing:
    """Apply ``rule`` to one learner's evidence for one competency, oldest first."""
    counted = _counted_sources(points, rule.method)
    total_weight = sum(p.weight for p in counted.values())
    score = (
        round(sum((p.score or 0.0) * p.weight for p in counted.values()) / total_weight, 4)
        if total_weight > 0 else None
    )
    level = rule.level_for(score) if score is not None and len(counted) >= rule.min_sources else None
    override = _override_level(points)
    if override is not None:
        return Standing(score=score, level=override, sources=len(counted), overridden=True)
    return Standing(score=score, level=level, sources=len(counted), overridden=False)


def read_evidence_points(session: Session, learner_id: int, competency_id: str) -> list[EvidencePoint]:
    """Return one learner's evidence for one competency, oldest first (an indexed read)."""
    return read_evidence_timelines(session, learner_id, [competency_id])[competency_id]


# The statements of a submission, built once per process: building one costs more than running it.
_TIMELINES = (
    select(Evidence.competency_id, Evidence.kind, Evidence.score, Evidence.weight, Evidence.level,
           Evidence.activity_id, Evidence.rated_by_id)
    .where(Evidence.learner_id == bindparam("learner_id"),
           Evidence.competency_id.in_(bindparam("competency_ids", expanding=True)))
    .order_by(Evidence.competency_id, Evidence.id)
)
_STANDINGS = select(Proficiency).where(
    Proficiency.learner_id == bindparam("learner_id"),
    Proficiency.competency_id.in_(bindparam("competency_ids", expanding=True)))
_STANDING_COLUMNS = ("score", "level", "sources", "overridden", "updated_at")
_PROFICIENCY = cast(Table, Proficiency.__table__)
# Every changed standing sets the same columns, so all of them go in one executemany.
_UPDATE_STANDING = (
    update(_PROFICIENCY).where(_PROFICIENCY.c.id == bindparam("row_id"))
    .values({column: bindparam(f"new_{column}") for column in _STANDING_COLUMNS})
)
_RECORD_CHANGES = insert(cast(Table, ProficiencyChange.__table__))
_INSERT_STANDINGS = insert(Proficiency).returning(Proficiency)


def read_evidence_timelines(session: Session, learner_id: int,
                            competency_ids: Iterable[str]) -> dict[str, list[EvidencePoint]]:
    """Return one learner's evidence for each of ``competency_ids``, oldest first, in one indexed read."""
    timelines: dict[str, list[EvidencePoint]] = {c: [] for c in sorted(set(competency_ids))}
    if not timelines:
        return timelines
    rows = session.execute(_TIMELINES, {"learner_id": learner_id, "competency_ids": list(timelines)})
    for competency_id, *point in rows:
        timelines[competency_id].append(EvidencePoint(*point))
    return timelines


def _changed(row: Proficiency, standing: Standing) -> bool:
    return (row.score, row.level, row.sources, row.overridden) != (
        standing.score, standing.level, standing.sources, standing.overridden)


def _standing_values(standing: Standing, when: dt.datetime) -> dict[str, object]:
    return dict(zip(_STANDING_COLUMNS, (standing.score, standing.level, standing.sources,
                                        standing.overridden, when), strict=True))


def _insert_standings(session: Session, learner_id: int, standings: Mapping[str, Standing],
                      when: dt.datetime) -> dict[str, Proficiency]:
    """Insert a learner's first standings in some competencies in one statement; return their objects."""
    if not standings:
        return {}
    rows = [{"learner_id": learner_id, "competency_id": competency_id, **_standing_values(standing, when)}
            for competency_id, standing in standings.items()]
    return {row.competency_id: row for row in session.scalars(_INSERT_STANDINGS, rows)}


def _update_standings(session: Session, changes: Sequence[tuple[Proficiency, Standing]],
                      when: dt.datetime) -> None:
    """Store changed standings in one UPDATE executemany; each object takes the stored values as they are."""
    if not changes:
        return
    updates: list[dict[str, object]] = []
    for row, standing in changes:
        values = _standing_values(standing, when)
        updates.append({"row_id": row.id, **{f"new_{column}": value for column, value in values.items()}})
        for column, value in values.items():
            set_committed_value(row, column, value)
    session.execute(_UPDATE_STANDING, updates)


def _record_changes(session: Session, learner_id: int, standings: Mapping[str, Standing],
                    evidence_id: int | None, when: dt.datetime) -> None:
    """Add the changed standings to the learner's history, in one INSERT."""
    if standings:
        session.execute(_RECORD_CHANGES, [
            {"learner_id": learner_id, "competency_id": competency_id, "score": standing.score,
             "level": standing.level, "sources": standing.sources, "overridden": standing.overridden,
             "evidence_id": evidence_id, "at": when}
            for competency_id, standing in standings.items()])


@dataclass(frozen=True)
class StandingsUpdate:
    """What an update of one learner's standings did: each row as it is now, and each level before."""

    rows: dict[str, Proficiency]
    levels_before: dict[str, int | None]

    @property
    def levels_after(self) -> dict[str, int | None]:
        """Each updated competency's level now (None: no level yet)."""
        return {competency_id: row.level for competency_id, row in self.rows.items()}


def update_standings(
    session: Session,
    learner_id: int,
    competency_ids: Iterable[str],
    rule: ProficiencyRule,
    *,
    evidence_id: int | None = None,
    at: dt.datetime | None = None,
) -> StandingsUpdate:
    """Recompute one learner's standing in ``competency_ids`` and record each change in the history.

    Reads the evidence of all of them in one query and writes the history in one INSERT, so the
    cost of a submission hardly grows with the number of competencies it gives evidence for.
    The levels before the update come from the rows it reads anyway.
    """
    when = at or utcnow()
    timelines = read_evidence_timelines(session, learner_id, competency_ids)
    wanted = {"learner_id": learner_id, "competency_ids": list(timelines)}
    existing = {row.competency_id: row for row in session.scalars(_STANDINGS, wanted)} if timelines else {}
    before = {competency_id: row.level if (row := existing.get(competency_id)) else None
              for competency_id in timelines}
    standings = {competency_id: compute_standing(points, rule) for competency_id, points in timelines.items()}
    changed = [competency_id for competency_id, standing in standings.items()
               if competency_id not in existing or _changed(existing[competency_id], standing)]
    session.flush()
    created = _insert_standings(session, learner_id,
                                {c: standings[c] for c in changed if c not in existing}, when)
    _update_standings(session, [(existing[c], standings[c]) for c in changed if c in existing], when)
    _record_changes(session, learner_id, {c: standings[c] for c in changed}, evidence_id, when)
    updated = {competency_id: existing.get(competency_id) or created[competency_id]
               for competency_id in timelines}
    return StandingsUpdate(updated, before)


def recompute_learner(
    session: Session, learner_id: int, rule: ProficiencyRule, *, at: dt.datetime | None = None,
) -> dict[str, Proficiency]:
    """Recompute every competency one learner has evidence for (after a rule change, say)."""
    competency_ids = session.scalars(
        select(Evidence.competency_id).where(Evidence.learner_id == learner_id).distinct()
    )
    return update_standings(session, learner_id, list(competency_ids), rule, at=at).rows


def proficiencies_of(session: Session, learner_id: int) -> Mapping[str, Proficiency]:
    """Return a learner's current standings by competency id."""
    rows = session.scalars(select(Proficiency).where(Proficiency.learner_id == learner_id))
    return {row.competency_id: row for row in rows}

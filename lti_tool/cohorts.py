"""A course's cohort for the trainer dashboard, its CSV export and the API: who, how far, how able.

One :func:`build_course_view` serves the page, the CSV and ``/api/v1``, so that they always show
the same numbers. It reads the pre-aggregated proficiency rows and grouped progress counts: the
charts' counts are made in SQL over the whole filtered class, and standings and progress are read
only for the rows a page (or the CSV) shows, so a page costs the same for 100 or 10,000 learners.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import overload

from sqlalchemy import ColumnElement, Select, and_, case, func, literal, or_, select, union_all
from sqlalchemy.orm import Session

from competencies.dashboard import (
    Cell,
    TrendPoint,
    competency_among,
    count_cohort_levels,
    proficiency_trend,
    read_standings,
)
from competencies.framework import Framework, Node
from competencies.models import Proficiency
from course_units.cohort import HANDED_IN, UnitSummary, read_cohort_progress, read_last_activity
from course_units.content import Catalog, Unit
from course_units.i18n import N_, Message, ReadableError
from course_units.models import Attempt, PageVisit, UnitCompletion, UnitPosition
from l2i_db import utcnow
from l2i_db.cohort import Cohort, in_cohort
from lti_tool.models import Context, CourseGroup, Deployment, Membership, Platform, PlatformUser, name_to_show

SORTS = ("name", "last", "progress")
TREND_WEEKS = 12
MAX_SEARCH = 100
MAX_GROUP_NAME = 100
ROWS_PER_READ = 500      # learners whose details one read fetches (for the CSV, a few hundred at a time)


class FilterError(ReadableError):
    """A dashboard filter that names no unit, competency, level or sort the dashboard knows."""


@dataclass(frozen=True)
class Member:
    """One learner of a course, as the dashboard lists them."""

    learner_id: int
    name: str
    family_name: str
    platform_id: int
    institution: str
    group: str | None
    last_launch_at: dt.datetime | None


@dataclass(frozen=True)
class CohortFilter:
    """What the trainer narrowed the dashboard to. ``level`` 0 means "no level yet"."""

    unit: str | None = None
    competency: str | None = None
    level: int | None = None
    institution: int | None = None
    group: str | None = None
    search: str = ""
    sort: str = "name"
    descending: bool = False

    def as_args(self) -> dict[str, str]:
        """Return the filter as query arguments (for links, the CSV link and paging)."""
        pairs = {"unit": self.unit, "competency": self.competency,
                 "level": None if self.level is None else str(self.level),
                 "institution": None if self.institution is None else str(self.institution),
                 "group": self.group, "q": self.search or None,
                 "sort": None if self.sort == "name" else self.sort, "desc": "1" if self.descending else None}
        return {key: value for key, value in pairs.items() if value is not None}


def _optional_int(args: Mapping[str, str], name: str, message: Message) -> int | None:
    raw = (args.get(name) or "").strip()
    if not raw:
        return None
    if not raw.isdigit() or len(raw) > 9:
        raise FilterError(message)
    return int(raw)


def read_filter(args: Mapping[str, str], catalog: Catalog, framework: Framework) -> CohortFilter:
    """Read and check the dashboard's filter arguments; :class:`FilterError` names the one that is wrong."""
    unit = (args.get("unit") or "").strip() or None
    if unit is not None and catalog.unit(unit) is None:
        raise FilterError(Message(N_("There is no unit %(unit)s. Choose a unit from the list."),
                                  unit=unit[:64]))
    competency = (args.get("competency") or "").strip() or None
    if competency is not None and competency not in framework.competency_ids():
        raise FilterError(Message(N_("There is no competency %(competency)s. Choose one from the list."),
                                  competency=competency[:64]))
    level = _optional_int(args, "level", Message(N_("The level must be a whole number from the scale.")))
    if level is not None and level > len(framework.scale.levels):
        raise FilterError(Message(N_("The scale has levels 1 to %(n)s (0 for no level yet)."),
                                  n=len(framework.scale.levels)))
    sort = (args.get("sort") or "name").strip()
    if sort not in SORTS and sort not in framework.competency_ids():
        raise FilterError(Message(N_("The dashboard cannot sort by %(sort)s."), sort=sort[:64]))
    search = (args.get("q") or "").strip()
    if len(search) > MAX_SEARCH:
        raise FilterError(Message(N_("Search for at most %(n)s characters."), n=MAX_SEARCH))
    return CohortFilter(
        unit=unit, competency=competency, level=level,
        institution=_optional_int(args, "institution", Message(N_("Choose an institution from the list."))),
        group=(args.get("group") or "").strip()[:MAX_GROUP_NAME] or None, search=search, sort=sort,
        descending=args.get("desc") in ("1", "true", "yes"),
    )


def read_members(session: Session, context_ids: Sequence[int]) -> list[Member]:
    """Return the learners of these courses (members whose LMS roles include Learner), once each."""
    groups = {(g.context_id, g.learner_id): g.name
              for g in session.scalars(select(CourseGroup).where(CourseGroup.context_id.in_(context_ids)))}
    rows = session.execute(
        select(PlatformUser.learner_id, PlatformUser.name, PlatformUser.given_name,
               PlatformUser.family_name, PlatformUser.sub, PlatformUser.last_launch_at,
               Membership.context_id, Platform.id, Platform.name)
        .join(Membership, Membership.user_id == PlatformUser.id)
        .join(Context, Context.id == Membership.context_id)
        .join(Deployment, Deployment.id == Context.deployment_id)
        .join(Platform, Platform.id == Deployment.platform_id)
        .where(Membership.context_id.in_(context_ids), Membership.studies.is_(True))
    )
    members: dict[int, Member] = {}
    for learner_id, name, given, family, sub, last_launch, context_id, platform_id, institution in rows:
        members.setdefault(learner_id, Member(
            learner_id=learner_id, name=name_to_show(name, given, family, sub), family_name=family or "",
            platform_id=platform_id, institution=institution, group=groups.get((context_id, learner_id)),
            last_launch_at=last_launch,
        ))
    return list(members.values())


@dataclass(frozen=True)
class LearnerRow:
    """One learner's line of the dashboard."""

    member: Member
    progress: dict[str, UnitSummary]
    last_activity: dt.datetime | None
    cells: dict[str, Cell]

    def percent(self, unit_id: str | None = None) -> int:
        """Progress in one unit, or the mean over all units, in percent."""
        if unit_id is not None:
            return self.progress[unit_id].percent
        percents = [summary.percent for summary in self.progress.values()]
        return round(sum(percents) / len(percents)) if percents else 0

    def level(self, competency_id: str) -> int | None:
        """Return the learner's level in a competency (None: no level yet)."""
        cell = self.cells.get(competency_id)
        return cell.level if cell else None


class RowLoader:
    """Reads the progress, last activity and standings of given members, a page at a time.

    What a sort already read for the whole cohort (progress, last activity) is reused.
    """

    def __init__(self, session: Session, catalog: Catalog, competency_ids: Sequence[str], *,
                 progress: Mapping[int, dict[str, UnitSummary]] | None = None,
                 last: Mapping[int, dt.datetime] | None = None) -> None:
        """Remember where to read from and what is known already."""
        self.session, self.catalog, self.competency_ids = session, catalog, list(competency_ids)
        self.progress, self.last = progress, last
        self._loaded: dict[int, LearnerRow] = {}

    def rows_of(self, members: Sequence[Member]) -> list[LearnerRow]:
        """Return the rows of ``members``, in their order, reading what is not loaded yet."""
        missing = [m for m in members if m.learner_id not in self._loaded]
        for start in range(0, len(missing), ROWS_PER_READ):
            self._read(missing[start:start + ROWS_PER_READ])
        return [self._loaded[m.learner_id] for m in members]

    def _read(self, members: Sequence[Member]) -> None:
        ids = [m.learner_id for m in members]
        standings = read_standings(self.session, ids, self.competency_ids)
        progress = self.progress if self.progress is not None else read_cohort_progress(
            self.session, self.catalog, ids, ids)
        last = self.last if self.last is not None else read_last_activity(self.session, ids)
        for m in members:
            self._loaded[m.learner_id] = LearnerRow(m, progress.get(m.learner_id, {}),
                                                    last.get(m.learner_id) or m.last_launch_at,
                                                    standings.get(m.learner_id, {}))


class LearnerRows(Sequence[LearnerRow]):
    """The dashboard's rows, filtered and sorted, whose details are read only when a page is shown.

    Its length is the number of learners the filter shows; slicing it (one page) reads that
    page's standings and progress; iterating it (the CSV) reads them a few hundred at a time.
    """

    def __init__(self, members: Sequence[Member], loader: RowLoader) -> None:
        """Hold the shown members, in order, and the loader of their details."""
        self.members, self._loader = list(members), loader

    def __len__(self) -> int:
        """Return how many learners the filter shows."""
        return len(self.members)

    @overload
    def __getitem__(self, index: int) -> LearnerRow: ...

    @overload
    def __getitem__(self, index: slice) -> list[LearnerRow]: ...

    def __getitem__(self, index: int | slice) -> LearnerRow | list[LearnerRow]:
        """Return one row, or a list of rows for a slice (one page)."""
        if isinstance(index, slice):
            return self._loader.rows_of(self.members[index])
        return self._loader.rows_of([self.members[index]])[0]

    def __iter__(self) -> Iterator[LearnerRow]:
        """Yield every row, reading details a few hundred learners at a time."""
        for start in range(0, len(self.members), ROWS_PER_READ):
            yield from self._loader.rows_of(self.members[start:start + ROWS_PER_READ])


@dataclass(frozen=True)
class CourseView:
    """Everything the course dashboard, its CSV and the API show, already filtered and sorted."""

    filter: CohortFilter
    rows: Sequence[LearnerRow]
    total: int
    competencies: list[Node]
    units: list[Unit]
    levels: dict[str, list[int]]
    funnels: dict[str, tuple[int, int, int, int]]
    trend: list[TrendPoint]
    institutions: list[tuple[int, str]] = field(default_factory=list)
    groups: list[str] = field(default_factory=list)


def _shown_competencies(catalog: Catalog, framework: Framework, cohort_filter: CohortFilter) -> list[Node]:
    competencies = list(framework.competencies())
    if cohort_filter.competency:
        return [c for c in competencies if c.idnumber == cohort_filter.competency]
    if cohort_filter.unit:
        unit = catalog.unit(cohort_filter.unit)
        mapped = {c.id for a in unit.activities for c in a.competencies} if unit else set()
        return [c for c in competencies if c.idnumber in mapped]
    return competencies


def _member_matches(member: Member, wanted: CohortFilter) -> bool:
    if wanted.institution is not None and member.platform_id != wanted.institution:
        return False
    if wanted.group is not None and (member.group or "").casefold() != wanted.group.casefold():
        return False
    return not (wanted.search and wanted.search.casefold() not in member.name.casefold())


def _at_level(cohort: Cohort, competency_ids: Sequence[str], level: int) -> Select[tuple[int]]:
    """Select the learners of the cohort with ``level`` in at least one competency (0: no level yet)."""
    in_scope = (in_cohort(Proficiency.learner_id, cohort), competency_among(competency_ids))
    if level:
        return select(Proficiency.learner_id).where(*in_scope, Proficiency.level == level).distinct()
    # "No level yet" somewhere: a learner with a level other than 0 in every competency is the exception.
    return (select(Proficiency.learner_id)
            .where(*in_scope, Proficiency.level.is_not(None), Proficiency.level != 0)
            .group_by(Proficiency.learner_id)
            .having(func.count() == len(set(competency_ids))))


def _filter_members(session: Session, members: list[Member], cohort: Cohort,
                    competency_ids: Sequence[str],
                    wanted: CohortFilter) -> list[Member]:
    """Keep the members the filter shows; the level filter is answered in SQL."""
    kept = [m for m in members if _member_matches(m, wanted)]
    if wanted.level is None or not kept:
        return kept
    if not competency_ids:
        return []
    found = set(session.scalars(_at_level(cohort, competency_ids, wanted.level)))
    if wanted.level:
        return [m for m in kept if m.learner_id in found]
    return [m for m in kept if m.learner_id not in found]


def _levels_in(session: Session, cohort: Cohort, competency_id: str) -> dict[int, int]:
    """Return the cohort's levels in one competency, looked up learner by learner."""
    return {learner_id: level for learner_id, level in session.execute(
        select(Proficiency.learner_id, Proficiency.level)
        .where(in_cohort(Proficiency.learner_id, cohort), competency_among([competency_id]),
               Proficiency.level.is_not(None)))}


def _sort_members(session: Session, catalog: Catalog, members: list[Member], cohort: Cohort,
                  competency_ids: Sequence[str], wanted: CohortFilter) -> tuple[list[Member], RowLoader]:
    """Sort the shown members as the filter asks, reading in SQL only the one key the sort needs."""
    by, loader = wanted.sort, RowLoader(session, catalog, competency_ids)
    ids = [m.learner_id for m in members]
    if by == "last":
        last = read_last_activity(session, cohort) if ids else {}
        loader.last = last
        oldest = dt.datetime.min.replace(tzinfo=dt.UTC)
        members.sort(key=lambda m: last.get(m.learner_id) or m.last_launch_at or oldest,
                     reverse=wanted.descending)
    elif by == "progress":
        progress = read_cohort_progress(session, catalog, cohort, ids) if ids else {}
        loader.progress = progress
        members.sort(key=lambda m: LearnerRow(m, progress.get(m.learner_id, {}), None, {})
                     .percent(wanted.unit),
                     reverse=wanted.descending)
    elif by != "name":
        levels = _levels_in(session, cohort, by) if ids and by in competency_ids else {}
        members.sort(key=lambda m: levels.get(m.learner_id) or 0, reverse=wanted.descending)
    else:
        members.sort(key=lambda m: (m.family_name.casefold(), m.name.casefold()), reverse=wanted.descending)
    return members, loader


def build_course_view(session: Session, catalog: Catalog, framework: Framework, context_ids: Sequence[int],
                      cohort_filter: CohortFilter, *, now: dt.datetime | None = None) -> CourseView:
    """Assemble the dashboard of one or more courses: rows, level counts, funnels and the trend.

    Filtering and sorting need only the members and one key per learner; the level counts,
    funnels and trend are counted in SQL; standings and progress are read for the rows shown.
    """
    members = read_members(session, context_ids)
    # Listed ids (bound as one parameter, see l2i_db.cohort) let PostgreSQL look each learner up
    # by index; for a subselect it estimates a join and reads whole tables.
    cohort: Cohort = [m.learner_id for m in members]
    competencies = _shown_competencies(catalog, framework, cohort_filter)
    competency_ids = [c.idnumber for c in competencies]
    kept = _filter_members(session, members, cohort, competency_ids, cohort_filter)
    shown_members, loader = _sort_members(session, catalog, kept, cohort, competency_ids, cohort_filter)
    shown = cohort if len(shown_members) == len(members) else [m.learner_id for m in shown_members]
    units = [u for u in catalog.units if cohort_filter.unit in (None, u.id)]
    return CourseView(
        filter=cohort_filter, rows=LearnerRows(shown_members, loader), total=len(members),
        competencies=competencies, units=units,
        levels=count_cohort_levels(session, shown, len(shown_members), competency_ids,
                                   len(framework.scale.levels)),
        funnels=count_funnels(session, catalog, shown, len(shown_members), units),
        trend=proficiency_trend(session, shown, competency_ids, framework.scale.proficient_level,
                                weeks=TREND_WEEKS, now=now or utcnow()) if shown_members else [],
        institutions=sorted({(m.platform_id, m.institution) for m in members}, key=lambda p: p[1]),
        groups=sorted({m.group for m in members if m.group}, key=str.casefold),
    )


def _known_work(catalog: Catalog, units: Sequence[Unit]) -> tuple[ColumnElement[bool], ColumnElement[bool]]:
    """Return the conditions "a page of the catalog" and "handed-in work on an activity of the catalog"."""
    pages = or_(*(and_(PageVisit.unit_id == u.id, PageVisit.page_id.in_([p.id for p in u.pages]))
                  for u in units))
    work = and_(Attempt.status.in_(HANDED_IN), or_(*(
        and_(Attempt.unit_id == u.id, Attempt.activity_id.in_([a.id for a in u.activities])) for u in units)))
    return pages, work


def count_funnels(session: Session, catalog: Catalog, cohort: Cohort, size: int,
                  units: Sequence[Unit]) -> dict[str, tuple[int, int, int, int]]:
    """Return per unit (learners, started, handed in work, completed), counted in one grouped query.

    ``size`` is the number of learners in the cohort. A learner has started a unit when they have
    a position in it, read one of its pages, handed in work or completed it, as
    :func:`course_units.cohort.count_funnel` counts from their progress.
    """
    if not units or not size:
        return {u.id: (size, 0, 0, 0) for u in units}
    pages, work = _known_work(catalog, units)
    unit_ids = [u.id for u in units]
    marks = union_all(
        select(PageVisit.learner_id.label("learner_id"), PageVisit.unit_id.label("unit_id"),
               literal(0).label("kind")).where(in_cohort(PageVisit.learner_id, cohort), pages),
        select(Attempt.learner_id, Attempt.unit_id, literal(1))
        .where(in_cohort(Attempt.learner_id, cohort), work),
        select(UnitPosition.learner_id, UnitPosition.unit_id, literal(0))
        .where(in_cohort(UnitPosition.learner_id, cohort), UnitPosition.unit_id.in_(unit_ids)),
        select(UnitCompletion.learner_id, UnitCompletion.unit_id, literal(2))
        .where(in_cohort(UnitCompletion.learner_id, cohort), UnitCompletion.unit_id.in_(unit_ids)),
    ).subquery()
    counted = {unit_id: (int(started), int(handed_in), int(completed))
               for unit_id, started, handed_in, completed in session.execute(select(
                   marks.c.unit_id, func.count(marks.c.learner_id.distinct()),
                   func.count(case((marks.c.kind == 1, marks.c.learner_id)).distinct()),
                   func.count(case((marks.c.kind == 2, marks.c.learner_id)).distinct()),
               ).group_by(marks.c.unit_id))}
    return {unit_id: (size, *counted.get(unit_id, (0, 0, 0))) for unit_id in unit_ids}


def proficient_share(view: CourseView, proficient_level: int) -> dict[str, float]:
    """Return, per shown competency, the share of shown learners at or above proficient (0..1)."""
    shares = {}
    for competency_id, counts in view.levels.items():
        total = sum(counts)
        shares[competency_id] = sum(counts[proficient_level:]) / total if total else 0.0
    return shares


def write_course_csv(view: CourseView) -> str:
    """Return the dashboard's rows as CSV: one line per learner, progress per unit, level per competency.

    Cells that a spreadsheet would run as a formula (starting ``=``, ``+``, ``-`` or ``@``) are
    prefixed with an apostrophe.
    """
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(["learner", "institution", "group", "last_activity",
                     *(f"progress_{u.id}" for u in view.units), *(c.idnumber for c in view.competencies)])
    for row in view.rows:
        last = row.last_activity.isoformat(timespec="seconds") if row.last_activity else ""
        writer.writerow([_safe_cell(row.member.name), _safe_cell(row.member.institution),
                         _safe_cell(row.member.group or ""), last,
                         *(row.progress[u.id].percent if u.id in row.progress else "" for u in view.units),
                         *(row.level(c.idnumber) or "" for c in view.competencies)])
    return out.getvalue()


def _safe_cell(text: str) -> str:
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def set_group(session: Session, context_id: int, learner_id: int, name: str | None) -> None:
    """Put a learner in a named group of one course, or take them out of it (empty name)."""
    name = (name or "").strip()
    if len(name) > MAX_GROUP_NAME:
        raise FilterError(Message(N_("A group's name can be at most %(n)s characters."), n=MAX_GROUP_NAME))
    row = session.scalar(select(CourseGroup).where(CourseGroup.context_id == context_id,
                                                   CourseGroup.learner_id == learner_id))
    if not name:
        if row is not None:
            session.delete(row)
    elif row is None:
        session.add(CourseGroup(context_id=context_id, learner_id=learner_id, name=name))
    else:
        row.name = name
    session.flush()

"""A course's cohort for the trainer dashboard, its CSV export and the API: who, how far, how able.

One :func:`build_course_view` serves the page, the CSV and ``/api/v1``, so that they always show
the same numbers. It reads the pre-aggregated proficiency rows and grouped progress counts.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from competencies.dashboard import Cell, TrendPoint, count_levels, proficiency_trend, read_standings
from competencies.framework import Framework, Node
from course_units.cohort import UnitSummary, count_funnel, read_cohort_progress, read_last_activity
from course_units.content import Catalog, Unit
from course_units.i18n import N_, Message, ReadableError
from l2i_db import utcnow
from lti_tool.models import Context, CourseGroup, Deployment, Membership, Platform, PlatformUser, name_to_show

SORTS = ("name", "last", "progress")
TREND_WEEKS = 12
MAX_SEARCH = 100
MAX_GROUP_NAME = 100


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


def studying_in(context_ids: Sequence[int]) -> Select[tuple[int]]:
    """Select the learner ids of the members of these courses whose LMS roles include Learner."""
    return (select(PlatformUser.learner_id).join(Membership, Membership.user_id == PlatformUser.id)
            .where(Membership.context_id.in_(context_ids), Membership.studies.is_(True)))


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


@dataclass(frozen=True)
class CourseView:
    """Everything the course dashboard, its CSV and the API show, already filtered and sorted."""

    filter: CohortFilter
    rows: list[LearnerRow]
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


def _matches(row: LearnerRow, cohort_filter: CohortFilter, competency_ids: Sequence[str]) -> bool:
    member, wanted = row.member, cohort_filter
    if wanted.institution is not None and member.platform_id != wanted.institution:
        return False
    if wanted.group is not None and (member.group or "").casefold() != wanted.group.casefold():
        return False
    if wanted.search and wanted.search.casefold() not in member.name.casefold():
        return False
    if wanted.level is not None:
        return any((row.level(c) or 0) == wanted.level for c in competency_ids)
    return True


def _sort_rows(rows: list[LearnerRow], cohort_filter: CohortFilter) -> list[LearnerRow]:
    by = cohort_filter.sort
    oldest = dt.datetime.min.replace(tzinfo=dt.UTC)
    if by == "last":
        rows.sort(key=lambda r: r.last_activity or oldest, reverse=cohort_filter.descending)
    elif by == "progress":
        rows.sort(key=lambda r: r.percent(cohort_filter.unit), reverse=cohort_filter.descending)
    elif by != "name":
        rows.sort(key=lambda r: r.level(by) or 0, reverse=cohort_filter.descending)
    else:
        rows.sort(key=lambda r: (r.member.family_name.casefold(), r.member.name.casefold()),
                  reverse=cohort_filter.descending)
    return rows


def build_course_view(session: Session, catalog: Catalog, framework: Framework, context_ids: Sequence[int],
                      cohort_filter: CohortFilter, *, now: dt.datetime | None = None) -> CourseView:
    """Assemble the dashboard of one or more courses: rows, level counts, funnels and the trend."""
    members = read_members(session, context_ids)
    ids = [m.learner_id for m in members]
    cohort = studying_in(context_ids)   # a subselect: cheaper than a thousand bound ids
    competencies = _shown_competencies(catalog, framework, cohort_filter)
    competency_ids = [c.idnumber for c in competencies]
    standings = read_standings(session, cohort, competency_ids) if ids else {}
    progress = read_cohort_progress(session, catalog, cohort, ids) if ids else {}
    last = read_last_activity(session, cohort) if ids else {}
    rows = [LearnerRow(m, progress.get(m.learner_id, {}), last.get(m.learner_id) or m.last_launch_at,
                       standings.get(m.learner_id, {})) for m in members]
    shown = _sort_rows([r for r in rows if _matches(r, cohort_filter, competency_ids)], cohort_filter)
    shown_ids = [r.member.learner_id for r in shown]
    units = [u for u in catalog.units if cohort_filter.unit in (None, u.id)]
    shown_progress = {r.member.learner_id: r.progress for r in shown}
    return CourseView(
        filter=cohort_filter, rows=shown, total=len(rows), competencies=competencies, units=units,
        levels=count_levels(standings, shown_ids, competency_ids, len(framework.scale.levels)),
        funnels={u.id: count_funnel(shown_progress, u.id) for u in units},
        trend=proficiency_trend(session, cohort if len(shown) == len(rows) else shown_ids, competency_ids,
                                framework.scale.proficient_level, weeks=TREND_WEEKS,
                                now=now or utcnow()) if shown_ids else [],
        institutions=sorted({(m.platform_id, m.institution) for m in members}, key=lambda p: p[1]),
        groups=sorted({m.group for m in members if m.group}, key=str.casefold),
    )


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

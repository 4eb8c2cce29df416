"""The dashboards' charts with translated titles; the tables beside them are in the templates."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from markupsafe import Markup

from competencies.dashboard import TrendPoint
from competencies.framework import Framework, Node
from course_units.content import Unit
from course_units.text import localise
from lti_tool import charts
from lti_tool.web.translation import gettext


def level_segments(framework: Framework) -> list[charts.Segment]:
    """Return the legend of a level chart: "no level yet", then each level of the scale."""
    return [charts.Segment(gettext("No level yet"), "lvl-0"),
            *(charts.Segment(level.name, f"lvl-{level.level}") for level in framework.scale.levels)]


def draw_level_distribution(chart_id: str, competencies: Sequence[Node], levels: Mapping[str, list[int]],
                            framework: Framework) -> Markup:
    """Draw learners per level for each competency, one stacked bar per competency."""
    rows = [(f"{c.idnumber} {c.shortname}", levels.get(c.idnumber, [])) for c in competencies]
    return charts.stacked_bars(
        chart_id, gettext("Learners at each level, per competency"),
        gettext("One bar per competency, split by the learners' level. "
                "The table that follows gives the counts."),
        rows, level_segments(framework), empty_text=gettext("No learners to show."))


def draw_funnel(chart_id: str, unit: Unit, stages: tuple[int, int, int, int], locale: str | None) -> Markup:
    """Draw one unit's progress funnel: in the course, started, handed in work, completed."""
    labels = (gettext("In the course"), gettext("Started"), gettext("Handed in work"), gettext("Completed"))
    return charts.funnel(
        chart_id, localise(unit.title, locale),
        gettext("How many learners started the unit, handed in work and completed it."),
        list(zip(labels, stages, strict=True)), empty_text=gettext("No learners to show."))


def draw_trend(chart_id: str, trend: Sequence[TrendPoint]) -> Markup:
    """Draw the proficiencies reached over the past weeks (cumulative)."""
    return charts.line_chart(
        chart_id, gettext("Proficiency reached over time"),
        gettext("For each week, how many times a learner had reached proficiency in a competency, in total."),
        [(point.week.isoformat(), float(point.reached)) for point in trend],
        y_label=gettext("Proficiencies reached"), empty_text=gettext("No proficiency reached yet."))


def draw_profile(chart_id: str, competencies: Sequence[Node], levels: Mapping[str, int | None],
                 framework: Framework) -> Markup:
    """Draw one learner's level in each competency, with the proficient level marked."""
    return charts.level_profile(
        chart_id, gettext("Your level in each competency"),
        gettext("One bar per competency; the dashed line marks the proficient level. "
                "The table that follows gives the same levels."),
        [(f"{c.idnumber} {c.shortname}", levels.get(c.idnumber)) for c in competencies],
        [level.name for level in framework.scale.levels], framework.scale.proficient_level,
        empty_text=gettext("No level yet in any competency: take a quiz or hand in a reflection to start."),
        no_level_text=gettext("No level yet"))

"""The cells of the trainer's heatmap, made in Python: a page has a hundred rows of 35 cells.

As Jinja macros, the 3,500 cells of a page cost a macro call and a translation each, which was
half of the page's time. Here the translated label of a progress cell is looked up once per
page, and each row's cells are joined in one string; every value from the data is escaped.
"""

from __future__ import annotations

from collections.abc import Sequence

from markupsafe import Markup

from competencies.dashboard import Cell
from competencies.framework import Node
from course_units.content import Unit
from course_units.text import localise
from lti_tool.cohorts import LearnerRow
from lti_tool.web.translation import gettext


class HeatmapCells:
    """Draws a row's unit progress and competency level cells, with labels translated once."""

    def __init__(self, units: Sequence[Unit], competencies: Sequence[Node], locale: str | None) -> None:
        """Look up each unit's title and the progress label's pattern in the reader's language."""
        self.units = [(unit.id, localise(unit.title, locale)) for unit in units]
        self.competency_ids = [c.idnumber for c in competencies]
        # gettext without values returns the translated pattern, filled in per cell below;
        # Markup's "%" escapes the values, as the template's _() does.
        self.label = Markup(gettext("%(unit)s: %(percent)s%%"))  # noqa: S704 (our own catalogue text)
        self.labels: dict[tuple[str, int], str] = {}   # (unit, percent) -> label: most cells repeat one

    def progress_cells(self, row: LearnerRow) -> Markup:
        """Return the row's ``<td>`` per unit: a progress bar labelled with the unit and its percent."""
        cells = []
        for unit_id, title in self.units:
            summary = row.progress.get(unit_id)
            percent = summary.percent if summary else 0
            label = self.labels.get((unit_id, percent))
            if label is None:
                label = self.labels[(unit_id, percent)] = self.label % {"unit": title, "percent": percent}
            cells.append(f'<td class="unit-progress"><progress max="100" value="{percent}" '
                         f'aria-label="{label}"></progress> '
                         f'<span class="progress-text">{percent}%</span></td>')
        return Markup("".join(cells))  # noqa: S704 (values are integers or escaped)

    def level_cells(self, row: LearnerRow) -> Markup:
        """Return the row's ``<td>`` per competency: its level (0: none yet), starred if a trainer set it."""
        return Markup("".join(_level_cell(row.cells.get(c)) for c in self.competency_ids))  # noqa: S704


class LearnerUrls:
    """The link to each learner of a page, built once: ``url_for`` a hundred times cost 40 ms a page."""

    PLACEHOLDER = 987_654_321_123   # no learner id gets this large

    def __init__(self, pattern: str) -> None:
        """Hold a URL built with :attr:`PLACEHOLDER` as the learner id, in the path."""
        marker = f"/{self.PLACEHOLDER}"
        if pattern.count(marker) != 1:
            raise ValueError(f"the URL pattern must hold the placeholder once in its path: {pattern}")
        self.before, self.after = pattern.split(marker)

    def __call__(self, learner_id: int) -> str:
        """Return the URL for one learner."""
        return f"{self.before}/{int(learner_id)}{self.after}"


def _level_cell(cell: Cell | None) -> str:
    level = int(cell.level or 0) if cell else 0
    star = "*" if cell and cell.overridden else ""
    return f'<td class="heat heat-{level}">{level}{star}</td>'

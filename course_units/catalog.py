"""The programme's catalogue as the unit list shows it: ids, titles and summaries.

A thin view over ``course_units.loader.load_catalog``: the summaries come from the fully validated
content, so a fault anywhere raises ``ContentError`` here too.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from course_units.content import Unit
from course_units.loader import CONTENT_DIR, ContentError, load_catalog
from course_units.text import localise

__all__ = ["CONTENT_DIR", "ContentError", "UnitSummary", "load_unit_summaries", "summarise_unit"]


@dataclass(frozen=True)
class UnitSummary:
    """What the unit list shows about one unit."""

    id: str
    order: int
    title: dict[str, str]
    summary: dict[str, str]
    estimated_minutes: int
    activity_ids: tuple[str, ...]

    def title_in(self, locale: str | None) -> str:
        """Return the title in ``locale``, falling back to English."""
        return localise(self.title, locale)

    def summary_in(self, locale: str | None) -> str:
        """Return the summary in ``locale``, falling back to English."""
        return localise(self.summary, locale)


def summarise_unit(unit: Unit) -> UnitSummary:
    """Return the unit list's view of ``unit``."""
    return UnitSummary(
        id=unit.id,
        order=unit.order,
        title=dict(unit.title),
        summary=dict(unit.summary),
        estimated_minutes=unit.estimated_minutes,
        activity_ids=tuple(a.id for a in unit.activities),
    )


def load_unit_summaries(content_dir: Path = CONTENT_DIR) -> list[UnitSummary]:
    """Load and validate the content under ``content_dir``; return the units' summaries in order."""
    return [summarise_unit(unit) for unit in load_catalog(content_dir).units]

"""The programme's catalogue: the units' ids, titles and summaries, read from ``unit.yaml`` files."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from course_units.text import localise

CONTENT_DIR = Path(__file__).parent / "content"


class ContentError(ValueError):
    """A content file is missing or malformed; the message names the file."""


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


def _read_yaml(path: Path) -> dict[str, Any]:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise ContentError(f"{path}: {exc}") from exc
    if not isinstance(data, dict):
        raise ContentError(f"{path}: expected a mapping at the top level")
    return data


def _summary_from(path: Path, data: dict[str, Any]) -> UnitSummary:
    try:
        return UnitSummary(
            id=str(data["id"]),
            order=int(data["order"]),
            title=dict(data["title"]),
            summary=dict(data.get("summary") or {}),
            estimated_minutes=int(data.get("estimated_minutes") or 0),
            activity_ids=tuple(str(a) for a in data.get("activities") or ()),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise ContentError(f"{path}: missing or malformed field ({exc})") from exc


def load_unit_summaries(content_dir: Path = CONTENT_DIR) -> list[UnitSummary]:
    """Read every ``*/unit.yaml`` under ``content_dir``, in programme order."""
    units = [_summary_from(p, _read_yaml(p)) for p in sorted(content_dir.glob("*/unit.yaml"))]
    ids = [u.id for u in units]
    duplicates = {i for i in ids if ids.count(i) > 1}
    if duplicates:
        raise ContentError(f"{content_dir}: duplicate unit ids {sorted(duplicates)}")
    return sorted(units, key=lambda u: u.order)

"""A cohort of learners, as the dashboards' queries take it: learner ids, or a select of them."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import ColumnElement, Select
from sqlalchemy.orm import InstrumentedAttribute

Cohort = Sequence[int] | Select[Any]


def in_cohort(column: InstrumentedAttribute[int], cohort: Cohort) -> ColumnElement[bool]:
    """Return ``column IN (...)`` for a list of learner ids, or ``IN (SELECT ...)`` for a select."""
    if isinstance(cohort, Select):
        return column.in_(cohort)
    return column.in_(list(cohort))

"""A cohort of learners, as the dashboards' queries take it: learner ids, or a select of them.

A list of ids is bound as **one** parameter, not one per id: a course of a thousand learners
would otherwise put a thousand parameters into every query of the dashboard, and rendering
and parsing them cost more than running the query. PostgreSQL gets
``= ANY(CAST(:ids AS INTEGER[]))`` (looked up by index, as ``IN`` is); SQLite gets
``IN (SELECT value FROM json_each(:ids))``.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Boolean, ColumnElement, Select, String, TypeDecorator, bindparam
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import InstrumentedAttribute
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.visitors import InternalTraversal

Cohort = Sequence[int] | Select[Any]


class IdList(TypeDecorator[list[int]]):
    """A list of integer ids as one bound value: an array's text on PostgreSQL, JSON text elsewhere."""

    impl = String
    cache_ok = True

    def process_bind_param(self, value: list[int] | None, dialect: Dialect) -> str | None:
        """Give PostgreSQL the array's text (``{1,2,3}``), other databases JSON text.

        Text, because the driver's own list adaptation costs a few milliseconds per thousand ids.
        """
        if value is None:
            return None
        if dialect.name == "postgresql":
            return "{" + ",".join(str(int(n)) for n in value) + "}"
        return json.dumps([int(n) for n in value])


class AmongIds(ColumnElement[bool]):
    """``column`` is one of a list of ids bound as one parameter (see the module's docstring)."""

    type = Boolean()
    inherit_cache = True
    _is_implicitly_boolean = True       # a condition: no "= 1" where booleans are integers
    # SQLAlchemy's own spelling of what makes up the element (for its statement cache).
    _traverse_internals = [("column", InternalTraversal.dp_clauseelement),  # noqa: RUF012
                           ("ids", InternalTraversal.dp_clauseelement)]

    def __init__(self, column: ColumnElement[int] | InstrumentedAttribute[int], ids: Sequence[int]) -> None:
        """Hold the column and the ids' bound parameter."""
        self.column = column if isinstance(column, ColumnElement) else column.expression
        self.ids = bindparam(None, [int(n) for n in ids], type_=IdList())


@compiles(AmongIds)
def _compile_among_json(element: AmongIds, compiler: SQLCompiler, **kw: Any) -> str:
    return (f"{compiler.process(element.column, **kw)} IN "  # noqa: S608 (compiled SQL, values stay bound)
            f"(SELECT value FROM json_each({compiler.process(element.ids, **kw)}))")


@compiles(AmongIds, "postgresql")
def _compile_among_array(element: AmongIds, compiler: SQLCompiler, **kw: Any) -> str:
    column, ids = compiler.process(element.column, **kw), compiler.process(element.ids, **kw)
    return f"{column} = ANY(CAST({ids} AS INTEGER[]))"


def in_cohort(column: ColumnElement[int] | InstrumentedAttribute[int], cohort: Cohort) -> ColumnElement[bool]:
    """Return "``column`` is a learner of the cohort": one of the listed ids, or ``IN (SELECT ...)``."""
    if isinstance(cohort, Select):
        return column.in_(cohort)
    return AmongIds(column, cohort)

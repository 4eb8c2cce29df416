"""Limit/page paging for service containers, with the RFC 8288 ``rel="next"`` URL."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar
from urllib.parse import urlencode

from lms_emulator.errors import ServiceError

T = TypeVar("T")

MAX_PAGE_SIZE = 1000


@dataclass(frozen=True)
class Page(Generic[T]):
    """One page of a container and the URL of the next page, if there is one."""

    items: list[T]
    next_url: str | None


def _positive_int(args: Mapping[str, str], name: str, default: int) -> int:
    raw = args.get(name)
    if raw is None or raw == "":
        return default
    try:
        number = int(raw)
    except ValueError:
        number = 0
    if number < 1:
        raise ServiceError(400, "invalid_request", f"{name} must be a positive integer")
    return number


def paginate(
    items: Sequence[T], args: Mapping[str, str], *, base_url: str, default_limit: int | None
) -> Page[T]:
    """Cut ``items`` by the ``limit`` and ``page`` query arguments (page counts from 1).

    ``default_limit`` None means "everything unless the caller asks for a limit".
    """
    limit = min(_positive_int(args, "limit", default_limit or MAX_PAGE_SIZE), MAX_PAGE_SIZE)
    page = _positive_int(args, "page", 1)
    start = (page - 1) * limit
    chunk = list(items[start : start + limit])
    if start + limit >= len(items):
        return Page(chunk, None)
    query = {name: value for name, value in args.items() if name not in ("limit", "page")}
    query.update({"limit": str(limit), "page": str(page + 1)})
    return Page(chunk, f"{base_url}?{urlencode(query)}")

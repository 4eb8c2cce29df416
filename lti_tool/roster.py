"""Course rosters over LTI Names and Role Provisioning Services (NRPS 2.0). No Flask here.

The tool fetches a context's membership with an access token for the NRPS scope, follows the
``Link: <...>; rel="next"`` pages on the memberships URL's own host, and stores the result as a
snapshot (``lti_tool.roster_models``). The snapshot is refetched when it is older than
:data:`ROSTER_MAX_AGE` or when a trainer asks for it.

A platform is not trusted to be well behaved: pages, members, body sizes and the total time are
capped, a page that is not JSON or a ``next`` link to another host stops the fetch with a clear
error, and members without a ``user_id`` are skipped and counted.
"""

from __future__ import annotations

import datetime as dt
import json
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from urllib.parse import urljoin, urlsplit

import requests
from requests.utils import parse_header_links
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from l2i_db import utcnow
from lti_tool import vocabulary as v
from lti_tool.keys import SigningKey, find_signing_key
from lti_tool.models import Context, Membership, Platform, PlatformUser, ResourceLink
from lti_tool.roster_models import RosterFetch, RosterMember
from lti_tool.services import MAX_ERROR_CHARS, PlatformAccess, ServiceError, ServiceTokens, platform_access
from lti_tool.sync import normalise_roles

ROSTER_MAX_AGE = dt.timedelta(hours=1)
MAX_PAGES = 100
MAX_MEMBERS = 20_000
MAX_PAGE_BYTES = 5 * 1024 * 1024
MAX_FETCH_SECONDS = 60.0
STATUSES = ("Active", "Inactive", "Deleted")
ACCEPT = f"{v.MEDIA_MEMBERSHIP_CONTAINER}, application/json;q=0.5"
_CHUNK = 64 * 1024
_TEXT_LIMITS = {"name": 255, "given_name": 255, "family_name": 255, "email": 320}


class RosterError(ServiceError):
    """The platform's roster answer cannot be used (bad content, a refused link, a cap reached)."""

    def __init__(self, message: str, *, retryable: bool = False, status: int | None = None) -> None:
        super().__init__(message, retryable=retryable, status=status)


@dataclass(frozen=True)
class Member:
    """One member of a course roster, as the platform listed them."""

    user_id: str
    name: str | None = None
    given_name: str | None = None
    family_name: str | None = None
    email: str | None = None
    roles: tuple[str, ...] = ()
    status: str = "Active"


@dataclass(frozen=True)
class Roster:
    """A whole roster: its members, how many entries were skipped, and how many pages it took."""

    members: list[Member]
    skipped: int = 0
    pages: int = 1


def _text(value: object, limit: int) -> str | None:
    if not isinstance(value, str | int) or isinstance(value, bool):
        return None
    text = str(value).strip()
    return text[:limit] or None


def parse_member(entry: object) -> Member | None:
    """Return one member of a membership container, or None when it has no usable ``user_id``."""
    if not isinstance(entry, Mapping):
        return None
    user_id = _text(entry.get("user_id"), 255)
    if user_id is None:
        return None
    raw_roles = entry.get("roles")
    roles = normalise_roles([r for r in raw_roles if isinstance(r, str)]) \
        if isinstance(raw_roles, list) else ()
    status = entry.get("status")
    fields = {name: _text(entry.get(name), limit) for name, limit in _TEXT_LIMITS.items()}
    return Member(user_id=user_id, roles=roles, status=status if status in STATUSES else "Active", **fields)


def parse_page(body: object) -> tuple[list[Member], int]:
    """Return the members of one membership container page and the number of entries skipped."""
    if not isinstance(body, Mapping) or not isinstance(body.get("members"), list):
        raise RosterError("roster: the platform's answer is not a membership container")
    members: list[Member] = []
    skipped = 0
    for entry in body["members"]:
        member = parse_member(entry)
        if member is None:
            skipped += 1
        else:
            members.append(member)
    return members, skipped


def next_link(header: str | None, base_url: str) -> str | None:
    """Return the absolute URL of the ``rel="next"`` link in a ``Link`` header, if there is one."""
    if not header:
        return None
    for link in parse_header_links(header):
        if "next" in link.get("rel", "").lower().split() and link.get("url"):
            return urljoin(base_url, link["url"])
    return None


def same_origin(url: str, origin_url: str) -> bool:
    """Whether ``url`` has the scheme and host (with port) of ``origin_url``."""
    a, b = urlsplit(url), urlsplit(origin_url)
    return (a.scheme.lower(), a.netloc.lower()) == (b.scheme.lower(), b.netloc.lower())


def _read_capped(response: requests.Response, limit: int) -> bytes:
    declared = response.headers.get("Content-Length", "")
    if declared.isdigit() and int(declared) > limit:
        raise RosterError(f"roster: a page is larger than {limit // (1024 * 1024)} MB")
    body = bytearray()
    for chunk in response.iter_content(_CHUNK):
        body.extend(chunk)
        if len(body) > limit:
            raise RosterError(f"roster: a page is larger than {limit // (1024 * 1024)} MB")
    return bytes(body)


def _error_text(response: requests.Response) -> str:
    head = next(response.iter_content(MAX_ERROR_CHARS * 4), b"")
    return head.decode("utf-8", "replace").strip()[:MAX_ERROR_CHARS]


@dataclass
class RosterClient:
    """Fetches whole rosters from a platform's NRPS memberships endpoint."""

    http: requests.Session
    tokens: ServiceTokens
    timeout: float
    max_pages: int = MAX_PAGES
    max_members: int = MAX_MEMBERS
    max_page_bytes: int = MAX_PAGE_BYTES
    max_seconds: float = MAX_FETCH_SECONDS
    clock: Callable[[], float] = time.monotonic

    def fetch(self, access: PlatformAccess, key: SigningKey, memberships_url: str) -> Roster:
        """Return every member of the roster at ``memberships_url``, following its pages."""
        if urlsplit(memberships_url).scheme not in ("http", "https"):
            raise RosterError("roster: the memberships URL is not an HTTP address")
        started = self.clock()
        members: dict[str, Member] = {}
        skipped = pages = 0
        seen: set[str] = set()
        url: str | None = memberships_url
        while url is not None:
            if pages >= self.max_pages:
                raise RosterError(f"roster: more than {self.max_pages} pages; stopped")
            if self.clock() - started > self.max_seconds:
                raise RosterError("roster: the platform took too long to list the roster", retryable=True)
            if not same_origin(url, memberships_url):
                raise RosterError(f"roster: refused a next page on another host ({urlsplit(url).netloc})")
            if url in seen:
                raise RosterError("roster: the platform's next links go round in a circle")
            seen.add(url)
            body, url = self._page(access, key, url)
            page_members, page_skipped = parse_page(body)
            pages += 1
            skipped += page_skipped
            for member in page_members:
                members[member.user_id] = member
            if len(members) > self.max_members:
                raise RosterError(f"roster: more than {self.max_members} members; stopped")
        return Roster(members=list(members.values()), skipped=skipped, pages=pages)

    def _page(self, access: PlatformAccess, key: SigningKey, url: str) -> tuple[object, str | None]:
        for attempt in (1, 2):
            token = self.tokens.token(access, key, [v.SCOPE_NRPS])
            headers = {"Authorization": f"Bearer {token}", "Accept": ACCEPT}
            try:
                with self.http.get(url, headers=headers, timeout=self.timeout, stream=True,
                                   allow_redirects=False) as response:
                    if response.status_code == 401:
                        # The platform no longer accepts the cached token: get a fresh one, once.
                        self.tokens.forget(access)
                        if attempt == 1:
                            continue
                    if not 200 <= response.status_code < 300:  # redirects are not followed
                        text = _error_text(response) if response.status_code != 401 else ""
                        retryable = response.status_code >= 500 or response.status_code in (401, 408, 429)
                        raise ServiceError(f"roster: HTTP {response.status_code} {text}".strip(),
                                           retryable=retryable, status=response.status_code)
                    raw = _read_capped(response, self.max_page_bytes)
                    following = next_link(response.headers.get("Link"), url)
            except requests.Timeout as exc:
                raise ServiceError("roster: no answer in time", retryable=True) from exc
            except requests.RequestException as exc:
                raise ServiceError(f"roster: cannot connect ({exc.__class__.__name__})",
                                   retryable=True) from exc
            try:
                return json.loads(raw), following
            except (ValueError, RecursionError) as exc:
                raise RosterError("roster: a page of the platform's answer is not JSON") from exc
        raise ServiceError("roster: HTTP 401", retryable=True, status=401)  # pragma: no cover


# -- the stored snapshot ------------------------------------------------------------------


def memberships_url_for(session: Session, context_id: int,
                        preferred: ResourceLink | None = None) -> str | None:
    """Return the context's NRPS memberships URL: the launch's link's, else the latest one synced."""
    if preferred is not None and preferred.context_id == context_id and preferred.memberships_url:
        return preferred.memberships_url
    url: str | None = session.scalars(
        select(ResourceLink.memberships_url)
        .where(ResourceLink.context_id == context_id, ResourceLink.memberships_url.is_not(None))
        .order_by(ResourceLink.updated_at.desc(), ResourceLink.id.desc()).limit(1)
    ).first()
    return url


def last_fetch(session: Session, context_id: int) -> RosterFetch | None:
    """Return the record of the context's last roster fetch, if any."""
    return session.get(RosterFetch, context_id)


def is_stale(fetch: RosterFetch | None, now: dt.datetime | None = None) -> bool:
    """Whether a roster is due for a refetch: never fetched, or last tried over an hour ago."""
    if fetch is None or fetch.fetched_at is None:
        return True
    return (now or utcnow()) - fetch.attempted_at >= ROSTER_MAX_AGE


def _lock_course(session: Session, context_id: int) -> None:
    """Hold the course's row until commit, so two refreshes of one roster take turns.

    (PostgreSQL: a row lock; SQLite serialises writers anyway.)
    """
    session.execute(select(Context.id).where(Context.id == context_id).with_for_update())


def store_roster(session: Session, context_id: int, roster: Roster,
                 now: dt.datetime | None = None) -> RosterFetch:
    """Replace the context's stored roster with ``roster`` and record the fetch (not committed)."""
    now = now or utcnow()
    _lock_course(session, context_id)
    session.execute(delete(RosterMember).where(RosterMember.context_id == context_id))
    session.add_all(
        RosterMember(context_id=context_id, sub=m.user_id, name=m.name, given_name=m.given_name,
                     family_name=m.family_name, email=m.email, roles=list(m.roles), status=m.status)
        for m in roster.members
    )
    fetch = last_fetch(session, context_id) or RosterFetch(context_id=context_id)
    fetch.fetched_at = fetch.attempted_at = now
    fetch.member_count, fetch.skipped_count, fetch.last_error = len(roster.members), roster.skipped, None
    session.add(fetch)
    session.flush()
    return fetch


def record_failure(session: Session, context_id: int, error: str,
                   now: dt.datetime | None = None) -> RosterFetch:
    """Record a failed fetch; the roster stored before, if any, stays (not committed)."""
    _lock_course(session, context_id)
    fetch = last_fetch(session, context_id) or RosterFetch(context_id=context_id, member_count=0,
                                                           skipped_count=0)
    fetch.attempted_at = now or utcnow()
    fetch.last_error = error[:MAX_ERROR_CHARS * 2]
    session.add(fetch)
    session.flush()
    return fetch


def refresh_roster(session: Session, client: RosterClient, platform: Platform, context: Context,
                   memberships_url: str) -> RosterFetch:
    """Fetch the context's roster now and store it; on failure record the error and raise it."""
    key_row = find_signing_key(session)
    try:
        if key_row is None:
            raise RosterError("roster: the tool has no signing key yet")
        roster = client.fetch(platform_access(platform), SigningKey(key_row.kid, key_row.private_key_pem),
                              memberships_url)
    except ServiceError as exc:
        record_failure(session, context.id, str(exc))
        raise
    return store_roster(session, context.id, roster)


def never_launched(session: Session, context: Context, platform: Platform) -> list[RosterMember]:
    """Return the active learners in the stored roster who never opened the tool in this context.

    A roster member is matched to the tool's users by the platform's issuer and their ``sub``;
    someone counts as having opened the tool when they launched it in this context.
    """
    launched_subs = set(session.scalars(
        select(PlatformUser.sub).join(Membership, Membership.user_id == PlatformUser.id)
        .where(Membership.context_id == context.id, PlatformUser.issuer == platform.issuer,
               PlatformUser.last_launch_at.is_not(None))
    ))
    members = session.scalars(
        select(RosterMember).where(RosterMember.context_id == context.id, RosterMember.status == "Active")
    )
    return sorted(
        (m for m in members if v.ROLE_LEARNER in m.roles and m.sub not in launched_subs),
        key=_sort_key,
    )


def _sort_key(member: RosterMember) -> tuple[str, str]:
    return ((member.family_name or member.display_name).casefold(), member.display_name.casefold())


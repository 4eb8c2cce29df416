"""The emulated LMS itself: institutions, courses, people, keys, launch claims and records.

Nothing here knows about Flask. An :class:`Institution` is one LTI 1.3 platform
registration (issuer, client_id, deployment_id) with its own RSA key pair,
generated in memory when it is created. It builds and signs id_tokens shaped like
Moodle 4.5's, and records what the tool sends back, behind a lock, so that the
HTTP layer can run threaded.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Final
from urllib.parse import urlsplit

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

from lms_emulator import vocabulary as v
from lms_emulator.jws import encode_jws
from lms_emulator.sealing import OnceRegistry, Sealer
from lms_emulator.seed_data import (
    COURSE_LABEL,
    COURSE_TITLE,
    INSTITUTION_SEEDS,
    PROGRAMME_LINK_DESCRIPTION,
    PROGRAMME_LINK_TITLE,
    ROLE_KINDS,
    UNIT_SCORE_MAXIMUM,
    UNITS,
    PersonSeed,
)
from lms_emulator.tool_keys import JwksFetcher, ToolKeySet, fetch_jwks_over_http

Clock = Callable[[], float]

KEY_SIZE: Final = 2048
ID_TOKEN_LIFETIME_SECONDS: Final = 60
MESSAGE_HINT_LIFETIME_SECONDS: Final = 600
DEEP_LINKING_DATA_LIFETIME_SECONDS: Final = 3600
ACCESS_TOKEN_LIFETIME_SECONDS: Final = 3600
DEFAULT_NRPS_PAGE_SIZE: Final = 2
PRODUCT_FAMILY_CODE: Final = "l2i-lms-emulator"

DOCUMENT_TARGETS: Final = frozenset({"iframe", "window"})


def isoformat_utc(timestamp: float) -> str:
    """Format a POSIX timestamp as ISO 8601 in UTC with a ``Z``."""
    moment = dt.datetime.fromtimestamp(timestamp, tz=dt.UTC)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


@dataclass(frozen=True)
class User:
    """A person known to the institution; ``sub`` is an opaque numeric id, as in Moodle."""

    sub: str
    given_name: str
    family_name: str
    email: str
    username: str
    roles: tuple[str, ...]
    role_label: str
    locale: str = "en"
    launches: bool = True
    places_content: bool = False

    @property
    def name(self) -> str:
        """Full name, given name first."""
        return f"{self.given_name} {self.family_name}"


@dataclass
class ResourceLink:
    """An LTI activity placed in a course; ``url`` None means the tool's launch URL."""

    id: str
    title: str
    description: str = ""
    custom: dict[str, str] = field(default_factory=dict)
    url: str | None = None
    placed_by_deep_linking: bool = False


@dataclass
class Result:
    """The gradebook's latest score for one user on one line item."""

    user_id: str
    score_given: float | None
    score_maximum: float | None
    comment: str | None
    activity_progress: str
    grading_progress: str
    timestamp: dt.datetime
    received_at: float


@dataclass
class LineItem:
    """A gradebook column (AGS line item), optionally bound to a resource link."""

    id: str
    label: str
    score_maximum: float
    resource_link_id: str | None = None
    resource_id: str | None = None
    tag: str | None = None
    start_date_time: str | None = None
    end_date_time: str | None = None
    results: dict[str, Result] = field(default_factory=dict)


@dataclass
class Course:
    """A course section (LTI context) with its enrolled users, links and line items."""

    context_id: str
    label: str
    title: str
    member_subs: list[str]
    links: list[ResourceLink] = field(default_factory=list)
    line_items: dict[str, LineItem] = field(default_factory=dict)
    type: str = v.CONTEXT_TYPE_COURSE_SECTION

    def find_link(self, link_id: str) -> ResourceLink | None:
        """Return the course's resource link with this id, if any."""
        return next((link for link in self.links if link.id == link_id), None)

    def line_item_for_link(self, link_id: str) -> LineItem | None:
        """Return the first line item bound to the resource link, if any."""
        return next(
            (item for item in self.line_items.values() if item.resource_link_id == link_id),
            None,
        )


@dataclass(frozen=True)
class AccessToken:
    """An OAuth2 access token the platform issued to the tool."""

    value: str
    scopes: frozenset[str]
    expires_at: float


@dataclass(frozen=True)
class MessageHint:
    """What ``lti_message_hint`` carries from the launch initiation to the auth endpoint."""

    user_sub: str
    context_id: str
    link_id: str | None
    message_type: str
    document_target: str
    locale: str


@dataclass(frozen=True)
class SigningKey:
    """One of the institution's RSA key pairs."""

    kid: str
    private_key: rsa.RSAPrivateKey


def generate_signing_key() -> SigningKey:
    """Create a fresh RSA key pair in memory with a random kid."""
    private_key = rsa.generate_private_key(public_exponent=65537, key_size=KEY_SIZE)
    return SigningKey(kid=secrets.token_urlsafe(12), private_key=private_key)


@dataclass(eq=False)
class Institution:
    """One LTI 1.3 platform registration: issuer, client, deployment, keys, courses, people."""

    slug: str
    name: str
    issuer: str
    client_id: str
    deployment_id: str
    tool_base_url: str
    courses: list[Course]
    users: list[User]
    allow_extra_credit: bool = False
    clock: Clock = time.time
    signing_keys: list[SigningKey] = field(default_factory=lambda: [generate_signing_key()])
    lock: threading.RLock = field(default_factory=threading.RLock, init=False, repr=False)
    _sealer: Sealer = field(init=False, repr=False)
    _used_jtis: OnceRegistry = field(init=False, repr=False)
    _used_dl_nonces: OnceRegistry = field(init=False, repr=False)
    _next_ids: dict[str, int] = field(default_factory=dict, init=False, repr=False)
    _open_deep_linking_data: dict[str, float] = field(default_factory=dict, init=False, repr=False)
    _access_tokens: dict[str, AccessToken] = field(default_factory=dict, init=False, repr=False)
    _records: dict[str, list[dict[str, Any]]] = field(
        default_factory=lambda: {
            "auth_requests": [],
            "launches": [],
            "deep_linking_responses": [],
            "scores": [],
            "token_requests": [],
        },
        init=False,
        repr=False,
    )

    def __post_init__(self) -> None:
        self._sealer = Sealer(self.clock)
        self._used_jtis = OnceRegistry(self.clock)
        self._used_dl_nonces = OnceRegistry(self.clock)

    # -- endpoints --------------------------------------------------------------

    @property
    def auth_login_url(self) -> str:
        """The OIDC authorization endpoint."""
        return f"{self.issuer}/auth"

    @property
    def auth_token_url(self) -> str:
        """The OAuth2 token endpoint."""
        return f"{self.issuer}/token"

    @property
    def key_set_url(self) -> str:
        """The platform's JWKS URL."""
        return f"{self.issuer}/jwks"

    @property
    def deep_link_return_url(self) -> str:
        """Where the tool posts its Deep Linking response."""
        return f"{self.issuer}/dl/return"

    @property
    def tool_login_url(self) -> str:
        """The tool's OIDC login initiation URL."""
        return f"{self.tool_base_url}/lti/login"

    @property
    def tool_origin(self) -> str:
        """The tool's origin (scheme, host and port): the only one the course frame talks to."""
        parts = urlsplit(self.tool_base_url)
        return f"{parts.scheme}://{parts.netloc}"

    @property
    def tool_launch_url(self) -> str:
        """The tool's launch URL: the only redirect_uri the platform accepts."""
        return f"{self.tool_base_url}/lti/launch"

    def line_items_url(self, course: Course) -> str:
        """Return the AGS line item container URL of a course."""
        return f"{self.issuer}/ags/{course.context_id}/lineitems"

    def line_item_url(self, course: Course, item: LineItem) -> str:
        """Return the AGS URL of one line item."""
        return f"{self.line_items_url(course)}/{item.id}"

    def memberships_url(self, course: Course) -> str:
        """Return the NRPS membership container URL of a course."""
        return f"{self.issuer}/nrps/{course.context_id}/memberships"

    def registration(self) -> dict[str, str]:
        """Return what ``l2i platform add`` needs to register this institution in the tool."""
        return {
            "issuer": self.issuer,
            "client_id": self.client_id,
            "deployment_id": self.deployment_id,
            "auth_login_url": self.auth_login_url,
            "auth_token_url": self.auth_token_url,
            "key_set_url": self.key_set_url,
            "name": self.name,
        }

    # -- keys -------------------------------------------------------------------

    @property
    def kid(self) -> str:
        """The kid of the key that signs now."""
        return self.signing_keys[-1].kid

    @property
    def private_key(self) -> rsa.RSAPrivateKey:
        """The key that signs now."""
        return self.signing_keys[-1].private_key

    def public_key_pem(self) -> bytes:
        """Return the current public key as PEM (handy for algorithm-confusion tests)."""
        return self.private_key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )

    def public_jwks(self) -> dict[str, list[dict[str, Any]]]:
        """Return the published key set: exactly ``{"keys": [...]}``, newest key last."""
        with self.lock:
            keys = list(self.signing_keys)
        return {"keys": [_public_jwk(key) for key in keys]}

    def rotate_key(self, *, keep_previous: bool = True) -> str:
        """Start signing with a new key; keep publishing the old one unless told not to."""
        new_key = generate_signing_key()
        with self.lock:
            self.signing_keys = [*self.signing_keys, new_key] if keep_previous else [new_key]
        return new_key.kid

    def sign_id_token(
        self,
        claims: Mapping[str, Any],
        *,
        kid: str | None = None,
        alg: str = "RS256",
        key: Any = None,
        headers: Mapping[str, Any] | None = None,
    ) -> str:
        """Sign ``claims`` as a compact JWS, by default RS256 with the current key.

        Flexible on purpose, for hostile-launch tests: ``kid`` overrides the header's
        kid; ``alg="none"`` gives an unsigned token; ``alg="HS256"`` signs with ``key``
        bytes; ``key`` signs RS256 with another private key; ``headers`` are merged into
        the JOSE header last, and a header whose value is None is removed.
        """
        header: dict[str, Any] = {"typ": "JWT", "alg": alg, "kid": self.kid if kid is None else kid}
        header.update(headers or {})
        header = {name: value for name, value in header.items() if value is not None}
        signing_key = key if key is not None or alg.startswith("HS") else self.private_key
        return encode_jws(header, claims, alg, signing_key)

    # -- people and places ------------------------------------------------------

    def find_user(self, sub: str) -> User | None:
        """Return the user with this ``sub``, if any."""
        return next((user for user in self.users if user.sub == sub), None)

    def find_course(self, context_id: str) -> Course | None:
        """Return the course with this context id, if any."""
        return next((course for course in self.courses if course.context_id == context_id), None)

    def find_link(self, link_id: str) -> tuple[Course, ResourceLink] | None:
        """Return the course and resource link with this link id, if any."""
        with self.lock:
            for course in self.courses:
                link = course.find_link(link_id)
                if link is not None:
                    return course, link
        return None

    def course_members(self, course: Course) -> list[User]:
        """Return the users enrolled in ``course``, in enrolment order."""
        return [user for sub in course.member_subs if (user := self.find_user(sub)) is not None]

    def next_id(self, kind: str) -> str:
        """Allocate the next numeric id of a kind ("link", "lineitem"), as a string."""
        with self.lock:
            number = self._next_ids.get(kind, 1)
            self._next_ids[kind] = number + 1
            return str(number)

    def add_link(self, course: Course, link: ResourceLink) -> ResourceLink:
        """Place a resource link in a course."""
        with self.lock:
            course.links.append(link)
        return link

    def add_line_item(self, course: Course, item: LineItem) -> LineItem:
        """Add a gradebook column to a course."""
        with self.lock:
            course.line_items[item.id] = item
        return item

    # -- launches ---------------------------------------------------------------

    def build_launch_claims(
        self,
        user: User,
        link: ResourceLink | None,
        *,
        nonce: str,
        message_type: str = v.MESSAGE_RESOURCE_LINK,
        locale: str = "en",
        course: Course | None = None,
        document_target: str = "iframe",
        deep_linking_data: str | None = None,
    ) -> dict[str, Any]:
        """Build the full id_token claim set for a launch, shaped like Moodle 4.5's.

        For ``LtiDeepLinkingRequest`` ``link`` may be None; the course then comes from
        ``course`` (default: the first), and a fresh ``data`` value is issued unless
        ``deep_linking_data`` is given.
        """
        is_deep_linking = message_type == v.MESSAGE_DEEP_LINKING
        course = self._course_for(link, course)
        if link is None and not is_deep_linking:
            raise ValueError(f"a {message_type} needs a resource link")
        now = int(self.clock())
        claims: dict[str, Any] = {
            "iss": self.issuer,
            "aud": self.client_id,
            "sub": user.sub,
            "nonce": nonce,
            "iat": now,
            "exp": now + ID_TOKEN_LIFETIME_SECONDS,
            "name": user.name,
            "given_name": user.given_name,
            "family_name": user.family_name,
            "email": user.email,
            v.CLAIM_VERSION: v.LTI_VERSION,
            v.CLAIM_DEPLOYMENT_ID: self.deployment_id,
            v.CLAIM_MESSAGE_TYPE: message_type,
            v.CLAIM_TARGET_LINK_URI: self.target_link_uri(None if is_deep_linking else link),
            v.CLAIM_ROLES: list(user.roles),
            v.CLAIM_CONTEXT: _context_claim(course),
            v.CLAIM_TOOL_PLATFORM: self._tool_platform_claim(),
            v.CLAIM_LAUNCH_PRESENTATION: {
                "locale": locale,
                "document_target": document_target,
                "return_url": self._return_url(course, None if is_deep_linking else link),
            },
            v.CLAIM_LIS: {"person_sourcedid": "", "course_section_sourcedid": ""},
            v.CLAIM_EXT: {"user_username": user.username, "lms": PRODUCT_FAMILY_CODE},
            v.CLAIM_AGS_ENDPOINT: self._ags_claim(course, None if is_deep_linking else link),
            v.CLAIM_NRPS: {
                "context_memberships_url": self.memberships_url(course),
                "service_versions": ["1.0", "2.0"],
            },
        }
        if is_deep_linking:
            data = deep_linking_data or self.issue_deep_linking_data(user, course)
            claims[v.CLAIM_DL_SETTINGS] = self._deep_linking_settings(data)
        elif link is not None:
            claims[v.CLAIM_RESOURCE_LINK] = {
                "id": link.id,
                "title": link.title,
                "description": link.description,
            }
            if link.custom:
                claims[v.CLAIM_CUSTOM] = dict(link.custom)
        return claims

    def target_link_uri(self, link: ResourceLink | None) -> str:
        """Where a launch of ``link`` lands in the tool (its launch URL by default)."""
        if link is not None and link.url:
            return link.url
        return self.tool_launch_url

    def _course_for(self, link: ResourceLink | None, course: Course | None) -> Course:
        if course is not None:
            return course
        if link is not None:
            with self.lock:
                for candidate in self.courses:
                    if any(existing is link for existing in candidate.links):
                        return candidate
        return self.courses[0]

    def _tool_platform_claim(self) -> dict[str, str]:
        return {
            "product_family_code": PRODUCT_FAMILY_CODE,
            "version": "1.0",
            "guid": hashlib.sha256(self.issuer.encode("utf-8")).hexdigest()[:32],
            "name": self.name,
            "description": "L2I demo LMS: an LTI 1.3 platform emulator with Moodle 4.5 claims",
        }

    def _return_url(self, course: Course, link: ResourceLink | None) -> str:
        suffix = f"&link={link.id}" if link is not None else ""
        return f"{self.issuer}/return?course={course.context_id}{suffix}"

    def _ags_claim(self, course: Course, link: ResourceLink | None) -> dict[str, Any]:
        claim: dict[str, Any] = {
            "scope": list(v.AGS_SCOPES),
            "lineitems": self.line_items_url(course),
        }
        if link is not None:
            with self.lock:
                item = course.line_item_for_link(link.id)
            if item is not None:
                claim["lineitem"] = self.line_item_url(course, item)
        return claim

    def _deep_linking_settings(self, data: str) -> dict[str, Any]:
        return {
            "deep_link_return_url": self.deep_link_return_url,
            "accept_types": [v.CONTENT_ITEM_RESOURCE_LINK],
            "accept_presentation_document_targets": ["iframe", "window"],
            "accept_copy_advice": False,
            "accept_multiple": True,
            "accept_unsigned": False,
            "auto_create": False,
            "can_confirm": False,
            "title": "Place L2I content",
            "text": "Choose the units to add to the course",
            "data": data,
        }

    # -- opaque values the platform hands out and checks on return ---------------

    def issue_message_hint(self, hint: MessageHint) -> str:
        """Seal what the auth endpoint must know about a launch into ``lti_message_hint``."""
        return self._sealer.seal(
            "hint",
            {
                "u": hint.user_sub,
                "c": hint.context_id,
                "l": hint.link_id,
                "m": hint.message_type,
                "d": hint.document_target,
                "loc": hint.locale,
            },
        )

    def read_message_hint(self, sealed: str) -> MessageHint:
        """Open an ``lti_message_hint`` this platform issued; ValueError if forged or stale."""
        payload = self._sealer.unseal("hint", sealed, MESSAGE_HINT_LIFETIME_SECONDS)
        link_id = payload.get("l")
        return MessageHint(
            user_sub=str(payload["u"]),
            context_id=str(payload["c"]),
            link_id=None if link_id is None else str(link_id),
            message_type=str(payload["m"]),
            document_target=str(payload["d"]),
            locale=str(payload["loc"]),
        )

    def issue_deep_linking_data(self, user: User, course: Course) -> str:
        """Issue the opaque ``data`` value of a Deep Linking request, remembered until used."""
        data = self._sealer.seal("dl", {"u": user.sub, "c": course.context_id})
        now = self.clock()
        with self.lock:
            open_data = self._open_deep_linking_data
            for stale in [
                old for old, issued in open_data.items() if issued < now - DEEP_LINKING_DATA_LIFETIME_SECONDS
            ]:
                del open_data[stale]
            open_data[data] = now
        return data

    def consume_deep_linking_data(self, data: str) -> tuple[str, str]:
        """Accept a ``data`` value once; return (user sub, context id). ValueError otherwise."""
        payload = self._sealer.unseal("dl", data, DEEP_LINKING_DATA_LIFETIME_SECONDS)
        with self.lock:
            if self._open_deep_linking_data.pop(data, None) is None:
                raise ValueError("already used")
        return str(payload["u"]), str(payload["c"])

    def consume_jti(self, jti: str, expires_at: float) -> bool:
        """Remember a client assertion's jti; False when it was seen before."""
        return self._used_jtis.use(jti, expires_at)

    def consume_deep_linking_nonce(self, nonce: str, expires_at: float) -> bool:
        """Remember a Deep Linking response nonce; False when it was seen before."""
        return self._used_dl_nonces.use(nonce, expires_at)

    # -- access tokens ------------------------------------------------------------

    def issue_access_token(self, scopes: frozenset[str]) -> AccessToken:
        """Create and remember an access token for these scopes."""
        now = self.clock()
        token = AccessToken(
            value=secrets.token_urlsafe(32),
            scopes=scopes,
            expires_at=now + ACCESS_TOKEN_LIFETIME_SECONDS,
        )
        with self.lock:
            for stale in [key for key, old in self._access_tokens.items() if old.expires_at < now]:
                del self._access_tokens[stale]
            self._access_tokens[token.value] = token
        return token

    def find_access_token(self, value: str) -> AccessToken | None:
        """Return the unexpired access token with this value, if any."""
        with self.lock:
            token = self._access_tokens.get(value)
        if token is None or token.expires_at < self.clock():
            return None
        return token

    # -- records ------------------------------------------------------------------

    def append_record(self, kind: str, entry: Mapping[str, Any]) -> None:
        """Append a timestamped entry to one of the records."""
        stamped = {"time": isoformat_utc(self.clock()), **entry}
        with self.lock:
            self._records[kind].append(stamped)

    def record(self) -> dict[str, Any]:
        """Everything the platform saw and holds, as a JSON-able dict."""
        with self.lock:
            records = {kind: [dict(entry) for entry in entries] for kind, entries in self._records.items()}
            courses = [self._course_snapshot(course) for course in self.courses]
        return {
            "institution": {"slug": self.slug, "name": self.name},
            "registration": self.registration(),
            "courses": courses,
            **records,
        }

    def _course_snapshot(self, course: Course) -> dict[str, Any]:
        return {
            "context_id": course.context_id,
            "label": course.label,
            "title": course.title,
            "links": [_link_snapshot(link) for link in course.links],
            "line_items": [_line_item_snapshot(item) for item in course.line_items.values()],
        }


def _public_jwk(key: SigningKey) -> dict[str, Any]:
    """Moodle's shape: kty, alg, kid, use, e, n (no key_ops, which RFC 7517 says not to mix with use)."""
    numbers = RSAAlgorithm.to_jwk(key.private_key.public_key(), as_dict=True)
    return {"kty": "RSA", "alg": "RS256", "kid": key.kid, "use": "sig", "e": numbers["e"], "n": numbers["n"]}


def _context_claim(course: Course) -> dict[str, Any]:
    return {
        "id": course.context_id,
        "label": course.label,
        "title": course.title,
        "type": [course.type],
    }


def _link_snapshot(link: ResourceLink) -> dict[str, Any]:
    return {
        "id": link.id,
        "title": link.title,
        "description": link.description,
        "custom": dict(link.custom),
        "url": link.url,
        "placed_by_deep_linking": link.placed_by_deep_linking,
    }


def _line_item_snapshot(item: LineItem) -> dict[str, Any]:
    return {
        "id": item.id,
        "label": item.label,
        "scoreMaximum": item.score_maximum,
        "resourceLinkId": item.resource_link_id,
        "resourceId": item.resource_id,
        "tag": item.tag,
        "results": {
            user_id: {
                "scoreGiven": result.score_given,
                "scoreMaximum": result.score_maximum,
                "comment": result.comment,
                "activityProgress": result.activity_progress,
                "gradingProgress": result.grading_progress,
                "timestamp": result.timestamp.isoformat(),
            }
            for user_id, result in item.results.items()
        },
    }


@dataclass
class EmulatorConfig:
    """The whole emulated LMS: where it lives, where the tool lives, its institutions."""

    base_url: str
    tool_base_url: str
    institutions: list[Institution]
    jwks_fetcher: JwksFetcher | None = None
    nrps_page_size: int = DEFAULT_NRPS_PAGE_SIZE
    tool_keys: ToolKeySet = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self.base_url = self.base_url.rstrip("/")
        self.tool_base_url = self.tool_base_url.rstrip("/")
        self.tool_keys = ToolKeySet(self.tool_jwks_url, self.jwks_fetcher or fetch_jwks_over_http)

    @property
    def tool_jwks_url(self) -> str:
        """Where the tool publishes its keys."""
        return f"{self.tool_base_url}/lti/jwks"

    def find_institution(self, slug: str) -> Institution | None:
        """Return the institution with this slug, if any."""
        return next((inst for inst in self.institutions if inst.slug == slug), None)


# -- seed data -----------------------------------------------------------------


def _seed_user(person: PersonSeed, slug: str) -> User:
    kind = ROLE_KINDS[person.kind]
    return User(
        sub=person.sub,
        given_name=person.given_name,
        family_name=person.family_name,
        email=person.email or f"{person.username}@{slug}.example.org",
        username=person.username,
        roles=kind.roles,
        role_label=kind.label,
        locale=person.locale,
        launches=kind.launches,
        places_content=kind.places_content,
    )


def _seed_course(institution: Institution, context_id: str) -> Course:
    course = Course(
        context_id=context_id,
        label=COURSE_LABEL,
        title=COURSE_TITLE,
        member_subs=[user.sub for user in institution.users],
    )
    institution.courses.append(course)
    programme = ResourceLink(
        id=institution.next_id("link"), title=PROGRAMME_LINK_TITLE, description=PROGRAMME_LINK_DESCRIPTION
    )
    institution.add_link(course, programme)
    for unit_id, unit_title in UNITS:
        link = ResourceLink(
            id=institution.next_id("link"),
            title=unit_title,
            description=f"Learning 2 Innovate, {unit_title.split(':')[0]}",
            custom={"unit": unit_id},
        )
        institution.add_link(course, link)
        column = LineItem(
            id=institution.next_id("lineitem"),
            label=unit_title,
            score_maximum=UNIT_SCORE_MAXIMUM,
            resource_link_id=link.id,
        )
        institution.add_line_item(course, column)
    return course


def seed_institution(base_url: str, tool_base_url: str, index: int) -> Institution:
    """Build the ``index``-th (0-based) demo institution with its course and people."""
    seed = INSTITUTION_SEEDS[index]
    institution = Institution(
        slug=seed.slug,
        name=seed.name,
        issuer=f"{base_url.rstrip('/')}/{seed.slug}",
        client_id=f"l2i-demo-{seed.slug}",
        deployment_id="1",
        tool_base_url=tool_base_url.rstrip("/"),
        courses=[],
        users=[_seed_user(person, seed.slug) for person in seed.people],
    )
    _seed_course(institution, seed.context_id)
    return institution


def default_seed(
    base_url: str,
    tool_base_url: str,
    institutions: int = 1,
    *,
    jwks_fetcher: JwksFetcher | None = None,
    nrps_page_size: int = DEFAULT_NRPS_PAGE_SIZE,
) -> EmulatorConfig:
    """Build the demo LMS: Linköping, and with ``institutions=2`` Ljubljana too."""
    if not 1 <= institutions <= len(INSTITUTION_SEEDS):
        raise ValueError(f"institutions must be between 1 and {len(INSTITUTION_SEEDS)}")
    return EmulatorConfig(
        base_url=base_url,
        tool_base_url=tool_base_url,
        institutions=[seed_institution(base_url, tool_base_url, i) for i in range(institutions)],
        jwks_fetcher=jwks_fetcher,
        nrps_page_size=nrps_page_size,
    )

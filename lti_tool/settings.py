"""Settings, read once from ``L2I_*`` environment variables and validated at start-up."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from competencies.proficiency import ProficiencyRule
from course_units.loader import CONTENT_DIR

PREFIX = "L2I_"
MIN_SECRET_LENGTH = 32


class SettingsError(ValueError):
    """One or more settings are missing or invalid; ``problems`` says which and how to fix them."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("Invalid configuration:\n" + "\n".join(f"  - {p}" for p in problems))


@dataclass(frozen=True)
class Settings:
    """The engine's configuration. Build it with :func:`load_settings`."""

    base_url: str
    secret_key: str
    database_url: str
    instance_path: Path
    lrs_endpoint: str | None = None
    lrs_username: str | None = None
    lrs_password: str | None = field(default=None, repr=False)
    session_lifetime: int = 8 * 3600
    http_timeout: float = 5.0
    jwks_cache_seconds: int = 3600
    key_grace_days: int = 14
    max_request_bytes: int = 1024 * 1024
    log_level: str = "INFO"
    proficiency: ProficiencyRule = field(default_factory=ProficiencyRule)
    content_dir: Path = CONTENT_DIR
    xapi_home_page: str | None = None
    outbox_batch_size: int = 1000
    outbox_lease_seconds: int = 60
    outbox_backoff_seconds: float = 2.0
    outbox_backoff_max_seconds: float = 900.0
    programme_refresh_seconds: int = 300

    @property
    def actor_home_page(self) -> str:
        """The ``homePage`` of the learners' pseudonymous xAPI accounts (default: the tool's URL)."""
        return self.xapi_home_page or self.base_url

    @property
    def is_https(self) -> bool:
        """Whether the tool is served over https (cookies are then ``Secure``)."""
        return self.base_url.startswith("https://")

    def url(self, path: str) -> str:
        """Return the absolute URL of ``path`` on this tool."""
        return self.base_url + path


def _check_http_url(name: str, value: str, problems: list[str]) -> str:
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        problems.append(f"{name} must be an absolute http(s) URL, got {value!r}")
    if parts.query or parts.fragment:
        problems.append(f"{name} must not have a query or fragment, got {value!r}")
    return value.rstrip("/")


def _read_number(
    env: Mapping[str, str], field_name: str, problems: list[str], *, maximum: float | None = None
) -> Any:
    """Read ``L2I_<FIELD>`` as the type of the Settings field, defaulting to the field's default."""
    default = getattr(Settings, field_name)
    name = PREFIX + field_name.upper()
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    kind = type(default)
    try:
        value = kind(raw)
    except ValueError:
        what = "a whole number" if kind is int else "a number"
        problems.append(f"{name} must be {what}, got {raw!r}")
        return default
    if value <= 0 or (maximum is not None and value > maximum):
        upper = f" and at most {maximum:g}" if maximum is not None else ""
        problems.append(f"{name} must be greater than 0{upper}, got {value}")
    return value


def _read_lrs(env: Mapping[str, str], problems: list[str]) -> tuple[str | None, str | None, str | None]:
    endpoint = env.get(PREFIX + "LRS_ENDPOINT") or None
    username = env.get(PREFIX + "LRS_USERNAME") or None
    password = env.get(PREFIX + "LRS_PASSWORD") or None
    if endpoint:
        endpoint = _check_http_url(PREFIX + "LRS_ENDPOINT", endpoint, problems)
    if (username is None) != (password is None):
        problems.append("L2I_LRS_USERNAME and L2I_LRS_PASSWORD go together: set both or neither")
    if (username or password) and not endpoint:
        problems.append("L2I_LRS_USERNAME/L2I_LRS_PASSWORD are set but L2I_LRS_ENDPOINT is not")
    return endpoint, username, password


def _read_proficiency(env: Mapping[str, str], problems: list[str]) -> ProficiencyRule:
    default = ProficiencyRule()
    raw_thresholds = env.get(PREFIX + "PROFICIENCY_THRESHOLDS") or ""
    try:
        thresholds = (tuple(float(t) for t in raw_thresholds.split(","))
                      if raw_thresholds else default.thresholds)
        return ProficiencyRule(
            method=env.get(PREFIX + "PROFICIENCY_METHOD") or default.method,  # type: ignore[arg-type]
            min_sources=int(env.get(PREFIX + "PROFICIENCY_MIN_SOURCES") or default.min_sources),
            thresholds=thresholds,
            rating_weight=float(env.get(PREFIX + "PROFICIENCY_RATING_WEIGHT") or default.rating_weight),
        )
    except ValueError as exc:
        problems.append(f"L2I_PROFICIENCY_* settings are invalid: {exc} (see docs/proficiency.md)")
        return default


def _read_content_dir(env: Mapping[str, str], problems: list[str]) -> Path:
    raw = env.get(PREFIX + "CONTENT_DIR")
    if not raw:
        return CONTENT_DIR
    path = Path(raw).resolve()
    if not path.is_dir():
        problems.append(f"L2I_CONTENT_DIR must be a folder holding one folder per unit, got {raw!r}")
    return path


def _read_home_page(env: Mapping[str, str], problems: list[str]) -> str | None:
    raw = env.get(PREFIX + "XAPI_HOMEPAGE")
    if not raw:
        return None
    parts = urlsplit(raw)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        problems.append(f"L2I_XAPI_HOMEPAGE must be an absolute http(s) URL, got {raw!r}")
    return raw


def load_settings(env: Mapping[str, str] | None = None) -> Settings:
    """Read and validate the settings from ``env`` (default: the process environment).

    Raises :class:`SettingsError` listing every problem at once, each with what to do.
    """
    env = os.environ if env is None else env
    problems: list[str] = []

    base_url = _check_http_url(
        PREFIX + "BASE_URL", env.get(PREFIX + "BASE_URL", "http://127.0.0.1:8000"), problems
    )
    secret_key = env.get(PREFIX + "SECRET_KEY", "")
    if len(secret_key) < MIN_SECRET_LENGTH:
        problems.append(
            f"L2I_SECRET_KEY must be set to a random string of at least {MIN_SECRET_LENGTH} "
            "characters; generate one with: python -c 'import secrets; print(secrets.token_urlsafe(48))'"
        )
    instance_path = Path(env.get(PREFIX + "INSTANCE_PATH", "instance")).resolve()
    database_url = env.get(PREFIX + "DATABASE_URL") or f"sqlite:///{instance_path / 'l2i.sqlite3'}"
    if not database_url.startswith(("sqlite:", "postgresql:", "postgresql+psycopg:")):
        problems.append(
            "L2I_DATABASE_URL must be a sqlite:/// or postgresql+psycopg:// URL, "
            f"got one starting {database_url.split(':', 1)[0]!r}"
        )
    if database_url.startswith("postgresql:"):
        database_url = "postgresql+psycopg:" + database_url[len("postgresql:"):]
    lrs_endpoint, lrs_username, lrs_password = _read_lrs(env, problems)
    log_level = env.get(PREFIX + "LOG_LEVEL", "INFO").upper()
    if log_level not in ("DEBUG", "INFO", "WARNING", "ERROR"):
        problems.append(f"L2I_LOG_LEVEL must be DEBUG, INFO, WARNING or ERROR, got {log_level!r}")

    settings = Settings(
        base_url=base_url,
        secret_key=secret_key,
        database_url=database_url,
        instance_path=instance_path,
        lrs_endpoint=lrs_endpoint,
        lrs_username=lrs_username,
        lrs_password=lrs_password,
        session_lifetime=_read_number(env, "session_lifetime", problems),
        http_timeout=_read_number(env, "http_timeout", problems, maximum=120),
        jwks_cache_seconds=_read_number(env, "jwks_cache_seconds", problems),
        key_grace_days=_read_number(env, "key_grace_days", problems),
        max_request_bytes=_read_number(env, "max_request_bytes", problems),
        log_level=log_level,
        proficiency=_read_proficiency(env, problems),
        content_dir=_read_content_dir(env, problems),
        xapi_home_page=_read_home_page(env, problems),
        outbox_batch_size=_read_number(env, "outbox_batch_size", problems, maximum=5000),
        outbox_lease_seconds=_read_number(env, "outbox_lease_seconds", problems, maximum=3600),
        outbox_backoff_seconds=_read_number(env, "outbox_backoff_seconds", problems, maximum=3600),
        outbox_backoff_max_seconds=_read_number(env, "outbox_backoff_max_seconds", problems,
                                                maximum=7 * 24 * 3600),
        programme_refresh_seconds=_read_number(env, "programme_refresh_seconds", problems,
                                               maximum=24 * 3600),
    )
    if problems:
        raise SettingsError(problems)
    return settings

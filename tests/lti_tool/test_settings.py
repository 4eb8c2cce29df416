"""Settings come only from L2I_* variables and every problem is reported with what to do."""

from __future__ import annotations

import pytest

from lti_tool.settings import SettingsError, load_settings

GOOD = {"L2I_SECRET_KEY": "k" * 40, "L2I_BASE_URL": "https://l2i.example.edu/"}


def test_defaults_and_normalisation() -> None:
    settings = load_settings(GOOD)
    assert settings.base_url == "https://l2i.example.edu"
    assert settings.is_https
    assert settings.database_url.startswith("sqlite:///") and settings.database_url.endswith(
        "instance/l2i.sqlite3"
    )
    assert settings.url("/lti/jwks") == "https://l2i.example.edu/lti/jwks"


def test_postgres_url_gets_the_psycopg_driver() -> None:
    settings = load_settings({**GOOD, "L2I_DATABASE_URL": "postgresql://u@db/l2i"})
    assert settings.database_url == "postgresql+psycopg://u@db/l2i"


@pytest.mark.parametrize(
    ("changes", "says"),
    [
        ({"L2I_SECRET_KEY": "short"}, "L2I_SECRET_KEY must be set"),
        ({"L2I_BASE_URL": "l2i.example.edu"}, "L2I_BASE_URL must be an absolute"),
        ({"L2I_BASE_URL": "https://x/?a=1"}, "must not have a query"),
        ({"L2I_DATABASE_URL": "mysql://x"}, "L2I_DATABASE_URL must be"),
        ({"L2I_LRS_ENDPOINT": "https://lrs/xapi", "L2I_LRS_USERNAME": "u"}, "go together"),
        ({"L2I_LRS_USERNAME": "u", "L2I_LRS_PASSWORD": "p"}, "L2I_LRS_ENDPOINT is not"),
        ({"L2I_HTTP_TIMEOUT": "abc"}, "L2I_HTTP_TIMEOUT must be a number"),
        ({"L2I_SESSION_LIFETIME": "-5"}, "greater than 0"),
        ({"L2I_SESSION_LIFETIME": "1.5"}, "L2I_SESSION_LIFETIME must be a whole number"),
        ({"L2I_HTTP_TIMEOUT": "500"}, "at most 120"),
        ({"L2I_PROGRAMME_REFRESH_SECONDS": "0"}, "L2I_PROGRAMME_REFRESH_SECONDS must be greater than 0"),
        ({"L2I_PROGRAMME_REFRESH_SECONDS": "999999"}, "at most 86400"),
        ({"L2I_LOG_LEVEL": "loud"}, "L2I_LOG_LEVEL"),
        ({"L2I_PROFICIENCY_METHOD": "median"}, "unknown proficiency method"),
        ({"L2I_PROFICIENCY_THRESHOLDS": "0,0.9,0.5"}, "thresholds must start at 0 and rise"),
        ({"L2I_PROFICIENCY_THRESHOLDS": "0,x"}, "L2I_PROFICIENCY_* settings are invalid"),
        ({"L2I_PROFICIENCY_MIN_SOURCES": "0"}, "at least 1"),
        ({"L2I_CONTENT_DIR": "/no/such/folder"}, "L2I_CONTENT_DIR must be a folder"),
    ],
)
def test_problems_are_named(changes: dict[str, str], says: str) -> None:
    with pytest.raises(SettingsError) as caught:
        load_settings({**GOOD, **changes})
    assert says in str(caught.value)


def test_all_problems_at_once() -> None:
    with pytest.raises(SettingsError) as caught:
        load_settings({"L2I_BASE_URL": "nope", "L2I_LOG_LEVEL": "x"})
    assert len(caught.value.problems) == 3


def test_proficiency_rule_from_the_environment() -> None:
    settings = load_settings({**GOOD, "L2I_PROFICIENCY_METHOD": "best", "L2I_PROFICIENCY_MIN_SOURCES": "3",
                              "L2I_PROFICIENCY_THRESHOLDS": "0,0.5,0.75,0.95",
                              "L2I_PROFICIENCY_RATING_WEIGHT": "2"})
    rule = settings.proficiency
    assert (rule.method, rule.min_sources, rule.thresholds, rule.rating_weight) == (
        "best", 3, (0.0, 0.5, 0.75, 0.95), 2.0)

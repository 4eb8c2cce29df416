"""The migrations build exactly the schema the models describe, on SQLite and PostgreSQL."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine

from lti_tool.migrate import load_metadata


def test_the_migrated_database_matches_the_models(database_url: str) -> None:
    engine = create_engine(database_url)
    try:
        with engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"compare_type": True})
            differences = compare_metadata(context, load_metadata())
    finally:
        engine.dispose()
    assert differences == [], "run `l2i db revision -m ...` and review the migration"


def test_upgrading_marks_existing_learner_memberships_as_studying(database_url: str) -> None:
    from sqlalchemy import text

    from lti_tool.migrate import upgrade_database

    engine = create_engine(database_url)
    try:
        with engine.begin() as connection:
            connection.execute(text("DROP TABLE IF EXISTS alembic_version"))
            for table in reversed(load_metadata().sorted_tables):
                connection.execute(text(f"DROP TABLE IF EXISTS {table.name} CASCADE"
                                        if engine.dialect.name == "postgresql" else
                                        f"DROP TABLE IF EXISTS {table.name}"))
        upgrade_database(database_url, "0005")
        learner = '["http://purl.imsglobal.org/vocab/lis/v2/membership#Learner"]'
        trainer = '["http://purl.imsglobal.org/vocab/lis/v2/membership#Instructor"]'
        with engine.begin() as connection:
            connection.execute(text(
                "INSERT INTO platform (id, name, issuer, client_id, auth_login_url, auth_token_url, "
                "key_set_url, xapi_actor, created_at) VALUES (1, 'p', 'https://lms', 'c', 'https://a', "
                "'https://t', 'https://k', 'account', '2026-01-01 00:00:00')"))
            connection.execute(text("INSERT INTO deployment (id, platform_id, deployment_id, created_at) "
                                    "VALUES (1, 1, 'd', '2026-01-01 00:00:00')"))
            connection.execute(text("INSERT INTO context (id, deployment_id, context_id, types, created_at) "
                                    "VALUES (1, 1, 'c-1', '[]', '2026-01-01 00:00:00')"))
            connection.execute(text("INSERT INTO learner (id, key, created_at) VALUES "
                                    "(1, 'k1', '2026-01-01 00:00:00'), (2, 'k2', '2026-01-01 00:00:00')"))
            for user_id, sub in ((1, "s1"), (2, "s2")):
                connection.execute(text(
                    "INSERT INTO platform_user (id, issuer, sub, learner_id, created_at) "
                    f"VALUES ({user_id}, 'https://lms', '{sub}', {user_id}, '2026-01-01 00:00:00')"))
            connection.execute(text("INSERT INTO membership (user_id, context_id, roles, updated_at) VALUES "
                                    f"(1, 1, '{learner}', '2026-01-01 00:00:00'), "
                                    f"(2, 1, '{trainer}', '2026-01-01 00:00:00')"))
        upgrade_database(database_url)
        with engine.connect() as connection:
            rows = dict(connection.execute(text("SELECT user_id, studies FROM membership")).all())
        assert rows == {1: True, 2: False}
    finally:
        engine.dispose()

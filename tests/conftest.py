"""Databases for the tests: SQLite files by default, or fresh PostgreSQL databases.

With TEST_DATABASE_URL naming a PostgreSQL server (e.g. postgresql://postgres@127.0.0.1:5432/test),
each test run creates its own databases on that server, migrates them, and drops them at the end.
"""

from __future__ import annotations

import os
import uuid

import flask_migrate
import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from shared.db import normalise_database_url

TOKEN_SECRET = "test-secret-" + "x" * 32


def _postgres_admin_url(url: str):
    return make_url(normalise_database_url(url))


@pytest.fixture(scope="session")
def database_factory(tmp_path_factory):
    """Call with a service name to get the URL of a new, empty database for it."""
    server = os.environ.get("TEST_DATABASE_URL")
    created: list[str] = []
    run = uuid.uuid4().hex[:8]

    def create(service: str) -> str:
        if not server:
            return f"sqlite:///{tmp_path_factory.mktemp(service) / f'{service}.sqlite3'}"
        admin = _postgres_admin_url(server)
        name = f"glu_test_{service}_{run}"
        engine = create_engine(admin, isolation_level="AUTOCOMMIT")
        with engine.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
            connection.execute(text(f'CREATE DATABASE "{name}"'))
        engine.dispose()
        created.append(name)
        return admin.set(database=name).render_as_string(hide_password=False)

    yield create

    if server:
        engine = create_engine(_postgres_admin_url(server), isolation_level="AUTOCOMMIT")
        with engine.connect() as connection:
            for name in created:
                connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        engine.dispose()


def empty_tables(db) -> None:
    """Remove every row a test wrote, keeping the migrated schema."""
    db.session.remove()
    tables = list(reversed(db.metadata.sorted_tables))
    with db.engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            names = ", ".join(f'"{table.name}"' for table in tables)
            connection.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
        else:
            for table in tables:
                connection.execute(table.delete())
    db.engine.dispose()


def migration_differences(app, db) -> list:
    """What Alembic would still generate: empty when the committed migrations match the models."""
    with app.app_context(), db.engine.connect() as connection:
        return compare_metadata(MigrationContext.configure(connection), db.metadata)


def downgrade_and_upgrade(app, db) -> None:
    with app.app_context():
        flask_migrate.downgrade(revision="base")
        flask_migrate.upgrade()
        db.engine.dispose()

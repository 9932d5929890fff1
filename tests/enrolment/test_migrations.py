"""The committed migrations build exactly the tables the models describe, on SQLite and PostgreSQL."""

from enrolment.models import db
from tests.conftest import downgrade_and_upgrade, migration_differences


def test_migrations_match_the_models(app):
    assert migration_differences(app, db) == []


def test_migrations_downgrade_and_upgrade_again(app):
    downgrade_and_upgrade(app, db)

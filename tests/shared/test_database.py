"""SQLite is set up so several gunicorn workers can share one file."""

from sqlalchemy import create_engine, text

from shared.db import normalise_database_url


def test_sqlite_runs_in_wal_mode_with_foreign_keys(tmp_path):
    engine = create_engine(f"sqlite:///{tmp_path / 'x.sqlite3'}")

    with engine.connect() as connection:
        assert connection.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert connection.execute(text("PRAGMA foreign_keys")).scalar() == 1


def test_plain_postgresql_urls_use_psycopg_3():
    assert normalise_database_url("postgresql://u@h/db") == "postgresql+psycopg://u@h/db"
    assert normalise_database_url("postgres://u@h/db") == "postgresql+psycopg://u@h/db"
    assert normalise_database_url("sqlite:///x") == "sqlite:///x"

"""Database helpers both services use: the declarative base, UTC timestamps, engine settings."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

from sqlalchemy import DateTime, MetaData, event
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, Engine, make_url
from sqlalchemy.orm import DeclarativeBase, Session
from sqlalchemy.types import TypeDecorator

# Stable constraint names, so Alembic migrations read the same on SQLite and PostgreSQL.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

# The largest id a 32-bit integer key can hold; larger ids in URLs are simply unknown.
MAX_ID = 2**31 - 1


def declarative_base() -> type[DeclarativeBase]:
    class Base(DeclarativeBase):
        metadata = MetaData(naming_convention=NAMING_CONVENTION)

    return Base


class UTCDateTime(TypeDecorator):
    """An instant stored as naive UTC (SQLite has no time zones) and read back as aware UTC."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("UTCDateTime needs an aware datetime")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC)


def insert_unless_present(session: Session, model: type, values: dict, unique_columns: list[str], *,
                          returning: bool = False):
    """INSERT … ON CONFLICT DO NOTHING: two transactions creating the same row both succeed, one row results.

    With `returning`, the row as inserted (one statement), or None when it was there already.
    """
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    statement = dialect.insert(model).values(**values).on_conflict_do_nothing(index_elements=unique_columns)
    if not returning:
        session.execute(statement)
        return None
    return session.scalars(statement.returning(model), execution_options={"populate_existing": True}).one_or_none()


def utcnow() -> datetime:
    return datetime.now(UTC)


def normalise_database_url(url: str) -> str:
    """Plain postgresql:// URLs use the psycopg 3 driver."""
    for plain in ("postgresql://", "postgres://"):
        if url.startswith(plain):
            return "postgresql+psycopg://" + url[len(plain):]
    return url


# How long a request may wait for PostgreSQL before it is answered 503 (shared.errors), all well
# inside gunicorn's 30 s request timeout, so an unreachable database never kills a worker instead.
CONNECT_TIMEOUT_SECONDS = 3  # to open a connection (libpq's default is to wait without end)
POOL_TIMEOUT_SECONDS = 5  # for a free connection in the pool (SQLAlchemy's default is 30)
# Written to a connection and not acknowledged this long, it is given up (Linux; ignored elsewhere).
TCP_USER_TIMEOUT_MS = 10_000
# libpq connection parameters, each unless DATABASE_URL gives its own (?connect_timeout=10).
POSTGRES_CONNECT_ARGS = {
    "connect_timeout": CONNECT_TIMEOUT_SECONDS,
    # A server that vanishes without closing its connections (a host lost in a failover, a cut
    # network) leaves them half open: a query or the pool's pre-ping on one would wait for the
    # kernel's retransmissions, about 15 minutes. tcp_user_timeout fails it in seconds instead, and
    # keepalives find such a connection while it sits idle in the pool. Connections the server
    # does close (a restart) fail at once without these. There is no statement_timeout: it is
    # enforced by the server, so it cannot help when the server is gone, and it would also cut
    # the long statements of migrations, imports and commands, which share these settings.
    "tcp_user_timeout": TCP_USER_TIMEOUT_MS,
    "keepalives": 1,
    "keepalives_idle": 30,
    "keepalives_interval": 10,
    "keepalives_count": 3,
}


def engine_options(url: str) -> dict:
    if url.startswith("sqlite"):
        # Several gunicorn workers share one file: wait for a lock rather than fail at once. Once
        # these 15 s are over, "database is locked" is answered 503 (shared.errors).
        return {"connect_args": {"timeout": 15}}
    given = make_url(url).query
    return {
        # A connection found dead when taken from the pool (the server restarted since) is
        # discarded, with every connection pooled before it, and a fresh one made; one that dies
        # during a request is discarded by SQLAlchemy when its statement fails (a disconnect).
        "pool_pre_ping": True,
        "pool_timeout": POOL_TIMEOUT_SECONDS,
        "connect_args": {name: value for name, value in POSTGRES_CONNECT_ARGS.items() if name not in given},
    }


@contextmanager
def single_read(session: Session) -> Iterator[Session | Connection]:
    """Where to send one read that needs no transaction around it.

    On PostgreSQL a connection of its own in autocommit, so the read is one round trip rather than
    BEGIN, the read and ROLLBACK: it pays on the hot paths that mostly answer from a cache after
    that one read. On SQLite the session itself: a second connection would wait for its lock.
    """
    engine = session.get_bind()
    if engine.dialect.name != "postgresql":
        yield session
        return
    with engine.connect() as connection:
        yield connection.execution_options(isolation_level="AUTOCOMMIT")


@event.listens_for(Engine, "connect")
def _configure_sqlite(dbapi_connection, connection_record) -> None:
    if type(dbapi_connection).__module__ != "sqlite3":
        return
    # Take transaction control from the sqlite3 module, which would begin transactions lazily
    # and break SAVEPOINTs; _begin_immediately below starts them instead.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    # WAL lets readers carry on while one worker writes; foreign keys are off by default in SQLite.
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=15000")
    cursor.close()


@event.listens_for(Engine, "rollback")
def _discard_a_connection_found_dead_at_rollback(connection: Connection) -> None:
    """On PostgreSQL, a rollback that finds the connection gone discards it instead of failing.

    A connection that dies after its last statement (the server restarts while a view renders, or
    while it waits on the catalogue) is only found dead when its transaction is rolled back: by
    Flask-SQLAlchemy's teardown, after the response is made. SQLAlchemy would raise there, and an
    error raised in a teardown is a 500 from the WSGI server. The server has rolled the transaction
    back anyway, so this rolls back first: should the driver find the connection lost, it is
    invalidated (closed and never handed out again) and SQLAlchemy skips its own rollback.
    Otherwise SQLAlchemy's rollback that follows finds nothing left to do: no second round trip.
    """
    if connection.dialect.name != "postgresql" or connection.closed or connection.invalidated:
        return
    pooled = connection.connection
    if not pooled.is_valid or pooled.dbapi_connection is None:
        return
    dbapi_connection = pooled.dbapi_connection
    try:
        dbapi_connection.rollback()
    except connection.dialect.loaded_dbapi.Error as error:
        if getattr(dbapi_connection, "broken", False) or getattr(dbapi_connection, "closed", False):
            connection.invalidate(error)
        # Any other failure: SQLAlchemy's own rollback meets it and reports it as it always has.


@event.listens_for(Engine, "begin")
def _begin_immediately(connection) -> None:
    """On SQLite every transaction takes the write lock when it begins.

    Two workers that both read a row and then write it would otherwise meet a "database is locked"
    error at the write; this way the second waits (busy_timeout) and then reads what the first wrote.
    The price is that transactions on one SQLite file run one at a time, which suits the embedded
    default; PostgreSQL, the production database, uses row locks instead (SELECT … FOR UPDATE).
    """
    if connection.dialect.name == "sqlite":
        connection.exec_driver_sql("BEGIN IMMEDIATE")

"""While the database cannot be reached, every request is a 503 with Retry-After; once it is back, both
services carry on by themselves.

On PostgreSQL (TEST_DATABASE_URL) both real apps reach their databases through a TCP proxy in this
file, which a test takes down (stops listening and cuts every live connection), cuts (a restart that
is back at once), silences (accepts connections and never answers) and brings back on the same port.
Nothing is mocked: every failure is a real connection refused, lost or timed out. On SQLite, a file
that cannot be opened and a lock that is not given up are real too.
"""

from __future__ import annotations

import os
import queue
import selectors
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress

import flask_migrate
import httpx
import pytest
from flask import Flask, request
from sqlalchemy import create_engine, event, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError, ProgrammingError, SQLAlchemyError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError

import catalogue
import enrolment
from catalogue.models import Offering
from catalogue.models import db as catalogue_db
from catalogue.offerings import create_offering
from catalogue.programmes import create_module, create_programme
from catalogue.providers import create_provider
from enrolment.models import db as enrolment_db
from enrolment.organisations import create_organisation
from shared.api import make_api
from shared.auth import Role, issue_token
from shared.db import CONNECT_TIMEOUT_SECONDS, POOL_TIMEOUT_SECONDS, engine_options, normalise_database_url
from shared.errors import DATABASE_RETRY_AFTER_SECONDS, database_unavailable_response, is_database_unavailable
from shared.schemas import OfferingSchema, ProviderSchema
from tests.catalogue.fixtures import ADMIN, as_json, location, offering_data
from tests.conftest import TOKEN_SECRET, empty_tables

PROBLEM = "application/problem+json"
TITLE = "Tjenesten er midlertidigt utilgængelig"
# A refused connection fails at once; this is the bound for everything but the timeouts themselves.
FAST_SECONDS = 2.0



def postgres_only(test):
    """A test of PostgreSQL's connections through the proxy: skipped without TEST_DATABASE_URL."""
    test = pytest.mark.skipif(not os.environ.get("TEST_DATABASE_URL"),
                              reason="needs TEST_DATABASE_URL naming a PostgreSQL server")(test)
    return pytest.mark.postgres_only(test)


# --- The proxy ------------------------------------------------------------------------------------------

class PostgresProxy:
    """127.0.0.1:<port> forwarded to PostgreSQL by one thread, which also carries out the test's commands.

    `down()` stops listening, so new connections are refused, and cuts the live ones; `cut()` only cuts
    them (a restart that is back at once); `silence()` cuts them and then accepts new connections
    without ever answering (a server that hangs); `up()` forwards again, on the same port.
    """

    COMMAND_TIMEOUT = 5.0

    def __init__(self, host: str, port: int):
        self.target = (host, port)
        self.port = 0
        self.accepted = 0  # connections forwarded to PostgreSQL, ever
        self._silent = False
        self._selector = selectors.DefaultSelector()
        self._commands: queue.SimpleQueue = queue.SimpleQueue()
        self._wake_read, self._wake_write = socket.socketpair()
        self._selector.register(self._wake_read, selectors.EVENT_READ, "wake")
        self._listener: socket.socket | None = None
        self._peers: dict[socket.socket, socket.socket | None] = {}
        self._running = True
        self._thread = threading.Thread(target=self._run, name="postgres-proxy", daemon=True)
        self._thread.start()
        self.up()

    # Called by the test; each returns once the proxy has done it.

    def up(self) -> None:
        self._call(self._up)

    def down(self) -> int:
        """Refuse new connections and cut the live ones; how many were cut."""
        return self._call(self._down)

    def cut(self) -> int:
        """Cut the live connections and go on listening; how many were cut."""
        return self._call(self._cut)

    def silence(self) -> int:
        """Cut the live connections, then accept new ones and never answer them; how many were cut."""
        return self._call(self._silence)

    def close(self) -> None:
        self._call(self._close)
        self._thread.join(self.COMMAND_TIMEOUT)
        self._wake_read.close()
        self._wake_write.close()
        self._selector.close()

    def _call(self, command: Callable[[], object]):
        done = threading.Event()
        outcome: list = []
        self._commands.put((command, done, outcome))
        self._wake_write.send(b"!")
        if not done.wait(self.COMMAND_TIMEOUT):
            raise RuntimeError("the proxy did not carry out the command")
        value, error = outcome
        if error is not None:
            raise error
        return value

    # Run by the proxy's thread.

    def _up(self) -> None:
        self._silent = False
        if self._listener is not None:
            return
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        # The same port again, although connections accepted on it before may linger in TIME_WAIT.
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(64)
        listener.setblocking(False)
        self.port = listener.getsockname()[1]
        self._listener = listener
        self._selector.register(listener, selectors.EVENT_READ, "accept")

    def _down(self) -> int:
        if self._listener is not None:
            self._selector.unregister(self._listener)
            self._listener.close()
            self._listener = None
        return self._cut()

    def _cut(self) -> int:
        clients = [sock for sock, peer in self._peers.items() if sock.getsockname()[1] == self.port]
        for sock in list(self._peers):
            self._drop(sock)
        return len(clients)

    def _silence(self) -> int:
        cut = self._cut()
        self._silent = True
        return cut

    def _close(self) -> None:
        self._down()
        self._running = False

    def _accept(self) -> None:
        try:
            client, _ = self._listener.accept()
        except BlockingIOError:
            return
        server = None
        if not self._silent:
            try:
                server = socket.create_connection(self.target, timeout=self.COMMAND_TIMEOUT)
            except OSError:
                client.close()
                return
            self.accepted += 1
        for sock in (client, server):
            if sock is not None:
                sock.settimeout(self.COMMAND_TIMEOUT)
                self._selector.register(sock, selectors.EVENT_READ, "forward")
        self._peers[client] = server
        if server is not None:
            self._peers[server] = client

    def _forward(self, sock: socket.socket) -> None:
        peer = self._peers[sock]
        try:
            data = sock.recv(65536)
            if data and peer is None:
                return  # silenced: read and never answered
            if data:
                peer.sendall(data)
                return
        except OSError:
            pass
        self._drop(sock)

    def _drop(self, sock: socket.socket) -> None:
        for each in (sock, self._peers.pop(sock, None)):
            if each is None:
                continue
            self._peers.pop(each, None)
            with suppress(KeyError, ValueError):
                self._selector.unregister(each)
            each.close()

    def _run(self) -> None:
        while self._running:
            for key, _ in self._selector.select():
                if key.data == "wake":
                    self._wake_read.recv(4096)
                    while not self._commands.empty():
                        command, done, outcome = self._commands.get()
                        try:
                            outcome.extend((command(), None))
                        except Exception as error:  # handed to the test that asked
                            outcome.extend((None, error))
                        done.set()
                elif key.data == "accept":
                    if self._listener is not None:
                        self._accept()
                elif key.fileobj in self._peers:
                    self._forward(key.fileobj)


# --- Both services through the proxy -------------------------------------------------------------------

@pytest.fixture(scope="module")
def outage_databases(database_factory) -> dict[str, str]:
    """A catalogue and an enrolment database of their own, migrated (directly, not through a proxy)."""
    urls = {"catalogue": database_factory("outage_catalogue"), "enrolment": database_factory("outage_enrolment")}
    for service, create_app, db in (("catalogue", catalogue.create_app, catalogue_db),
                                    ("enrolment", enrolment.create_app, enrolment_db)):
        app = create_app({"DATABASE_URL": urls[service], "GLU_TOKEN_SECRET": TOKEN_SECRET})
        with app.app_context():
            flask_migrate.upgrade()
            db.engine.dispose()
    return urls


@pytest.fixture
def proxy(outage_databases) -> Iterator[PostgresProxy]:
    server = make_url(normalise_database_url(outage_databases["catalogue"]))
    proxy = PostgresProxy(server.host or "127.0.0.1", server.port or 5432)
    yield proxy
    proxy.close()


def through(proxy: PostgresProxy, url: str) -> str:
    return make_url(normalise_database_url(url)).set(host="127.0.0.1", port=proxy.port).render_as_string(
        hide_password=False)


class Services:
    """The catalogue and the enrolment service, created once, with a school, an offering and an organisation."""

    def __init__(self, proxy: PostgresProxy, urls: dict[str, str]):
        self.catalogue = catalogue.create_app({"DATABASE_URL": through(proxy, urls["catalogue"]),
                                               "GLU_TOKEN_SECRET": TOKEN_SECRET, "TESTING": True})
        self.enrolment = enrolment.create_app({
            "DATABASE_URL": through(proxy, urls["enrolment"]), "GLU_TOKEN_SECRET": TOKEN_SECRET, "TESTING": True,
            "CATALOGUE_URL": "http://catalogue.test", "CATALOGUE_TRANSPORT": httpx.WSGITransport(app=self.catalogue)})
        # Called at the end of every request, before its database session is closed (a test sets it).
        self.at_teardown: Callable[[], object] | None = None
        for app in (self.catalogue, self.enrolment):
            app.teardown_request(lambda error: self.at_teardown and self.at_teardown())
        self.catalogue_client = self.catalogue.test_client()
        self.enrolment_client = self.enrolment.test_client()
        with self.catalogue.app_context():
            create_programme(catalogue_db.session, {"code": "GLU", "title": "GLU", "description": ""})
            create_module(catalogue_db.session, {
                "code": "GLU-1", "programme": "GLU", "title": "Introduktion til ledelse", "description": "",
                "content": [], "target_group": "", "duration_days": None, "amu_number": None, "position": 1})
            provider = create_provider(catalogue_db.session, {"name": "Mercantec", "website": None, "email": None,
                                                              "locations": [location()]})
            catalogue_db.session.commit()
            self.school = ProviderSchema().dump(provider)
            offering = create_offering(catalogue_db.session, ADMIN, offering_data(self.school))
            catalogue_db.session.commit()
            self.offering = OfferingSchema().dump(offering)
        with self.enrolment.app_context():
            create_organisation(enrolment_db.session, {
                "key": "791", "name": "Viborg Kommune", "kind": "municipality", "requires_approval": False,
                "ean": None, "order_reference": None, "cost_centre": None, "hr_users": []})
            enrolment_db.session.commit()
        self.school_headers = bearer(Role.SCHOOL, provider_id=self.school["id"])
        self.hr_headers = bearer(Role.HR, organisation="791")
        # An administrator signed in on the pages: the session cookie holds the token, as /hr/log-ind leaves it.
        with self.enrolment_client.session_transaction() as session:
            session["token"] = bearer(Role.ADMIN)["Authorization"].removeprefix("Bearer ")
        self._people = iter(range(1, 1000))

    def new_offering(self) -> dict:
        return as_json(offering_data(self.school))

    def new_enrolment(self) -> dict:
        number = next(self._people)
        return {"offering_id": self.offering["id"],
                "participant": {"name": f"Deltager {number}", "email": f"deltager{number}@viborg.example"}}

    def requests(self, key: str) -> dict[str, Callable]:
        """Each request the services must answer, by name; `key` makes the Idempotency-Key unique to a round."""
        cat, enr = self.catalogue_client, self.enrolment_client
        return {
            "catalogue GET /offerings": lambda: cat.get("/offerings"),
            "catalogue POST /offerings": lambda: cat.post("/offerings", json=self.new_offering(),
                                                          headers=self.school_headers),
            "catalogue POST /offerings with Idempotency-Key": lambda: cat.post(
                "/offerings", json=self.new_offering(), headers={**self.school_headers, "Idempotency-Key": key}),
            "enrolment GET /enrolments": lambda: enr.get("/enrolments", headers=self.hr_headers),
            "enrolment POST /enrolments": lambda: enr.post("/enrolments", json=self.new_enrolment(),
                                                           headers=self.hr_headers),
            "enrolment POST /enrolments with Idempotency-Key": lambda: enr.post(
                "/enrolments", json=self.new_enrolment(), headers={**self.hr_headers, "Idempotency-Key": key}),
        }

    def pages(self) -> dict[str, Callable]:
        """Pages that read the database."""
        return {
            "catalogue page /soeg": lambda: self.catalogue_client.get("/soeg"),
            "enrolment page /hr": lambda: self.enrolment_client.get("/hr"),
        }

    def close(self) -> None:
        for app, db in ((self.catalogue, catalogue_db), (self.enrolment, enrolment_db)):
            with app.app_context():
                empty_tables(db)


@pytest.fixture
def services(proxy, outage_databases) -> Iterator[Services]:
    services = Services(proxy, outage_databases)
    yield services
    proxy.up()
    services.close()


def bearer(role: Role, **scope) -> dict:
    return {"Authorization": f"Bearer {issue_token(TOKEN_SECRET, role, **scope)}"}


def timed(call: Callable):
    started = time.monotonic()
    response = call()
    return response, time.monotonic() - started


def assert_unavailable(name: str, response, elapsed: float, bound: float = FAST_SECONDS, page: bool = False) -> None:
    text = response.get_data(as_text=True)
    assert response.status_code == 503, f"{name}: {response.status_code} {text[:1000]}"
    assert int(response.headers["Retry-After"]) > 0, name
    assert elapsed < bound, f"{name} took {elapsed:.1f} s"
    if page:
        assert response.mimetype == "text/html", name
        assert TITLE in text, name
    else:
        assert response.mimetype == PROBLEM, name
        problem = response.get_json()
        assert problem["status"] == 503 and problem["title"] == TITLE and problem["detail"], name


def assert_all_succeed(services: Services, key: str) -> None:
    for name, call in {**services.requests(key), **services.pages()}.items():
        response = call()
        expected = 201 if "POST" in name else 200
        assert response.status_code == expected, f"{name}: {response.status_code} {response.get_data()[:1000]}"


# --- PostgreSQL -------------------------------------------------------------------------------------------

@postgres_only
def test_while_postgresql_is_down_every_request_is_a_503_and_afterwards_all_succeed_again(proxy, services, caplog):
    assert_all_succeed(services, "before")  # the pools now hold connections made before the outage

    assert proxy.down() > 0

    for name, call in services.requests("during").items():
        assert_unavailable(name, *timed(call))
    for name, call in services.pages().items():
        assert_unavailable(name, *timed(call), page=True)
    # A page that needs no database goes on working: HR can still open the sign-in form.
    assert services.enrolment_client.get("/hr/log-ind").status_code == 200
    for client in (services.catalogue_client, services.enrolment_client):
        ready, elapsed = timed(lambda client=client: client.get("/readyz"))
        assert ready.status_code == 503 and ready.get_json()["checks"]["database"] != "ok" and elapsed < 3
    assert not [record for record in caplog.records if record.levelname in ("ERROR", "CRITICAL")]
    outage_lines = [record for record in caplog.records if record.getMessage().startswith("Database unavailable")]
    assert outage_lines and all(record.levelname == "WARNING" for record in outage_lines)
    assert all("[parameters" not in record.getMessage() for record in outage_lines)

    proxy.up()

    # The same apps, with the same pools: the dead connections are thrown away, not handed out. The
    # keys sent during the outage are free again: the 503 kept nothing.
    assert_all_succeed(services, "during")
    assert services.enrolment_client.get("/readyz").status_code == 200
    assert services.catalogue_client.get("/readyz").status_code == 200


@postgres_only
def test_a_restart_that_is_back_at_once_costs_no_request(proxy, services):
    assert_all_succeed(services, "before")

    assert proxy.cut() > 0  # every pooled connection is dead now

    # pool_pre_ping finds each dead and makes a new one: no request fails.
    before = proxy.accepted
    assert_all_succeed(services, "after")
    assert proxy.accepted > before


@postgres_only
def test_connections_checked_out_across_the_outage_are_discarded_not_reused(proxy, services):
    assert_all_succeed(services, "before")
    with services.catalogue.app_context():
        engine = catalogue_db.engine
        held = [engine.connect() for _ in range(3)]
        for connection in held:
            assert connection.scalar(text("SELECT 1")) == 1  # each in a transaction, as a request's would be

        proxy.down()
        proxy.up()

        # The first held connection is used again: it fails (its server side is gone) and is discarded.
        with pytest.raises(OperationalError) as lost:
            held[0].scalar(text("SELECT 1"))
        assert lost.value.connection_invalidated and is_database_unavailable(lost.value)
        # The others are given back without being used: their rollback finds them dead, and they are
        # discarded rather than pooled (shared.db), without an error.
        for connection in held:
            connection.close()
        # Every connection the pool hands out now works: as many as were held, and then some.
        again = [engine.connect() for _ in range(5)]
        assert [connection.scalar(text("SELECT 1")) for connection in again] == [1] * 5
        for connection in again:
            connection.close()
    assert_all_succeed(services, "after")


@contextmanager
def cut_at(proxy: PostgresProxy, app: Flask, db, statement_prefix: str) -> Iterator[None]:
    """Cut every connection just before the app's first statement starting with `statement_prefix` runs."""
    armed = [True]

    def cut(connection, cursor, statement, parameters, context, executemany):
        if armed[0] and statement.lstrip().upper().startswith(statement_prefix):
            armed[0] = False
            proxy.cut()

    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", cut)
    try:
        yield
    finally:
        event.remove(engine, "before_cursor_execute", cut)
    assert not armed[0], f"no statement began with {statement_prefix}"


@postgres_only
def test_a_connection_that_dies_mid_request_is_a_503_and_the_next_request_gets_a_new_one(proxy, services):
    assert_all_succeed(services, "before")
    with services.catalogue.app_context():
        offerings_before = catalogue_db.session.scalar(select(Offering.id).order_by(Offering.id.desc()).limit(1))

    # The database restarts between the request's reads and its write.
    with cut_at(proxy, services.catalogue, catalogue_db, "INSERT"):
        created, elapsed = timed(lambda: services.catalogue_client.post(
            "/offerings", json=services.new_offering(), headers=services.school_headers))
    assert_unavailable("POST /offerings cut at its INSERT", created, elapsed)
    with cut_at(proxy, services.enrolment, enrolment_db, "SELECT"):
        listed, elapsed = timed(lambda: services.enrolment_client.get("/enrolments", headers=services.hr_headers))
    assert_unavailable("GET /enrolments cut at its first SELECT", listed, elapsed)
    with cut_at(proxy, services.catalogue, catalogue_db, "SELECT"):
        page, elapsed = timed(lambda: services.catalogue_client.get("/soeg"))
    assert_unavailable("/soeg cut at its first SELECT", page, elapsed, page=True)

    # The server is back at once: the very next requests work, none is handed the dead connection.
    with services.catalogue.app_context():
        assert catalogue_db.session.scalar(
            select(Offering.id).order_by(Offering.id.desc()).limit(1)) == offerings_before  # nothing half-written
        catalogue_db.session.rollback()
    assert_all_succeed(services, "after")


@postgres_only
def test_a_connection_that_dies_after_the_last_statement_still_gives_the_response(proxy, services):
    """The restart comes after the view's last statement, before the request's transaction is rolled back."""
    assert_all_succeed(services, "before")
    services.at_teardown = proxy.cut

    listed = services.enrolment_client.get("/enrolments", headers=services.hr_headers)
    searched = services.catalogue_client.get("/soeg")

    assert listed.status_code == 200 and searched.status_code == 200
    services.at_teardown = None
    assert_all_succeed(services, "after")


@postgres_only
def test_a_server_that_does_not_answer_is_a_503_after_the_connect_timeout(proxy, services):
    assert_all_succeed(services, "before")

    proxy.silence()

    bound = CONNECT_TIMEOUT_SECONDS + FAST_SECONDS
    listed, elapsed = timed(lambda: services.catalogue_client.get("/offerings"))
    assert_unavailable("GET /offerings", listed, elapsed, bound=bound)
    enrolled, elapsed = timed(lambda: services.enrolment_client.post(
        "/enrolments", json=services.new_enrolment(), headers={**services.hr_headers, "Idempotency-Key": "silent"}))
    assert_unavailable("POST /enrolments with Idempotency-Key", enrolled, elapsed, bound=bound)

    proxy.up()

    assert_all_succeed(services, "silent")


@postgres_only
def test_a_pool_with_no_connection_free_is_a_503_after_the_pool_timeout(services):
    with services.catalogue.app_context():
        engine = catalogue_db.engine
        held = [engine.connect() for _ in range(engine.pool.size() + engine.pool._max_overflow)]
    try:
        listed, elapsed = timed(lambda: services.catalogue_client.get("/offerings"))
    finally:
        for connection in held:
            connection.close()

    assert_unavailable("GET /offerings", listed, elapsed, bound=POOL_TIMEOUT_SECONDS + FAST_SECONDS)
    assert elapsed >= POOL_TIMEOUT_SECONDS - 0.5  # it waited for a connection, as long as configured
    assert services.catalogue_client.get("/offerings").status_code == 200


@postgres_only
def test_a_programming_error_on_postgresql_is_not_taken_for_an_outage(outage_databases):
    engine = create_engine(normalise_database_url(outage_databases["catalogue"]))
    try:
        with engine.connect() as connection, pytest.raises(ProgrammingError) as caught:
            connection.execute(text("SELECT no_such_column FROM offering"))
    finally:
        engine.dispose()

    assert not is_database_unavailable(caught.value)
    with Flask(__name__).test_request_context():
        assert database_unavailable_response(caught.value) is None


# --- SQLite, and what holds on both ------------------------------------------------------------------------

def apps_on_sqlite_file(path) -> tuple[Flask, Flask]:
    url = f"sqlite:///{path}"
    catalogue_app = catalogue.create_app({"DATABASE_URL": url, "GLU_TOKEN_SECRET": TOKEN_SECRET, "TESTING": True})
    enrolment_app = enrolment.create_app({
        "DATABASE_URL": url, "GLU_TOKEN_SECRET": TOKEN_SECRET, "TESTING": True,
        "CATALOGUE_URL": "http://catalogue.test", "CATALOGUE_TRANSPORT": httpx.WSGITransport(app=catalogue_app)})
    return catalogue_app, enrolment_app


def test_an_sqlite_file_that_cannot_be_opened_is_a_503_not_a_500(tmp_path):
    catalogue_app, enrolment_app = apps_on_sqlite_file(tmp_path / "no-such-directory" / "glu.sqlite3")
    cat, enr = catalogue_app.test_client(), enrolment_app.test_client()
    school = bearer(Role.SCHOOL, provider_id=1)
    hr = bearer(Role.HR, organisation="791")
    with enr.session_transaction() as session:  # an administrator signed in on the pages with a token
        session["token"] = bearer(Role.ADMIN)["Authorization"].removeprefix("Bearer ")
    offering = as_json(offering_data({"id": 1, "locations": [{"id": 1}]}))  # valid: only the database stops it
    body = {"offering_id": 1, "participant": {"name": "Anne", "email": "anne@viborg.example"}}

    for name, call in {
        "GET /offerings": lambda: cat.get("/offerings"),
        "POST /offerings": lambda: cat.post("/offerings", json=offering, headers=school),
        "POST /offerings with Idempotency-Key": lambda: cat.post(
            "/offerings", json=offering, headers={**school, "Idempotency-Key": "k-1"}),
        "GET /enrolments": lambda: enr.get("/enrolments", headers=hr),
        "POST /enrolments": lambda: enr.post("/enrolments", json=body, headers=hr),
        "POST /enrolments with Idempotency-Key": lambda: enr.post(
            "/enrolments", json=body, headers={**hr, "Idempotency-Key": "k-2"}),
    }.items():
        response, elapsed = timed(call)
        assert_unavailable(name, response, elapsed)
        assert response.headers["Retry-After"] == str(DATABASE_RETRY_AFTER_SECONDS)
    for name, call in {"/soeg": lambda: cat.get("/soeg"), "/hr": lambda: enr.get("/hr")}.items():
        assert_unavailable(name, *timed(call), page=True)
    assert cat.get("/readyz").status_code == enr.get("/readyz").status_code == 503


def test_an_sqlite_database_still_locked_after_the_busy_timeout_is_an_outage(tmp_path):
    engine = create_engine(f"sqlite:///{tmp_path / 'locked.sqlite3'}")
    try:
        with engine.connect() as holder, engine.connect() as waiter:
            holder.begin()  # BEGIN IMMEDIATE (shared.db): the write lock, held
            # The 15 s the services wait for the lock, over at once (on the driver's connection: through
            # SQLAlchemy the PRAGMA would begin a transaction, and wait for the lock itself).
            waiter.connection.dbapi_connection.execute("PRAGMA busy_timeout=0")
            with pytest.raises(OperationalError) as caught:
                waiter.begin()
    finally:
        engine.dispose()

    assert "database is locked" in str(caught.value)
    app = Flask(__name__)
    with app.test_request_context("/offerings"):
        response = database_unavailable_response(caught.value)
    assert response.status_code == 503 and response.mimetype == PROBLEM
    assert response.headers["Retry-After"] == str(DATABASE_RETRY_AFTER_SECONDS)


def test_a_pool_timeout_is_an_outage(tmp_path):
    engine = create_engine(f"sqlite:///{tmp_path / 'pool.sqlite3'}", pool_size=1, max_overflow=0, pool_timeout=0.01)
    try:
        with engine.connect(), pytest.raises(PoolTimeoutError) as caught:
            engine.connect()
    finally:
        engine.dispose()

    assert is_database_unavailable(caught.value)


def test_a_missing_table_is_a_bug_and_stays_a_500(tmp_path, caplog):
    """An SQLite OperationalError that is not about the file ("no such table": not migrated) is no outage."""
    catalogue_app, _ = apps_on_sqlite_file(tmp_path / "empty.sqlite3")

    response = catalogue_app.test_client().get("/offerings")

    assert response.status_code == 500
    assert response.mimetype == PROBLEM and "Retry-After" not in response.headers
    assert "Unhandled error" in caplog.text


def test_an_outage_met_after_the_view_is_the_same_503(tmp_path):
    """A hook that commits after the view: calling database_unavailable_response, or letting the error go."""
    engine = create_engine(f"sqlite:///{tmp_path / 'no-such-directory' / 'x.sqlite3'}")
    app = Flask(__name__)
    app.config.update(API_TITLE="t", API_VERSION="1", OPENAPI_VERSION="3.1.0")  # not TESTING: errors are handled
    make_api(app)

    @app.post("/caught")
    @app.post("/uncaught")
    def view():
        return {"ok": True}, 201

    @app.after_request
    def commit_point(response):
        try:
            with engine.begin() as connection:
                connection.execute(text("SELECT 1"))
        except SQLAlchemyError as error:
            if request.path == "/uncaught":
                raise
            unavailable = database_unavailable_response(error)
            if unavailable is None:
                raise
            return unavailable
        return response

    client = app.test_client()
    try:
        for path in ("/caught", "/uncaught"):
            response, elapsed = timed(lambda path=path: client.post(path))
            assert_unavailable(path, response, elapsed)
    finally:
        engine.dispose()


def test_postgresql_engines_fail_fast_and_keep_what_the_url_says():
    options = engine_options("postgresql+psycopg://u@db.example/glu?connect_timeout=10")

    assert options["pool_pre_ping"] is True and options["pool_timeout"] == POOL_TIMEOUT_SECONDS
    assert "connect_timeout" not in options["connect_args"]  # the URL's 10 s stand
    assert options["connect_args"]["tcp_user_timeout"] > 0
    assert engine_options("postgresql+psycopg://u@db.example/glu")["connect_args"]["connect_timeout"] == \
        CONNECT_TIMEOUT_SECONDS
    assert engine_options("sqlite:///x.sqlite3") == {"connect_args": {"timeout": 15}}

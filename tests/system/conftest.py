"""The whole system as it is deployed: fresh PostgreSQL databases, migrations and seed run by the
`flask` command, and both services under gunicorn with two workers each on free local ports.

Runs only when TEST_DATABASE_URL names a PostgreSQL server (CI's second `make test`); otherwise the
tests here are skipped and say why. The services' output goes to files in the test's temporary
folder and is shown with a failing test.

gunicorn runs in the repository's root, so it reads the deployment's ./gunicorn.conf.py as a bare
`gunicorn` there would; the options given here (two workers, the bind address) win over it, and the
GUNICORN_* variables of the calling environment are not passed on.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from shared.db import normalise_database_url

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
TOKEN_SECRET = "system-test-secret-" + "s" * 32
SERVICES = ("catalogue", "enrolment")
START_DEADLINE_SECONDS = 30.0
STOP_TIMEOUT_SECONDS = 10.0
COMMAND_TIMEOUT_SECONDS = 120


def postgres_server() -> str | None:
    """TEST_DATABASE_URL if it names a PostgreSQL server, else None."""
    url = os.environ.get("TEST_DATABASE_URL")
    if not url:
        return None
    try:
        backend = make_url(normalise_database_url(url)).get_backend_name()
    except Exception:  # not a URL SQLAlchemy understands: not a PostgreSQL server either
        return None
    return url if backend == "postgresql" else None


SKIP_REASON = ("System tests (tests/system) need TEST_DATABASE_URL naming a PostgreSQL server, e.g. "
               "postgresql://postgres@127.0.0.1:5432/test: they run both services under gunicorn on it.")


def pytest_configure(config):
    config.addinivalue_line("markers", "system: both services under gunicorn on PostgreSQL, over real HTTP")


def pytest_collection_modifyitems(config, items):
    if postgres_server():
        return
    skip = pytest.mark.skip(reason=SKIP_REASON)
    for item in items:
        if item.get_closest_marker("system"):
            item.add_marker(skip)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """A failing system test shows the services' logs, which are the only record of what they did."""
    outcome = yield
    report = outcome.get_result()
    running = getattr(item, "funcargs", {}).get("system")
    if report.failed and isinstance(running, RunningSystem):
        for name, path in running.logs.items():
            report.sections.append((f"{name} log ({path})", tail(path)))


def tail(path: Path, limit: int = 20_000) -> str:
    try:
        data = path.read_text(errors="replace")
    except OSError as error:
        return f"(unreadable: {error})"
    return data if len(data) <= limit else "…\n" + data[-limit:]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclass
class RunningSystem:
    catalogue_url: str
    enrolment_url: str
    token_secret: str
    logs: dict[str, Path] = field(default_factory=dict)
    processes: dict[str, subprocess.Popen] = field(default_factory=dict)


class PostgresDatabases:
    """Fresh databases on the test server, dropped (WITH FORCE) by `drop_all`."""

    def __init__(self, server: str):
        self.admin = make_url(normalise_database_url(server))
        self.run = uuid.uuid4().hex[:8]
        self.created: list[str] = []

    def create(self, service: str) -> str:
        name = f"glu_system_{service}_{self.run}"
        engine = create_engine(self.admin, isolation_level="AUTOCOMMIT")
        try:
            with engine.connect() as connection:
                connection.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
                connection.execute(text(f'CREATE DATABASE "{name}"'))
        finally:
            engine.dispose()
        self.created.append(name)
        return self.admin.set(database=name).render_as_string(hide_password=False)

    def drop_all(self) -> None:
        if not self.created:
            return
        engine = create_engine(self.admin, isolation_level="AUTOCOMMIT")
        try:
            with engine.connect() as connection:
                for name in self.created:
                    connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        finally:
            engine.dispose()


def run_flask(service: str, *args: str, env: dict, log: Path) -> None:
    """`flask --app <service> <args>` as an operator would run it; its output is appended to `log`."""
    command = [str(BIN / "flask"), "--app", service, *args]
    with log.open("a") as output:
        output.write(f"$ {' '.join(command)}\n")
        output.flush()
        result = subprocess.run(command, env=env, cwd=ROOT, stdout=output, stderr=subprocess.STDOUT,
                                timeout=COMMAND_TIMEOUT_SECONDS, check=False)
    if result.returncode != 0:
        pytest.fail(f"`{' '.join(command[1:])}` exited with {result.returncode}:\n{tail(log)}")


def start_gunicorn(service: str, port: int, env: dict, log: Path) -> subprocess.Popen:
    command = [str(BIN / "gunicorn"), "--no-control-socket", "--workers", "2", "--bind", f"127.0.0.1:{port}",
               "--graceful-timeout", "5", f"{service}:create_app()"]
    with log.open("a") as output:
        output.write(f"$ {' '.join(command)}\n")
        output.flush()
        return subprocess.Popen(command, env=env, cwd=ROOT, stdout=output, stderr=subprocess.STDOUT)


def wait_until_healthy(name: str, url: str, process: subprocess.Popen, log: Path) -> None:
    """Poll GET /healthz until it answers 200, the process dies, or the deadline passes."""
    deadline = time.monotonic() + START_DEADLINE_SECONDS
    last = "no answer yet"
    with httpx.Client(timeout=2.0) as client:
        while time.monotonic() < deadline:
            if process.poll() is not None:
                pytest.fail(f"gunicorn for {name} exited with {process.returncode} before answering:\n{tail(log)}")
            try:
                response = client.get(f"{url}/healthz")
                if response.status_code == 200:
                    return
                last = f"HTTP {response.status_code}"
            except httpx.HTTPError as error:
                last = repr(error)
            time.sleep(0.1)  # another process is starting; nothing in this process to wait on
    pytest.fail(f"{name} at {url} did not answer /healthz within {START_DEADLINE_SECONDS:.0f} s "
                f"(last: {last}):\n{tail(log)}")


def stop(process: subprocess.Popen) -> None:
    """SIGTERM (gunicorn's graceful shutdown), then SIGKILL if it has not stopped in time."""
    if process.poll() is not None:
        return
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=STOP_TIMEOUT_SECONDS)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=STOP_TIMEOUT_SECONDS)


@pytest.fixture(scope="module")
def system(tmp_path_factory):
    """Both services migrated, seeded and running under gunicorn: a RunningSystem with their URLs."""
    server = postgres_server()
    if not server:
        pytest.skip(SKIP_REASON)
    folder = tmp_path_factory.mktemp("system")
    ports = {service: free_port() for service in SERVICES}
    urls = {service: f"http://127.0.0.1:{port}" for service, port in ports.items()}
    running = RunningSystem(urls["catalogue"], urls["enrolment"], TOKEN_SECRET,
                            logs={service: folder / f"{service}.log" for service in SERVICES})
    databases = PostgresDatabases(server)
    try:
        env = {key: value for key, value in os.environ.items() if not key.startswith(("SMTP_", "FLASK_", "GUNICORN_"))}
        env.update({
            "GLU_TOKEN_SECRET": TOKEN_SECRET,
            "CATALOGUE_DATABASE_URL": databases.create("catalogue"),
            "ENROLMENT_DATABASE_URL": databases.create("enrolment"),
            "CATALOGUE_URL": urls["catalogue"],
            "ENROLMENT_URL": urls["enrolment"],
            "CATALOGUE_PUBLIC_URL": urls["catalogue"],
            "ENROLMENT_PUBLIC_URL": urls["enrolment"],
            "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",
            "PYTHONUNBUFFERED": "1",
        })

        def migrate_and_seed(service: str) -> None:
            run_flask(service, "db", "upgrade", env=env, log=running.logs[service])
            run_flask(service, "seed", env=env, log=running.logs[service])

        # The two services' databases are independent: prepare them side by side.
        with ThreadPoolExecutor(max_workers=len(SERVICES)) as pool:
            for done in [pool.submit(migrate_and_seed, service) for service in SERVICES]:
                done.result()
        for service in SERVICES:
            # Each service's jobs queue in its own database (PostgresHuey), run by its own consumer.
            service_env = {**env, "JOBS_URL": env[f"{service.upper()}_DATABASE_URL"]}
            running.processes[service] = start_gunicorn(service, ports[service], service_env, running.logs[service])
            with running.logs[service].open("ab") as output:
                running.processes[f"{service}-jobs"] = subprocess.Popen(
                    [str(BIN / "python"), "-m", "shared.jobs", service], env=service_env, cwd=ROOT,
                    stdout=output, stderr=subprocess.STDOUT)
        for service in SERVICES:
            wait_until_healthy(service, urls[service], running.processes[service], running.logs[service])
        yield running
    finally:
        for process in running.processes.values():
            stop(process)
        databases.drop_all()

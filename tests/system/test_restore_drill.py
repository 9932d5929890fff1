"""The restore drill (docs/backup-and-restore.md): a dump of each service's PostgreSQL database taken with
the real pg_dump, more work done, then a dump restored with the real pg_restore while both services run
under gunicorn. Afterwards nobody resets anything by hand, and the services must carry on: the
enrolment service reads the restored catalogue's new changes, the catalogue shows the seat counts the
enrolment service has now (not those of the lost time after the dump), no response of that lost time is
served, and nothing answers 500.

PostgreSQL only (TEST_DATABASE_URL naming a PostgreSQL server): a restore drill on SQLite would drill
copying a file, which is not the procedure.
"""

from __future__ import annotations

import os
import subprocess
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from sqlalchemy.engine import make_url

from shared.auth import Role, issue_token
from shared.clock import copenhagen_today
from tests.system.conftest import (
    BIN,
    ROOT,
    SERVICES,
    SKIP_REASON,
    TOKEN_SECRET,
    PostgresDatabases,
    RunningSystem,
    free_port,
    postgres_server,
    run_flask,
    start_gunicorn,
    stop,
    wait_until_healthy,
)
from tests.system.test_deployment_journey import ORGANISATION, SCHOOL, local, poll

pytestmark = pytest.mark.system

PG_BIN = Path("/usr/bin")


@dataclass
class Drill:
    system: RunningSystem
    database_urls: dict[str, str]
    folder: Path

    def libpq_url(self, service: str) -> str:
        """The database's URL as pg_dump and pg_restore read it (no SQLAlchemy driver name)."""
        return make_url(self.database_urls[service]).set(drivername="postgresql").render_as_string(hide_password=False)

    def dump(self, service: str) -> Path:
        """pg_dump -Fc of the service's database, as the nightly backup takes it."""
        path = self.folder / f"{service}-{len(list(self.folder.glob('*.dump')))}.dump"
        subprocess.run([str(PG_BIN / "pg_dump"), "-Fc", "-f", str(path), "-d", self.libpq_url(service)],
                       check=True, timeout=120)
        return path

    def restore(self, service: str, dump: Path) -> None:
        """pg_restore --clean --if-exists into the service's database, the services running meanwhile."""
        subprocess.run([str(PG_BIN / "pg_restore"), "--clean", "--if-exists", "--no-owner", "--single-transaction",
                        "-d", self.libpq_url(service), str(dump)], check=True, timeout=120)


@pytest.fixture(scope="module")
def drill(tmp_path_factory):
    """Both services as tests/system/conftest.py runs them, with their database URLs at hand for the dumps."""
    server = postgres_server()
    if not server:
        pytest.skip(SKIP_REASON)
    folder = tmp_path_factory.mktemp("restore")
    ports = {service: free_port() for service in SERVICES}
    urls = {service: f"http://127.0.0.1:{port}" for service, port in ports.items()}
    running = RunningSystem(urls["catalogue"], urls["enrolment"], TOKEN_SECRET,
                            logs={service: folder / f"{service}.log" for service in SERVICES})
    databases = PostgresDatabases(server)
    try:
        database_urls = {service: databases.create(service) for service in SERVICES}
        env = {key: value for key, value in os.environ.items() if not key.startswith(("SMTP_", "FLASK_", "GUNICORN_"))}
        env.update({
            "GLU_TOKEN_SECRET": TOKEN_SECRET,
            "CATALOGUE_DATABASE_URL": database_urls["catalogue"],
            "ENROLMENT_DATABASE_URL": database_urls["enrolment"],
            "CATALOGUE_URL": urls["catalogue"], "ENROLMENT_URL": urls["enrolment"],
            "CATALOGUE_PUBLIC_URL": urls["catalogue"], "ENROLMENT_PUBLIC_URL": urls["enrolment"],
            "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}", "PYTHONUNBUFFERED": "1",
        })
        for service in SERVICES:
            run_flask(service, "db", "upgrade", env=env, log=running.logs[service])
            run_flask(service, "seed", env=env, log=running.logs[service])
            # The job queue lives in the service's own database, so a restore takes it back too.
            service_env = {**env, "JOBS_URL": database_urls[service]}
            running.processes[service] = start_gunicorn(service, ports[service], service_env, running.logs[service])
            with running.logs[service].open("ab") as output:
                running.processes[f"{service}-jobs"] = subprocess.Popen(
                    [str(BIN / "python"), "-m", "shared.jobs", service], env=service_env, cwd=ROOT,
                    stdout=output, stderr=subprocess.STDOUT)
        for service in SERVICES:
            wait_until_healthy(service, urls[service], running.processes[service], running.logs[service])
        yield Drill(running, database_urls, folder)
    finally:
        for process in running.processes.values():
            stop(process)
        databases.drop_all()


@pytest.fixture
def http(drill):
    with httpx.Client(timeout=10.0) as client:
        yield client


def bearer(role: Role, **scope) -> dict[str, str]:
    return {"Authorization": f"Bearer {issue_token(TOKEN_SECRET, role, **scope)}"}


SCHOOL_HEADERS = bearer(Role.SCHOOL, provider_id=SCHOOL)
HR_HEADERS = bearer(Role.HR, organisation=ORGANISATION)


def publish(http: httpx.Client, drill: Drill, capacity: int, days_ahead: int) -> dict:
    catalogue = drill.system.catalogue_url
    provider = next(item for item in http.get(f"{catalogue}/providers").json()["items"] if item["id"] == SCHOOL)
    day = copenhagen_today() + timedelta(days=days_ahead)
    published = http.post(f"{catalogue}/offerings", headers=SCHOOL_HEADERS, json={
        "module": "GLU-4", "location_id": provider["locations"][0]["id"],
        "sessions": [{"starts_at": local(day, 8, 30).isoformat(), "ends_at": local(day, 15, 30).isoformat()}],
        "capacity": capacity, "min_participants": 1, "price_dkk": 3250,
        "enrolment_deadline": (day - timedelta(days=14)).isoformat(),
        "contact_email": "kursus@skole.example", "reference": f"RESTORE-DRILL-{days_ahead}",
    })
    assert published.status_code == 201, published.text
    return published.json()


def enrol(http: httpx.Client, drill: Drill, offering: dict, name: str) -> dict:
    response = http.post(f"{drill.system.enrolment_url}/enrolments", headers=HR_HEADERS, json={
        "offering_id": offering["id"], "participant": {"name": name, "email": f"{name.lower()}@randers.example"}})
    assert response.status_code == 201, response.text
    return response.json()


def set_capacity(http: httpx.Client, drill: Drill, offering: dict, capacity: int) -> dict:
    response = http.patch(f"{drill.system.catalogue_url}/offerings/{offering['id']}", headers=SCHOOL_HEADERS,
                          json={"capacity": capacity})
    assert response.status_code == 200, response.text
    return response.json()


def shown(http: httpx.Client, drill: Drill, offering: dict) -> dict:
    response = http.get(f"{drill.system.catalogue_url}/offerings/{offering['id']}")
    assert response.status_code == 200, response.text
    return response.json()


def until_told(http: httpx.Client, drill: Drill, offering: dict) -> None:
    """Until the catalogue's webhook for the offering's latest change has been answered by the enrolment
    service, which answers once it has read the change feed (and so applied the change)."""
    change_seq = shown(http, drill, offering)["change_seq"]

    def delivered():
        log = http.get(f"{drill.system.catalogue_url}/webhook-deliveries", headers=bearer(Role.ADMIN),
                       params={"per_page": 100})
        assert log.status_code == 200, log.text
        return next((True for item in log.json()["items"] if item["offering_id"] == offering["id"]
                     and item["change_seq"] == change_seq and item["delivered_at"]), None)

    poll(f"the webhook of change {change_seq} delivered", delivered)


def until_available(http: httpx.Client, drill: Drill, offering: dict, seats: int) -> dict:
    """The catalogue's page of the offering once it shows `seats` available (counts travel by the outbox)."""
    return poll(f"{seats} seats available on offering {offering['id']}",
                lambda: (page if (page := shown(http, drill, offering))["seats_available"] == seats else None))


def test_the_catalogue_restored_to_an_earlier_moment_is_followed_without_a_hand_reset(drill, http):
    offering = publish(http, drill, capacity=2, days_ahead=70)
    enrol(http, drill, offering, "Anne")
    until_available(http, drill, offering, 1)
    backup = drill.dump("catalogue")

    # The lost time after the dump: the enrolment service reads these changes and moves its cursor
    # past numbers the restored catalogue will draw again.
    set_capacity(http, drill, offering, 3)
    publish(http, drill, capacity=10, days_ahead=71)
    set_capacity(http, drill, offering, 4)
    assert shown(http, drill, offering)["capacity"] == 4  # and the response cache holds this page

    drill.restore("catalogue", backup)
    page = shown(http, drill, offering)
    assert page["capacity"] == 2, "a response from before the restore was served"

    # After the restore, with nothing reset by hand: the school's next change must reach the enrolment
    # service, though its number is one the cursor has passed already.
    set_capacity(http, drill, offering, 6)
    until_told(http, drill, offering)
    # Five more: with the enrolment service's capacity at 6 they are all placed; had it kept 4 from
    # the lost time (or 2 from the dump) some would wait.
    people = [enrol(http, drill, offering, name) for name in ("Bent", "Carla", "Dora", "Erik", "Finn")]
    assert [person["status"] for person in people] == ["confirmed"] * 5
    until_available(http, drill, offering, 0)

    # And an offering new since the restore is read like any other.
    later = publish(http, drill, capacity=3, days_ahead=72)
    assert enrol(http, drill, later, "Gitte")["status"] == "confirmed"
    until_available(http, drill, later, 2)


def test_the_enrolment_service_restored_to_an_earlier_moment_has_its_seat_counts_shown(drill, http):
    offering = publish(http, drill, capacity=5, days_ahead=80)
    enrol(http, drill, offering, "Anne")
    until_available(http, drill, offering, 4)
    backup = drill.dump("enrolment")

    # The lost time: two more places, which the catalogue is told of.
    enrol(http, drill, offering, "Bent")
    enrol(http, drill, offering, "Carla")
    until_available(http, drill, offering, 2)

    drill.restore("enrolment", backup)
    listed = http.get(f"{drill.system.enrolment_url}/enrolments", params={"offering_id": offering["id"]},
                      headers=HR_HEADERS)
    assert listed.status_code == 200 and listed.json()["total"] == 1, listed.text

    # The enrolment service now holds one place; the next one must replace the catalogue's counts from
    # the lost time (3 taken), though the restored version is below the one the catalogue was sent.
    enrol(http, drill, offering, "Dora")
    until_available(http, drill, offering, 3)

    # And the catalogue's changes still reach the restored enrolment service.
    set_capacity(http, drill, offering, 2)
    until_told(http, drill, offering)
    until_available(http, drill, offering, 0)
    assert enrol(http, drill, offering, "Erik")["status"] == "waitlisted"

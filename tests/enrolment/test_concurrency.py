"""Many workers at once: the last seats go to exactly as many people as there are, and nobody is enrolled twice.

Each test spawns several OS processes (concurrent_workers.spawn_workers), each with its own
enrolment and catalogue apps on the fixtures' databases and several threads. All threads wait at
one barrier and then POST /enrolments together, as gunicorn workers would on a busy morning. On
PostgreSQL (TEST_DATABASE_URL) this exercises the row lock of seats.lock_offering; on SQLite the
database-wide write lock every transaction takes (shared.db).
"""

from __future__ import annotations

from collections import Counter

import pytest
from sqlalchemy import func, select

from catalogue.models import Offering
from catalogue.models import db as catalogue_db
from enrolment.models import ACTIVE_STATUSES, Enrolment, Participant
from enrolment.models import db as enrolment_db
from tests.enrolment.concurrent_workers import spawn_workers

PROCESSES = 5


def fire_at_once(enrolment_database: str, catalogue_database: str, requests: list[dict]) -> tuple[list[dict], str]:
    """Send every request at the same moment from PROCESSES processes; the answers (in request order) and the logs."""
    with spawn_workers(enrolment_database, catalogue_database, PROCESSES, [len(requests)]) as workers:
        return workers.fire(requests)


def enrolment_request(label: str, offering: dict, headers: dict, name: str, email: str) -> dict:
    body = {"offering_id": offering["id"], "participant": {"name": name, "email": email}}
    return {"label": label, "service": "enrolment", "method": "POST", "path": "/enrolments", "json": body,
            "headers": headers}


def statuses(answers: list[dict]) -> Counter:
    return Counter(answer["status"] for answer in answers)


@pytest.fixture
def five_seats(make_school, make_offering, make_organisation):
    make_organisation("791", requires_approval=False)
    return make_offering(make_school("Mercantec"), module="GLU-2", capacity=5, min_participants=1)


def test_last_seats_go_to_exactly_capacity_of_many(enrolment_database, catalogue_database, five_seats, hr, client,
                                                   catalogue_client, catalogue_app):
    headers = hr("791")
    requests = [enrolment_request(f"leader-{n}", five_seats, headers, f"Leder {n}", f"leder{n}@viborg.example")
                for n in range(50)]

    answers, log = fire_at_once(enrolment_database, catalogue_database, requests)

    assert statuses(answers) == {201: 50}, log
    decided = Counter(answer["json"]["status"] for answer in answers)
    assert decided == {"confirmed": 5, "waitlisted": 45}, log
    listed = client.get(f"/enrolments?offering_id={five_seats['id']}&per_page=100", headers=headers).get_json()
    assert listed["total"] == 50
    confirmed = {e["id"] for e in listed["items"] if e["status"] == "confirmed"}
    assert confirmed == {answer["json"]["id"] for answer in answers if answer["json"]["status"] == "confirmed"}
    positions = sorted(e["waitlist_position"] for e in listed["items"] if e["status"] == "waitlisted")
    assert positions == list(range(1, 46))
    shown = catalogue_client.get(f"/offerings/{five_seats['id']}").get_json()
    assert (shown["seats_available"], shown["waitlist_length"]) == (0, 45)
    with catalogue_app.app_context():
        # seats_available stops at 0; the count behind it shows an oversold offering too.
        assert catalogue_db.session.get(Offering, five_seats["id"]).seats_taken == 5
        catalogue_db.session.remove()


def test_same_person_enrolled_from_many_processes_once(enrolment_database, catalogue_database, five_seats, hr, app):
    headers = hr("791")
    # The same address, sometimes in other letters: it is compared without regard to case.
    emails = ["anne@viborg.example", "Anne@Viborg.example", "ANNE@VIBORG.EXAMPLE", "anne@viborg.example"]
    requests = [enrolment_request(f"try-{n}", five_seats, headers, "Anne Andersen", emails[n % len(emails)])
                for n in range(20)]

    answers, log = fire_at_once(enrolment_database, catalogue_database, requests)

    assert statuses(answers) == {201: 1, 409: 19}, log
    refused = [answer for answer in answers if answer["status"] == 409]
    assert {answer["content_type"] for answer in refused} == {"application/problem+json"}
    with app.app_context():
        session = enrolment_db.session
        active = session.scalar(select(func.count()).select_from(Enrolment).where(
            Enrolment.offering_id == five_seats["id"], Enrolment.status.in_(ACTIVE_STATUSES)))
        people = session.scalar(select(func.count()).select_from(Participant).where(
            Participant.email_key == "anne@viborg.example"))
        session.remove()
    assert (active, people) == (1, 1)


def test_retries_with_one_idempotency_key_enrol_once(enrolment_database, catalogue_database, five_seats, hr, app):
    headers = {**hr("791"), "Idempotency-Key": "enrol-bent-1"}
    # One client retrying: the same token, key and body every time.
    requests = [enrolment_request(f"retry-{n}", five_seats, headers, "Bent Berg", "bent@viborg.example")
                for n in range(20)]

    answers, log = fire_at_once(enrolment_database, catalogue_database, requests)

    assert set(statuses(answers)) <= {201, 409}, log
    created = [answer for answer in answers if answer["status"] == 201]
    assert [answer["replayed"] for answer in created].count(None) == 1, "the view ran more than once"
    assert len({answer["json"]["id"] for answer in created}) == 1
    for answer in answers:
        if answer["status"] == 409:
            # "still running", from the key — not the domain's "already enrolled" from a second run
            assert answer["content_type"] == "application/problem+json"
            assert "Idempotency-Key" in answer["json"]["detail"], answer["json"]
    with app.app_context():
        session = enrolment_db.session
        enrolled = session.scalar(select(func.count()).select_from(Enrolment).where(
            Enrolment.offering_id == five_seats["id"]))
        session.remove()
    assert enrolled == 1

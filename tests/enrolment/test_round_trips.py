"""What one enrolment costs the database: each step one statement, and nothing read back that was just written.

The request's own statements end at its COMMIT; what follows in these tests is the outbox's
delivery, which the job engine runs at once in tests (in production, in another process).
"""

from __future__ import annotations

from contextlib import contextmanager

import pytest
from sqlalchemy import event

from enrolment.models import db


@contextmanager
def recorded_statements(app):
    """The statements the enrolment service sends while the block runs, and "COMMIT" for each commit."""
    seen: list[str] = []

    def note(connection, cursor, statement, parameters, context, executemany):
        seen.append(" ".join(statement.split()))

    def committed(connection):
        seen.append("COMMIT")

    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", note)
    event.listen(engine, "commit", committed)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", note)
        event.remove(engine, "commit", committed)


def starting(seen: list[str], prefix: str) -> list[str]:
    return [statement for statement in seen if statement.startswith(prefix)]


def reads_or_writes_participants(statement: str) -> bool:
    return statement.startswith(("INSERT INTO participant", "UPDATE participant")) or "FROM participant" in statement


@pytest.fixture
def one_seat(make_school, make_offering, make_organisation):
    make_organisation("791", requires_approval=False)
    return make_offering(make_school("Mercantec"), module="GLU-2", capacity=1, min_participants=1)


def request_part(seen: list[str]) -> list[str]:
    return seen[:seen.index("COMMIT") + 1]


def test_an_enrolment_counts_nothing_and_writes_the_seat_row_once(app, enrol, one_seat, catalogue_client):
    enrol(one_seat, "Anne")  # the offering's seat row exists from here on

    with recorded_statements(app) as seen:
        bent = enrol(one_seat, "Bent")

    assert bent.status_code == 201
    assert (bent.get_json()["status"], bent.get_json()["waitlist_position"]) == ("waitlisted", 1)
    # The counts are on the locked row: nothing is counted, and the row is written once.
    assert [statement for statement in request_part(seen) if "count(*)" in statement] == []
    assert len(starting(request_part(seen), "UPDATE offering_seats")) == 1
    # The counts on that row are the ones the catalogue was told.
    shown = catalogue_client.get(f"/offerings/{one_seat['id']}").get_json()
    assert (shown["seats_available"], shown["waitlist_length"]) == (0, 1)


def test_a_new_participant_is_added_and_read_back_in_one_statement(app, enrol, one_seat):
    with recorded_statements(app) as seen:
        anne = enrol(one_seat, "Anne")

    assert anne.status_code == 201
    participant = [statement for statement in request_part(seen) if reads_or_writes_participants(statement)]
    assert len(participant) == 1
    assert participant[0].startswith("INSERT INTO participant") and " RETURNING " in participant[0]


def test_nothing_is_read_back_after_the_commit(app, enrol, one_seat):
    enrol(one_seat, "Anne")

    with recorded_statements(app) as seen:
        bent = enrol(one_seat, "Bent", email="bent@kommune.example")

    assert bent.status_code == 201
    assert bent.get_json()["participant"]["email"] == "bent@kommune.example"
    assert bent.get_json()["organisation"] == "791"
    after_commit = seen[len(request_part(seen)):]
    assert not [statement for statement in after_commit if "enrolment" in statement or "participant" in statement]

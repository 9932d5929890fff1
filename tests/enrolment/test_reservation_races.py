"""Reserving and naming at the same moment, from different worker processes: never an oversold seat.

As in test_move_races, each test spawns worker processes (concurrent_workers.spawn_workers) and
fires each round's requests at once. On PostgreSQL (TEST_DATABASE_URL) only the offering's row lock
orders them (seats.lock_offering, taken by enrolling, reserving and naming alike); on SQLite every
transaction holds the database's write lock, so they run one after the other.

Each of these fails without the lock (checked by taking `with_for_update()` out of
seats.lock_offering): a reservation of the last free seats and enrolments read the same free seats,
and both take them (confirmed + reserved above the capacity); two namings into the last unnamed
seat both find it unnamed, and both are confirmed.
"""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from enrolment.models import OfferingSeats, Reservation, db
from tests.enrolment.concurrent_workers import spawn_workers
from tests.enrolment.test_competing_pairs import call, person, shown, stored_counts

ROUNDS = 4
PROCESSES = 2


@pytest.fixture
def viborg(make_organisation):
    return make_organisation("791", name="Viborg Kommune", requires_approval=False)


@pytest.fixture
def course(make_offering, make_school, viborg):
    """course(round, capacity) -> a published one-day GLU-3 offering of its own for the round."""
    school = make_school("Mercantec")
    return lambda round_number, capacity: make_offering(
        school, module="GLU-3", first_day=30 + round_number, days=1, capacity=capacity, min_participants=1)


def seat_row(app, offering_id: int) -> dict:
    """The locked row's counts next to what the enrolments and reservations themselves say."""
    with app.app_context():
        seats = db.session.get(OfferingSeats, offering_id)
        unnamed = db.session.scalar(select(func.coalesce(func.sum(Reservation.seats - Reservation.named
                                                                  - Reservation.released), 0))
                                    .where(Reservation.offering_id == offering_id))
        row = {"capacity": seats.capacity, "confirmed": seats.confirmed, "reserved": seats.reserved,
               "waitlisted": seats.waitlisted, "unnamed": unnamed}
        db.session.remove()
    return row


def assert_never_oversold(app, catalogue_client, offering_id: int, where: str) -> None:
    row = seat_row(app, offering_id)
    counts = stored_counts(app, offering_id)
    assert row["confirmed"] + row["reserved"] <= row["capacity"], f"{where}: oversold {row}"
    assert (row["confirmed"], row["waitlisted"], row["reserved"]) == (
        counts["confirmed"], counts["waitlisted"], row["unnamed"]), f"{where}: counts drifted {row} {dict(counts)}"
    shown_there = catalogue_client.get(f"/offerings/{offering_id}").get_json()
    assert shown_there["seats_available"] == max(row["capacity"] - row["confirmed"] - row["reserved"], 0), (
        f"{where}: the catalogue shows {shown_there['seats_available']} free of {row}")


def test_a_reservation_of_the_last_seats_and_enrolments_at_once_never_oversell(
        enrolment_database, catalogue_database, app, catalogue_client, course, enrol, hr, viborg):
    with spawn_workers(enrolment_database, catalogue_database, PROCESSES, [3] * ROUNDS) as workers:
        for n in range(ROUNDS):
            offering = course(n, capacity=3)
            assert enrol(offering, f"Carl{n}", organisation=viborg).get_json()["status"] == "confirmed"

            answers, log = workers.fire([
                call("reserve", "POST", f"/offerings/{offering['id']}/reservations", hr(viborg), {"seats": 2}),
                call("dan", "POST", "/enrolments", hr(viborg), {"offering_id": offering["id"],
                                                                 "participant": person("Dan", n)}),
                call("eva", "POST", "/enrolments", hr(viborg), {"offering_id": offering["id"],
                                                                 "participant": person("Eva", n)}),
            ])

            where = f"round {n} ({shown(answers)})"
            by_label = {answer["label"]: answer for answer in answers}
            assert by_label["reserve"]["status"] in (201, 409), f"{where}\n{answers}\n{log}"
            assert [by_label[label]["status"] for label in ("dan", "eva")] == [201, 201], f"{where}\n{log}"
            assert_never_oversold(app, catalogue_client, offering["id"], where)


def test_two_namings_into_the_last_unnamed_seat_confirm_one(
        enrolment_database, catalogue_database, app, catalogue_client, course, client, hr, viborg):
    with spawn_workers(enrolment_database, catalogue_database, PROCESSES, [2] * ROUNDS) as workers:
        for n in range(ROUNDS):
            offering = course(n, capacity=2)
            reservation = client.post(f"/offerings/{offering['id']}/reservations", json={"seats": 1},
                                      headers=hr(viborg)).get_json()
            names = f"/reservations/{reservation['id']}/names"

            answers, log = workers.fire([call("anne", "POST", names, hr(viborg), {"participant": person("Anne", n)}),
                                         call("bo", "POST", names, hr(viborg), {"participant": person("Bo", n)})])

            where = f"round {n} ({shown(answers)})"
            assert sorted(answer["status"] for answer in answers) == [201, 409], f"{where}\n{answers}\n{log}"
            assert stored_counts(app, offering["id"]) == {"confirmed": 1}, f"{where}: both took the seat"
            assert_never_oversold(app, catalogue_client, offering["id"], where)

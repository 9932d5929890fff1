"""Moves at the same moment, from different worker processes: never an oversold seat, never a deadlock.

As in test_competing_pairs, each test spawns worker processes (concurrent_workers.spawn_workers) and
fires each round's pair of requests at once. On PostgreSQL (TEST_DATABASE_URL) only the offerings'
row locks order them (enrolment.moves takes both, in ascending order of offering id); on SQLite
every transaction holds the database's write lock, so the pair runs one after the other.

Each of these fails without the locks: with the target's row read without FOR UPDATE, both moves
into the last seat are confirmed (and the count says one); with the two locks taken old-first
instead of in ascending order, two moves in opposite directions deadlock and one answers 500.
"""

from __future__ import annotations

import pytest

from tests.enrolment.concurrent_workers import spawn_workers
from tests.enrolment.test_competing_pairs import assert_catalogue_agrees, call, person, shown, stored_counts

ROUNDS = 4
PROCESSES = 2


@pytest.fixture
def viborg(make_organisation):
    return make_organisation("791", name="Viborg Kommune", requires_approval=False)


@pytest.fixture
def school(make_school):
    return make_school("Mercantec")


@pytest.fixture
def course(make_offering, school, viborg):
    """course(round, number, capacity) -> a published one-day GLU-3 offering of its own."""
    return lambda round_number, number, capacity: make_offering(
        school, module="GLU-3", first_day=30 + 4 * round_number + number, days=1, capacity=capacity,
        min_participants=1)


@pytest.fixture
def placed(enrol, viborg):
    """placed(offering, participant) -> the id of a confirmed enrolment by HR."""

    def post(offering: dict, participant: dict) -> int:
        response = enrol(offering, participant["name"], organisation=viborg, email=participant["email"]).get_json()
        assert response["status"] == "confirmed", response
        return response["id"]

    return post


def move(label: str, enrolment_id: int, offering_id: int, headers: dict) -> dict:
    return call(label, "POST", f"/enrolments/{enrolment_id}/move", headers, {"offering_id": offering_id})


def test_two_moves_into_the_last_seat_confirm_one_and_waitlist_the_other(
        enrolment_database, catalogue_database, app, catalogue_client, course, placed, hr, viborg):
    with spawn_workers(enrolment_database, catalogue_database, PROCESSES, [2] * ROUNDS) as workers:
        for n in range(ROUNDS):
            # From two offerings, so that only the target's lock stands between the two; the target is known
            # here already, with one seat left (a target not known yet is also ordered by its row's insert).
            anne_old, bo_old, target = course(n, 0, capacity=1), course(n, 1, capacity=1), course(n, 2, capacity=2)
            anne, bo = placed(anne_old, person("Anne", n)), placed(bo_old, person("Bo", n))
            placed(target, person("Carl", n))

            answers, log = workers.fire([move("anne", anne, target["id"], hr(viborg)),
                                         move("bo", bo, target["id"], hr(viborg))])

            where = f"round {n} ({shown(answers)})"
            assert [answer["status"] for answer in answers] == [201, 201], f"{where}\n{answers}\n{log}"
            assert sorted(answer["json"]["status"] for answer in answers) == ["confirmed", "waitlisted"], (
                f"{where}: both moves took the last seat")
            assert stored_counts(app, target["id"]) == {"confirmed": 2, "waitlisted": 1}, where
            for offering in (anne_old, bo_old):
                assert stored_counts(app, offering["id"]) == {"cancelled": 1}, where
            for offering in (anne_old, bo_old, target):
                assert_catalogue_agrees(catalogue_client, app, offering["id"], where)


def test_a_move_and_an_enrolment_into_the_last_seat_confirm_one_and_waitlist_the_other(
        enrolment_database, catalogue_database, app, catalogue_client, course, placed, hr, viborg):
    with spawn_workers(enrolment_database, catalogue_database, PROCESSES, [2] * ROUNDS) as workers:
        for n in range(ROUNDS):
            old, target = course(n, 0, capacity=1), course(n, 1, capacity=2)
            anne = placed(old, person("Anne", n))
            placed(target, person("Carl", n))  # one seat left
            dan = person("Dan", n)

            answers, log = workers.fire([
                move("move", anne, target["id"], hr(viborg)),
                call("enrol", "POST", "/enrolments", hr(viborg), {"offering_id": target["id"], "participant": dan}),
            ])

            where = f"round {n} ({shown(answers)})"
            assert [answer["status"] for answer in answers] == [201, 201], f"{where}\n{answers}\n{log}"
            assert sorted(answer["json"]["status"] for answer in answers) == ["confirmed", "waitlisted"], (
                f"{where}: the move and the enrolment both took the last seat")
            assert stored_counts(app, target["id"]) == {"confirmed": 2, "waitlisted": 1}, where
            assert stored_counts(app, old["id"]) == {"cancelled": 1}, where
            for offering in (old, target):
                assert_catalogue_agrees(catalogue_client, app, offering["id"], where)


def test_two_moves_in_opposite_directions_do_not_deadlock(
        enrolment_database, catalogue_database, app, catalogue_client, course, placed, hr, viborg):
    with spawn_workers(enrolment_database, catalogue_database, PROCESSES, [2] * ROUNDS) as workers:
        for n in range(ROUNDS):
            first, second = course(n, 0, capacity=1), course(n, 1, capacity=1)
            anne, bo = placed(first, person("Anne", n)), placed(second, person("Bo", n))

            answers, log = workers.fire([move("anne", anne, second["id"], hr(viborg)),
                                         move("bo", bo, first["id"], hr(viborg))])

            where = f"round {n} ({shown(answers)})"
            assert [answer["status"] for answer in answers] == [201, 201], f"{where}: {answers}\n{log}"
            # Whichever went first waited for the other's seat; the other's move freed it, so both have one.
            for offering in (first, second):
                assert stored_counts(app, offering["id"]) == {"confirmed": 1, "cancelled": 1}, where
                assert_catalogue_agrees(catalogue_client, app, offering["id"], where)

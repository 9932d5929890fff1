"""A freed seat offered to the interest list while others enrol at once, from several worker processes: never oversold.

As in test_move_races, each test spawns worker processes (concurrent_workers.spawn_workers) and fires
each round's requests at once. Jobs run at once in the workers (JOBS_IMMEDIATE), so HR's cancellation
runs the `match-interests` job straight after its commit, in its own worker, while the other workers'
enrolments take the same offering's lock. On PostgreSQL only the offering's row lock orders them;
on SQLite every transaction holds the database's write lock, so they run one after the other.

This fails without the lock: with the job's seat row read without FOR UPDATE (seats.lock_offering
in interests.match_interests), the job enrols the interested person into a seat an enrolment has
just taken, and the offering holds more confirmed places than seats.
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests.catalogue.fixtures import in_days
from tests.enrolment.concurrent_workers import spawn_workers
from tests.enrolment.test_competing_pairs import assert_catalogue_agrees, call, person, shown, stored_counts

ROUNDS = 6
PROCESSES = 3
ENROLLING = 6  # enrolments fired with each cancellation, one after the other under the offering's lock
TOLD_FIRST = 12  # registered before Bent: the job tells them first, so its decision takes a while


@pytest.fixture
def viborg(make_organisation):
    return make_organisation("791", name="Viborg Kommune", requires_approval=False)


def test_a_freed_seat_for_the_interest_list_and_enrolments_at_once_never_oversell(
        enrolment_database, catalogue_database, app, client, catalogue_client, make_school, make_offering, enrol,
        hr, viborg):
    school = make_school("Mercantec")
    with spawn_workers(enrolment_database, catalogue_database, PROCESSES, [1 + ENROLLING] * ROUNDS) as workers:
        for n in range(ROUNDS):
            first_day = 30 + 4 * n
            full = make_offering(school, module="GLU-3", first_day=first_day, days=1, capacity=2, min_participants=1)
            carl = enrol(full, **_named(person("Carl", n))).get_json()
            enrol(full, **_named(person("Anne", n)))
            # This round's interests fit this round's offering only; Bent's is to be enrolled (HR's choice).
            before = (in_days(first_day).date() + timedelta(days=1)).isoformat()
            for name in [f"Told{index}" for index in range(TOLD_FIRST)] + ["Bent"]:
                registered = client.post("/interests", headers=hr(viborg), json={
                    "module": "GLU-3", "regions": ["midtjylland"], "participant": person(name, n),
                    "auto_enrol": name == "Bent", "before": before})
                assert registered.status_code == 201, registered.get_json()

            answers, log = workers.fire([
                call("cancel", "POST", f"/enrolments/{carl['id']}/cancel", hr(viborg)),
                *[call(f"enrol {index}", "POST", "/enrolments", hr(viborg),
                       {"offering_id": full["id"], "participant": person(f"Dan{index}", n)})
                  for index in range(ENROLLING)],
            ])

            where = f"round {n} ({shown(answers)})"
            assert [answer["status"] for answer in answers] == [200] + [201] * ENROLLING, f"{where}\n{answers}\n{log}"
            counts = stored_counts(app, full["id"])
            assert counts["confirmed"] == 2, f"{where}: {dict(counts)} — a seat was sold twice"
            assert counts["waitlisted"] + counts["confirmed"] == 1 + ENROLLING + _bent_placed(client, hr, viborg, n), (
                where, dict(counts))
            assert_catalogue_agrees(catalogue_client, app, full["id"], where)


def _named(participant: dict) -> dict:
    return {"name": participant["name"], "email": participant["email"]}


def _bent_placed(client, hr, organisation, round_number: int) -> int:
    """1 if this round's Bent was enrolled from the interest list (his interest fulfilled), else 0."""
    listed = client.get("/interests?per_page=100", headers=hr(organisation)).get_json()["items"]
    mine = [item for item in listed if item["participant"]["name"] == f"Bent {round_number}"]
    return 1 if mine and mine[0]["end_reason"] == "fulfilled" else 0

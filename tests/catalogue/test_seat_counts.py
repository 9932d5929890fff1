"""Offerings show the enrolment service's seat counts, fresh after every change it reports."""

from __future__ import annotations

import threading
import time

import flask_migrate
import pytest
from sqlalchemy import event

from catalogue import offerings as offerings_module
from catalogue.models import db

PROBLEM = "application/problem+json"


@pytest.fixture
def school(make_school):
    return make_school("Mercantec")


@pytest.fixture
def offering(school, make_offering):
    return make_offering(school, capacity=16, min_participants=6)


@pytest.fixture
def service(auth):
    return auth("service")


def put_seats(client, offering_id, headers, taken=0, waitlisted=0, version=1):
    return client.put(f"/offerings/{offering_id}/seats", json={"taken": taken, "waitlisted": waitlisted,
                                                                "version": version}, headers=headers)


def seats_of(item: dict) -> tuple[int, int]:
    return item["seats_available"], item["waitlist_length"]


def counts(taken: int, waitlisted: int, version: int) -> dict:
    """What PUT …/seats answers: the counts the offering holds now."""
    return {"taken": taken, "waitlisted": waitlisted, "version": version}


def listed_seats(client, **params) -> dict[int, tuple[int, int]]:
    items = client.get("/offerings", query_string=params).get_json()["items"]
    return {item["id"]: seats_of(item) for item in items}


def assert_problem(response, status: int) -> dict:
    assert response.status_code == status, response.get_data(as_text=True)[:2000]
    assert response.mimetype == PROBLEM
    problem = response.get_json()
    assert problem["status"] == status and problem["title"] and problem["detail"]
    return problem


def test_a_new_offering_has_every_seat_free_and_no_waiting_list(client, offering):
    shown = client.get(f"/offerings/{offering['id']}").get_json()

    assert seats_of(offering) == (16, 0)
    assert seats_of(shown) == (16, 0)
    assert listed_seats(client) == {offering["id"]: (16, 0)}


def test_service_counts_show_in_the_offering_and_the_list(client, offering, service):
    response = put_seats(client, offering["id"], service, taken=10, waitlisted=0, version=1)
    full = put_seats(client, offering["id"], service, taken=16, waitlisted=3, version=2)

    assert response.status_code == 200
    assert response.get_json() == counts(10, 0, 1)
    assert full.status_code == 200
    assert full.get_json() == counts(16, 3, 2)
    assert seats_of(client.get(f"/offerings/{offering['id']}").get_json()) == (0, 3)
    assert listed_seats(client) == {offering["id"]: (0, 3)}


def test_an_admin_may_record_seat_counts_too(client, offering, auth):
    response = put_seats(client, offering["id"], auth("admin"), taken=4, version=1)

    assert response.status_code == 200
    assert response.get_json() == counts(4, 0, 1)
    assert seats_of(client.get(f"/offerings/{offering['id']}").get_json()) == (12, 0)


def test_has_seats_filters_free_from_full_offerings(client, school, make_offering, service):
    free = make_offering(school, capacity=10, min_participants=None, first_day=20)
    full = make_offering(school, capacity=10, min_participants=None, first_day=30)
    untouched = make_offering(school, capacity=10, min_participants=None, first_day=40)
    put_seats(client, free["id"], service, taken=9, version=1)
    put_seats(client, full["id"], service, taken=10, waitlisted=2, version=1)

    with_seats = listed_seats(client, has_seats="true")
    without_seats = listed_seats(client, has_seats="false")
    everything = listed_seats(client)

    assert with_seats == {free["id"]: (1, 0), untouched["id"]: (10, 0)}
    assert without_seats == {full["id"]: (0, 2)}
    assert set(everything) == {free["id"], full["id"], untouched["id"]}


def test_has_seats_must_be_a_boolean(client, offering):
    problem = assert_problem(client.get("/offerings", query_string={"has_seats": "maybe"}), 400)

    assert "has_seats" in [error.get("parameter") for error in problem["errors"]]


@pytest.mark.parametrize("older", [1, 2], ids=["older", "same"])
def test_counts_with_a_version_not_above_the_stored_one_are_ignored(client, offering, service, older):
    put_seats(client, offering["id"], service, taken=5, waitlisted=0, version=2)

    response = put_seats(client, offering["id"], service, taken=1, waitlisted=7, version=older)

    assert response.status_code == 200
    assert response.get_json() == counts(5, 0, 2)  # what the offering holds: the newer counts
    assert seats_of(client.get(f"/offerings/{offering['id']}").get_json()) == (11, 0)


def test_counts_are_recorded_with_one_statement(app, client, offering, service):
    """The enrolment service sends counts after every change: one conditional UPDATE, no offering loaded or dumped."""
    seen = []

    def note(connection, cursor, statement, parameters, context, executemany):
        if not statement.startswith("BEGIN"):  # SQLite's BEGIN IMMEDIATE
            seen.append(" ".join(statement.split()))

    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", note)
    try:
        response = put_seats(client, offering["id"], service, taken=2, waitlisted=0, version=1)
    finally:
        event.remove(engine, "before_cursor_execute", note)

    assert response.get_json() == counts(2, 0, 1)
    assert len(seen) == 1
    assert seen[0].startswith("UPDATE offering SET") and "seats_version <" in seen[0]


@pytest.mark.parametrize("role", ["school", "hr"])
def test_only_the_service_or_an_admin_may_record_seat_counts(client, school, offering, auth, role):
    # Even the offering's own school may not: the enrolment service owns the counts.
    scope = {"provider_id": school["id"]} if role == "school" else {"organisation": "791"}

    forbidden = put_seats(client, offering["id"], auth(role, **scope), taken=3)
    anonymous = put_seats(client, offering["id"], {}, taken=3)

    assert_problem(forbidden, 403)
    assert_problem(anonymous, 401)
    assert anonymous.headers["WWW-Authenticate"].startswith("Bearer")
    assert seats_of(client.get(f"/offerings/{offering['id']}").get_json()) == (16, 0)


def test_a_stranger_with_a_bad_body_still_gets_401(client, offering):
    assert_problem(client.put(f"/offerings/{offering['id']}/seats", json={"taken": -1}), 401)


BAD_BODIES = {
    "negative taken": ({"taken": -1, "waitlisted": 0, "version": 1}, "/taken"),
    "negative waitlisted": ({"taken": 0, "waitlisted": -2, "version": 1}, "/waitlisted"),
    "version zero": ({"taken": 0, "waitlisted": 0, "version": 0}, "/version"),
    "missing taken": ({"waitlisted": 0, "version": 1}, "/taken"),
    "missing version": ({"taken": 0, "waitlisted": 0}, "/version"),
    "string": ({"taken": "many", "waitlisted": 0, "version": 1}, "/taken"),
    "digits in a string": ({"taken": "3", "waitlisted": 0, "version": 1}, "/taken"),
    "fraction": ({"taken": 2.5, "waitlisted": 0, "version": 1}, "/taken"),
    "boolean": ({"taken": 1, "waitlisted": True, "version": 1}, "/waitlisted"),
    "null": ({"taken": None, "waitlisted": 0, "version": 1}, "/taken"),
    "too large": ({"taken": 0, "waitlisted": 0, "version": 2**63}, "/version"),
    "unknown field": ({"taken": 0, "waitlisted": 0, "version": 1, "capacity": 99}, "/capacity"),
}


@pytest.mark.parametrize(("body", "pointer"), BAD_BODIES.values(), ids=BAD_BODIES.keys())
def test_bad_counts_are_a_422_naming_the_field(client, offering, service, body, pointer):
    response = client.put(f"/offerings/{offering['id']}/seats", json=body, headers=service)

    problem = assert_problem(response, 422)
    assert pointer in [error["pointer"] for error in problem["errors"]]
    assert seats_of(client.get(f"/offerings/{offering['id']}").get_json()) == (16, 0)


@pytest.mark.parametrize("body", ["[]", "not json", ""], ids=["list", "not json", "empty"])
def test_a_body_that_is_no_object_is_refused(client, offering, service, body):
    response = client.put(f"/offerings/{offering['id']}/seats", data=body, content_type="application/json",
                          headers=service)

    assert response.status_code in (400, 422)
    assert response.mimetype == PROBLEM


@pytest.mark.parametrize("offering_id", [999, 2**31, 10**30], ids=["unknown", "just past int32", "huge"])
def test_counts_for_an_unknown_offering_are_a_404(client, offering, service, offering_id):
    assert_problem(put_seats(client, offering_id, service, taken=1), 404)


def test_counts_are_recorded_for_drafts_and_cancelled_offerings(client, school, make_offering, service, auth):
    draft = make_offering(school, status="draft", first_day=20)
    cancelled = make_offering(school, first_day=30)
    client.post(f"/offerings/{cancelled['id']}/cancel", json={}, headers=auth("school", provider_id=school["id"]))

    for_draft = put_seats(client, draft["id"], service, taken=2, version=1)
    for_cancelled = put_seats(client, cancelled["id"], service, taken=1, waitlisted=0, version=4)

    assert (for_draft.status_code, for_draft.get_json()) == (200, counts(2, 0, 1))
    assert (for_cancelled.status_code, for_cancelled.get_json()) == (200, counts(1, 0, 4))
    shown_draft = client.get(f"/offerings/{draft['id']}", headers=service).get_json()
    shown_cancelled = client.get(f"/offerings/{cancelled['id']}").get_json()
    assert (seats_of(shown_draft), shown_draft["status"]) == ((14, 0), "draft")
    assert (seats_of(shown_cancelled), shown_cancelled["status"]) == ((15, 0), "cancelled")


def test_seat_counts_leave_the_revision_and_update_time_alone(client, offering, service):
    before = client.get(f"/offerings/{offering['id']}").get_json()

    put_seats(client, offering["id"], service, taken=8, waitlisted=1, version=1)
    after = client.get(f"/offerings/{offering['id']}").get_json()

    assert seats_of(after) == (8, 1)
    assert (after["revision"], after["updated_at"]) == (before["revision"], before["updated_at"])
    assert after["revision"] == 1


def test_capacity_lowered_below_the_seats_taken_shows_none_free(client, school, offering, service, auth):
    put_seats(client, offering["id"], service, taken=12, waitlisted=0, version=1)

    lowered = client.patch(f"/offerings/{offering['id']}", json={"capacity": 8},
                           headers=auth("school", provider_id=school["id"]))

    assert lowered.status_code == 200
    assert seats_of(lowered.get_json()) == (0, 0)
    assert seats_of(client.get(f"/offerings/{offering['id']}").get_json()) == (0, 0)
    assert listed_seats(client, has_seats="false") == {offering["id"]: (0, 0)}
    assert listed_seats(client, has_seats="true") == {}


def test_the_etag_changes_when_the_seats_do(client, offering, service):
    path = f"/offerings/{offering['id']}"
    single, listed = client.get(path).headers["ETag"], client.get("/offerings").headers["ETag"]

    put_seats(client, offering["id"], service, taken=1, version=1)
    single_after = client.get(path, headers={"If-None-Match": single})
    listed_after = client.get("/offerings", headers={"If-None-Match": listed})

    assert single_after.status_code == 200
    assert single_after.headers["ETag"] != single
    assert seats_of(single_after.get_json()) == (15, 0)
    assert listed_after.status_code == 200
    assert listed_after.headers["ETag"] != listed


@pytest.mark.parametrize("first", ["older", "newer"])
def test_two_reports_in_flight_cannot_interleave(app, offering, service, monkeypatch, first):
    """The first report has written and holds the row's lock; the second waits for it, and the newer counts stay.

    With the newer report first, the older one must check the version again once the lock is free,
    against what the newer one committed, and change nothing.
    """
    real = offerings_module.record_seat_counts
    holding, release = threading.Event(), threading.Event()
    calls = iter(range(100))

    def hold_first(*args, **kwargs):
        recorded = real(*args, **kwargs)  # written, not yet committed: the row stays locked
        if next(calls) == 0:
            holding.set()
            assert release.wait(10)
        return recorded

    monkeypatch.setattr(offerings_module, "record_seat_counts", hold_first)
    answers = {}
    reports = {"older": {"taken": 3, "version": 1}, "newer": {"taken": 9, "waitlisted": 0, "version": 2}}

    def report(name):
        answers[name] = put_seats(app.test_client(), offering["id"], service, **reports[name])

    second = "newer" if first == "older" else "older"
    holder = threading.Thread(target=report, args=(first,))
    waiter = threading.Thread(target=report, args=(second,))
    holder.start()
    try:
        assert holding.wait(10)
        waiter.start()
        time.sleep(0.3)  # let the second report reach the lock
        assert second not in answers  # it waits for the first one's lock
    finally:
        release.set()
        holder.join(20)
    waiter.join(20)

    assert answers["older"].status_code == answers["newer"].status_code == 200
    assert answers["newer"].get_json() == counts(9, 0, 2)
    assert answers["older"].get_json() == (counts(3, 0, 1) if first == "older" else counts(9, 0, 2))
    assert seats_of(app.test_client().get(f"/offerings/{offering['id']}").get_json()) == (7, 0)


def test_offerings_published_before_the_upgrade_start_with_every_seat_free(app, client, offering):
    with app.app_context():
        flask_migrate.downgrade(revision="0002")
        flask_migrate.upgrade()
        db.engine.dispose()

    assert seats_of(client.get(f"/offerings/{offering['id']}").get_json()) == (16, 0)


# --- Several offerings at once (what the enrolment service's outbox sends) --------------------------------


def put_many(client, headers, *reports):
    return client.put("/offerings/seats", json={"offerings": [
        {"offering_id": offering_id, "taken": taken, "waitlisted": waitlisted, "version": version}
        for offering_id, taken, waitlisted, version in reports]}, headers=headers)


def test_counts_of_several_offerings_are_recorded_at_once_and_unknown_ones_named(client, school, make_offering,
                                                                                  offering, service):
    other = make_offering(school, capacity=10, first_day=30)
    put_seats(client, other["id"], service, taken=4, waitlisted=0, version=5)

    response = put_many(client, service, (offering["id"], 3, 0, 1), (other["id"], 1, 0, 2), (999, 1, 0, 1),
                        (offering["id"], 2, 0, 2))

    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.get_json() == {
        "offerings": [{"offering_id": offering["id"], **counts(2, 0, 2)},  # the higher of its two versions
                      {"offering_id": other["id"], **counts(4, 0, 5)}],  # version 2 is older than the 5 it holds
        "unknown": [999]}
    assert listed_seats(client) == {offering["id"]: (14, 0), other["id"]: (6, 0)}


@pytest.mark.parametrize("role", ["school", "hr"])
def test_only_the_service_or_an_admin_may_record_many_seat_counts(client, school, offering, auth, role):
    scope = {"provider_id": school["id"]} if role == "school" else {"organisation": "791"}

    assert_problem(put_many(client, auth(role, **scope), (offering["id"], 3, 0, 1)), 403)
    assert_problem(put_many(client, {}, (offering["id"], 3, 0, 1)), 401)
    assert put_many(client, auth("admin"), (offering["id"], 3, 0, 1)).status_code == 200


@pytest.mark.parametrize(("body", "pointer"), [
    ({"offerings": []}, "/offerings"),
    ({}, "/offerings"),
    ({"offerings": [{"offering_id": 0, "taken": 1, "waitlisted": 0, "version": 1}]}, "/offerings/0/offering_id"),
    ({"offerings": [{"offering_id": 1, "taken": -1, "waitlisted": 0, "version": 1}]}, "/offerings/0/taken"),
], ids=["empty", "missing", "offering zero", "negative taken"])
def test_a_bad_batch_is_a_422_naming_the_field_and_records_nothing(client, offering, service, body, pointer):
    response = client.put("/offerings/seats", json=body, headers=service)

    problem = assert_problem(response, 422)
    assert pointer in [error["pointer"] for error in problem["errors"]]
    assert seats_of(client.get(f"/offerings/{offering['id']}").get_json()) == (16, 0)


def test_the_api_document_describes_seat_counts(client):
    paths = client.get("/openapi.json").get_json()["paths"]

    answer = paths["/offerings/{offering_id}/seats"]["put"]["responses"]["200"]
    assert answer["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/SeatCounts"}
    batch = paths["/offerings/seats"]["put"]["responses"]
    assert batch["200"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/SeatCountsBatchResult"}
    assert batch["422"] == {"$ref": "#/components/responses/UNPROCESSABLE_ENTITY"}
    assert "has_seats" in {parameter["name"] for parameter in paths["/offerings"]["get"]["parameters"]}

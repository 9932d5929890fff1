"""A place's alternatives: the other open offerings of its module from the same weeks on, nearest first."""

from __future__ import annotations

from datetime import timedelta

import pytest

from shared.clock import copenhagen_today
from tests.accounts import Clock
from tests.catalogue.fixtures import location

# Real places, to the kilometre: Viborg is where the original course is held.
VIBORG = location("Viborg", latitude=56.4532, longitude=9.4020)
SKIVE = location("Skive", municipality_code="779", municipality="Skive Kommune", postcode="7800",
                 latitude=56.5667, longitude=9.0333)
HERNING = location("Herning", municipality_code="657", municipality="Herning Kommune", postcode="7400",
                   latitude=56.1393, longitude=8.9738)
AARHUS = location("Aarhus", municipality_code="751", municipality="Aarhus Kommune", postcode="8000",
                  latitude=56.1567, longitude=10.2108)
SOMEWHERE = location("Et sted", municipality_code="791", municipality="Viborg Kommune", postcode="8800")

FIRST_DAY = 40  # days from today: the original course


@pytest.fixture
def schools(make_school):
    return {name: make_school(f"Skolen i {name}", place) for name, place in
            (("Viborg", VIBORG), ("Skive", SKIVE), ("Herning", HERNING), ("Aarhus", AARHUS),
             ("Et sted", SOMEWHERE))}


@pytest.fixture
def original(make_offering, schools, make_organisation):
    make_organisation("791", requires_approval=False)
    return make_offering(schools["Viborg"], module="GLU-3", first_day=FIRST_DAY, capacity=4, min_participants=1)


@pytest.fixture
def anne(enrol, original):
    response = enrol(original, "Anne")
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def monday_of_first_week() -> int:
    """Days from today to the Monday of the week the original starts in."""
    first = copenhagen_today() + timedelta(days=FIRST_DAY)
    return FIRST_DAY - first.weekday()


def listed(client, hr, enrolment_id: int, organisation: str = "791"):
    return client.get(f"/enrolments/{enrolment_id}/alternatives", headers=hr(organisation))


def test_alternatives_are_the_nearest_first_then_the_soonest_and_unknown_places_last(
        client, hr, make_offering, schools, original, anne):
    later_in_aarhus = make_offering(schools["Aarhus"], module="GLU-3", first_day=FIRST_DAY + 10)
    herning = make_offering(schools["Herning"], module="GLU-3", first_day=FIRST_DAY + 20)
    nowhere = make_offering(schools["Et sted"], module="GLU-3", first_day=FIRST_DAY + 1)
    skive_late = make_offering(schools["Skive"], module="GLU-3", first_day=FIRST_DAY + 30)
    skive_soon = make_offering(schools["Skive"], module="GLU-3", first_day=FIRST_DAY + 5)
    viborg_again = make_offering(schools["Viborg"], module="GLU-3", first_day=FIRST_DAY + 50)

    response = listed(client, hr, anne["id"])

    assert response.status_code == 200, response.get_json()
    items = response.get_json()["items"]
    assert [item["id"] for item in items] == [viborg_again["id"], skive_soon["id"], skive_late["id"], herning["id"],
                                              later_in_aarhus["id"], nowhere["id"]]
    distances = [item["distance_km"] for item in items]
    assert distances[0] == 0.0
    assert 24 < distances[1] == distances[2] < 27  # Viborg–Skive
    assert 42 < distances[3] < 46  # Viborg–Herning
    assert 55 < distances[4] < 62  # Viborg–Aarhus
    assert distances[5] is None
    # As the catalogue shows them, with the same fields.
    assert {"sessions", "location", "seats_available", "waitlist_length", "enrolment_deadline"} <= set(items[0])


def test_the_window_starts_on_the_monday_of_the_originals_first_week(client, hr, make_offering, schools, original,
                                                                     anne):
    monday = monday_of_first_week()
    same_week = make_offering(schools["Skive"], module="GLU-3", first_day=monday, days=1)
    week_before = make_offering(schools["Skive"], module="GLU-3", first_day=monday - 1, days=1)

    ids = [item["id"] for item in listed(client, hr, anne["id"]).get_json()["items"]]

    assert same_week["id"] in ids
    assert week_before["id"] not in ids


def test_other_modules_drafts_cancelled_closed_and_the_original_itself_are_left_out(
        app, client, hr, auth, catalogue_client, make_offering, schools, original, anne):
    open_one = make_offering(schools["Skive"], module="GLU-3", first_day=FIRST_DAY + 10)
    other_module = make_offering(schools["Skive"], module="GLU-4", first_day=FIRST_DAY + 10)
    draft = make_offering(schools["Skive"], module="GLU-3", first_day=FIRST_DAY + 11, status="draft")
    cancelled = make_offering(schools["Skive"], module="GLU-3", first_day=FIRST_DAY + 12)
    closing_soon = make_offering(schools["Skive"], module="GLU-3", first_day=FIRST_DAY + 13,
                                 enrolment_deadline=copenhagen_today() + timedelta(days=3))
    school = auth("school", provider_id=schools["Skive"]["id"])
    assert catalogue_client.post(f"/offerings/{cancelled['id']}/cancel", json={}, headers=school).status_code == 200
    app.config["CLOCK"] = clock = Clock()

    before = [item["id"] for item in listed(client, hr, anne["id"]).get_json()["items"]]
    clock.advance(days=4)  # closing_soon's deadline has passed: it takes no enrolments any more
    after = [item["id"] for item in listed(client, hr, anne["id"]).get_json()["items"]]

    assert before == [open_one["id"], closing_soon["id"]]
    assert after == [open_one["id"]]
    assert not {other_module["id"], draft["id"], cancelled["id"], original["id"]} & set(before)


def test_free_seats_and_the_waiting_list_are_this_services_own_counts(client, hr, enrol, make_offering, schools,
                                                                      original, anne):
    full = make_offering(schools["Skive"], module="GLU-3", first_day=FIRST_DAY + 10, capacity=1, min_participants=1)
    roomy = make_offering(schools["Herning"], module="GLU-3", first_day=FIRST_DAY + 10, capacity=5, min_participants=1)
    for name in ("Bo", "Cai", "Dan"):
        enrol(full, name)
    enrol(roomy, "Eva")

    items = {item["id"]: item for item in listed(client, hr, anne["id"]).get_json()["items"]}

    assert (items[full["id"]]["seats_available"], items[full["id"]]["waitlist_length"]) == (0, 2)
    assert (items[roomy["id"]]["seats_available"], items[roomy["id"]]["waitlist_length"]) == (4, 0)


def test_a_place_the_school_cancelled_has_alternatives_one_cancelled_by_hr_has_none(
        client, hr, auth, catalogue_client, make_offering, schools, original, anne, enrol):
    other = make_offering(schools["Skive"], module="GLU-3", first_day=FIRST_DAY + 10)
    bo = enrol(original, "Bo").get_json()
    assert client.post(f"/enrolments/{bo['id']}/cancel", headers=hr()).status_code == 200
    school = auth("school", provider_id=schools["Viborg"]["id"])
    assert catalogue_client.post(f"/offerings/{original['id']}/cancel", json={"reason": "For få tilmeldte"},
                                 headers=school).status_code == 200

    by_school = listed(client, hr, anne["id"])
    by_hr = listed(client, hr, bo["id"])

    assert client.get(f"/enrolments/{anne['id']}", headers=hr()).get_json()["status"] == "cancelled"
    assert [item["id"] for item in by_school.get_json()["items"]] == [other["id"]]
    assert by_hr.status_code == 409
    assert "kan ikke flyttes" in by_hr.get_json()["detail"]


def test_who_may_see_a_places_alternatives(client, hr, auth, make_organisation, anne):
    make_organisation("730")
    path = f"/enrolments/{anne['id']}/alternatives"

    assert client.get(path).status_code == 401
    assert client.get(path, headers=auth("approver", organisation="791")).status_code == 403
    assert client.get(path, headers=auth("school", provider_id=1)).status_code == 403
    assert client.get(path, headers=hr("730")).status_code == 404
    assert client.get("/enrolments/999999/alternatives", headers=hr()).status_code == 404
    assert client.get(path, headers=auth("admin")).status_code == 200


def test_the_catalogue_down_is_a_503_to_try_again(client, hr, catalogue_link, anne):
    catalogue_link.down = True

    response = listed(client, hr, anne["id"])

    assert response.status_code == 503
    assert response.headers["Retry-After"] == "30"
    assert response.content_type == "application/problem+json"


def test_the_openapi_document_declares_alternatives_and_moves(client):
    document = client.get("/openapi.json").get_json()
    alternatives = document["paths"]["/enrolments/{enrolment_id}/alternatives"]["get"]
    move = document["paths"]["/enrolments/{enrolment_id}/move"]["post"]

    assert "200" in alternatives["responses"] and "201" in move["responses"]
    assert alternatives["security"] and move["security"]
    assert "distance_km" in document["components"]["schemas"]["Alternative"]["properties"]
    assert document["components"]["schemas"]["Move"]["required"] == ["offering_id"]

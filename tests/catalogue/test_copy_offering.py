"""Copying an offering to new dates (POST /offerings/{id}/copy), and days in the past refused everywhere."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest

from shared.clock import copenhagen_today
from shared.schemas import COPENHAGEN
from tests.accounts import Clock
from tests.catalogue.fixtures import as_json, in_days, offering_data, stored_offerings
from tests.catalogue.test_offering_validation import assert_problem


def local(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=COPENHAGEN)


def parsed(value: str) -> datetime:
    return datetime.fromisoformat(value)


# Always ahead of today: a winter Monday and a summer Monday of next year, either side of a change of clocks.
WINTER = date(copenhagen_today().year + 1, 1, 11)
WINTER = WINTER - timedelta(days=WINTER.weekday())
SUMMER = date(WINTER.year, 6, 7)
SUMMER = SUMMER - timedelta(days=SUMMER.weekday())


@pytest.fixture
def headers(auth, school):
    return auth("school", provider_id=school["id"])


@pytest.fixture
def winter_offering(make_offering, school):
    """Three days in January, 08:30–15:30 Danish time (+01:00), the second a week after the first."""
    days = (WINTER, WINTER + timedelta(days=1), WINTER + timedelta(days=8))
    return make_offering(school, sessions=[{"starts_at": local(day, 8, 30), "ends_at": local(day, 15, 30)}
                                           for day in days],
                         enrolment_deadline=WINTER - timedelta(days=14), capacity=18, min_participants=7,
                         price_dkk=2450, language="en", contact_email="kursus@mercantec.example",
                         reference="MERC-JAN", note="Husk frokost.")


def copy(client, offering_id: int, headers: dict, **body):
    return client.post(f"/offerings/{offering_id}/copy", json=as_json(body), headers=headers)


def test_a_copy_is_a_new_draft_with_the_days_moved_together_and_everything_else_kept(
        client, winter_offering, headers):
    response = copy(client, winter_offering["id"], headers, first_day=SUMMER, reference="MERC-JUN")

    assert response.status_code == 201, response.get_json()
    made = response.get_json()
    assert response.headers["Location"].endswith(f"/offerings/{made['id']}")
    assert made["id"] != winter_offering["id"] and made["status"] == "draft" and made["revision"] == 1
    assert made["reference"] == "MERC-JUN"
    for name in ("module", "provider_id", "location", "capacity", "min_participants", "price_dkk", "language",
                 "contact_email", "note"):
        assert made[name] == winter_offering[name], name
    shift = SUMMER - WINTER
    assert made["enrolment_deadline"] == (date.fromisoformat(winter_offering["enrolment_deadline"]) + shift).isoformat()
    assert [parsed(session["starts_at"]).date() for session in made["sessions"]] == [
        SUMMER, SUMMER + timedelta(days=1), SUMMER + timedelta(days=8)]
    assert {session["id"] for session in made["sessions"]}.isdisjoint(
        session["id"] for session in winter_offering["sessions"])


def test_a_copy_across_a_change_of_clocks_keeps_the_danish_time_of_day(client, winter_offering, headers):
    made = copy(client, winter_offering["id"], headers, first_day=SUMMER).get_json()

    for before, after in zip(winter_offering["sessions"], made["sessions"], strict=True):
        assert (parsed(after["starts_at"]).hour, parsed(after["starts_at"]).minute) == (8, 30)
        assert (parsed(after["ends_at"]).hour, parsed(after["ends_at"]).minute) == (15, 30)
        assert parsed(before["starts_at"]).utcoffset() == timedelta(hours=1)
        assert parsed(after["starts_at"]).utcoffset() == timedelta(hours=2)


def test_the_original_is_left_as_it_was(client, winter_offering, headers):
    before = client.get(f"/offerings/{winter_offering['id']}", headers=headers).get_json()

    copy(client, winter_offering["id"], headers, first_day=SUMMER)

    assert client.get(f"/offerings/{winter_offering['id']}", headers=headers).get_json() == before


def test_a_copy_without_a_reference_has_none_and_the_copy_is_in_the_audit_log(client, winter_offering, headers):
    made = copy(client, winter_offering["id"], headers, first_day=SUMMER).get_json()

    assert made["reference"] is None
    log = client.get("/audit", headers=headers, query_string={"object_type": "offering"}).get_json()["items"]
    assert (log[0]["action"], log[0]["object_id"]) == ("offering.copied", str(made["id"]))
    assert log[0]["changes"]["copied_from"] == [None, winter_offering["id"]]
    assert log[0]["changes"]["capacity"] == [None, 18]


def test_a_cancelled_offering_can_be_copied_to_hold_it_later(client, winter_offering, headers):
    client.post(f"/offerings/{winter_offering['id']}/cancel", json={"reason": "For få"}, headers=headers)

    response = copy(client, winter_offering["id"], headers, first_day=SUMMER)

    assert response.status_code == 201 and response.get_json()["status"] == "draft"


def test_an_administrator_may_copy_any_schools_offering(client, winter_offering, auth):
    response = copy(client, winter_offering["id"], auth("admin"), first_day=SUMMER)

    assert response.status_code == 201
    assert response.get_json()["provider_id"] == winter_offering["provider_id"]


# --- Refusals: nothing is written ------------------------------------------------------------------

@pytest.mark.parametrize("body, pointer", [
    ({"first_day": "nej"}, "/first_day"),
    ({}, "/first_day"),
    ({"first_day": "2027-02-30"}, "/first_day"),
    ({"first_day": (copenhagen_today() - timedelta(days=1)).isoformat()}, "/first_day"),
    ({"first_day": SUMMER.isoformat(), "reference": "x" * 61}, "/reference"),
    ({"first_day": SUMMER.isoformat(), "reference": "MERC-JAN"}, "/reference"),  # the original's: unique per school
    ({"first_day": SUMMER.isoformat(), "colour": "blå"}, "/colour"),
])
def test_bad_input_is_a_422_naming_the_field(client, app, winter_offering, headers, body, pointer):
    before = stored_offerings(app)

    response = client.post(f"/offerings/{winter_offering['id']}/copy", json=body, headers=headers)

    assert_problem(response, 422, pointer)
    assert stored_offerings(app) == before


def test_a_deadline_that_would_move_into_the_past_is_today(client, make_offering, school, headers):
    """Two weeks before a first day in a week would be last week: the copy takes enrolments until today."""
    offering = make_offering(school, first_day=30, enrolment_deadline=copenhagen_today() + timedelta(days=16))

    made = copy(client, offering["id"], headers, first_day=copenhagen_today() + timedelta(days=7)).get_json()

    assert made["enrolment_deadline"] == copenhagen_today().isoformat()


def test_refusals_for_every_role(client, app, auth, winter_offering, make_offering, make_school):
    other = make_school("Tech College Aalborg")
    other_draft = make_offering(other, status="draft")
    other_published = make_offering(other)
    before = stored_offerings(app)
    body = {"first_day": SUMMER}

    assert_problem(copy(client, winter_offering["id"], {}, **body), 401)
    assert_problem(copy(client, winter_offering["id"], auth("hr", organisation="791"), **body), 403)
    assert_problem(copy(client, winter_offering["id"], auth("service"), **body), 403)
    school = auth("school", provider_id=winter_offering["provider_id"])
    assert_problem(copy(client, other_published["id"], school, **body), 403)
    assert_problem(copy(client, other_draft["id"], school, **body), 404)
    assert_problem(copy(client, 999_999, school, **body), 404)
    assert stored_offerings(app) == before


def test_the_copy_endpoint_is_in_the_openapi_document(client):
    document = client.get("/openapi.json").get_json()

    operation = document["paths"]["/offerings/{offering_id}/copy"]["post"]
    assert "201" in operation["responses"] and operation["security"]
    assert "OfferingCopy" in document["components"]["schemas"]


# --- Days in the past -------------------------------------------------------------------------------

def test_an_offering_with_a_day_in_the_past_is_refused(client, app, school, headers):
    body = as_json(offering_data(school))
    body["sessions"].insert(0, {"starts_at": in_days(-1, 9).isoformat(), "ends_at": in_days(-1, 15).isoformat()})

    assert_problem(client.post("/offerings", json=body, headers=headers), 422, "/sessions/0/starts_at")
    assert stored_offerings(app)[0] == []


def test_a_running_course_can_still_be_changed_but_no_day_moved_into_the_past(client, app, make_offering, school,
                                                                              headers):
    offering = make_offering(school, first_day=30, days=3)
    clock = Clock()
    app.config["CLOCK"] = clock
    clock.advance(days=31)  # the first day is over, the second today
    sessions = [{"id": session["id"], "starts_at": session["starts_at"], "ends_at": session["ends_at"]}
                for session in offering["sessions"]]

    kept = client.patch(f"/offerings/{offering['id']}", json={"sessions": sessions, "capacity": 20},
                        headers=headers)
    moved_back = client.patch(f"/offerings/{offering['id']}", headers=headers, json={"sessions": [
        sessions[0], {**sessions[1], "starts_at": in_days(29, 9).isoformat(), "ends_at": in_days(29, 15).isoformat()},
        sessions[2]]})

    assert kept.status_code == 200 and kept.get_json()["capacity"] == 20
    assert_problem(moved_back, 422, "/sessions/1/starts_at")
    assert client.get(f"/offerings/{offering['id']}").get_json()["sessions"] == offering["sessions"]

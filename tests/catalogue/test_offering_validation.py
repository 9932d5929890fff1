"""Bad input to the offering endpoints: always a problem+json naming the field, never a 500 or a half-written row."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from shared.clock import copenhagen_today
from tests.catalogue.fixtures import as_json, in_days, offering_data, stored_offerings

PROBLEM = "application/problem+json"
HUGE_ID = 99999999999999999999


# --- helpers --------------------------------------------------------------------------------------

def body_for(school: dict, **overrides) -> dict:
    return as_json(offering_data(school, **overrides))


def session(day: int, start: int = 9, end: int = 15, **extra) -> dict:
    return {"starts_at": in_days(day, start).isoformat(), "ends_at": in_days(day, end).isoformat(), **extra}


def assert_problem(response, status: int, pointer: str | None = None, parameter: str | None = None) -> dict:
    """The response is an RFC 9457 problem; with `pointer`, one of its errors points there."""
    assert response.status_code == status, response.get_data(as_text=True)[:2000]
    assert response.mimetype == PROBLEM
    problem = response.get_json()
    assert problem["status"] == status
    assert problem["type"] and problem["title"] and problem["detail"]
    for error in problem.get("errors", []):
        assert isinstance(error["pointer"], str) and error["message"]
    if pointer is not None:
        assert pointer in [error["pointer"] for error in problem.get("errors", [])], problem
    if parameter is not None:
        assert parameter in [error.get("parameter") for error in problem.get("errors", [])], problem
    return problem




# --- fixtures -------------------------------------------------------------------------------------

@pytest.fixture
def headers(auth, school):
    return auth("school", provider_id=school["id"])


@pytest.fixture
def offering(make_offering, school):
    return make_offering(school, reference="MERC-1")


# --- POST /offerings ------------------------------------------------------------------------------

def test_valid_post_returns_201_with_a_location_header_that_leads_to_the_offering(client, app, school, headers):
    response = client.post("/offerings", json=body_for(school), headers=headers)

    assert response.status_code == 201, response.get_json()
    created = response.get_json()
    assert response.headers["Location"].endswith(f"/offerings/{created['id']}")
    assert created["revision"] == 1 and created["status"] == "published"
    assert client.get(response.headers["Location"]).get_json() == created
    assert len(stored_offerings(app)[0]) == 1


def _with_session(**changes):
    def change(body):
        body["sessions"][0].update(changes)
    return change


def _set(name, value):
    def change(body):
        body[name] = value
    return change


def _drop(name):
    def change(body):
        del body[name]
    return change


def _set_sessions(*sessions):
    def change(body):
        body["sessions"] = list(sessions)
    return change


BAD_POST_BODIES = {
    "session ends before it starts": (_with_session(ends_at=in_days(30, 8).isoformat()), "/sessions/0/ends_at"),
    "session ends as it starts": (_with_session(ends_at=in_days(30, 9).isoformat()), "/sessions/0/ends_at"),
    "session over 24 hours": (_set_sessions({"starts_at": in_days(30, 9).isoformat(),
                                             "ends_at": in_days(31, 10).isoformat()}), "/sessions/0/ends_at"),
    "naive starts_at": (_with_session(starts_at="2030-03-04T09:00:00"), "/sessions/0/starts_at"),
    "naive ends_at": (_with_session(ends_at="2030-03-04T15:00:00"), "/sessions/0/ends_at"),
    "date without time": (_with_session(starts_at="2030-03-04"), "/sessions/0/starts_at"),
    "year 1900": (_with_session(starts_at="1900-03-04T09:00:00+01:00"), "/sessions/0/starts_at"),
    "session missing ends_at": (_set_sessions({"starts_at": in_days(30, 9).isoformat()}), "/sessions/0/ends_at"),
    "no sessions": (_set("sessions", []), "/sessions"),
    "sessions not a list": (_set("sessions", "mandag"), "/sessions"),
    "41 sessions": (_set("sessions", [session(30 + n) for n in range(41)]), "/sessions"),
    "negative capacity": (_set("capacity", -1), "/capacity"),
    "zero capacity": (_set("capacity", 0), "/capacity"),
    "absurd capacity": (_set("capacity", 100000), "/capacity"),
    "capacity beyond 64 bits": (_set("capacity", 10**30), "/capacity"),
    "capacity as string": (_set("capacity", "10"), "/capacity"),
    "capacity as float": (_set("capacity", 10.5), "/capacity"),
    "capacity as whole float": (_set("capacity", 10.0), "/capacity"),
    "capacity as boolean": (_set("capacity", True), "/capacity"),
    "capacity null": (_set("capacity", None), "/capacity"),
    "capacity missing": (_drop("capacity"), "/capacity"),
    "min_participants above capacity": (_set("min_participants", 17), "/min_participants"),
    "zero min_participants": (_set("min_participants", 0), "/min_participants"),
    "negative price": (_set("price_dkk", -1), "/price_dkk"),
    "price as string": (_set("price_dkk", "1200"), "/price_dkk"),
    "absurd price": (_set("price_dkk", 10**12), "/price_dkk"),
    "unknown module": (_set("module", "GLU-99"), "/module"),
    "module missing": (_drop("module"), "/module"),
    "unknown location": (_set("location_id", 424242), "/location_id"),
    "huge location id": (_set("location_id", HUGE_ID), "/location_id"),
    "location id as string": (_set("location_id", "1"), "/location_id"),
    "deadline after first session": (_set("enrolment_deadline", (copenhagen_today() + timedelta(days=31)).isoformat()),
                                     "/enrolment_deadline"),
    "deadline not a date": (_set("enrolment_deadline", "2030-13-45"), "/enrolment_deadline"),
    "language danish": (_set("language", "danish"), "/language"),
    "language upper case": (_set("language", "DA"), "/language"),
    "e-mail without @": (_set("contact_email", "glu.skole.example"), "/contact_email"),
    "e-mail with spaces": (_set("contact_email", "glu @skole.example"), "/contact_email"),
    "status cancelled": (_set("status", "cancelled"), "/status"),
    "unknown field": (_set("colour", "blue"), "/colour"),
    "read-only field revision": (_set("revision", 7), "/revision"),
    "huge note": (_set("note", "x" * 100_000), "/note"),
    "huge reference": (_set("reference", "x" * 100_000), "/reference"),
    "NUL in note": (_set("note", "Medbring\x00 madpakke"), "/note"),
    "NUL in reference": (_set("reference", "MERC\x00-1"), "/reference"),
    "NUL in module": (_set("module", "GLU-1\x00"), "/module"),
    "NUL in e-mail": (_set("contact_email", "glu\x00@skole.example"), "/contact_email"),
    "NUL in language": (_set("language", "d\x00"), "/language"),
    "escape character in note": (_set("note", "Lokale \x1b[31m12"), "/note"),
    "bell in reference": (_set("reference", "MERC\x07"), "/reference"),
    "line break in reference": (_set("reference", "MERC\n1"), "/reference"),
    "DEL in note": (_set("note", "Lokale\x7f 12"), "/note"),
}


@pytest.mark.parametrize(("change", "pointer"), BAD_POST_BODIES.values(), ids=BAD_POST_BODIES.keys())
def test_post_refuses_bad_input_with_422_naming_the_field(client, app, school, headers, change, pointer):
    body = body_for(school)
    change(body)

    response = client.post("/offerings", json=body, headers=headers)

    assert_problem(response, 422, pointer)
    assert stored_offerings(app) == ([], 0)


def test_post_accepts_a_line_break_and_a_tab_in_the_note(client, school, headers):
    response = client.post("/offerings", json=body_for(school, note="Linje 1\nLinje 2\r\n\tIndrykket"),
                           headers=headers)

    assert response.status_code == 201, response.get_json()
    assert response.get_json()["note"] == "Linje 1\nLinje 2\r\n\tIndrykket"


def test_post_refuses_a_location_of_another_school(client, app, school, other_school, headers):
    body = body_for(school, location_id=other_school["locations"][0]["id"])

    response = client.post("/offerings", json=body, headers=headers)

    assert_problem(response, 422, "/location_id")
    assert stored_offerings(app) == ([], 0)


def test_overlapping_sessions_point_at_the_later_session(client, app, school, headers):
    body = body_for(school, sessions=[session(30, 9, 15), session(30, 14, 16)])

    response = client.post("/offerings", json=body, headers=headers)

    assert_problem(response, 422, "/sessions/1/starts_at")
    assert stored_offerings(app) == ([], 0)


def test_overlap_pointer_indexes_the_sessions_as_sent_not_as_sorted(client, app, school, headers):
    # Sent out of date order: the overlapping session is item 2 of the body, though it is second by date.
    body = body_for(school, sessions=[session(32), session(30, 9, 15), session(30, 14, 16)])

    response = client.post("/offerings", json=body, headers=headers)

    problem = assert_problem(response, 422)
    assert [error["pointer"] for error in problem["errors"]] == ["/sessions/2/starts_at"]
    assert stored_offerings(app) == ([], 0)


def test_over_24_hours_pointer_indexes_the_sessions_as_sent_not_as_sorted(client, app, school, headers):
    long_session = {"starts_at": in_days(30, 9).isoformat(), "ends_at": in_days(31, 10).isoformat()}
    body = body_for(school, sessions=[session(35), long_session])

    response = client.post("/offerings", json=body, headers=headers)

    problem = assert_problem(response, 422)
    assert [error["pointer"] for error in problem["errors"]] == ["/sessions/1/ends_at"]


def test_post_reports_every_bad_field_at_once(client, school, headers):
    body = body_for(school, capacity=0, price_dkk=-5, language="danish", colour="blue")

    problem = assert_problem(client.post("/offerings", json=body, headers=headers), 422)

    assert {error["pointer"] for error in problem["errors"]} == {"/capacity", "/price_dkk", "/language", "/colour"}


def test_post_refuses_a_reference_the_school_already_uses(client, app, school, headers, offering):
    before = stored_offerings(app)

    response = client.post("/offerings", json=body_for(school, reference="MERC-1"), headers=headers)

    assert_problem(response, 422, "/reference")
    assert stored_offerings(app) == before


# Messages are for the school's staff: the contract says Danish, so marshmallow's English must not leak.
ENGLISH = ("Must be", "Longer than", "Shorter than", "Length must", "Not a valid", "String does not match",
           "Unknown field", "Missing data", "Field may not")


@pytest.mark.parametrize(("change", "pointer"), [
    (_set("capacity", 0), "/capacity"),
    (_set("price_dkk", -1), "/price_dkk"),
    (_set("note", "x" * 100_000), "/note"),
    (_set("status", "cancelled"), "/status"),
    (_set("sessions", []), "/sessions"),
    (_set("colour", "blue"), "/colour"),
    (_drop("module"), "/module"),
], ids=["range", "price range", "length", "one of", "list length", "unknown field", "missing"])
def test_validation_messages_are_in_danish(client, school, headers, change, pointer):
    body = body_for(school)
    change(body)

    problem = assert_problem(client.post("/offerings", json=body, headers=headers), 422, pointer)

    messages = [error["message"] for error in problem["errors"] if error["pointer"] == pointer]
    assert not [message for message in messages if message.startswith(ENGLISH)], messages


# --- The shape of the body ------------------------------------------------------------------------

def test_malformed_json_is_a_400_problem(client, app, headers):
    response = client.post("/offerings", data='{"module": "GLU-1", ', content_type="application/json",
                           headers=headers)

    assert_problem(response, 400)
    assert stored_offerings(app) == ([], 0)


def test_malformed_json_in_a_patch_is_a_400_problem(client, app, headers, offering):
    before = stored_offerings(app)

    response = client.patch(f"/offerings/{offering['id']}", data="{capacity: 3}", content_type="application/json",
                            headers=headers)

    assert_problem(response, 400)
    assert stored_offerings(app) == before


@pytest.mark.parametrize("body", [[{"module": "GLU-1"}], "GLU-1", 42, None], ids=["array", "string", "number", "null"])
def test_a_body_that_is_not_an_object_is_refused(client, app, school, headers, body):
    response = client.post("/offerings", data=json.dumps(body), content_type="application/json",
                           headers=headers)

    assert response.status_code in (400, 422)
    assert_problem(response, response.status_code)
    assert stored_offerings(app) == ([], 0)


def test_a_10_mb_body_is_a_413_problem(client, app, school, headers):
    body = '{"note": "' + "x" * (10 * 1024 * 1024) + '"}'

    response = client.post("/offerings", data=body, content_type="application/json", headers=headers)

    assert_problem(response, 413)
    assert stored_offerings(app) == ([], 0)


# --- PATCH /offerings/{id} ------------------------------------------------------------------------

def _patch_sessions(*days):
    return lambda offering, other: {"sessions": [
        session(day, id=existing["id"]) for day, existing in zip(days, offering["sessions"], strict=True)]}


BAD_PATCHES = {
    "zero capacity": (lambda o, other: {"capacity": 0}, "/capacity"),
    "negative capacity": (lambda o, other: {"capacity": -3}, "/capacity"),
    "capacity as string": (lambda o, other: {"capacity": "10"}, "/capacity"),
    "capacity null": (lambda o, other: {"capacity": None}, "/capacity"),
    "capacity below min_participants": (lambda o, other: {"capacity": 5}, "/min_participants"),
    "min_participants above capacity": (lambda o, other: {"min_participants": 17}, "/min_participants"),
    "negative price": (lambda o, other: {"price_dkk": -1}, "/price_dkk"),
    "status cancelled": (lambda o, other: {"status": "cancelled"}, "/status"),
    "status draft": (lambda o, other: {"status": "draft"}, "/status"),
    "language danish": (lambda o, other: {"language": "danish"}, "/language"),
    "not an e-mail": (lambda o, other: {"contact_email": "glu at skole"}, "/contact_email"),
    "deadline after first session": (
        lambda o, other: {"enrolment_deadline": (copenhagen_today() + timedelta(days=31)).isoformat()},
        "/enrolment_deadline"),
    "sessions moved before the deadline": (_patch_sessions(10, 11), "/enrolment_deadline"),
    "session ends before it starts": (
        lambda o, other: {"sessions": [{"starts_at": in_days(30, 15).isoformat(),
                                        "ends_at": in_days(30, 9).isoformat()}]}, "/sessions/0/ends_at"),
    "naive session": (lambda o, other: {"sessions": [{"starts_at": "2030-03-04T09:00:00",
                                                      "ends_at": "2030-03-04T15:00:00"}]}, "/sessions/0/starts_at"),
    "overlapping sessions": (lambda o, other: {"sessions": [session(30, 9, 15), session(30, 12, 16)]},
                             "/sessions/1/starts_at"),
    "no sessions": (lambda o, other: {"sessions": []}, "/sessions"),
    "session of another offering": (
        lambda o, other: {"sessions": [session(30, id=other["sessions"][0]["id"])]}, "/sessions/0/id"),
    "unknown session id": (lambda o, other: {"sessions": [session(30, id=424242)]}, "/sessions/0/id"),
    "huge session id": (lambda o, other: {"sessions": [session(30, id=HUGE_ID)]}, "/sessions/0/id"),
    "location of another school": (lambda o, other: {"location_id": other["location"]["id"]}, "/location_id"),
    "unknown location": (lambda o, other: {"location_id": 424242}, "/location_id"),
    "unknown field": (lambda o, other: {"colour": "blue"}, "/colour"),
    "module cannot be patched": (lambda o, other: {"module": "GLU-2"}, "/module"),
    "provider cannot be patched": (lambda o, other: {"provider_id": other["provider_id"]}, "/provider_id"),
    "huge note": (lambda o, other: {"note": "x" * 100_000}, "/note"),
    "NUL in note": (lambda o, other: {"note": "a\x00b"}, "/note"),
    "control character in reference": (lambda o, other: {"reference": "MERC\x01"}, "/reference"),
    "valid change with a bad session id": (
        lambda o, other: {"capacity": 20, "sessions": [session(30, id=other["sessions"][0]["id"])]},
        "/sessions/0/id"),
    "valid change with a bad location": (lambda o, other: {"note": "Ny note", "location_id": 424242},
                                         "/location_id"),
}


@pytest.mark.parametrize(("patch", "pointer"), BAD_PATCHES.values(), ids=BAD_PATCHES.keys())
def test_patch_refuses_bad_input_and_changes_nothing(client, app, headers, offering, other_school, make_offering,
                                                     patch, pointer):
    other = make_offering(other_school, first_day=50)
    before = stored_offerings(app)

    response = client.patch(f"/offerings/{offering['id']}", json=patch(offering, other), headers=headers)

    assert_problem(response, 422, pointer)
    assert stored_offerings(app) == before


def test_patch_refuses_a_reference_the_school_already_uses(client, app, school, headers, offering, make_offering):
    second = make_offering(school, first_day=60, reference="MERC-2")
    before = stored_offerings(app)

    response = client.patch(f"/offerings/{second['id']}", json={"reference": "MERC-1"}, headers=headers)

    assert_problem(response, 422, "/reference")
    assert stored_offerings(app) == before


def test_patch_on_a_cancelled_offering_is_a_409(client, app, headers, offering):
    assert client.post(f"/offerings/{offering['id']}/cancel", json={}, headers=headers).status_code == 200
    before = stored_offerings(app)

    response = client.patch(f"/offerings/{offering['id']}", json={"capacity": 20}, headers=headers)

    assert_problem(response, 409)
    assert stored_offerings(app) == before


def test_valid_patch_keeps_the_ids_of_moved_sessions_and_bumps_the_revision_by_one(client, headers, offering):
    first, second = offering["sessions"]
    moved = [session(40, id=second["id"]), session(38, 8, 16, id=first["id"]), session(42)]

    response = client.patch(f"/offerings/{offering['id']}", json={"sessions": moved, "capacity": 20},
                            headers=headers)

    assert response.status_code == 200, response.get_json()
    changed = response.get_json()
    assert changed["revision"] == offering["revision"] + 1
    assert changed["capacity"] == 20
    ids = [item["id"] for item in changed["sessions"]]
    assert ids[:2] == [first["id"], second["id"]]
    assert ids[2] not in (first["id"], second["id"])
    assert changed["sessions"][0]["starts_at"] == in_days(38, 8).isoformat()
    assert changed["starts_at"] == in_days(38, 8).isoformat()
    assert changed["ends_at"] == in_days(42, 15).isoformat()
    assert client.get(f"/offerings/{offering['id']}").get_json() == changed


def test_a_second_valid_patch_bumps_the_revision_again(client, headers, offering):
    url = f"/offerings/{offering['id']}"
    assert client.patch(url, json={"price_dkk": 1500}, headers=headers).get_json()["revision"] == 2
    assert client.patch(url, json={"note": "Husk madpakke"}, headers=headers).get_json()["revision"] == 3


# --- Ids, routes and methods ----------------------------------------------------------------------

@pytest.mark.parametrize("offering_id", [424242, HUGE_ID, 2**31, 2**63], ids=["unknown", "huge", "int32+1", "int64"])
def test_unknown_or_huge_offering_ids_are_404_problems(client, headers, glu, offering_id):
    assert_problem(client.get(f"/offerings/{offering_id}"), 404)
    assert_problem(client.patch(f"/offerings/{offering_id}", json={"capacity": 3}, headers=headers), 404)
    assert_problem(client.post(f"/offerings/{offering_id}/cancel", json={}, headers=headers), 404)


@pytest.mark.parametrize("path", [f"/programmes/{HUGE_ID}", f"/modules/{HUGE_ID}", f"/providers/{HUGE_ID}",
                                  "/programmes/424242", "/modules/424242", "/providers/424242"])
def test_unknown_or_huge_ids_of_other_resources_are_404_problems(client, glu, path):
    assert_problem(client.get(path), 404)


@pytest.mark.parametrize("path", ["/nowhere", "/offerings/abc", "/offerings/-1", "/offerings/1/uncancel",
                                  "/offerings/1.5", "/static/../../etc/passwd"])
def test_unknown_routes_are_404_problems_not_html(client, path):
    response = client.get(path, headers={"Accept": "text/html"})

    assert_problem(response, 404)
    assert "<html" not in response.get_data(as_text=True).lower()


@pytest.mark.parametrize(("method", "path"), [
    ("DELETE", "/offerings/1"), ("PUT", "/offerings/1"), ("PUT", "/offerings"), ("DELETE", "/offerings"),
    ("GET", "/offerings/1/cancel"), ("GET", "/offerings/import"), ("DELETE", "/programmes"), ("PUT", "/providers/1"),
])
def test_wrong_methods_are_405_problems_with_allow(client, headers, method, path):
    response = client.open(path, method=method, headers={**headers, "Accept": "text/html"})

    assert_problem(response, 405)
    assert response.headers.get("Allow")


# --- GET /offerings query parameters --------------------------------------------------------------

BAD_QUERIES = {
    "unknown parameter": ({"colour": "blue"}, "colour"),
    "per_page zero": ({"per_page": "0"}, "per_page"),
    "per_page 1000": ({"per_page": "1000"}, "per_page"),
    "per_page negative": ({"per_page": "-5"}, "per_page"),
    "page abc": ({"page": "abc"}, "page"),
    "page zero": ({"page": "0"}, "page"),
    "page beyond 64 bits": ({"page": str(10**30)}, "page"),
    "date_from not a date": ({"date_from": "notadate"}, "date_from"),
    "date_to not a date": ({"date_to": "2030-02-30"}, "date_to"),
    "date_to before date_from": ({"date_from": "2030-05-01", "date_to": "2030-04-01"}, "date_to"),
    "q of 10 000 characters": ({"q": "ledelse " * 1250}, "q"),
    "q with NUL": ({"q": "led\x00else"}, "q"),
    "module with NUL": ({"module": "GLU\x00"}, "module"),
    "provider abc": ({"provider": "abc"}, "provider"),
    "provider huge": ({"provider": str(HUGE_ID)}, "provider"),
    "status deleted": ({"status": "deleted"}, "status"),
    "language danish": ({"language": "danish"}, "language"),
}


@pytest.mark.parametrize(("query", "parameter"), BAD_QUERIES.values(), ids=BAD_QUERIES.keys())
def test_bad_query_parameters_are_400_problems_naming_the_parameter(client, glu, query, parameter):
    response = client.get("/offerings", query_string=query)

    problem = assert_problem(response, 400, parameter=parameter)
    assert all(error["message"] for error in problem["errors"])
    assert problem["errors"][0]["pointer"] == f"/{parameter}"


def test_unknown_query_parameter_message_says_so(client, glu):
    problem = assert_problem(client.get("/offerings?sort=price"), 400, parameter="sort")

    assert problem["errors"] == [{"pointer": "/sort", "message": "Ukendt parameter.", "parameter": "sort"}]


def test_good_query_parameters_still_work(client, offering):
    response = client.get("/offerings", query_string={"q": "introduktion", "per_page": "100", "page": "1",
                                                      "date_from": copenhagen_today().isoformat()})

    assert response.status_code == 200
    assert [item["id"] for item in response.get_json()["items"]] == [offering["id"]]

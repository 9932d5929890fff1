"""The school marks who attended each day that has begun, who completed once the last day has begun, and
writes to everyone enrolled; everyone else is refused, and every change is logged."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from enrolment.models import Enrolment, OutboxMessage, db
from enrolment.notices import MONTHS
from tests.accounts import Clock, add_member, sign_in_directly
from tests.catalogue.fixtures import in_days
from tests.enrolment.test_participant_lists import read_csv


@pytest.fixture
def clock(app):
    clock = Clock()
    app.config["CLOCK"] = clock
    return clock


@pytest.fixture
def mercantec(make_school):
    return make_school("Mercantec")


@pytest.fixture
def offering(mercantec, make_offering, make_organisation):
    """Three days from 30 days ahead, two seats: Anne and Bent (Viborg) confirmed, Carla (Randers) waitlisted."""
    make_organisation("791", name="Viborg Kommune", requires_approval=False)
    make_organisation("730", name="Randers Kommune", requires_approval=False)
    return make_offering(mercantec, module="GLU-3", capacity=2, min_participants=1, first_day=30, days=3)


@pytest.fixture
def places(offering, enrol) -> dict[str, int]:
    return {name: enrol(offering, name, organisation=organisation).get_json()["id"]
            for name, organisation in (("Anne", "791"), ("Bent", "791"), ("Carla", "730"))}


@pytest.fixture
def school(auth, offering):
    return auth("school", provider_id=offering["provider_id"])


def day(offering, number: int) -> dict:
    return offering["sessions"][number - 1]


def during(clock, offering, number: int, minutes: int = 5) -> None:
    """The clock at `minutes` past the start of the course's day `number`."""
    clock.at = in_days(30 + number - 1) + timedelta(minutes=minutes)


def mark(client, headers, offering, number: int, attended: list[int]):
    return client.put(f"/offerings/{offering['id']}/sessions/{day(offering, number)['id']}/attendance",
                      json={"attended": attended}, headers=headers)


def complete(client, headers, enrolment_id: int, result="completed", note=None):
    return client.put(f"/enrolments/{enrolment_id}/completion", json={"result": result, "note": note},
                      headers=headers)


def marks_of(sheet: dict) -> dict[str, dict[int, bool]]:
    return {row["name"]: {item["session_id"]: item["attended"] for item in row["marks"]}
            for row in sheet["participants"]}


def log_of(client, auth, action: str) -> list[tuple]:
    entries = client.get("/audit", headers=auth("admin"), query_string={"action": action}).get_json()["items"]
    return [(entry["object_id"], entry["changes"], entry["actor_name"]) for entry in reversed(entries)]


# --- Attendance ---------------------------------------------------------------------------------

def test_the_school_marks_who_attended_a_day_and_the_others_did_not(client, offering, places, school, clock, auth):
    during(clock, offering, 1)

    answer = mark(client, school, offering, 1, [places["Anne"]])

    assert answer.status_code == 200, answer.get_json()
    first = day(offering, 1)["id"]
    assert marks_of(answer.get_json()) == {"Anne": {first: True}, "Bent": {first: False}}  # Carla waits: not listed
    assert [session["begun"] for session in answer.get_json()["sessions"]] == [True, False, False]
    assert client.get(f"/offerings/{offering['id']}/attendance", headers=school).get_json() == answer.get_json()
    by = f"Adgangsnøgle (skole {offering['provider_id']})"
    assert log_of(client, auth, "attendance.recorded") == [
        (str(places["Anne"]), {f"attended_session_{first}": [None, True]}, by),
        (str(places["Bent"]), {f"attended_session_{first}": [None, False]}, by),
    ]


def test_a_corrected_day_changes_only_the_marks_that_differ(client, offering, places, school, clock, auth):
    during(clock, offering, 2)
    mark(client, school, offering, 1, [places["Anne"]])

    again = mark(client, school, offering, 1, [places["Anne"], places["Bent"]])

    first = day(offering, 1)["id"]
    assert marks_of(again.get_json()) == {"Anne": {first: True}, "Bent": {first: True}}
    assert [changes for _, changes, _ in log_of(client, auth, "attendance.recorded")] == [
        {f"attended_session_{first}": [None, True]}, {f"attended_session_{first}": [None, False]},
        {f"attended_session_{first}": [False, True]}]


def test_a_day_that_has_not_begun_is_refused(client, offering, places, school, clock, auth):
    during(clock, offering, 1)

    answer = mark(client, school, offering, 2, [places["Anne"]])

    assert answer.status_code == 409
    assert "ikke begyndt" in answer.get_json()["detail"]
    assert log_of(client, auth, "attendance.recorded") == []


def test_someone_not_confirmed_is_refused_and_nothing_is_marked(client, offering, places, school, clock, hr):
    before_the_course = clock.at
    during(clock, offering, 1)
    waitlisted = mark(client, school, offering, 1, [places["Anne"], places["Carla"]])
    clock.at = before_the_course  # so before the deadline, and the cancellation is allowed
    client.post(f"/enrolments/{places['Bent']}/cancel", headers=hr("791"))
    during(clock, offering, 1)
    cancelled = mark(client, school, offering, 1, [places["Bent"]])

    assert waitlisted.status_code == 409 and "Carla" in waitlisted.get_json()["detail"]
    assert cancelled.status_code == 409 and "Bent" in cancelled.get_json()["detail"]
    sheet = client.get(f"/offerings/{offering['id']}/attendance", headers=school).get_json()
    assert all(row["marks"] == [] for row in sheet["participants"])


def test_an_enrolment_of_another_offering_is_unprocessable(client, offering, places, school, clock, mercantec,
                                                           make_offering, enrol):
    other = make_offering(mercantec, module="GLU-1", first_day=40)
    stranger = enrol(other, "Dorte").get_json()["id"]
    during(clock, offering, 1)

    answer = mark(client, school, offering, 1, [places["Anne"], stranger])

    assert answer.status_code == 422
    assert answer.get_json()["errors"][0]["pointer"] == "/attended/1"


def test_a_day_of_another_offering_or_none_at_all_is_not_found(client, offering, places, school, clock, mercantec,
                                                               make_offering):
    other = make_offering(mercantec, module="GLU-1", first_day=20)
    during(clock, offering, 1)

    answers = [client.put(f"/offerings/{offering['id']}/sessions/{session_id}/attendance",
                          json={"attended": []}, headers=school)
               for session_id in (other["sessions"][0]["id"], 987654)]
    unknown_offering = client.put(f"/offerings/987654/sessions/{day(offering, 1)['id']}/attendance",
                                  json={"attended": []}, headers=school)

    assert [answer.status_code for answer in answers] == [404, 404]
    assert unknown_offering.status_code == 404


def test_a_bad_body_is_unprocessable(client, offering, places, school, clock):
    during(clock, offering, 1)
    url = f"/offerings/{offering['id']}/sessions/{day(offering, 1)['id']}/attendance"

    answers = [client.put(url, json=body, headers=school) for body in ({}, {"attended": ["Anne"]},
                                                                        {"attended": [0]})]

    assert [answer.status_code for answer in answers] == [422, 422, 422]


# --- Completion ---------------------------------------------------------------------------------

def test_completion_is_refused_before_the_last_day_has_begun(client, offering, places, school, clock):
    during(clock, offering, 2)

    answer = complete(client, school, places["Anne"])

    assert answer.status_code == 409
    assert "sidste dag" in answer.get_json()["detail"]


def test_the_school_records_completion_once_the_last_day_has_begun(client, offering, places, school, clock, auth,
                                                                    hr):
    during(clock, offering, 3)

    done = complete(client, school, places["Anne"], note="  Fint forløb ")
    not_done = complete(client, school, places["Bent"], "not_completed", note="Mødte kun dag 1")
    corrected = complete(client, school, places["Bent"], "completed")

    assert done.status_code == 200, done.get_json()
    body = done.get_json()
    last_day = in_days(32).date().isoformat()
    assert (body["completion"], body["completion_note"], body["completed_on"], body["completion_provider_name"]) == (
        "completed", "Fint forløb", last_day, "Mercantec")
    assert not_done.get_json()["completion"] == "not_completed"
    assert corrected.get_json()["completion"] == "completed" and corrected.get_json()["completion_note"] is None
    assert [changes for _, changes, _ in log_of(client, auth, "enrolment.completion_recorded")] == [
        {"completion": [None, "completed"], "completion_note": [None, "Fint forløb"]},
        {"completion": [None, "not_completed"], "completion_note": [None, "Mødte kun dag 1"]},
        {"completion": ["not_completed", "completed"], "completion_note": ["Mødte kun dag 1", None]},
    ]
    rows = read_csv(client.get("/enrolments/export", headers=hr("791")))
    assert rows[0][-3:] == ["Gennemførelse", "Afsluttet", "Skole"]
    assert [row[-3:] for row in rows[1:]] == [["Gennemført", last_day, "Mercantec"]] * 2


def test_completion_of_a_place_that_is_not_confirmed_is_refused(client, offering, places, school, clock):
    during(clock, offering, 3)

    answer = complete(client, school, places["Carla"])

    assert answer.status_code == 409
    assert "bekræftet" in answer.get_json()["detail"]


def test_a_bad_completion_is_unprocessable(client, offering, places, school, clock):
    during(clock, offering, 3)

    answers = [complete(client, school, places["Anne"], "passed"),
               complete(client, school, places["Anne"], note="x" * 501),
               client.put(f"/enrolments/{places['Anne']}/completion", json={}, headers=school)]

    assert [answer.status_code for answer in answers] == [422, 422, 422]
    assert answers[1].get_json()["errors"][0]["pointer"] == "/note"


# --- The school's message -----------------------------------------------------------------------

def test_a_message_goes_to_every_confirmed_participant_through_the_outbox(app, client, offering, places, school,
                                                                          auth, hr):
    answer = client.post(f"/offerings/{offering['id']}/messages", headers=school,
                         json={"subject": "Husk pc", "text": "Tag en bærbar pc med på dag 1."})

    assert answer.status_code == 202 and answer.get_json() == {"recipients": 2}
    with app.app_context():
        mails = db.session.scalars(select(OutboxMessage).where(OutboxMessage.subject == "Husk pc")
                                   .order_by(OutboxMessage.id)).all()
        assert [mail.recipient for mail in mails] == ["anne@kommune.example", "bent@kommune.example"]
        assert all("Tag en bærbar pc med på dag 1." in mail.body and "Mercantec skriver" in mail.body
                   and mail.calendar is None for mail in mails)
    assert [changes for _, changes, _ in log_of(client, auth, "offering.message_sent")] == [
        {"subject": [None, "Husk pc"], "recipients": [None, 2]}]
    viborg_log = client.get("/audit", headers=hr("791"), query_string={"action": "offering.message_sent"})
    assert viborg_log.get_json()["total"] == 1 and client.get(
        "/audit", headers=hr("730"), query_string={"action": "offering.message_sent"}).get_json()["total"] == 0


def test_a_message_without_subject_or_text_is_unprocessable_and_sends_nothing(app, client, offering, places, school):
    answers = [client.post(f"/offerings/{offering['id']}/messages", headers=school, json=body)
               for body in ({"subject": "", "text": "Hej"}, {"subject": "Hej", "text": "  "},
                            {"subject": "x" * 201, "text": "Hej"})]

    assert [answer.status_code for answer in answers] == [422, 422, 422]
    with app.app_context():
        assert db.session.scalars(select(OutboxMessage).where(OutboxMessage.subject.like("Hej%"))).all() == []


# --- Who may ------------------------------------------------------------------------------------

def calls(offering, places):
    """Every endpoint here, as (method, url, body)."""
    session = day(offering, 1)["id"]
    return [("get", f"/offerings/{offering['id']}/attendance", None),
            ("put", f"/offerings/{offering['id']}/sessions/{session}/attendance", {"attended": [places["Anne"]]}),
            ("put", f"/enrolments/{places['Anne']}/completion", {"result": "completed"}),
            ("post", f"/offerings/{offering['id']}/messages", {"subject": "Hej", "text": "Hej"})]


def statuses(client, headers, offering, places) -> list[int]:
    return [getattr(client, method)(url, json=body, headers=headers).status_code
            for method, url, body in calls(offering, places)]


def test_anonymous_callers_are_unauthorised(client, offering, places, clock):
    during(clock, offering, 3)

    assert statuses(client, {}, offering, places) == [401, 401, 401, 401]


def test_hr_and_approvers_are_forbidden(client, offering, places, clock, auth):
    during(clock, offering, 3)

    assert statuses(client, auth("hr", organisation="791"), offering, places) == [403, 403, 403, 403]
    assert statuses(client, auth("approver", organisation="791"), offering, places) == [403, 403, 403, 403]


def test_another_school_is_forbidden_its_offering_and_cannot_find_its_places(client, offering, places, clock, auth,
                                                                             make_school, app):
    other = make_school("Tech College Aalborg")
    during(clock, offering, 3)

    assert statuses(client, auth("school", provider_id=other["id"]), offering, places) == [403, 403, 404, 403]
    with app.app_context():
        assert db.session.scalars(select(OutboxMessage).where(OutboxMessage.subject == "Hej")).all() == []


def test_an_administrator_may_do_it_all(client, offering, places, clock, auth):
    during(clock, offering, 3)

    assert statuses(client, auth("admin"), offering, places) == [200, 200, 200, 202]


def test_an_offering_nobody_has_enrolled_in_shows_its_days_to_its_school_only(client, mercantec, make_offering,
                                                                              auth, make_school, clock):
    empty = make_offering(mercantec, module="GLU-2", first_day=50)
    other = make_school("Tech College Aalborg")

    own = client.get(f"/offerings/{empty['id']}/attendance", headers=auth("school", provider_id=mercantec["id"]))
    foreign = client.get(f"/offerings/{empty['id']}/attendance", headers=auth("school", provider_id=other["id"]))
    missing = client.get("/offerings/987654/attendance", headers=auth("school", provider_id=mercantec["id"]))

    assert own.status_code == 200
    assert own.get_json()["participants"] == [] and len(own.get_json()["sessions"]) == 2
    assert foreign.status_code == 403
    assert missing.status_code == 404


# --- Where completion shows -----------------------------------------------------------------------

def test_completion_shows_on_the_leaders_page_and_on_hrs_list(app, client, offering, places, school, clock):
    during(clock, offering, 3)
    complete(client, school, places["Anne"], note="Aktiv deltager")
    complete(client, school, places["Bent"], "not_completed")
    with app.app_context():
        anne = db.session.get(Enrolment, places["Anne"])
        leader_page, viborg = anne.participant.page_token, anne.organisation_id
    add_member(app, "admin@viborg.example", viborg, "hr_admin", "Camilla Juhl")
    sign_in_directly(app, client, "admin@viborg.example", now=clock.at)

    mine = " ".join(client.get(f"/mine-kurser/{leader_page}").get_data(as_text=True).split())
    listing = " ".join(client.get("/hr").get_data(as_text=True).split())

    last_day = in_days(32)
    finished = f"Gennemført {last_day.day}. {MONTHS[last_day.month - 1]} {last_day.year} hos Mercantec"
    assert finished in mine
    assert finished in listing and "Skolens bemærkning: Aktiv deltager" in listing
    assert f"Ikke gennemført {last_day.day}. {MONTHS[last_day.month - 1]}" in listing


def test_hrs_api_shows_the_completion_and_the_endpoints_are_documented(client, offering, places, school, clock, hr):
    during(clock, offering, 3)
    complete(client, school, places["Anne"])

    shown = client.get(f"/enrolments/{places['Anne']}", headers=hr("791")).get_json()
    paths = client.get("/openapi.json").get_json()["paths"]

    assert (shown["completion"], shown["completed_on"], shown["completion_provider_name"]) == (
        "completed", in_days(32).date().isoformat(), "Mercantec")
    assert {"/offerings/{offering_id}/attendance", "/offerings/{offering_id}/sessions/{session_id}/attendance",
            "/enrolments/{enrolment_id}/completion", "/offerings/{offering_id}/messages"} <= set(paths)
    assert "202" in paths["/offerings/{offering_id}/messages"]["post"]["responses"]

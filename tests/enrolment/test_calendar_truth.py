"""Calendars tell the truth about a place: waiting is TENTATIVE and says so, promotion confirms the same
events, a handed-over place is cancelled for its former holder, a moved day alone is sent again.

Feeds and mails are read back with the icalendar library (tests/enrolment/test_calendars.py reads them
with vobject, a second parser)."""

from datetime import timedelta

import pytest
from icalendar import Calendar

from enrolment.models import Enrolment, OutboxMessage, db
from tests.enrolment.conftest import request_and_confirm
from tests.enrolment.test_calendars import SPRING_FORWARD, feed_path, local, outbox


def events(data: bytes) -> list:
    return [component for component in Calendar.from_ical(data).walk("VEVENT")]


def feed(client, url: str) -> dict[str, dict]:
    """The feed's events by UID: status, sequence, summary."""
    response = client.get(feed_path(url))
    assert response.status_code == 200
    return {str(event["UID"]): {"status": str(event["STATUS"]), "sequence": int(event["SEQUENCE"]),
                                "summary": str(event["SUMMARY"])} for event in events(response.data)}


def invitations(app, email: str, method: str = "REQUEST") -> list:
    """The iTIP events mailed to `email` with `method`, oldest first."""
    return [events(mail.calendar)[0] for mail in outbox(app) if mail.recipient == email
            and mail.calendar_method == method]


@pytest.fixture
def course(make_school, make_offering, make_organisation):
    """Two days, one seat."""
    make_organisation("791", requires_approval=False)
    friday, monday = SPRING_FORWARD - timedelta(days=2), SPRING_FORWARD + timedelta(days=1)
    sessions = [{"starts_at": local(friday, 9), "ends_at": local(friday, 15)},
                {"starts_at": local(monday, 9), "ends_at": local(monday, 15)}]
    return make_offering(make_school("Mercantec"), module="GLU-3", sessions=sessions, capacity=1,
                         min_participants=1, enrolment_deadline=friday - timedelta(days=7))


def test_a_waiting_place_is_tentative_and_titled_with_its_place_in_line(client, enrol, course):
    enrol(course, "Anne")
    bent = enrol(course, "Bent").get_json()
    carla = enrol(course, "Carla").get_json()

    shown = feed(client, carla["calendar_url"])

    assert (bent["status"], carla["status"], carla["waitlist_position"]) == ("waitlisted", "waitlisted", 2)
    assert {event["status"] for event in shown.values()} == {"TENTATIVE"}
    assert all(event["summary"].startswith("Venteliste nr. 2: ") and "GLU-3" in event["summary"]
               for event in shown.values())


def test_a_cancellation_confirms_the_same_events_with_a_higher_sequence(app, client, enrol, course, hr):
    anne = enrol(course, "Anne").get_json()
    bent = enrol(course, "Bent").get_json()
    carla = enrol(course, "Carla").get_json()
    waiting = feed(client, bent["calendar_url"])
    carla_before = feed(client, carla["calendar_url"])

    client.post(f"/enrolments/{anne['id']}/cancel", headers=hr())
    confirmed = feed(client, bent["calendar_url"])

    assert list(confirmed) == list(waiting)
    assert {event["status"] for event in confirmed.values()} == {"CONFIRMED"}
    assert all(confirmed[uid]["sequence"] > waiting[uid]["sequence"] for uid in waiting)
    assert not any(event["summary"].startswith("Venteliste") for event in confirmed.values())
    # Carla moved up the line: her title says so, and her feed is not served from before.
    carla_after = feed(client, carla["calendar_url"])
    assert all(event["summary"].startswith("Venteliste nr. 1: ") for event in carla_after.values())
    assert all(event["summary"].startswith("Venteliste nr. 2: ") for event in carla_before.values())
    promoted = invitations(app, "bent@kommune.example")[-1]
    assert str(promoted["UID"]) in waiting and str(promoted["STATUS"]) == "CONFIRMED"
    assert int(promoted["SEQUENCE"]) > waiting[str(promoted["UID"])]["sequence"]
    assert promoted["ATTENDEE"].params["PARTSTAT"] == "ACCEPTED"


def test_a_waiting_place_is_mailed_as_tentative_without_claiming_acceptance(app, enrol, course):
    enrol(course, "Anne")
    enrol(course, "Bent")

    mailed = invitations(app, "bent@kommune.example")

    assert len(mailed) == 2  # one message per day (Outlook reads the first event of a message only)
    for event in mailed:
        assert str(event["STATUS"]) == "TENTATIVE"
        assert str(event["SUMMARY"]).startswith("Venteliste nr. 1: ")
        assert event["ATTENDEE"].params["PARTSTAT"] == "TENTATIVE"
        assert event["ATTENDEE"].params["PARTSTAT"] != "ACCEPTED"


def test_a_request_waiting_for_approval_is_tentative_and_says_so(app, client, course, make_organisation):
    make_organisation("707", requires_approval=True)

    answer = request_and_confirm(app, client, {"offering_id": course["id"], "organisation": "707",
                                               "participant": {"name": "Lene", "email": "lene@norddjurs.example"}})
    with app.app_context():
        token = db.session.get(Enrolment, answer.get_json()["id"]).participant.feed_token
    shown = feed(client, f"http://localhost/feeds/participants/{token}.ics")

    assert answer.get_json()["status"] == "pending_approval"
    assert {event["status"] for event in shown.values()} == {"TENTATIVE"}
    assert all(event["summary"].startswith("Afventer godkendelse: ") for event in shown.values())
    mailed = invitations(app, "lene@norddjurs.example")
    assert mailed and {event["ATTENDEE"].params["PARTSTAT"] for event in mailed} == {"TENTATIVE"}


def test_a_handed_over_place_stays_in_the_former_holders_feed_as_cancelled(app, client, enrol, course, hr):
    anne = enrol(course, "Anne").get_json()
    before = feed(client, anne["calendar_url"])

    dorte = client.post(f"/enrolments/{anne['id']}/substitute", headers=hr(),
                        json={"participant": {"name": "Dorte", "email": "dorte@kommune.example"}}).get_json()
    annes = feed(client, anne["calendar_url"])

    assert dorte["id"] == anne["id"] and dorte["participant"]["name"] == "Dorte"
    assert list(annes) == list(before)
    assert {event["status"] for event in annes.values()} == {"CANCELLED"}
    assert all(annes[uid]["sequence"] > before[uid]["sequence"] for uid in before)
    assert {event["status"] for event in feed(client, dorte["calendar_url"]).values()} == {"CONFIRMED"}
    cancel = invitations(app, "anne@kommune.example", "CANCEL")
    assert {str(event["UID"]) for event in cancel} == set(before)
    assert all(int(event["SEQUENCE"]) == annes[str(event["UID"])]["sequence"] for event in cancel)
    # HR sees the place once, under its holder.
    listed = client.get("/enrolments", headers=hr()).get_json()
    assert [item["participant"]["name"] for item in listed["items"]] == ["Dorte"]


def test_a_place_handed_back_is_confirmed_again_in_the_feed(client, enrol, course, hr):
    anne = enrol(course, "Anne").get_json()
    dorte = client.post(f"/enrolments/{anne['id']}/substitute", headers=hr(),
                        json={"participant": {"name": "Dorte", "email": "dorte@kommune.example"}}).get_json()
    handed_over = feed(client, anne["calendar_url"])

    client.post(f"/enrolments/{anne['id']}/substitute", headers=hr(),
                json={"participant": {"name": "Anne", "email": "anne@kommune.example"}})
    shown = feed(client, anne["calendar_url"])

    assert {event["status"] for event in shown.values()} == {"CONFIRMED"}
    assert all(shown[uid]["sequence"] > handed_over[uid]["sequence"] for uid in shown)
    assert {event["status"] for event in feed(client, dorte["calendar_url"]).values()} == {"CANCELLED"}


def test_a_moved_day_alone_is_sent_again(app, client, enrol, course, catalogue_client, auth):
    anne = enrol(course, "Anne").get_json()
    first, second = course["sessions"]
    sessions = [{"id": first["id"], "starts_at": first["starts_at"], "ends_at": first["ends_at"]},
                {"id": second["id"], "starts_at": local(SPRING_FORWARD + timedelta(days=2), 10).isoformat(),
                 "ends_at": local(SPRING_FORWARD + timedelta(days=2), 16).isoformat()}]
    with app.app_context():
        already = db.session.query(OutboxMessage).filter_by(kind="mail").count()

    moved = catalogue_client.patch(f"/offerings/{course['id']}", json={"sessions": sessions},
                                   headers=auth("school", provider_id=course["provider_id"]))

    assert moved.status_code == 200
    changed = [mail for mail in outbox(app)[already:] if mail.recipient == anne["participant"]["email"]]
    assert [mail.subject.split(":")[0] for mail in changed] == ["Ændret tid eller sted"]
    assert [str(event["UID"]) for event in events(changed[0].calendar)] == [f"glu-session-{second['id']}@glu-courses"]
    assert {event["status"] for event in feed(client, anne["calendar_url"]).values()} == {"CONFIRMED"}

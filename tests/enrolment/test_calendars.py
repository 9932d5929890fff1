"""Leaders' calendars stay right: feeds, downloads and e-mails, read back with an independent parser."""

from datetime import UTC, date, datetime, time, timedelta

import pytest
import vobject

from enrolment.models import Enrolment, OutboxMessage, db
from shared.clock import COPENHAGEN, copenhagen_today


def parse(data: bytes):
    """vobject: a parser independent of the icalendar library that wrote the calendars."""
    return vobject.readOne(data.decode("utf-8"))


def events_of(data: bytes) -> list:
    return list(getattr(parse(data), "vevent_list", []))


def utc(event, name: str) -> datetime:
    return getattr(event, name).value.astimezone(UTC)


def feed_path(url: str) -> str:
    """The path of an absolute URL, for the test client."""
    return "/" + url.split("://", 1)[1].split("/", 1)[1]


def outbox(app) -> list[OutboxMessage]:
    """The mails written so far (without SMTP settings they stay in the outbox)."""
    with app.app_context():
        mails = db.session.query(OutboxMessage).filter_by(kind="mail").order_by(OutboxMessage.id).all()
        db.session.expunge_all()
        return mails


def local(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=COPENHAGEN)


def next_spring_change() -> date:
    """The next last Sunday of March, when Danish clocks go from +01:00 to +02:00, far enough ahead that a
    course around it still takes enrolments (days in the past are refused)."""
    today = copenhagen_today()
    year = today.year + (today >= date(today.year, 3, 10))
    last = date(year, 3, 31)
    return last - timedelta(days=(last.weekday() + 1) % 7)


SPRING_FORWARD = next_spring_change()
FRIDAY_BEFORE, MONDAY_AFTER = SPRING_FORWARD - timedelta(days=2), SPRING_FORWARD + timedelta(days=1)


@pytest.fixture
def across_dst(make_school, make_offering, make_organisation):
    """A course on the Friday before and the Monday after the spring change of clocks."""
    make_organisation("791", requires_approval=False)
    friday, monday = FRIDAY_BEFORE, MONDAY_AFTER
    sessions = [{"starts_at": local(friday, 9), "ends_at": local(friday, 15)},
                {"starts_at": local(monday, 9), "ends_at": local(monday, 15)}]
    return make_offering(make_school("Mercantec"), module="GLU-4", sessions=sessions, capacity=2,
                         min_participants=1, enrolment_deadline=friday - timedelta(days=7))


@pytest.fixture
def anne(enrol, across_dst):
    return enrol(across_dst, "Anne").get_json()


def test_enrolment_answer_carries_the_calendar_links(anne):
    assert anne["calendar_url"].startswith("http://localhost/feeds/participants/")
    assert anne["calendar_url"].endswith(".ics")
    assert anne["calendar_webcal_url"] == "webcal://" + anne["calendar_url"].split("://")[1]
    assert "/mine-kurser/" in anne["my_courses_url"]


def test_feed_has_one_event_per_session_at_the_right_utc_times(client, anne, across_dst):
    response = client.get(feed_path(anne["calendar_url"]))

    assert response.status_code == 200
    assert response.mimetype == "text/calendar"
    events = events_of(response.data)
    assert [(utc(e, "dtstart"), utc(e, "dtend")) for e in events] == [
        (datetime.combine(FRIDAY_BEFORE, time(8), UTC), datetime.combine(FRIDAY_BEFORE, time(14), UTC)),
        (datetime.combine(MONDAY_AFTER, time(7), UTC), datetime.combine(MONDAY_AFTER, time(13), UTC)),
    ]
    assert [e.uid.value for e in events] == [f"glu-session-{s['id']}@glu-courses" for s in across_dst["sessions"]]
    assert {e.status.value for e in events} == {"CONFIRMED"}
    calendar = parse(response.data)
    assert calendar.contents["x-wr-calname"][0].value.startswith("GLU-kurser")
    assert "refresh-interval" in calendar.contents
    assert "organizer" not in events[0].contents
    assert events[0].location.value == "Skolen i Viborg, 8800 Viborg"


def test_feed_is_byte_identical_and_answers_304(client, anne):
    path = feed_path(anne["calendar_url"])

    first, second = client.get(path), client.get(path)
    cached = client.get(path, headers={"If-None-Match": first.headers["ETag"]})

    assert first.data == second.data
    assert cached.status_code == 304


def test_wrong_or_revoked_feed_token_is_404(client, anne, hr):
    renewed = client.post(f"/enrolments/{anne['id']}/renew-links", headers=hr()).get_json()

    old = client.get(feed_path(anne["calendar_url"]))
    wrong = client.get("/feeds/participants/not-a-token.ics")
    new = client.get(feed_path(renewed["calendar_url"]))

    assert (old.status_code, wrong.status_code, new.status_code) == (404, 404, 200)
    assert old.content_type == "application/problem+json"


def test_moved_session_keeps_its_uid_with_a_higher_sequence_and_mails_a_request(
        app, client, anne, across_dst, catalogue_client, auth):
    path = feed_path(anne["calendar_url"])
    before = {e.uid.value: int(e.sequence.value) for e in events_of(client.get(path).data)}
    sessions = [{"id": s["id"], "starts_at": s["starts_at"], "ends_at": s["ends_at"]} for s in across_dst["sessions"]]
    sessions[1]["starts_at"] = local(SPRING_FORWARD + timedelta(days=2), 10).isoformat()
    sessions[1]["ends_at"] = local(SPRING_FORWARD + timedelta(days=2), 16).isoformat()

    moved = catalogue_client.patch(f"/offerings/{across_dst['id']}", json={"sessions": sessions},
                                   headers=auth("school", provider_id=across_dst["provider_id"]))
    after = events_of(client.get(path).data)

    assert moved.status_code == 200
    assert [e.uid.value for e in after] == list(before)
    assert utc(after[1], "dtstart") == datetime.combine(SPRING_FORWARD + timedelta(days=2), time(8), UTC)
    assert all(int(e.sequence.value) > before[e.uid.value] for e in after)
    requests = [mail for mail in outbox(app) if mail.calendar_method == "REQUEST" and "Ændret" in mail.subject]
    assert requests and requests[0].recipient == "anne@kommune.example"
    invitation = parse(requests[0].calendar)
    assert invitation.method.value == "REQUEST"
    assert invitation.vevent.uid.value in before
    assert int(invitation.vevent.sequence.value) > before[invitation.vevent.uid.value]


def test_cancelled_offering_stays_in_the_feed_as_cancelled_and_mails_a_cancel(
        app, client, anne, across_dst, catalogue_client, auth, hr):
    catalogue_client.post(f"/offerings/{across_dst['id']}/cancel", json={"reason": "For få tilmeldte"},
                          headers=auth("school", provider_id=across_dst["provider_id"]))

    events = events_of(client.get(feed_path(anne["calendar_url"])).data)

    assert [e.status.value for e in events] == ["CANCELLED", "CANCELLED"]
    assert client.get(f"/enrolments/{anne['id']}", headers=hr()).get_json()["status"] == "cancelled"
    cancels = [mail for mail in outbox(app) if mail.calendar_method == "CANCEL"]
    assert cancels and cancels[0].subject.startswith("Aflyst")
    assert "For få tilmeldte" in cancels[0].body
    assert parse(cancels[0].calendar).method.value == "CANCEL"


def test_cancellations_leave_the_feed_after_30_days(app, client, anne, hr):
    client.post(f"/enrolments/{anne['id']}/cancel", headers=hr())
    path = feed_path(anne["calendar_url"])
    with app.app_context():
        db.session.get(Enrolment, anne["id"]).updated_at = datetime.now(UTC) - timedelta(days=31)
        db.session.commit()

    assert events_of(client.get(path).data) == []


def test_enrolling_again_after_a_cancellation_shows_the_new_place_with_a_higher_sequence(
        app, client, enrol, across_dst, anne, hr):
    path = feed_path(anne["calendar_url"])
    client.post(f"/enrolments/{anne['id']}/cancel", headers=hr())
    cancelled = {e.uid.value: int(e.sequence.value) for e in events_of(client.get(path).data)}

    again = enrol(across_dst, "Anne")
    response = client.get(path)

    assert again.status_code == 201
    assert response.status_code == 200
    events = events_of(response.data)
    assert len(events) == len(across_dst["sessions"])
    assert {e.status.value for e in events} == {"CONFIRMED"}
    assert all(int(e.sequence.value) > cancelled[e.uid.value] for e in events)
    invitation = parse([mail for mail in outbox(app) if mail.calendar_method == "REQUEST"][-1].calendar)
    assert int(invitation.vevent.sequence.value) > cancelled[invitation.vevent.uid.value]


def test_waiting_list_places_are_tentative(client, enrol, across_dst, anne):
    enrol(across_dst, "Bent")
    carla = enrol(across_dst, "Carla").get_json()

    events = events_of(client.get(feed_path(carla["calendar_url"])).data)

    assert carla["status"] == "waitlisted"
    assert {e.status.value for e in events} == {"TENTATIVE"}
    assert events[0].summary.value.startswith("Venteliste nr. 1: ")


def test_organisation_feed_shows_its_people_and_no_one_elses(client, enrol, across_dst, make_organisation, hr):
    make_organisation("730", requires_approval=False)
    enrol(across_dst, "Anne", organisation="791")
    enrol(across_dst, "Bent", organisation="730")

    url = client.get("/organisation-calendar", headers=hr("791")).get_json()["calendar_url"]
    events = events_of(client.get(feed_path(url)).data)

    assert len(events) == 2
    assert "Anne" in events[0].description.value
    assert "Bent" not in events[0].description.value


def test_mails_tell_people_where_they_stand(app, enrol, across_dst):
    enrol(across_dst, "Anne")
    enrol(across_dst, "Bent")
    enrol(across_dst, "Carla")

    mails = outbox(app)

    subjects = [(mail.recipient.split("@")[0], mail.subject.split(":")[0]) for mail in mails
                if "(dag" not in mail.subject]
    assert subjects == [("anne", "Du er tilmeldt"), ("bent", "Du er tilmeldt"), ("carla", "Du er på venteliste")]
    assert "/feeds/participants/" in mails[0].body and "/mine-kurser/" in mails[0].body
    assert mails[0].calendar_method == "REQUEST"


def test_promotion_is_mailed_with_an_invitation(app, client, enrol, across_dst, hr):
    anne = enrol(across_dst, "Anne").get_json()
    enrol(across_dst, "Bent")
    enrol(across_dst, "Carla")

    client.post(f"/enrolments/{anne['id']}/cancel", headers=hr())

    promoted = [mail for mail in outbox(app) if mail.subject.startswith("Du har fået en plads")]
    assert [mail.recipient for mail in promoted][:1] == ["carla@kommune.example"]
    assert promoted[0].calendar_method == "REQUEST"


def test_leader_request_answer_holds_no_secret_links(client, across_dst, make_organisation):
    make_organisation("707", requires_approval=True)

    response = client.post("/requests", json={"offering_id": across_dst["id"], "organisation": "707",
                                              "participant": {"name": "Lene", "email": "lene@norddjurs.example"}})

    assert response.status_code == 201
    assert not {"calendar_url", "my_courses_url", "participant"} & set(response.get_json())


def test_download_of_an_offering_merges_with_the_feed(client, catalogue_client, anne, across_dst):
    download = catalogue_client.get(f"/offerings/{across_dst['id']}.ics")
    feed = events_of(client.get(feed_path(anne["calendar_url"])).data)

    assert download.status_code == 200
    calendar = parse(download.data)
    assert "x-wr-calname" not in calendar.contents and "name" not in calendar.contents
    assert [e.uid.value for e in calendar.vevent_list] == [e.uid.value for e in feed]


def next_autumn_change() -> date:
    """The next last Sunday of October, when Danish clocks go from +02:00 back to +01:00 (days in the past
    are refused, so the course lies ahead)."""
    year = copenhagen_today().year + (copenhagen_today().month >= 10)
    last = date(year, 10, 31)
    return last - timedelta(days=(last.weekday() + 1) % 7)


def test_download_times_are_right_across_the_autumn_change(make_school, make_offering, catalogue_client):
    change = next_autumn_change()
    saturday, monday = change - timedelta(days=1), change + timedelta(days=1)
    sessions = [{"starts_at": local(saturday, 9), "ends_at": local(saturday, 15)},
                {"starts_at": local(monday, 9), "ends_at": local(monday, 15)}]
    offering = make_offering(make_school(), sessions=sessions, enrolment_deadline=saturday - timedelta(days=14))

    events = events_of(catalogue_client.get(f"/offerings/{offering['id']}.ics").data)

    assert [utc(e, "dtstart") for e in events] == [datetime.combine(saturday, time(7), UTC),
                                                    datetime.combine(monday, time(8), UTC)]


def test_calendar_links_carry_one_session_each(catalogue_client, across_dst):
    links = catalogue_client.get(f"/offerings/{across_dst['id']}/calendar-links").get_json()

    assert [link["session_id"] for link in links] == [s["id"] for s in across_dst["sessions"]]
    assert f"dates={FRIDAY_BEFORE:%Y%m%d}T080000Z/{FRIDAY_BEFORE:%Y%m%d}T140000Z" in links[0]["google"]
    assert f"startdt={MONDAY_AFTER.isoformat()}T07" in links[1]["outlook"]


def test_unknown_offering_download_is_404(catalogue_client):
    assert catalogue_client.get("/offerings/99999.ics").status_code == 404



def test_handing_over_a_place_moves_the_events(app, client, anne, hr):
    dorte = client.post(f"/enrolments/{anne['id']}/substitute", headers=hr(),
                        json={"participant": {"name": "Dorte", "email": "dorte@kommune.example"}}).get_json()

    mails = outbox(app)
    to_dorte = [m for m in mails if m.recipient == "dorte@kommune.example" and "(dag" not in m.subject]
    to_anne = [m for m in mails if m.recipient == "anne@kommune.example" and m.calendar_method == "CANCEL"]
    assert to_dorte[0].subject.startswith("Du har overtaget en plads")
    assert to_anne and parse(to_anne[0].calendar).vevent.status.value == "CANCELLED"
    assert len(events_of(client.get(feed_path(dorte["calendar_url"])).data)) == 2
    assert {e.status.value for e in events_of(client.get(feed_path(anne["calendar_url"])).data)} == {"CANCELLED"}

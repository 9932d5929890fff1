"""Moving a place to another offering of the same module: one step, all or nothing, one mail, calendars right."""

from __future__ import annotations

import re
from datetime import datetime, timedelta

import pytest
import vobject
from sqlalchemy import func, select

from enrolment.models import AuditEntry, Enrolment, OfferingSeats, OutboxMessage, Participant, db
from shared.clock import copenhagen_today
from tests.accounts import Clock
from tests.catalogue.fixtures import location
from tests.enrolment.test_pages import assert_accessible, post_form, sign_in, text

VIBORG = location("Viborg", latitude=56.4532, longitude=9.4020)
SKIVE = location("Skive", municipality_code="779", municipality="Skive Kommune", postcode="7800",
                 latitude=56.5667, longitude=9.0333)
FIRST_DAY = 40


# --- Helpers --------------------------------------------------------------------------------------

def mails(app) -> list[OutboxMessage]:
    with app.app_context():
        found = db.session.scalars(select(OutboxMessage).where(OutboxMessage.kind == "mail")
                                   .order_by(OutboxMessage.id)).all()
        db.session.expunge_all()
        return list(found)


def state(app) -> dict:
    """Every enrolment's status and every offering's counts, the outbox's and the audit log's sizes."""
    with app.app_context():
        places = dict(db.session.execute(select(Enrolment.id, Enrolment.status)).all())
        counts = {row.offering_id: (row.confirmed, row.waitlisted, row.seats_version)
                  for row in db.session.scalars(select(OfferingSeats))}
        outbox = db.session.scalar(select(func.count()).select_from(OutboxMessage))
        audit = db.session.scalar(select(func.count()).select_from(AuditEntry))
        db.session.remove()
    return {"places": places, "counts": counts, "outbox": outbox, "audit": audit}


def move(client, headers, enrolment_id: int, offering_id: int):
    return client.post(f"/enrolments/{enrolment_id}/move", json={"offering_id": offering_id}, headers=headers)


def feed_events(client, enrolment: dict) -> dict[str, str]:
    """UID -> STATUS of the person's feed."""
    path = "/" + enrolment["calendar_url"].split("://", 1)[1].split("/", 1)[1]
    response = client.get(path)
    assert response.status_code == 200
    calendar = vobject.readOne(response.get_data(as_text=True))
    return {event.uid.value: event.status.value for event in getattr(calendar, "vevent_list", [])}


def uids(offering: dict) -> set[str]:
    return {f"glu-session-{session['id']}@glu-courses" for session in offering["sessions"]}


# --- Fixtures -------------------------------------------------------------------------------------

@pytest.fixture
def viborg_school(make_school):
    return make_school("Skolen i Viborg", VIBORG)


@pytest.fixture
def skive_school(make_school):
    return make_school("Skolen i Skive", SKIVE)


@pytest.fixture
def original(make_offering, viborg_school, make_organisation):
    make_organisation("791", name="Viborg Kommune", requires_approval=False)
    return make_offering(viborg_school, module="GLU-3", first_day=FIRST_DAY, days=2, capacity=1, min_participants=1)


@pytest.fixture
def target(make_offering, skive_school, original):
    return make_offering(skive_school, module="GLU-3", first_day=FIRST_DAY + 7, days=2, capacity=1, min_participants=1)


@pytest.fixture
def anne(enrol, original):
    response = enrol(original, "Anne")
    assert response.get_json()["status"] == "confirmed"
    return response.get_json()


# --- Moving ---------------------------------------------------------------------------------------

def test_a_move_cancels_the_old_place_confirms_the_new_and_the_waiting_list_moves_up(
        app, client, hr, enrol, catalogue_client, original, target, anne):
    bo = enrol(original, "Bo").get_json()
    assert bo["status"] == "waitlisted"

    response = move(client, hr(), anne["id"], target["id"])

    assert response.status_code == 201, response.get_json()
    moved = response.get_json()
    assert response.headers["Location"].endswith(f"/enrolments/{moved['id']}")
    assert (moved["offering_id"], moved["status"], moved["participant"]["email"]) == (
        target["id"], "confirmed", "anne@kommune.example")
    assert client.get(f"/enrolments/{anne['id']}", headers=hr()).get_json()["status"] == "cancelled"
    assert client.get(f"/enrolments/{bo['id']}", headers=hr()).get_json()["status"] == "confirmed"
    for offering, expected in ((original, (0, 0)), (target, (0, 0))):
        shown = catalogue_client.get(f"/offerings/{offering['id']}").get_json()
        assert (shown["seats_available"], shown["waitlist_length"]) == expected


def test_a_move_into_a_full_offering_waitlists_the_place(client, hr, enrol, original, target, anne):
    enrol(target, "Cai")

    moved = move(client, hr(), anne["id"], target["id"]).get_json()

    assert (moved["status"], moved["waitlist_position"]) == ("waitlisted", 1)


def test_the_move_is_audited_with_both_offerings(app, client, hr, original, target, anne):
    moved = move(client, hr(), anne["id"], target["id"]).get_json()

    with app.app_context():
        entry = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "enrolment.moved")).one()
        assert (entry.object_type, entry.object_id) == ("enrolment", str(anne["id"]))
        assert entry.changes["offering"] == [original["id"], target["id"]]
        assert entry.changes["enrolment"] == [anne["id"], moved["id"]]
        assert entry.changes["status"] == ["confirmed", "confirmed"]


def test_one_mail_says_what_happened_and_the_calendar_updates_cancel_the_old_days_and_add_the_new(
        app, client, hr, original, target, anne):
    before = len(mails(app))

    move(client, hr(), anne["id"], target["id"])

    sent = mails(app)[before:]
    assert {mail.recipient for mail in sent} == {"anne@kommune.example"}
    telling = [mail for mail in sent if not mail.subject.startswith("Kalenderopdatering")]
    assert len(telling) == 1
    assert len(sent) == len(uids(original)) + len(uids(target))  # the others only carry the calendar's changes
    assert telling[0].subject.startswith("Du er flyttet til Situationsbestemt ledelse hos Skolen i Skive")
    assert "Din plads er flyttet fra holdet hos Skolen i Viborg" in telling[0].body
    assert "bekræftet" in telling[0].body
    assert not [mail for mail in sent if mail.subject.startswith(("Afmeldt", "Du er tilmeldt"))]
    itip = {}
    for mail in sent:
        calendar = vobject.readOne(mail.calendar.decode())
        assert calendar.method.value == mail.calendar_method
        itip[calendar.vevent.uid.value] = (mail.calendar_method, calendar.vevent.status.value)
    assert itip == {**{uid: ("REQUEST", "CONFIRMED") for uid in uids(target)},
                    **{uid: ("CANCEL", "CANCELLED") for uid in uids(original)}}


def test_the_feed_shows_the_old_days_cancelled_and_the_new_days(client, hr, original, target, anne):
    assert feed_events(client, anne) == {uid: "CONFIRMED" for uid in uids(original)}

    move(client, hr(), anne["id"], target["id"])

    assert feed_events(client, anne) == {**{uid: "CANCELLED" for uid in uids(original)},
                                         **{uid: "CONFIRMED" for uid in uids(target)}}


def test_a_place_the_school_cancelled_moves_once(app, client, hr, auth, catalogue_client, original, target, anne,
                                                 make_offering, skive_school):
    third = make_offering(skive_school, module="GLU-3", first_day=FIRST_DAY + 14, capacity=3, min_participants=1)
    school = auth("school", provider_id=original["provider_id"])
    assert catalogue_client.post(f"/offerings/{original['id']}/cancel", json={"reason": "For få tilmeldte"},
                                 headers=school).status_code == 200
    before = len(mails(app))

    moved = move(client, hr(), anne["id"], target["id"])
    again = move(client, hr(), anne["id"], third["id"])

    assert moved.status_code == 201 and moved.get_json()["status"] == "confirmed"
    assert (again.status_code, again.get_json()["detail"]) == (409, "Pladsen er allerede flyttet til et andet hold.")
    sent = mails(app)[before:]
    # The school's cancellation has cancelled the old days already; the move adds the new ones.
    assert {mail.calendar_method for mail in sent} == {"REQUEST"}
    assert "aflyst af skolen" in sent[0].body
    assert feed_events(client, anne) == {**{uid: "CANCELLED" for uid in uids(original)},
                                         **{uid: "CONFIRMED" for uid in uids(target)}}


# --- Refusals -------------------------------------------------------------------------------------

@pytest.fixture
def unchanged(app):
    """unchanged(check) -> asserts that nothing at all was written by the refused move."""
    def check(before: dict) -> None:
        assert state(app) == before
    return check


def test_a_move_to_another_module_is_refused_and_leaves_everything_as_it_was(
        app, client, hr, make_offering, skive_school, anne, unchanged):
    other = make_offering(skive_school, module="GLU-4", first_day=FIRST_DAY + 7)
    before = state(app)

    response = move(client, hr(), anne["id"], other["id"])

    assert response.status_code == 409
    assert response.content_type == "application/problem+json"
    assert "et andet modul (GLU-4)" in response.get_json()["detail"]
    unchanged(before)


@pytest.mark.parametrize("closed", ["draft", "cancelled", "deadline"])
def test_a_move_to_a_closed_offering_is_refused(app, client, hr, auth, catalogue_client, make_offering, skive_school,
                                                anne, closed, unchanged):
    extra = {"status": "draft"} if closed == "draft" else {}
    if closed == "deadline":
        extra = {"enrolment_deadline": copenhagen_today() + timedelta(days=2)}
    other = make_offering(skive_school, module="GLU-3", first_day=FIRST_DAY + 7, **extra)
    if closed == "cancelled":
        catalogue_client.post(f"/offerings/{other['id']}/cancel", json={},
                              headers=auth("school", provider_id=other["provider_id"]))
    if closed == "deadline":
        app.config["CLOCK"] = clock = Clock()
        clock.advance(days=3)
    before = state(app)

    response = move(client, hr(), anne["id"], other["id"])

    assert response.status_code == 409, response.get_json()
    assert response.get_json()["detail"] in ("Udbuddet er ikke offentliggjort endnu.", "Udbuddet er aflyst.",
                                             f"Tilmeldingsfristen var {extra.get('enrolment_deadline', '')}.")
    unchanged(before)


def test_a_move_to_an_offering_that_has_begun_is_refused(app, client, hr, make_offering, skive_school, anne,
                                                         unchanged):
    # Its deadline is its first day (as late as a school may set it), so it still takes enrolments that day.
    begun = make_offering(skive_school, module="GLU-3", first_day=3, days=2,
                          enrolment_deadline=copenhagen_today() + timedelta(days=3))
    app.config["CLOCK"] = clock = Clock()
    clock.at = datetime.fromisoformat(begun["sessions"][0]["starts_at"]) + timedelta(hours=3)
    before = state(app)

    response = move(client, hr(), anne["id"], begun["id"])

    assert response.status_code == 409, response.get_json()
    assert response.get_json()["detail"] == "Holdet er allerede begyndt; vælg et hold, der ikke er gået i gang."
    unchanged(before)


def test_a_move_to_the_same_offering_is_refused(app, client, hr, original, anne, unchanged):
    before = state(app)

    response = move(client, hr(), anne["id"], original["id"])

    assert response.status_code == 409
    unchanged(before)


def test_someone_elses_place_is_not_found(app, client, hr, make_organisation, original, target, anne, unchanged):
    make_organisation("730")
    before = state(app)

    assert move(client, hr("730"), anne["id"], target["id"]).status_code == 404
    assert move(client, hr(), 999_999, target["id"]).status_code == 404
    unchanged(before)


def test_a_place_already_moved_or_cancelled_by_hr_cannot_move(app, client, hr, enrol, original, target, anne,
                                                              make_offering, skive_school):
    third = make_offering(skive_school, module="GLU-3", first_day=FIRST_DAY + 14, capacity=3, min_participants=1)
    bo = enrol(original, "Bo").get_json()
    client.post(f"/enrolments/{bo['id']}/cancel", headers=hr())
    assert move(client, hr(), anne["id"], target["id"]).status_code == 201

    again = move(client, hr(), anne["id"], third["id"])
    cancelled = move(client, hr(), bo["id"], third["id"])

    assert again.status_code == 409
    assert cancelled.status_code == 409 and "kan ikke flyttes" in cancelled.get_json()["detail"]


def test_a_place_hr_cancelled_stays_unmovable_when_the_school_cancels_the_offering_later(
        client, hr, auth, catalogue_client, original, target, anne):
    client.post(f"/enrolments/{anne['id']}/cancel", headers=hr())
    catalogue_client.post(f"/offerings/{original['id']}/cancel", json={},
                          headers=auth("school", provider_id=original["provider_id"]))
    sign_in(client, "hr", organisation="791")

    refused = move(client, hr(), anne["id"], target["id"])

    assert refused.status_code == 409 and "kan ikke flyttes" in refused.get_json()["detail"]
    assert f'/hr/tilmeldinger/{anne["id"]}/andre-hold' not in text(client.get("/hr"))


def test_who_may_move_a_place(app, client, hr, auth, original, target, anne, unchanged):
    before = state(app)
    path = f"/enrolments/{anne['id']}/move"

    assert client.post(path, json={"offering_id": target["id"]}).status_code == 401
    assert client.post(path, json={"offering_id": target["id"]},
                       headers=auth("approver", organisation="791")).status_code == 403
    assert client.post(path, json={"offering_id": target["id"]},
                       headers=auth("school", provider_id=target["provider_id"])).status_code == 403
    assert client.post(path, json={"offering_id": "x"}, headers=hr()).status_code == 422
    assert client.post(path, json={}, headers=hr()).status_code == 422
    unchanged(before)
    assert client.post(path, json={"offering_id": target["id"]}, headers=auth("admin")).status_code == 201


def test_the_catalogue_down_refuses_a_move_to_an_offering_not_known_yet_with_a_503(
        app, client, hr, catalogue_link, target, anne, unchanged):
    catalogue_link.down = True
    before = state(app)

    response = move(client, hr(), anne["id"], target["id"])

    assert response.status_code == 503 and response.headers["Retry-After"] == "30"
    unchanged(before)


# --- The cancellation offers the alternatives ----------------------------------------------------

def test_the_schools_cancellation_links_the_participant_and_hr_to_the_alternatives(
        app, client, enrol, auth, catalogue_client, original, target, anne):
    from tests.accounts import add_member

    with app.app_context():
        viborg_id = db.session.scalar(select(Participant.organisation_id)
                                      .where(Participant.id == anne["participant"]["id"]))
    add_member(app, "hr@viborg.example", viborg_id, "hr", "Hanne HR")
    add_member(app, "chef@viborg.example", viborg_id, "hr_admin", "Carl Chef")
    add_member(app, "godkender@viborg.example", viborg_id, "approver", "Gitte Godkender")
    bo = enrol(original, "Bo").get_json()
    before = len(mails(app))

    catalogue_client.post(f"/offerings/{original['id']}/cancel", json={"reason": "For få tilmeldte"},
                          headers=auth("school", provider_id=original["provider_id"]))

    sent = mails(app)[before:]
    to_anne = next(mail for mail in sent if mail.recipient == "anne@kommune.example")
    assert re.search(r"/mine-kurser/[\w-]+/andre-hold/" + str(anne["id"]), to_anne.body)
    to_hr = [mail for mail in sent if mail.recipient.endswith("@viborg.example")]
    assert sorted(mail.recipient for mail in to_hr) == ["chef@viborg.example", "hr@viborg.example"]
    assert to_hr[0].subject.startswith("Aflyst: Situationsbestemt ledelse hos Skolen i Viborg")
    assert "For få tilmeldte" in to_hr[0].body
    # Where the catalogue's webhook reached this service: its public address.
    assert re.search(rf"- Anne: http://[\w.]+/hr/tilmeldinger/{anne['id']}/andre-hold\n", to_hr[0].body)
    assert re.search(rf"- Bo: http://[\w.]+/hr/tilmeldinger/{bo['id']}/andre-hold\n", to_hr[0].body)


def test_hr_contacts_hear_of_the_cancellation_when_the_organisation_has_no_members(
        app, client, auth, catalogue_client, make_offering, viborg_school):
    from enrolment.organisations import create_organisation

    with app.app_context():
        create_organisation(db.session, {"key": "730", "name": "Randers Kommune", "kind": "municipality",
                                         "requires_approval": False, "ean": None, "order_reference": None,
                                         "cost_centre": None,
                                         "hr_users": [{"name": "HR", "email": "hr@randers.example"}]})
        db.session.commit()
    course = make_offering(viborg_school, module="GLU-3", first_day=FIRST_DAY, capacity=3, min_participants=1)
    client.post("/enrolments", headers=auth("hr", organisation="730"), json={
        "offering_id": course["id"], "participant": {"name": "Ib", "email": "ib@r.example"}})
    before = len(mails(app))

    catalogue_client.post(f"/offerings/{course['id']}/cancel", json={},
                          headers=auth("school", provider_id=course["provider_id"]))

    assert [mail.recipient for mail in mails(app)[before:] if "medarbejder" in mail.subject] == ["hr@randers.example"]


# --- Pages: HR's and the leader's one click ---------------------------------------------------------

def test_hr_sees_the_alternatives_and_moves_with_one_click(app, client, hr, original, target, anne):
    sign_in(client, "hr", organisation="791")

    page = client.get(f"/hr/tilmeldinger/{anne['id']}/andre-hold")
    assert page.status_code == 200
    assert_accessible(page)
    html = text(page)
    assert "Flyt hertil" in html and "Skolen i Skive" in html and "km" in html
    answer = post_form(client, f"/hr/tilmeldinger/{anne['id']}/flyt", {"udbud": str(target["id"])})

    assert answer.status_code == 303 and answer.headers["Location"].endswith("/hr")
    overview = text(client.get("/hr"))
    assert "Anne er flyttet til Situationsbestemt ledelse hos Skolen i Skive" in overview
    assert client.get(f"/enrolments/{anne['id']}", headers=hr()).get_json()["status"] == "cancelled"


def test_hrs_refused_move_is_shown_on_the_alternatives(app, client, make_offering, skive_school, anne):
    other = make_offering(skive_school, module="GLU-4", first_day=FIRST_DAY + 7)
    sign_in(client, "hr", organisation="791")

    answer = post_form(client, f"/hr/tilmeldinger/{anne['id']}/flyt", {"udbud": str(other["id"])})

    assert answer.headers["Location"].endswith(f"/hr/tilmeldinger/{anne['id']}/andre-hold")
    assert "Fejl: Udbud" in text(client.get(answer.headers["Location"]))


def test_the_overview_links_a_place_the_school_cancelled_to_its_alternatives(
        client, auth, catalogue_client, original, target, anne):
    catalogue_client.post(f"/offerings/{original['id']}/cancel", json={},
                          headers=auth("school", provider_id=original["provider_id"]))
    sign_in(client, "hr", organisation="791")

    html = text(client.get("/hr"))

    assert f'href="/hr/tilmeldinger/{anne["id"]}/andre-hold"' in html
    assert "Se andre hold" in html


def test_the_leader_moves_their_own_place_through_their_link(app, client, hr, original, target, anne):
    token = anne["my_courses_url"].rsplit("/", 1)[1]
    assert f"/mine-kurser/{token}/andre-hold/{anne['id']}" in text(client.get(f"/mine-kurser/{token}"))

    page = client.get(f"/mine-kurser/{token}/andre-hold/{anne['id']}")
    answer = post_form(client, f"/mine-kurser/{token}/flyt/{anne['id']}", {"udbud": str(target["id"])})

    assert page.status_code == 200 and "Flyt hertil" in text(page)
    assert page.headers["Referrer-Policy"] == "no-referrer"
    assert answer.status_code == 303 and answer.headers["Location"].endswith(f"/mine-kurser/{token}")
    assert "Du er flyttet til Situationsbestemt ledelse" in text(client.get(answer.headers["Location"]))
    with app.app_context():
        entry = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "enrolment.moved")).one()
        assert (entry.actor_type, entry.actor_id) == ("participant", anne["participant"]["id"])
        assert entry.actor_name == f"Deltager {anne['participant']['id']} (Mine kurser)"  # never the name


def test_a_leader_cannot_move_someone_elses_place(client, enrol, original, target, anne):
    bo = enrol(target, "Bo").get_json()
    token = bo["my_courses_url"].rsplit("/", 1)[1]

    assert client.get(f"/mine-kurser/{token}/andre-hold/{anne['id']}").status_code == 404
    assert post_form(client, f"/mine-kurser/{token}/flyt/{anne['id']}",
                     {"udbud": str(target["id"])}).status_code == 404


def test_a_leaders_request_waiting_for_approval_moves_as_a_request(app, client, make_organisation, original,
                                                                   target):
    from tests.enrolment.conftest import request_and_confirm

    make_organisation("707", name="Norddjurs Kommune", requires_approval=True)
    asked = request_and_confirm(app, client, {"offering_id": original["id"], "organisation": "707",
                                              "participant": {"name": "Lise", "email": "lise@norddjurs.example"}})
    assert asked.get_json()["status"] == "pending_approval"
    with app.app_context():
        token = db.session.scalar(select(Participant.page_token)
                                  .where(Participant.email_key == "lise@norddjurs.example"))

    answer = post_form(client, f"/mine-kurser/{token}/flyt/{asked.get_json()['id']}", {"udbud": str(target["id"])})

    assert answer.status_code == 303
    with app.app_context():
        statuses = dict(db.session.execute(select(Enrolment.offering_id, Enrolment.status)).all())
    assert statuses == {original["id"]: "cancelled", target["id"]: "pending_approval"}


def test_hrs_alternatives_page_asks_to_sign_in_and_refuses_approvers(client, anne):
    path = f"/hr/tilmeldinger/{anne['id']}/andre-hold"

    anonymous = client.get(path)
    sign_in(client, "approver", organisation="791")
    approver = client.get(path)
    moved = post_form(client, f"/hr/tilmeldinger/{anne['id']}/flyt", {"udbud": "1"})

    assert anonymous.status_code == 302 and "/log-ind" in anonymous.headers["Location"]
    assert approver.status_code == 403 and "Din rolle giver ikke adgang" in text(approver)
    assert moved.status_code == 403


def test_hr_of_another_organisation_gets_a_404_page(client, make_organisation, anne):
    make_organisation("730")
    sign_in(client, "hr", organisation="730")

    assert client.get(f"/hr/tilmeldinger/{anne['id']}/andre-hold").status_code == 404
    assert post_form(client, f"/hr/tilmeldinger/{anne['id']}/flyt", {"udbud": "1"}).status_code == 404


def test_the_alternatives_page_says_so_when_the_catalogue_is_down(client, catalogue_link, anne):
    token = anne["my_courses_url"].rsplit("/", 1)[1]
    catalogue_link.down = True

    page = client.get(f"/mine-kurser/{token}/andre-hold/{anne['id']}")

    assert page.status_code == 503 and page.headers["Retry-After"] == "30"
    assert page.headers["Referrer-Policy"] == "no-referrer"


def test_the_leaders_link_in_the_cancellation_opens_their_alternatives(app, client, auth, catalogue_client, original,
                                                                       target, anne):
    catalogue_client.post(f"/offerings/{original['id']}/cancel", json={},
                          headers=auth("school", provider_id=original["provider_id"]))
    body = next(mail.body for mail in mails(app) if mail.subject.startswith("Aflyst:")
                and mail.recipient == "anne@kommune.example")
    path = re.search(r"https?://[^/\s]+(/mine-kurser/\S+/andre-hold/\d+)", body).group(1)

    page = client.get(path)

    assert page.status_code == 200
    assert "skolen har aflyst holdet" in text(page) and "Skolen i Skive" in text(page)


def test_a_move_after_the_old_places_deadline_is_refused(app, client, hr, original, target, anne, unchanged):
    app.config["CLOCK"] = clock = Clock()
    clock.advance(days=FIRST_DAY - 14 + 2)  # past the original's deadline, before the target's
    before = state(app)

    response = move(client, hr(), anne["id"], target["id"])

    assert response.status_code == 409
    assert response.get_json()["detail"].startswith("Fristen for at melde fra det nuværende hold er overskredet")
    unchanged(before)

"""HR reserves unnamed seats, names its people into them until the deadline, and gives back the rest.

Reserved seats are taken from the free ones under the offering's lock, are reported to the
catalogue as taken, and go to the waiting list when released — by HR, or by the deadline job.
"""

from __future__ import annotations

import pytest
from sqlalchemy import select

from enrolment.jobs import release_reservations
from enrolment.models import AuditEntry, OfferingSeats, Reservation, db
from tests.accounts import Clock, add_member
from tests.enrolment.test_competing_pairs import mails_to, stored_counts


@pytest.fixture
def viborg(make_organisation):
    return make_organisation("791", name="Viborg Kommune", requires_approval=True)


@pytest.fixture
def skive(make_organisation):
    return make_organisation("779", name="Skive Kommune")


@pytest.fixture
def school(make_school):
    return make_school("Mercantec")


@pytest.fixture
def course(make_offering, school, viborg):
    """A published four-seat GLU-3 offering whose enrolment deadline is in 16 days."""
    return make_offering(school, module="GLU-3", capacity=4, min_participants=1)


@pytest.fixture
def reserve(client, hr):
    def post(offering: dict, seats: int, headers: dict | None = None):
        return client.post(f"/offerings/{offering['id']}/reservations", json={"seats": seats},
                           headers=headers if headers is not None else hr())

    return post


@pytest.fixture
def name_into(client, hr):
    def post(reservation: dict, name: str, headers: dict | None = None):
        return client.post(f"/reservations/{reservation['id']}/names",
                           json={"participant": {"name": name, "email": f"{name.lower()}@viborg.example"}},
                           headers=headers if headers is not None else hr())

    return post


@pytest.fixture
def clock(app):
    clock = Clock()
    app.config["CLOCK"] = clock
    return clock


def free_in_catalogue(catalogue_client, offering: dict) -> tuple[int, int]:
    shown = catalogue_client.get(f"/offerings/{offering['id']}").get_json()
    return shown["seats_available"], shown["waitlist_length"]


def seat_row(app, offering: dict) -> tuple[int, int, int]:
    with app.app_context():
        seats = db.session.get(OfferingSeats, offering["id"])
        row = (seats.confirmed, seats.reserved, seats.waitlisted)
        db.session.remove()
    return row


def reservations_in(app) -> int:
    with app.app_context():
        total = len(db.session.scalars(select(Reservation)).all())
        db.session.remove()
    return total


def audit_actions(app, object_type: str = "reservation") -> list[str]:
    with app.app_context():
        actions = list(db.session.scalars(select(AuditEntry.action).where(AuditEntry.object_type == object_type)
                                          .order_by(AuditEntry.id)))
        db.session.remove()
    return actions


# --- Reserving ---------------------------------------------------------------------------------------

def test_reserved_seats_are_taken_from_the_free_ones_and_reported_to_the_catalogue(
        app, reserve, enrol, course, catalogue_client):
    reserved = reserve(course, 3)

    assert reserved.status_code == 201, reserved.get_json()
    body = reserved.get_json()
    assert (body["seats"], body["named"], body["unnamed"], body["organisation"]) == (3, 0, 3, "791")
    # The catalogue's "taken" is confirmed + reserved, so its free seats never offer a reserved one.
    assert free_in_catalogue(catalogue_client, course) == (1, 0)
    assert [enrol(course, name).get_json()["status"] for name in ("Anne", "Bent")] == ["confirmed", "waitlisted"]
    assert seat_row(app, course) == (1, 3, 1)
    assert free_in_catalogue(catalogue_client, course) == (0, 1)
    assert audit_actions(app) == ["reservation.created"]


def test_reserving_more_than_are_free_is_refused_and_nothing_is_reserved(app, reserve, enrol, course,
                                                                         catalogue_client):
    enrol(course, "Anne")

    refused = reserve(course, 4)

    assert refused.status_code == 409
    assert refused.content_type == "application/problem+json"
    assert "3 ledige" in refused.get_json()["detail"]
    assert reservations_in(app) == 0
    assert seat_row(app, course) == (1, 0, 0)
    assert free_in_catalogue(catalogue_client, course) == (3, 0)


def test_reserving_on_a_closed_offering_is_refused(reserve, make_offering, school, viborg, course, clock):
    draft = make_offering(school, module="GLU-3", status="draft")
    assert reserve(draft, 1).status_code == 409
    clock.advance(days=17)  # past the enrolment deadline
    assert reserve(course, 1).status_code == 409


@pytest.mark.parametrize("role, status", [("approver", 403), ("school", 403), (None, 401)])
def test_only_hr_and_administrators_may_reserve(app, reserve, course, auth, role, status):
    headers = {} if role is None else (auth("approver", organisation="791") if role == "approver"
                                       else auth("school", provider_id=course["provider_id"]))

    refused = reserve(course, 1, headers=headers)

    assert refused.status_code == status
    assert refused.content_type == "application/problem+json"
    assert reservations_in(app) == 0


def test_an_administrator_reserves_for_the_organisation_named(client, course, auth, viborg):
    unnamed = client.post(f"/offerings/{course['id']}/reservations", json={"seats": 1}, headers=auth("admin"))
    named = client.post(f"/offerings/{course['id']}/reservations", json={"seats": 1, "organisation": "791"},
                        headers=auth("admin"))

    assert unnamed.status_code == 422
    assert named.status_code == 201
    assert named.get_json()["organisation"] == "791"


def test_bad_seat_counts_are_refused(reserve, course):
    assert reserve(course, 0).status_code == 422
    assert reserve(course, "2").status_code == 422


def test_hr_is_told_of_its_reservation(app, reserve, course, viborg):
    with app.app_context():
        from enrolment.organisations import find_organisation

        organisation_id = find_organisation(db.session, viborg).id
        db.session.remove()
    add_member(app, "hr@viborg.example", organisation_id, "hr")

    reserve(course, 2)

    mails = mails_to(app, "hr@viborg.example")
    assert [mail.subject for mail in mails] == ["Reserveret: 2 pladser på " + course["module_title"]]
    assert "/hr/reservationer" in mails[0].body


# --- Reading -----------------------------------------------------------------------------------------

def test_hr_sees_only_its_own_organisations_reservations(client, reserve, course, hr, skive, auth):
    reserve(course, 1)
    reserve(course, 1, headers=hr(skive))

    own = client.get("/reservations", headers=hr()).get_json()
    on_offering = client.get(f"/offerings/{course['id']}/reservations", headers=hr(skive)).get_json()
    everyone = client.get("/reservations", headers=auth("admin")).get_json()

    assert [item["organisation"] for item in own["items"]] == ["791"]
    assert [item["organisation"] for item in on_offering["items"]] == ["779"]
    assert everyone["total"] == 2
    assert client.get("/reservations").status_code == 401
    assert client.get("/reservations", headers=auth("school", provider_id=course["provider_id"])).status_code == 403


# --- Naming ------------------------------------------------------------------------------------------

def test_a_named_person_is_confirmed_at_once_past_the_waiting_list(app, client, reserve, name_into, enrol, course,
                                                                   catalogue_client, hr):
    reservation = reserve(course, 3).get_json()
    enrol(course, "Anne")
    waiting = enrol(course, "Bent").get_json()

    named = name_into(reservation, "Carla")

    assert named.status_code == 201, named.get_json()
    assert (named.get_json()["status"], named.get_json()["source"]) == ("confirmed", "reserved")
    assert seat_row(app, course) == (2, 2, 1)
    assert client.get(f"/reservations/{reservation['id']}", headers=hr()).get_json()["unnamed"] == 2
    assert client.get(f"/enrolments/{waiting['id']}", headers=hr()).get_json()["status"] == "waitlisted"
    assert free_in_catalogue(catalogue_client, course) == (0, 1)
    assert audit_actions(app) == ["reservation.created", "reservation.named"]


def test_naming_when_none_remain_unnamed_is_refused(app, reserve, name_into, course):
    reservation = reserve(course, 1).get_json()
    name_into(reservation, "Anne")

    refused = name_into(reservation, "Bent")

    assert refused.status_code == 409
    assert stored_counts(app, course["id"]) == {"confirmed": 1}


def test_naming_someone_already_enrolled_is_refused_and_keeps_the_seat(app, reserve, name_into, enrol, course):
    reservation = reserve(course, 2).get_json()
    enrol(course, "Anne", email="anne@viborg.example")

    refused = name_into(reservation, "Anne")

    assert refused.status_code == 409
    assert seat_row(app, course) == (1, 2, 0)


def test_naming_into_a_released_reservation_is_refused(client, reserve, name_into, course, hr):
    reservation = reserve(course, 2).get_json()
    client.post(f"/reservations/{reservation['id']}/release", json={}, headers=hr())

    refused = name_into(reservation, "Anne")

    assert refused.status_code == 409
    assert refused.content_type == "application/problem+json"


def test_naming_into_another_organisations_reservation_is_unknown(app, reserve, name_into, course, hr, skive):
    reservation = reserve(course, 2).get_json()

    refused = name_into(reservation, "Anne", headers=hr(skive))

    assert refused.status_code == 404
    assert refused.content_type == "application/problem+json"
    assert seat_row(app, course) == (0, 2, 0)


def test_naming_after_the_enrolment_deadline_is_refused(app, reserve, name_into, course, clock):
    reservation = reserve(course, 2).get_json()
    clock.advance(days=17)

    refused = name_into(reservation, "Anne")

    assert refused.status_code == 409
    assert "Tilmeldingsfristen" in refused.get_json()["detail"]
    assert seat_row(app, course) == (0, 2, 0)


@pytest.mark.parametrize("role, status", [("approver", 403), ("school", 403), (None, 401)])
def test_only_hr_and_administrators_may_name_or_release(app, reserve, name_into, client, course, auth, role, status):
    reservation = reserve(course, 2).get_json()
    headers = {} if role is None else (auth("approver", organisation="791") if role == "approver"
                                       else auth("school", provider_id=course["provider_id"]))

    named = name_into(reservation, "Anne", headers=headers)
    released = client.post(f"/reservations/{reservation['id']}/release", json={}, headers=headers)

    assert (named.status_code, released.status_code) == (status, status)
    assert seat_row(app, course) == (0, 2, 0)


# --- Releasing ---------------------------------------------------------------------------------------

def test_releasing_some_seats_moves_the_waiting_list_up(app, client, reserve, enrol, course, hr, catalogue_client):
    reservation = reserve(course, 3).get_json()
    enrol(course, "Anne")
    waiting = [enrol(course, name).get_json() for name in ("Bent", "Carla")]

    released = client.post(f"/reservations/{reservation['id']}/release", json={"seats": 1}, headers=hr())

    assert released.status_code == 200, released.get_json()
    assert (released.get_json()["released"], released.get_json()["unnamed"]) == (1, 2)
    assert released.get_json()["released_at"] is None
    statuses = [client.get(f"/enrolments/{w['id']}", headers=hr()).get_json()["status"] for w in waiting]
    assert statuses == ["confirmed", "waitlisted"]
    assert seat_row(app, course) == (2, 2, 1)
    assert free_in_catalogue(catalogue_client, course) == (0, 1)


def test_releasing_all_ends_the_reservation(app, client, reserve, name_into, course, hr):
    reservation = reserve(course, 3).get_json()
    name_into(reservation, "Anne")

    released = client.post(f"/reservations/{reservation['id']}/release", json={}, headers=hr())
    again = client.post(f"/reservations/{reservation['id']}/release", json={}, headers=hr())

    assert released.status_code == 200
    assert (released.get_json()["released"], released.get_json()["unnamed"]) == (2, 0)
    assert released.get_json()["released_at"] is not None
    assert again.status_code == 409
    assert seat_row(app, course) == (1, 0, 0)
    assert audit_actions(app) == ["reservation.created", "reservation.named", "reservation.released"]


def test_releasing_more_than_remain_is_refused(app, client, reserve, course, hr, skive):
    reservation = reserve(course, 2).get_json()

    too_many = client.post(f"/reservations/{reservation['id']}/release", json={"seats": 3}, headers=hr())
    others = client.post(f"/reservations/{reservation['id']}/release", json={}, headers=hr(skive))

    assert too_many.status_code == 422
    assert too_many.get_json()["errors"][0]["pointer"] == "/seats"
    assert others.status_code == 404
    assert seat_row(app, course) == (0, 2, 0)


# --- The deadline job ----------------------------------------------------------------------------------

def test_at_the_deadline_the_unnamed_seats_go_to_the_waiting_list_once(app, client, reserve, name_into, enrol,
                                                                       course, hr, clock, catalogue_client, viborg):
    with app.app_context():
        from enrolment.organisations import find_organisation

        organisation_id = find_organisation(db.session, viborg).id
        db.session.remove()
    add_member(app, "hr@viborg.example", organisation_id, "hr")
    reservation = reserve(course, 3).get_json()
    name_into(reservation, "Anne")
    name_into(reservation, "Bent")
    enrol(course, "Carla")
    waiting = enrol(course, "Dorte").get_json()

    with app.app_context():
        before_deadline = release_reservations()
    clock.advance(days=17)
    with app.app_context():
        first = release_reservations()
        second = release_reservations()

    assert (before_deadline, first, second) == (0, 1, 0)
    assert client.get(f"/enrolments/{waiting['id']}", headers=hr()).get_json()["status"] == "confirmed"
    shown = client.get(f"/reservations/{reservation['id']}", headers=hr()).get_json()
    assert (shown["named"], shown["released"], shown["unnamed"]) == (2, 1, 0)
    assert seat_row(app, course) == (4, 0, 0)
    assert free_in_catalogue(catalogue_client, course) == (0, 0)
    assert audit_actions(app).count("reservation.released") == 1
    subjects = [mail.subject for mail in mails_to(app, "hr@viborg.example")]
    assert subjects.count("Frigivet: 1 reserverede pladser på " + course["module_title"]) == 1


def test_a_cancelled_offering_gives_back_its_reserved_seats_and_hr_is_told(app, client, reserve, name_into, course,
                                                                            hr, auth, catalogue_client, viborg):
    with app.app_context():
        from enrolment.organisations import find_organisation

        organisation_id = find_organisation(db.session, viborg).id
        db.session.remove()
    add_member(app, "hr@viborg.example", organisation_id, "hr")
    reservation = reserve(course, 3).get_json()
    anne = name_into(reservation, "Anne").get_json()

    cancelled = catalogue_client.post(f"/offerings/{course['id']}/cancel", json={"reason": "For få tilmeldte"},
                                      headers=auth("school", provider_id=course["provider_id"]))

    assert cancelled.status_code == 200
    shown = client.get(f"/reservations/{reservation['id']}", headers=hr()).get_json()
    assert (shown["named"], shown["released"], shown["unnamed"]) == (1, 2, 0)
    assert client.get(f"/enrolments/{anne['id']}", headers=hr()).get_json()["status"] == "cancelled"
    assert seat_row(app, course) == (0, 0, 0)
    assert audit_actions(app).count("reservation.released") == 1
    subjects = [mail.subject for mail in mails_to(app, "hr@viborg.example")]
    assert subjects.count("Aflyst: 2 reserverede pladser på " + course["module_title"]) == 1


def test_the_deadline_job_leaves_fully_named_and_current_reservations_alone(app, reserve, name_into, course,
                                                                            make_offering, school, clock):
    later = make_offering(school, module="GLU-3", first_day=60, capacity=4, min_participants=1)
    used = reserve(course, 1).get_json()
    name_into(used, "Anne")
    reserve(later, 2)
    clock.advance(days=17)

    with app.app_context():
        released = release_reservations()

    # The fully named one has nothing to give back; the later offering's is not due yet.
    assert released == 0
    assert seat_row(app, course) == (1, 0, 0)
    assert seat_row(app, later) == (0, 2, 0)


# --- HR's page /hr/reservationer -----------------------------------------------------------------------

def page_text(response) -> str:
    return response.get_data(as_text=True)


def test_hr_reserves_names_and_releases_on_its_page(app, client, course, enrol, viborg):
    from tests.enrolment.test_pages import post_form, sign_in

    sign_in(client, "hr", organisation=viborg)
    listed = client.get("/hr/reservationer")
    assert listed.status_code == 200
    assert "Reserverede pladser" in page_text(client.get("/hr"))  # in HR's navigation

    reserved = post_form(client, "/hr/reservationer", {"handling": "reserver", "udbud": str(course["id"]),
                                                       "pladser": "3"}, follow_redirects=True)
    assert "3 pladser er reserveret" in page_text(reserved)
    with app.app_context():
        reservation_id = db.session.scalar(select(Reservation.id))
        db.session.remove()
    named = post_form(client, "/hr/reservationer", {"handling": "navngiv", "reservation": str(reservation_id),
                                                    f"navn-{reservation_id}": "Anne Holm",
                                                    f"email-{reservation_id}": "anne@viborg.example"},
                      follow_redirects=True)
    assert "Anne Holm har fået en af de reserverede pladser" in page_text(named)
    enrol(course, "Bent")
    waiting = enrol(course, "Carla").get_json()
    released = post_form(client, "/hr/reservationer", {"handling": "frigiv", "reservation": str(reservation_id),
                                                       f"frigiv-{reservation_id}": "1"}, follow_redirects=True)
    assert "ventelisten er rykket op" in page_text(released)
    assert stored_counts(app, course["id"]) == {"confirmed": 3}
    assert waiting["status"] == "waitlisted"
    assert seat_row(app, course) == (3, 1, 0)


def test_the_page_shows_refusals_beside_the_field_and_keeps_the_values(app, client, course, viborg):
    from tests.enrolment.test_pages import post_form, sign_in

    sign_in(client, "hr", organisation=viborg)

    too_many = post_form(client, "/hr/reservationer", {"handling": "reserver", "udbud": str(course["id"]),
                                                       "pladser": "5"})
    no_number = post_form(client, "/hr/reservationer", {"handling": "reserver", "udbud": "tolv", "pladser": "2"})

    assert too_many.status_code == 409
    assert 'id="pladser-error"><span class="visually-hidden">Fejl: </span>Der er kun 4 ledige pladser' in (
        page_text(too_many))
    assert f'value="{course["id"]}"' in page_text(too_many) and 'value="5"' in page_text(too_many)
    assert no_number.status_code == 422
    assert 'id="udbud-error"><span class="visually-hidden">Fejl: </span>Skriv udbuddets nummer' in page_text(no_number)
    assert 'value="tolv"' in page_text(no_number)
    assert reservations_in(app) == 0


def test_an_approver_cannot_open_the_reservations_page(client, viborg):
    from tests.enrolment.test_pages import sign_in

    sign_in(client, "approver", organisation=viborg)

    assert client.get("/hr/reservationer").status_code == 403

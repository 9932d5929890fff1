"""Leaders ask, HR approves or rejects, substitutes and cancels — each within its own organisation."""

from datetime import timedelta

import pytest

from enrolment import outbox
from enrolment.models import OfferingSeats, db
from shared.clock import copenhagen_today
from shared.db import utcnow
from tests.enrolment.conftest import request_and_confirm


@pytest.fixture
def offering(make_school, make_offering):
    return make_offering(make_school("Mercantec"), module="GLU-1", capacity=2, min_participants=1)


def ask(client, offering, organisation="791", name="Lene Leder", email="lene@viborg.example"):
    """A leader's request, confirmed by the link mailed to the address."""
    return request_and_confirm(client.application, client, {
        "offering_id": offering["id"], "organisation": organisation, "participant": {"name": name, "email": email}})


def test_leader_request_waits_for_approval_where_required(client, offering, make_organisation, hr):
    make_organisation("791", requires_approval=True)

    request = ask(client, offering)
    approved = client.post(f"/enrolments/{request.get_json()['id']}/approve", headers=hr())

    assert request.status_code == 201
    assert request.get_json()["status"] == "pending_approval"
    assert request.get_json()["source"] == "request"
    assert approved.get_json()["status"] == "confirmed"


def test_leader_request_confirms_at_once_without_approval(client, offering, make_organisation):
    make_organisation("730", requires_approval=False)

    assert ask(client, offering, organisation="730").get_json()["status"] == "confirmed"


def test_pending_request_holds_no_seat(client, offering, make_organisation, enrol, catalogue_client):
    make_organisation("791", requires_approval=True)
    ask(client, offering)

    shown = catalogue_client.get(f"/offerings/{offering['id']}").get_json()

    assert shown["seats_available"] == 2
    assert [enrol(offering, name).get_json()["status"] for name in ("Anne", "Bent")] == ["confirmed"] * 2


def test_approval_beyond_capacity_goes_to_the_waiting_list(client, offering, make_organisation, enrol, hr):
    make_organisation("791", requires_approval=True)
    request = ask(client, offering).get_json()
    enrol(offering, "Anne")
    enrol(offering, "Bent")

    approved = client.post(f"/enrolments/{request['id']}/approve", headers=hr()).get_json()

    assert (approved["status"], approved["waitlist_position"]) == ("waitlisted", 1)


def test_rejected_request_cannot_be_approved_later(client, offering, make_organisation, hr):
    make_organisation("791")
    request = ask(client, offering).get_json()

    rejected = client.post(f"/enrolments/{request['id']}/reject", headers=hr())
    approved = client.post(f"/enrolments/{request['id']}/approve", headers=hr())

    assert rejected.get_json()["status"] == "rejected"
    assert approved.status_code == 409


def test_leader_cannot_approve_own_request(client, offering, make_organisation, auth):
    make_organisation("791")
    request = ask(client, offering).get_json()

    anonymous = client.post(f"/enrolments/{request['id']}/approve")
    school = client.post(f"/enrolments/{request['id']}/approve", headers=auth("school", provider_id=1))

    assert (anonymous.status_code, school.status_code) == (401, 403)


def test_request_for_unknown_organisation_names_the_field(client, offering):
    response = ask(client, offering, organisation="999")

    assert response.status_code == 422
    assert response.get_json()["errors"][0]["pointer"] == "/organisation"


def test_substitute_keeps_the_seat_and_place(client, offering, make_organisation, enrol, hr):
    make_organisation("791")
    anne, _, carla = (enrol(offering, name).get_json() for name in ("Anne", "Bent", "Carla"))

    seat = client.post(f"/enrolments/{anne['id']}/substitute", headers=hr(),
                       json={"participant": {"name": "Dorte", "email": "dorte@kommune.example"}}).get_json()
    place = client.post(f"/enrolments/{carla['id']}/substitute", headers=hr(),
                        json={"participant": {"name": "Erik", "email": "erik@kommune.example"}}).get_json()

    assert (seat["id"], seat["status"], seat["participant"]["name"]) == (anne["id"], "confirmed", "Dorte")
    assert (place["status"], place["waitlist_position"], place["participant"]["name"]) == ("waitlisted", 1, "Erik")


def test_substitute_cannot_be_someone_already_enrolled(client, offering, make_organisation, enrol, hr):
    make_organisation("791")
    anne = enrol(offering, "Anne").get_json()
    enrol(offering, "Bent")

    response = client.post(f"/enrolments/{anne['id']}/substitute", headers=hr(),
                           json={"participant": {"name": "Bent", "email": "BENT@kommune.example"}})

    assert response.status_code == 409


def test_hr_sees_only_its_own_organisations_enrolments(client, offering, make_organisation, enrol, hr):
    make_organisation("791")
    make_organisation("730")
    viborg = enrol(offering, "Anne", organisation="791").get_json()
    randers = enrol(offering, "Bent", organisation="730").get_json()

    listed = client.get("/enrolments", headers=hr("791")).get_json()
    other = client.get(f"/enrolments/{randers['id']}", headers=hr("791"))
    cancel_other = client.post(f"/enrolments/{randers['id']}/cancel", headers=hr("791"))
    asking_for_other = client.get("/enrolments", query_string={"organisation": "730"}, headers=hr("791"))

    assert [item["id"] for item in listed["items"]] == [viborg["id"]]
    assert listed["total"] == 1
    assert (other.status_code, cancel_other.status_code, asking_for_other.status_code) == (404, 404, 403)
    assert client.get(f"/enrolments/{randers['id']}", headers=hr("730")).get_json()["status"] == "confirmed"


def test_hr_cannot_enrol_for_another_organisation(client, offering, make_organisation, hr):
    make_organisation("791")
    make_organisation("730")

    response = client.post("/enrolments", headers=hr("791"), json={
        "offering_id": offering["id"], "organisation": "730",
        "participant": {"name": "Anne", "email": "anne@randers.example"}})

    assert response.status_code == 403


def test_admin_enrols_for_any_organisation_and_sees_all(client, offering, make_organisation, auth):
    make_organisation("791")
    admin = auth("admin")

    response = client.post("/enrolments", headers=admin, json={
        "offering_id": offering["id"], "organisation": "791", "participant": {"name": "A", "email": "a@b.example"}})
    missing = client.post("/enrolments", headers=admin, json={
        "offering_id": offering["id"], "participant": {"name": "B", "email": "b@b.example"}})

    assert response.status_code == 201
    assert missing.status_code == 422
    assert client.get("/enrolments", headers=admin).get_json()["total"] == 1


@pytest.mark.parametrize("role", ["school", "service"])
def test_only_hr_and_admin_enrol(client, offering, make_organisation, auth, role):
    make_organisation("791")
    headers = auth(role, provider_id=offering["provider_id"]) if role == "school" else auth(role)

    response = client.post("/enrolments", headers=headers, json={
        "offering_id": offering["id"], "organisation": "791", "participant": {"name": "A", "email": "a@b.example"}})

    assert response.status_code == 403
    assert client.get("/enrolments", headers=headers).status_code == 403


def test_enrolment_needs_a_token(client, offering):
    response = client.post("/enrolments", json={"offering_id": offering["id"]})

    assert response.status_code == 401


def test_filters_by_offering_and_status(client, make_school, make_offering, make_organisation, enrol, hr):
    make_organisation("791")
    school = make_school()
    small = make_offering(school, capacity=1, min_participants=1)
    other = make_offering(school, module="GLU-2")
    enrol(small, "Anne")
    enrol(small, "Bent")
    enrol(other, "Carla")

    waiting = client.get("/enrolments", query_string={"status": "waitlisted"}, headers=hr()).get_json()
    in_small = client.get("/enrolments", query_string={"offering_id": small["id"]}, headers=hr()).get_json()

    assert [(i["participant"]["name"], i["waitlist_position"]) for i in waiting["items"]] == [("Bent", 1)]
    assert in_small["total"] == 2


# --- Offerings that cannot be enrolled into -----------------------------------------------------

def test_enrolling_into_a_cancelled_offering_is_refused(offering, make_organisation, enrol, catalogue_client, auth):
    make_organisation("791")
    catalogue_client.post(f"/offerings/{offering['id']}/cancel", json={},
                          headers=auth("school", provider_id=offering["provider_id"]))

    response = enrol(offering, "Anne")

    assert response.status_code == 409
    assert "aflyst" in response.get_json()["detail"]


def test_enrolling_into_a_draft_is_refused(make_school, make_offering, make_organisation, enrol):
    make_organisation("791")
    draft = make_offering(make_school(), status="draft")

    assert enrol(draft, "Anne").status_code == 409


def test_enrolling_after_the_deadline_is_refused(make_school, make_offering, make_organisation, enrol):
    make_organisation("791")
    late = make_offering(make_school(), first_day=5, enrolment_deadline=copenhagen_today() - timedelta(days=1))

    response = enrol(late, "Anne")

    assert response.status_code == 409
    assert "Tilmeldingsfristen" in response.get_json()["detail"]


def test_enrolling_into_an_unknown_offering_is_404(make_organisation, enrol):
    make_organisation("791")

    assert enrol({"id": 987654}, "Anne").status_code == 404


def test_cancelling_after_the_deadline_is_refused(make_school, make_offering, make_organisation, enrol, hr, client):
    make_organisation("791")
    today = make_offering(make_school(), first_day=10, enrolment_deadline=copenhagen_today())
    anne = enrol(today, "Anne").get_json()
    with client.application.app_context():
        db.session.get(OfferingSeats, today["id"]).enrolment_deadline = copenhagen_today() - timedelta(days=1)
        db.session.commit()

    response = client.post(f"/enrolments/{anne['id']}/cancel", headers=hr())

    assert response.status_code == 409


# --- The catalogue being down -------------------------------------------------------------------

def test_catalogue_down_enrolments_into_known_offerings_go_on(client, offering, make_organisation, enrol, hr,
                                                              catalogue_link, catalogue_client, make_school,
                                                              make_offering):
    make_organisation("791")
    anne = enrol(offering, "Anne").get_json()
    enrol(offering, "Bent")
    unknown = make_offering(make_school("Tradium"), module="GLU-4")
    catalogue_link.down = True

    carla = enrol(offering, "Carla")
    refused = enrol(unknown, "Dorte")
    listed = client.get("/enrolments", headers=hr())
    cancelled = client.post(f"/enrolments/{anne['id']}/cancel", headers=hr())

    assert (carla.status_code, carla.get_json()["status"]) == (201, "waitlisted")  # decided on its own copy
    assert refused.status_code == 503  # never seen: it must be read from the catalogue once
    assert refused.content_type == "application/problem+json"
    assert int(refused.headers["Retry-After"]) > 0
    assert listed.status_code == 200 and listed.get_json()["total"] == 3
    assert cancelled.status_code == 200
    assert client.get(f"/enrolments/{carla.get_json()['id']}", headers=hr()).get_json()["status"] == "confirmed"


def test_seat_counts_reach_the_catalogue_once_it_is_back_in_one_request(app, client, offering, make_organisation,
                                                                        enrol, catalogue_link, catalogue_client,
                                                                        make_school, make_offering):
    make_organisation("791")
    other = make_offering(make_school("Tradium"), module="GLU-4")
    enrol(offering, "Anne")
    enrol(other, "Anne")
    catalogue_link.down = True
    enrol(offering, "Bent")
    enrol(offering, "Carla")
    enrol(other, "Bent")
    stale = catalogue_client.get(f"/offerings/{offering['id']}").get_json()["seats_available"]

    catalogue_link.down = False
    catalogue_link.sent.clear()
    with app.app_context():  # the engine's sweep, once the first retry's backoff is over
        report = outbox.deliver_due(db.session, app.extensions["catalogue_client"], None,
                                    now=lambda: utcnow() + outbox.FIRST_RETRY)

    assert stale == offering["capacity"] - 1
    now = catalogue_client.get(f"/offerings/{offering['id']}").get_json()
    assert offering["capacity"] == 2 and (now["seats_available"], now["waitlist_length"]) == (0, 1)
    assert catalogue_client.get(f"/offerings/{other['id']}").get_json()["seats_available"] == other["capacity"] - 2
    assert catalogue_link.sent == [("PUT", "/offerings/seats")]  # three messages, two offerings, one request
    assert (report.delivered, report.failed) == (3, 0)


def test_retried_enrolment_with_the_same_key_enrols_once(client, offering, make_organisation, hr):
    make_organisation("791")
    body = {"offering_id": offering["id"], "participant": {"name": "Anne", "email": "anne@viborg.example"}}
    headers = {**hr(), "Idempotency-Key": "7b0d2c1e-retry"}

    first = client.post("/enrolments", json=body, headers=headers)
    again = client.post("/enrolments", json=body, headers=headers)
    other_body = client.post("/enrolments", json={**body, "participant": {"name": "B", "email": "b@b.example"}},
                             headers=headers)

    assert (first.status_code, again.status_code, other_body.status_code) == (201, 201, 422)
    assert again.get_json() == first.get_json()
    assert again.headers["Idempotent-Replayed"] == "true"
    assert client.get("/enrolments", headers=hr()).get_json()["total"] == 1

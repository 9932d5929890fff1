"""HR enrols staff into seats; beyond capacity they wait in line, and a freed seat goes to the first in line."""

import pytest

from catalogue.notifications import WebhookSender


@pytest.fixture
def two_seats(make_school, make_offering, make_organisation):
    make_organisation("791", requires_approval=True)
    return make_offering(make_school("Mercantec"), module="GLU-3", capacity=2, min_participants=1)


def test_third_person_in_a_two_seat_offering_is_waitlisted(enrol, two_seats, catalogue_client):
    first, second, third = (enrol(two_seats, name) for name in ("Anne", "Bent", "Carla"))

    assert [first.status_code, second.status_code, third.status_code] == [201, 201, 201]
    assert [r.get_json()["status"] for r in (first, second, third)] == ["confirmed", "confirmed", "waitlisted"]
    assert third.get_json()["waitlist_position"] == 1
    assert first.get_json()["waitlist_position"] is None
    shown = catalogue_client.get(f"/offerings/{two_seats['id']}").get_json()
    assert (shown["seats_available"], shown["waitlist_length"]) == (0, 1)


def test_cancelling_promotes_first_on_waiting_list(client, enrol, hr, two_seats, catalogue_client):
    anne, _, carla = (enrol(two_seats, name).get_json() for name in ("Anne", "Bent", "Carla"))

    cancelled = client.post(f"/enrolments/{anne['id']}/cancel", headers=hr())

    assert cancelled.status_code == 200
    assert cancelled.get_json()["status"] == "cancelled"
    assert client.get(f"/enrolments/{carla['id']}", headers=hr()).get_json()["status"] == "confirmed"
    shown = catalogue_client.get(f"/offerings/{two_seats['id']}").get_json()
    assert (shown["seats_available"], shown["waitlist_length"]) == (0, 0)


def test_waitlist_positions_move_up_when_someone_ahead_leaves(client, enrol, hr, two_seats):
    people = [enrol(two_seats, name).get_json() for name in ("Anne", "Bent", "Carla", "Dorte", "Erik")]

    client.post(f"/enrolments/{people[3]['id']}/cancel", headers=hr())
    erik = client.get(f"/enrolments/{people[4]['id']}", headers=hr()).get_json()

    assert [p["waitlist_position"] for p in people[2:]] == [1, 2, 3]
    assert erik["waitlist_position"] == 2


def test_same_person_cannot_be_enrolled_twice(enrol, two_seats):
    enrol(two_seats, "Anne", email="anne@viborg.example")

    again = enrol(two_seats, "Anne B.", email="ANNE@Viborg.example")

    assert again.status_code == 409
    assert again.content_type == "application/problem+json"


def test_raised_capacity_promotes_at_once(client, enrol, hr, two_seats, catalogue_client, auth):
    carla = [enrol(two_seats, name).get_json() for name in ("Anne", "Bent", "Carla")][2]
    school = auth("school", provider_id=two_seats["provider_id"])

    raised = catalogue_client.patch(f"/offerings/{two_seats['id']}", json={"capacity": 3}, headers=school)

    assert raised.status_code == 200
    assert client.get(f"/enrolments/{carla['id']}", headers=hr()).get_json()["status"] == "confirmed"
    shown = catalogue_client.get(f"/offerings/{two_seats['id']}").get_json()
    assert (shown["seats_available"], shown["waitlist_length"]) == (0, 0)


def test_refresh_reads_the_catalogue_again_and_sends_the_counts(client, enrol, two_seats, auth):
    for name in ("Anne", "Bent", "Carla"):
        enrol(two_seats, name)

    refreshed = client.post(f"/offerings/{two_seats['id']}/refresh", headers=auth("service"))
    as_hr = client.post(f"/offerings/{two_seats['id']}/refresh", headers=auth("hr", organisation="791"))

    assert refreshed.status_code == 200
    assert (refreshed.get_json()["taken"], refreshed.get_json()["waitlisted"]) == (2, 1)
    assert as_hr.status_code == 403


def test_missed_capacity_change_is_caught_up_by_sync_seats(app, client, enrol, hr, two_seats, catalogue_app,
                                                           catalogue_client, auth):
    carla = [enrol(two_seats, name).get_json() for name in ("Anne", "Bent", "Carla")][2]
    catalogue_app.extensions["webhook_sender"] = WebhookSender(None, "unused")  # the notice is lost
    catalogue_client.patch(f"/offerings/{two_seats['id']}", json={"capacity": 3},
                           headers=auth("school", provider_id=two_seats["provider_id"]))
    waiting = client.get(f"/enrolments/{carla['id']}", headers=hr()).get_json()["status"]

    result = app.test_cli_runner().invoke(args=["sync-seats"])

    assert waiting == "waitlisted"
    assert "1 udbud afstemt, 0 fejlede" in result.output
    assert client.get(f"/enrolments/{carla['id']}", headers=hr()).get_json()["status"] == "confirmed"
    assert catalogue_client.get(f"/offerings/{two_seats['id']}").get_json()["seats_available"] == 0


def test_lowered_capacity_unconfirms_no_one(client, enrol, hr, two_seats, catalogue_client, auth):
    people = [enrol(two_seats, name).get_json() for name in ("Anne", "Bent")]
    school = auth("school", provider_id=two_seats["provider_id"])
    lowered = catalogue_client.patch(f"/offerings/{two_seats['id']}", json={"capacity": 1}, headers=school)
    assert lowered.status_code == 200

    statuses = [client.get(f"/enrolments/{p['id']}", headers=hr()).get_json()["status"] for p in people]
    carla = enrol(two_seats, "Carla").get_json()
    client.post(f"/enrolments/{people[0]['id']}/cancel", headers=hr())

    assert statuses == ["confirmed", "confirmed"]
    assert carla["status"] == "waitlisted"
    # One seat freed, but capacity 1 is still taken by Bent: Carla keeps waiting.
    assert client.get(f"/enrolments/{carla['id']}", headers=hr()).get_json()["status"] == "waitlisted"

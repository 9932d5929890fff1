"""Who did what in the enrolment service: places made, decided, cancelled and handed over, each logged."""

from __future__ import annotations

import pytest

from shared.auth import Role, issue_token
from tests.conftest import TOKEN_SECRET
from tests.enrolment.conftest import request_and_confirm


@pytest.fixture
def offering(make_school, make_offering):
    return make_offering(make_school("Mercantec"), module="GLU-1", capacity=1, min_participants=1)


def log_of(client, headers, **query) -> list[tuple[str, dict, str]]:
    """The entries about places (not the organisation's own making), oldest first."""
    response = client.get("/audit", headers=headers, query_string={"object_type": "enrolment", **query})
    assert response.status_code == 200, response.get_data(as_text=True)
    oldest_first = reversed(response.get_json()["items"])
    return [(entry["action"], entry["changes"], entry["actor_type"]) for entry in oldest_first]


def test_a_places_life_is_logged_with_its_status_from_and_to(client, offering, make_organisation, enrol, hr):
    make_organisation("791", requires_approval=True)
    anne = enrol(offering, "Anne").get_json()
    bent = enrol(offering, "Bent").get_json()
    carla = client.post(f"/enrolments/{anne['id']}/substitute", headers=hr(),
                        json={"participant": {"name": "Carla", "email": "carla@kommune.example"}}).get_json()
    client.post(f"/enrolments/{anne['id']}/cancel", headers=hr())

    log = log_of(client, hr())

    # People by id, never by name or address: the log outlives an erasure (enrolment.erasure).
    anne_id, bent_id, carla_id = (place["participant"]["id"] for place in (anne, bent, carla))
    assert log == [
        ("enrolment.enrolled", {"status": [None, "confirmed"], "participant": [None, anne_id]}, "token"),
        ("enrolment.enrolled", {"status": [None, "waitlisted"], "participant": [None, bent_id]}, "token"),
        ("enrolment.substituted", {"participant": [anne_id, carla_id]}, "token"),
        ("enrolment.cancelled", {"status": ["confirmed", "cancelled"]}, "token"),
        ("enrolment.promoted", {"status": ["waitlisted", "confirmed"]}, "system"),
    ]
    assert bent["status"] == "waitlisted"


def test_a_leaders_request_is_logged_as_sent_by_no_one_and_confirmed_by_the_address(client, offering,
                                                                                     make_organisation, hr):
    make_organisation("791", requires_approval=True)
    asked = request_and_confirm(client.application, client, {
        "offering_id": offering["id"], "organisation": "791",
        "participant": {"name": "Lene", "email": "lene@viborg.example"}}).get_json()
    client.post(f"/enrolments/{asked['id']}/reject", headers=hr())

    assert [(action, actor) for action, _, actor in log_of(client, hr())] == [
        ("enrolment.requested", "anonymous"), ("enrolment.request_confirmed", "participant"),
        ("enrolment.rejected", "token")]


def test_hr_reads_only_its_organisations_log_and_an_approver_none(client, offering, make_organisation, enrol, hr):
    make_organisation("791")
    make_organisation("730")
    enrol(offering, "Anne", organisation="791")
    approver = {"Authorization": f"Bearer {issue_token(TOKEN_SECRET, Role.APPROVER, organisation='791')}"}

    assert len(log_of(client, hr("791"))) == 1
    assert log_of(client, hr("730")) == []
    assert client.get("/audit", headers=approver).status_code == 403
    assert client.get("/audit").status_code == 401


def test_a_refused_enrolment_leaves_no_entry(client, offering, make_organisation, enrol, hr):
    make_organisation("791")
    enrol(offering, "Anne")

    assert enrol(offering, "Anne").status_code == 409  # the same person again

    assert len(log_of(client, hr())) == 1


def test_making_an_organisation_and_renewing_its_calendar_link_are_logged_without_secrets(client, make_organisation,
                                                                                           hr):
    make_organisation("791")
    client.post("/organisation-calendar/renew", headers=hr())

    log = client.get("/audit", headers=hr()).get_json()["items"]

    assert [entry["action"] for entry in log] == ["links.renewed", "organisation.created"]
    assert log[0]["changes"] == {"calendar": ["gamle", "nye"]}

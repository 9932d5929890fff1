"""An approver sees the organisation's requests and approves or rejects them; nothing else (API and pages)."""

from __future__ import annotations

import pytest

from shared.auth import Role, issue_token
from tests.conftest import TOKEN_SECRET
from tests.enrolment.conftest import request_and_confirm
from tests.enrolment.test_pages import post_form, sign_in, text


@pytest.fixture
def offering(make_school, make_offering):
    return make_offering(make_school("Mercantec"), module="GLU-1", capacity=4, min_participants=1)


@pytest.fixture
def approver():
    return {"Authorization": f"Bearer {issue_token(TOKEN_SECRET, Role.APPROVER, organisation='791')}"}


@pytest.fixture
def requests_waiting(client, offering, make_organisation, enrol):
    """Viborg approves requests: two of its leaders wait, and Randers has a confirmed place."""
    make_organisation("791", requires_approval=True)
    make_organisation("730", requires_approval=False)
    waiting = [request_and_confirm(client.application, client, {
        "offering_id": offering["id"], "organisation": "791",
        "participant": {"name": name, "email": f"{name.lower()}@viborg.example"}}).get_json()
        for name in ("Anne", "Bent")]
    other = enrol(offering, "Carla", organisation="730").get_json()
    return waiting, other


def test_an_approver_sees_the_organisations_requests_and_decides_them(client, approver, requests_waiting):
    (anne, bent), carla = requests_waiting

    listed = client.get("/enrolments", headers=approver).get_json()
    approved = client.post(f"/enrolments/{anne['id']}/approve", headers=approver)
    rejected = client.post(f"/enrolments/{bent['id']}/reject", headers=approver)

    assert {item["id"] for item in listed["items"]} == {anne["id"], bent["id"]}
    assert approved.status_code == 200 and approved.get_json()["status"] == "confirmed"
    assert rejected.status_code == 200 and rejected.get_json()["status"] == "rejected"
    assert client.get(f"/enrolments/{carla['id']}", headers=approver).status_code == 404  # another organisation's


def test_an_approver_cannot_enrol_cancel_hand_over_or_enrol_many(client, approver, offering, requests_waiting):
    (anne, _), _ = requests_waiting
    client.post(f"/enrolments/{anne['id']}/approve", headers=approver)

    refusals = [
        client.post("/enrolments", headers=approver, json={"offering_id": offering["id"], "participant": {
            "name": "Dorte", "email": "dorte@viborg.example"}}),
        client.post(f"/enrolments/{anne['id']}/cancel", headers=approver),
        client.post(f"/enrolments/{anne['id']}/substitute", headers=approver, json={"participant": {
            "name": "Erik", "email": "erik@viborg.example"}}),
        client.post("/enrolments/batch", headers=approver, json={"offering_id": offering["id"], "participants": [
            {"name": "Dorte", "email": "dorte@viborg.example"}]}),
    ]

    assert [response.status_code for response in refusals] == [403] * 4
    assert all(response.mimetype == "application/problem+json" for response in refusals)
    assert client.get(f"/enrolments/{anne['id']}", headers=approver).get_json()["status"] == "confirmed"


def test_an_approver_on_the_pages_approves_but_is_offered_nothing_else(client, requests_waiting):
    (anne, _), _ = requests_waiting
    sign_in(client, "approver")

    overview = text(client.get("/hr"))
    approved = post_form(client, f"/hr/tilmeldinger/{anne['id']}/godkend", {"tilbage": "/hr"})
    after = text(client.get("/hr"))
    cancelled = post_form(client, f"/hr/tilmeldinger/{anne['id']}/afmeld", {"tilbage": "/hr"})
    told = text(client.get("/hr"))
    many = client.get("/hr/tilmeld")

    assert "Godkend" in overview and "Tilmeld medarbejdere" not in overview
    assert approved.status_code == 303 and "Meld fra" not in after and "Overdrag pladsen" not in after
    assert cancelled.status_code == 303 and "En godkender kan kun godkende og afvise" in told
    assert many.status_code == 403 and "Din rolle giver ikke adgang" in text(many)
    assert client.get(f"/enrolments/{anne['id']}", headers={
        "Authorization": f"Bearer {issue_token(TOKEN_SECRET, Role.HR, organisation='791')}"}).get_json()[
        "status"] == "confirmed"


def test_an_hr_admin_invites_an_approver_who_cannot_manage_members(app, client, make_organisation):
    from tests.accounts import secrets_in, sign_in_directly
    from tests.catalogue.test_sign_in import use
    from tests.enrolment.test_pages import sign_in as sign_in_as
    from tests.smtp import running_smtp_server

    make_organisation("791")
    sign_in_as(client, "hr_admin")
    with running_smtp_server() as (handler, port):
        app.config.update(SMTP_HOST="127.0.0.1", SMTP_PORT=port, SMTP_STARTTLS=False)
        invited = post_form(client, "/medlemmer/inviter", {"name": "Gitte Godkender", "email": "gitte@viborg.example",
                                                           "role": "approver"})
        [mail] = handler.messages()
    assert invited.status_code == 303

    approver = app.test_client()
    use(approver, secrets_in([mail])[0])

    assert "Godkender" in text(approver.get("/hr"))
    assert approver.get("/medlemmer").status_code == 403
    assert sign_in_directly is not None

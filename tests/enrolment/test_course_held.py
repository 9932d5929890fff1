"""Go or no-go on the enrolment side: a course the school holds is announced to everyone confirmed, once;
HR sees the same line as the school's desk."""

from __future__ import annotations

import pytest

from shared.clock import copenhagen_today
from shared.go_no_go import day_and_month
from tests.enrolment.test_mail_delivery import deliver_outbox
from tests.enrolment.test_pages import sign_in, text
from tests.smtp import running_smtp_server


@pytest.fixture
def offering(make_school, make_offering, make_organisation):
    make_organisation("791", requires_approval=False)
    return make_offering(make_school("Mercantec"), module="GLU-3", first_day=30, capacity=2, min_participants=2)


@pytest.fixture
def people(enrol, offering):
    """Anne and Bent hold the two seats; Carla waits."""
    answers = [enrol(offering, name).get_json() for name in ("Anne", "Bent", "Carla")]
    assert [answer["status"] for answer in answers] == ["confirmed", "confirmed", "waitlisted"]
    return answers


@pytest.fixture
def school(auth, offering):
    return auth("school", provider_id=offering["provider_id"])


def held_mails(app) -> list:
    with running_smtp_server() as (handler, port):
        deliver_outbox(app, port)
        return [message for message in handler.messages() if message["Subject"].startswith("Holdet gennemføres")]


def test_a_held_decision_by_webhook_tells_everyone_confirmed_once(app, catalogue_client, people, offering, school):
    held = catalogue_client.post(f"/offerings/{offering['id']}/decision", json={"decision": "held"}, headers=school)
    assert held.status_code == 200, held.get_json()
    catalogue_client.patch(f"/offerings/{offering['id']}", json={"note": "Husk madpakke"}, headers=school)

    mails = held_mails(app)

    assert sorted(mail["To"] for mail in mails) == ["anne@kommune.example", "bent@kommune.example"]
    assert {mail["Subject"] for mail in mails} == {
        "Holdet gennemføres: Situationsbestemt ledelse hos Mercantec"}
    assert "holdet bliver gennemført" in mails[0].get_body().get_content()


def test_a_cancelled_decision_tells_no_one_it_is_held(app, catalogue_client, people, offering, school):
    catalogue_client.post(f"/offerings/{offering['id']}/decision", json={"decision": "cancelled", "reason": "Syg"},
                          headers=school)

    assert held_mails(app) == []


def test_hr_sees_the_count_and_the_decision_date_then_gennemfoeres(app, client, catalogue_client, people, offering,
                                                                   school):
    sign_in(client, "hr", organisation="791")
    decided_on = day_and_month(copenhagen_today().fromordinal(copenhagen_today().toordinal() + 16))

    before = text(client.get("/hr"))
    catalogue_client.post(f"/offerings/{offering['id']}/decision", json={"decision": "held"}, headers=school)
    after = text(client.get("/hr"))

    assert f"2 af mindst 2 tilmeldt — afgøres {decided_on}" in before
    assert "Gennemføres" in after and "afgøres" not in after

"""Leaders are never stuck: their links by e-mail again, pages that lead back to the catalogue, and a school's
cancellation that reads as one."""

from __future__ import annotations

import re

import pytest

from enrolment.models import OutboxMessage, Participant, db
from tests.enrolment.test_pages import post_form, sign_in, text


@pytest.fixture
def offering(make_school, make_offering):
    return make_offering(make_school("Mercantec"), module="GLU-1", capacity=2, min_participants=1)


@pytest.fixture
def viborg(make_organisation):
    return make_organisation("791", name="Viborg Kommune", requires_approval=False)


@pytest.fixture
def randers(make_organisation):
    return make_organisation("730", name="Randers Kommune", requires_approval=False)


def mails_to(app, email: str) -> list[OutboxMessage]:
    with app.app_context():
        mails = (db.session.query(OutboxMessage).filter_by(kind="mail", recipient=email)
                 .order_by(OutboxMessage.id).all())
        db.session.expunge_all()
        return mails


def ask_for_links(client, email: str):
    return post_form(client, "/mine-links", {"email": email})


def answer_of(response) -> str:
    """The page's answer, without the form's CSRF token (different in every session)."""
    return re.sub(r'name="csrf_token" value="[^"]*"', "", text(response))


# --- Send mine links igen -------------------------------------------------------------------------

def test_a_leader_gets_the_links_of_every_organisation_that_knows_the_address(app, client, enrol, offering,
                                                                             viborg, randers):
    enrol(offering, "Anne", email="anne@example.dk")
    enrol(offering, "Anne", organisation="730", email="ANNE@example.dk")

    response = ask_for_links(client, "Anne@Example.dk")

    assert response.status_code == 200 and "Tjek din indbakke" in text(response)
    [mail] = [mail for mail in mails_to(app, "ANNE@example.dk") + mails_to(app, "anne@example.dk")
              if mail.subject == "Dine links til GLU-kurser"]
    with app.app_context():
        people = db.session.query(Participant).filter_by(email_key="anne@example.dk").all()
        tokens = [(person.page_token, person.feed_token) for person in people]
    assert len(tokens) == 2
    for page_token, feed_token in tokens:
        assert f"/mine-kurser/{page_token}" in mail.body and f"/feeds/participants/{feed_token}.ics" in mail.body
    assert "Viborg Kommune" in mail.body and "Randers Kommune" in mail.body


def test_the_answer_is_the_same_whether_or_not_the_address_is_known(app, client, enrol, offering, viborg):
    enrol(offering, "Anne", email="anne@example.dk")

    known = ask_for_links(client, "anne@example.dk")
    unknown = ask_for_links(client, "nobody@example.dk")

    assert (known.status_code, unknown.status_code) == (200, 200)
    assert answer_of(known).replace("anne@example.dk", "X") == answer_of(unknown).replace("nobody@example.dk", "X")
    assert mails_to(app, "nobody@example.dk") == []


def test_a_mistyped_address_is_named_in_the_summary(client):
    response = ask_for_links(client, "anne")

    assert response.status_code == 422
    assert "E-mail: Skriv din e-mailadresse" in re.sub(r"<[^>]+>", "", text(response))


def test_asking_too_often_for_one_address_is_429_with_retry_after(app, client, enrol, offering, viborg):
    enrol(offering, "Anne", email="anne@example.dk")

    answers = [ask_for_links(client, "anne@example.dk") for _ in range(4)]

    assert [answer.status_code for answer in answers] == [200, 200, 200, 429]
    assert int(answers[-1].headers["Retry-After"]) > 0
    assert len([mail for mail in mails_to(app, "anne@example.dk") if mail.subject.startswith("Dine links")]) == 3
    assert ask_for_links(client, "bent@example.dk").status_code == 200  # another address is counted apart


def test_asking_too_often_from_one_ip_is_429(client):
    answers = [ask_for_links(client, f"person{n}@example.dk") for n in range(21)]

    assert answers[-1].status_code == 429 and "Retry-After" in answers[-1].headers
    assert {answer.status_code for answer in answers[:-1]} == {200}


def test_the_front_page_and_the_request_pages_lead_to_the_links_and_back_to_the_catalogue(client, offering, viborg):
    front = text(client.get("/"))
    request_form = text(client.get(f"/anmod/{offering['id']}"))

    assert "/mine-links" in front and "/mine-links" in request_form
    assert f"http://catalogue.test/udbud/{offering['id']}" in request_form
    assert "GLU-kataloget" in text(client.get("/mine-links"))


def test_the_request_forms_error_summary_names_the_fields(client, offering, viborg):
    response = post_form(client, f"/anmod/{offering['id']}", {"navn": "", "email": "lene", "organisation": "791"})

    summary = re.sub(r"<[^>]+>", "", text(response).split('id="fejl-liste"')[1].split("</ul>")[0])
    assert "Dit navn: " in summary and "Din e-mailadresse: " in summary


# --- Aflyst af skolen ----------------------------------------------------------------------------

def test_a_cancellation_by_the_school_reads_as_one_with_the_reason(app, client, enrol, offering, viborg, hr,
                                                                   catalogue_client, auth):
    anne = enrol(offering, "Anne").get_json()
    bent = enrol(offering, "Bent").get_json()
    client.post(f"/enrolments/{bent['id']}/cancel", headers=hr())
    catalogue_client.post(f"/offerings/{offering['id']}/cancel", json={"reason": "For få tilmeldte"},
                          headers=auth("school", provider_id=offering["provider_id"]))

    mine = text(client.get("/" + anne["my_courses_url"].split("/", 3)[3]))
    sign_in(client)
    overview = text(client.get("/hr"))
    export = client.get("/hr/eksport.csv").data.decode("utf-8-sig")

    assert "Aflyst af skolen: For få tilmeldte" in mine
    assert "Aflyst af skolen: For få tilmeldte" in overview
    rows = {line.split(";")[2]: line for line in export.splitlines()[1:]}
    assert "Aflyst af skolen: For få tilmeldte" in rows["Anne"]
    assert "Afmeldt" in rows["Bent"] and "Aflyst" not in rows["Bent"]  # Bent left before the school cancelled


# --- HR enrols staff straight from the catalogue's offering page ----------------------------------

def test_the_hr_enrol_page_takes_the_offering_number_from_the_link(client, offering, viborg):
    sign_in(client)

    page = text(client.get(f"/hr/tilmeld?udbud={offering['id']}"))

    assert re.search(rf'name="udbud"[^>]*value="{offering["id"]}"', page)


def test_the_hr_link_survives_signing_in_first(client, offering, viborg):
    response = client.get(f"/hr/tilmeld?udbud={offering['id']}")

    assert response.status_code == 302
    assert f"udbud%3D{offering['id']}" in response.headers["Location"] or \
        f"udbud={offering['id']}" in response.headers["Location"]

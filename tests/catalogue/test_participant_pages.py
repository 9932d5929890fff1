"""The school's desk for one offering: participants, a message to everyone enrolled, attendance and completion.

Here `app` and `client` are the catalogue's; the enrolment service is a real enrolment app reached over
in-process WSGI (as ENROLMENT_URL and ENROLMENT_TRANSPORT would make it), which a test can take down.
Both run on one injectable clock, which the tests move to the course's days instead of sleeping.
"""

from __future__ import annotations

import re
from datetime import timedelta

import httpx
import pytest
from sqlalchemy import select

import enrolment
from catalogue.enrolment_client import EnrolmentClient
from enrolment.models import AuditEntry, OutboxMessage
from enrolment.models import db as enrolment_db
from enrolment.organisations import create_organisation
from shared.auth import Role, issue_token
from tests.accounts import Clock, add_member, sign_in_directly
from tests.catalogue.fixtures import in_days
from tests.catalogue.test_pages import csrf_from, page, post_form
from tests.conftest import TOKEN_SECRET, empty_tables
from tests.enrolment.conftest import SwitchableTransport, enrolment_database  # noqa: F401 (a fixture)


@pytest.fixture
def clock(app):
    clock = Clock()
    app.config["CLOCK"] = clock
    return clock


@pytest.fixture
def enrolment_app(enrolment_database, app, clock):  # noqa: F811 (the fixture imported above)
    service = enrolment.create_app({
        "DATABASE_URL": enrolment_database, "GLU_TOKEN_SECRET": TOKEN_SECRET, "TESTING": True,
        "CATALOGUE_URL": "http://catalogue.test", "CATALOGUE_TRANSPORT": httpx.WSGITransport(app=app),
        "JOBS_IMMEDIATE": True, "CLOCK": clock})
    with service.app_context():
        create_organisation(enrolment_db.session, {
            "key": "791", "name": "Viborg Kommune", "kind": "municipality", "requires_approval": False,
            "ean": None, "order_reference": None, "cost_centre": None, "hr_users": []})
        enrolment_db.session.commit()
    yield service
    with service.app_context():
        empty_tables(enrolment_db)


@pytest.fixture
def enrolment_link(enrolment_app):
    return SwitchableTransport(enrolment_app)


@pytest.fixture(autouse=True)
def desk_reaches_the_enrolment_service(app, enrolment_link):
    # As ENROLMENT_URL and ENROLMENT_TRANSPORT would make it, but the enrolment app exists only after the catalogue's.
    app.extensions["enrolment_client"] = EnrolmentClient("http://enrolment.test", TOKEN_SECRET,
                                                         transport=enrolment_link)


@pytest.fixture
def mercantec(make_school):
    return make_school("Mercantec")


@pytest.fixture
def offering(mercantec, make_offering):
    return make_offering(mercantec, module="GLU-3", capacity=2, min_participants=1, first_day=30, days=2)


@pytest.fixture
def places(enrolment_app, offering) -> dict[str, int]:
    """Anne and Bent confirmed, Carla waitlisted, enrolled by Viborg's HR."""
    hr = {"Authorization": f"Bearer {issue_token(TOKEN_SECRET, Role.HR, organisation='791')}"}
    service = enrolment_app.test_client()
    made = {}
    for name in ("Anne", "Bent", "Carla"):
        answer = service.post("/enrolments", headers=hr, json={
            "offering_id": offering["id"], "participant": {"name": name, "email": f"{name.lower()}@viborg.example"}})
        assert answer.status_code == 201, answer.get_json()
        made[name] = answer.get_json()["id"]
    return made


@pytest.fixture
def mette(app, client, mercantec):
    """Mette, school admin at Mercantec, signed in on the catalogue's pages."""
    add_member(app, "admin@mercantec.example", mercantec["id"], "school_admin", "Mette Lund")
    sign_in_directly(app, client, "admin@mercantec.example")
    return client


def during(clock, number: int, app=None, client=None) -> None:
    """The clock at ten past the start of the course's day `number`; with `client`, Mette signed in again then
    (a session started a month earlier has ended)."""
    clock.at = in_days(30 + number - 1) + timedelta(minutes=10)
    if client is not None:
        sign_in_directly(app, client, "admin@mercantec.example", now=clock.at)


def participants_url(offering) -> str:
    return f"/skole/udbud/{offering['id']}/deltagere"


def attendance_url(offering) -> str:
    return f"/skole/udbud/{offering['id']}/fremmoede"


# --- The participant list and the message -----------------------------------------------------------

def test_the_school_sees_its_participants_with_status_and_place_in_line(mette, offering, places):
    shown = page(mette, participants_url(offering))

    text = " ".join(shown.html.split())
    for expected in ("Anne", "Bent", "Carla", "Viborg Kommune", "Bekræftet", "Venteliste nr. 1"):
        assert expected in text
    assert "@viborg.example" not in text  # a school never sees e-mail addresses


def test_the_csv_export_is_the_enrolment_services(mette, offering, places):
    answer = mette.get(participants_url(offering) + ".csv")

    assert answer.status_code == 200
    assert answer.content_type == "text/csv; charset=utf-8"
    lines = answer.get_data(as_text=True).removeprefix("\ufeff").splitlines()
    assert lines[0] == "Navn;Organisation;Status;Plads på venteliste"
    assert lines[1:] == ["Anne;Viborg Kommune;Bekræftet;", "Bent;Viborg Kommune;Bekræftet;",
                         "Carla;Viborg Kommune;Venteliste;1"]


def test_a_message_goes_to_the_confirmed_and_the_page_says_to_how_many(mette, offering, places, enrolment_app):
    form = page(mette, participants_url(offering))

    sent = post_form(mette, participants_url(offering) + "/besked",
                     {"csrf_token": csrf_from(form), "subject": "Husk pc", "text": "Tag en bærbar med."})

    assert sent.status_code == 303
    assert "Beskeden er sendt til 2 tilmeldte." in page(mette, participants_url(offering)).html
    with enrolment_app.app_context():
        mails = enrolment_db.session.scalars(select(OutboxMessage).where(OutboxMessage.subject == "Husk pc")).all()
        assert sorted(mail.recipient for mail in mails) == ["anne@viborg.example", "bent@viborg.example"]
        entry = enrolment_db.session.scalars(select(AuditEntry)
                                             .where(AuditEntry.action == "offering.message_sent")).one()
        assert entry.actor_name.startswith("Mette Lund <admin@mercantec.example>")


def test_a_message_without_a_subject_is_shown_beside_the_field_with_the_text_kept(mette, offering, places,
                                                                                   enrolment_app):
    form = page(mette, participants_url(offering))

    refused = post_form(mette, participants_url(offering) + "/besked",
                        {"csrf_token": csrf_from(form), "subject": " ", "text": "Tag en bærbar med."})

    assert refused.status_code == 422
    html = refused.get_data(as_text=True)
    assert 'id="subject-fejl"' in html and "Tag en bærbar med.</textarea>" in html
    with enrolment_app.app_context():
        assert enrolment_db.session.scalars(select(OutboxMessage).where(OutboxMessage.body.like("%bærbar%"))).all() \
            == []


# --- Attendance and completion --------------------------------------------------------------------

def test_the_school_marks_a_begun_day_and_then_records_completion(app, mette, offering, places, clock, enrolment_app):
    during(clock, 1, app, mette)
    sheet = page(mette, attendance_url(offering))
    first, second = (session["id"] for session in offering["sessions"])
    assert "Dagen er ikke begyndt endnu." in sheet.html  # day 2
    assert "kursets sidste dag er begyndt" in sheet.html

    saved = post_form(mette, f"{attendance_url(offering)}/{first}",
                      {"csrf_token": csrf_from(sheet), "attended": [str(places["Anne"])]})
    assert saved.status_code == 303
    after = page(mette, attendance_url(offering))
    assert "Fremmødet er gemt" in after.html and "1 af 2 mødt" in after.html
    assert after.one("input", id=f"attended-{first}-{places['Anne']}").get("checked") is not None
    assert after.one("input", id=f"attended-{first}-{places['Bent']}").get("checked") is None

    during(clock, 2, app, mette)
    done = post_form(mette, f"/skole/udbud/{offering['id']}/gennemfoert/{places['Anne']}",
                     {"csrf_token": csrf_from(page(mette, attendance_url(offering))), "result": "completed",
                      "note": ""})
    assert done.status_code == 303
    final = page(mette, attendance_url(offering))
    assert "Anne: gennemført er gemt." in final.html
    assert final.one("input", id=f"result-{places['Anne']}-completed").get("checked") is not None
    assert f'id="attended-{second}-{places["Anne"]}"' in final.html  # day 2 can be marked now


def test_completion_errors_are_shown_beside_the_participants_fields(app, mette, offering, places, clock):
    during(clock, 2, app, mette)
    sheet = page(mette, attendance_url(offering))
    url = f"/skole/udbud/{offering['id']}/gennemfoert/{places['Bent']}"

    too_long = post_form(mette, url, {"csrf_token": csrf_from(sheet), "result": "not_completed", "note": "x" * 501})
    no_result = post_form(mette, url, {"csrf_token": csrf_from(sheet), "note": "Syg"})

    assert too_long.status_code == 422
    assert f'id="note-{places["Bent"]}-fejl"' in too_long.get_data(as_text=True)
    assert "x" * 501 + "</textarea>" in too_long.get_data(as_text=True)
    assert no_result.status_code == 422 and f'id="result-{places["Bent"]}-fejl"' in no_result.get_data(as_text=True)


def test_a_refusal_of_the_enrolment_service_is_shown_at_the_top(app, mette, offering, places, clock):
    during(clock, 1, app, mette)
    sheet = page(mette, attendance_url(offering))

    refused = post_form(mette, f"/skole/udbud/{offering['id']}/gennemfoert/{places['Anne']}",
                        {"csrf_token": csrf_from(sheet), "result": "completed"})

    assert refused.status_code == 409
    assert "sidste dag er begyndt" in re.sub(r"\s+", " ", refused.get_data(as_text=True))


# --- Who may, and the enrolment service down ---------------------------------------------------------

def test_without_signing_in_the_desk_sends_you_to_sign_in(client, offering):
    for url in (participants_url(offering), attendance_url(offering), participants_url(offering) + ".csv"):
        answer = client.get(url)
        assert answer.status_code == 302 and "/log-ind" in answer.headers["Location"]


def test_another_schools_offering_is_forbidden(app, client, offering, make_school, places):
    other = make_school("Tech College Aalborg")
    add_member(app, "admin@techcollege.example", other["id"], "school_admin", "Tove Berg")
    sign_in_directly(app, client, "admin@techcollege.example")

    assert client.get(participants_url(offering)).status_code == 403
    assert client.get(attendance_url(offering)).status_code == 403
    assert client.get(participants_url(offering) + ".csv").status_code == 403


def test_the_enrolment_service_down_is_a_danish_page_with_503(mette, offering, places, enrolment_link):
    enrolment_link.down = True

    for url in (participants_url(offering), attendance_url(offering)):
        answer = mette.get(url)
        assert answer.status_code == 503
        assert answer.headers["Retry-After"] == "30"
        assert "Tilmeldingstjenesten kan ikke nås lige nu" in answer.get_data(as_text=True)


def test_the_schools_desk_links_each_published_offering_to_its_participants(mette, offering):
    desk = page(mette, "/skole")

    assert participants_url(offering) in desk.hrefs("/skole/udbud/")

"""The enrolment service's HTML pages through the test client: a leader's request and "Mine kurser", HR's pages.

Forms are posted as multipart/form-data, as the pages' forms are.
"""

from __future__ import annotations

import io
import re
from datetime import timedelta
from html.parser import HTMLParser

import pytest
from sqlalchemy import select

from catalogue.models import db as catalogue_db
from catalogue.offerings import create_offering
from enrolment.models import ACCOUNTS, OfferingSeats, Organisation, OutboxMessage, Participant, db
from shared.auth import Role, issue_token
from shared.clock import copenhagen_today
from shared.db import utcnow
from shared.schemas import OfferingSchema
from tests.accounts import add_member, sign_in_directly
from tests.catalogue.fixtures import ADMIN, offering_data
from tests.conftest import TOKEN_SECRET

# --- Helpers --------------------------------------------------------------------------------------


def csrf(client) -> str:
    """This session's CSRF token, as a page's form carries it."""
    page = client.get("/hr/log-ind").get_data(as_text=True)
    return re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)


def post_form(client, url: str, data: dict | None = None, *, with_csrf: bool = True, **kwargs):
    form = dict(data or {})
    if with_csrf:
        form["csrf_token"] = csrf(client)
    return client.post(url, data=form, content_type="multipart/form-data", **kwargs)


MEMBER_ROLES = ("hr", "hr_admin", "approver")


def sign_in(client, role: str = "hr", **scope):
    """HR (or an approver) of an organisation signed in as a used sign-in link leaves the browser; an
    operator (role admin, school, …) by pasting a token, whose response is returned."""
    if role not in MEMBER_ROLES:
        return post_form(client, "/hr/log-ind", {"token": issue_token(TOKEN_SECRET, Role(role), **scope)})
    app, key = client.application, scope.get("organisation", "791")
    email = f"{role}@{key}.example"
    with app.app_context():
        organisation_id = db.session.scalar(select(Organisation.id).where(Organisation.key == key))
        known = db.session.scalar(select(ACCOUNTS.Person.id).where(ACCOUNTS.Person.email_key == email))
    if known is None:
        add_member(app, email, organisation_id, role, f"HR-medarbejder {key}")
    sign_in_directly(app, client, email)
    return None


def text(response) -> str:
    return response.get_data(as_text=True)


def api_enrolments(client, hr, organisation="791") -> dict:
    return {item["participant"]["name"]: item for item in
            client.get("/enrolments", headers=hr(organisation)).get_json()["items"]}


def participant(app, email: str) -> Participant:
    with app.app_context():
        found = db.session.query(Participant).filter_by(email=email).one()
        db.session.expunge(found)
        return found


class Page(HTMLParser):
    """What the accessibility checks need of a page: fields, labels, ids, references, headings."""

    def __init__(self, html: str):
        super().__init__()
        self.fields, self.labels, self.ids, self.described, self.headings, self.lang = [], set(), set(), [], [], None
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "html":
            self.lang = attrs.get("lang")
        if "id" in attrs:
            self.ids.add(attrs["id"])
        if tag == "label" and "for" in attrs:
            self.labels.add(attrs["for"])
        if tag in ("input", "select", "textarea") and attrs.get("type") != "hidden":
            self.fields.append(attrs)
        if attrs.get("aria-describedby"):
            self.described.extend(attrs["aria-describedby"].split())
        if re.fullmatch(r"h[1-6]", tag):
            self.headings.append(int(tag[1]))


def assert_accessible(response) -> Page:
    page = Page(text(response))
    assert page.lang == "da"
    unlabelled = [field for field in page.fields if field.get("id") not in page.labels]
    assert unlabelled == []
    assert set(page.described) <= page.ids
    assert page.headings[0] == 1
    assert all(later - earlier <= 1 for earlier, later in zip(page.headings, page.headings[1:], strict=False))
    return page


# --- Fixtures -------------------------------------------------------------------------------------

@pytest.fixture
def offering(make_school, make_offering):
    return make_offering(make_school("Mercantec"), module="GLU-1", capacity=2, min_participants=1)


@pytest.fixture
def viborg(make_organisation):
    return make_organisation("791", name="Viborg Kommune", requires_approval=True)


@pytest.fixture
def randers(make_organisation):
    return make_organisation("730", name="Randers Kommune", requires_approval=False)


def ask(client, offering, organisation="791", name="Lene Leder", email="lene@viborg.example", **kwargs):
    return post_form(client, f"/anmod/{offering['id']}",
                     {"navn": name, "email": email, "organisation": organisation}, **kwargs)


# --- Tilmeld mig ----------------------------------------------------------------------------------

def test_request_page_shows_the_offering_and_the_organisations(client, offering, viborg, randers):
    response = client.get(f"/anmod/{offering['id']}")

    page = text(response)
    assert response.status_code == 200
    assert "Introduktion til ledelse" in page and "Mercantec" in page
    assert '<option value="791">Viborg Kommune</option>' in page
    assert page.index("Randers Kommune") < page.index("Viborg Kommune")  # by name
    assert_accessible(response)


def confirmation_link(app, email: str) -> str:
    """The path of the confirmation link in the newest mail to `email`."""
    with app.app_context():
        mail = (db.session.query(OutboxMessage).filter_by(kind="mail", recipient=email)
                .order_by(OutboxMessage.id.desc()).first())
        return re.search(r"https?://[^/\s]+(/anmod/bekraeft/\S+)", mail.body).group(1)


def press(client, link: str):
    page = client.get(link)
    csrf_token = re.search(r'name="csrf_token" value="([^"]+)"', text(page)).group(1)
    return client.post(link, data={"csrf_token": csrf_token}, content_type="multipart/form-data")


def test_a_request_counts_only_once_the_address_confirms_it(app, client, offering, viborg, hr):
    response = ask(client, offering)

    page = text(response)
    assert response.status_code == 200 and "Bekræft din anmodning" in page and "Afventer bekræftelse" in page
    lene = participant(app, "lene@viborg.example")
    assert lene.page_token not in page and lene.feed_token not in page  # the sender is not verified
    assert "Lene Leder" not in api_enrolments(client, hr)  # in no one's queue
    with app.app_context():
        assert db.session.get(OfferingSeats, offering["id"]).confirmed == 0  # holds no seat

    link = confirmation_link(app, "lene@viborg.example")
    assert "Bekræft anmodningen" in text(client.get(link))  # opening the link decides nothing
    assert "Lene Leder" not in api_enrolments(client, hr)
    confirmed = press(client, link)

    assert confirmed.status_code == 200
    assert "HR i Viborg Kommune skal nu godkende" in text(confirmed)
    assert api_enrolments(client, hr)["Lene Leder"]["status"] == "pending_approval"
    with app.app_context():
        # The main mail, not the short calendar update for each further day of the course.
        mail = (db.session.query(OutboxMessage).filter_by(kind="mail", recipient="lene@viborg.example")
                .filter(OutboxMessage.subject.not_like("%(dag %")).order_by(OutboxMessage.id.desc()).first())
        assert f"/mine-kurser/{lene.page_token}" in mail.body and "modtaget" in mail.subject
    again = press(client, link)
    assert again.status_code == 409 and "allerede bekræftet" in text(again)


def test_a_confirmed_request_without_approval_gets_a_seat_then_the_waiting_list(app, client, offering, randers):
    pages = []
    for name in ("Anne", "Bent", "Carla"):
        ask(client, offering, organisation="730", name=name, email=f"{name.lower()}@randers.example")
        pages.append(text(press(client, confirmation_link(app, f"{name.lower()}@randers.example"))))

    assert "Du er tilmeldt" in pages[0] and "Bekræftet" in pages[0]
    assert "venteliste som nr. 1" in pages[2]


def test_a_stranger_cannot_rename_someone_or_learn_of_their_places(app, client, offering, viborg, enrol, hr):
    enrol(offering, "Anne Andersen", email="anne@viborg.example")

    response = ask(client, offering, name="Nogen Andet", email="anne@viborg.example")

    assert response.status_code == 200 and "allerede" not in text(response)
    assert participant(app, "anne@viborg.example").name == "Anne Andersen"
    assert [item["participant"]["name"] for item in api_enrolments(client, hr).values()] == ["Anne Andersen"]
    told = press(client, confirmation_link(app, "anne@viborg.example"))
    assert told.status_code == 409 and "allerede tilmeldt" in text(told)


def test_an_old_or_altered_confirmation_link_is_refused(app, client, offering, viborg):
    ask(client, offering)
    link = confirmation_link(app, "lene@viborg.example")

    altered = client.get(link[:-3] + ("abc" if not link.endswith("abc") else "xyz"))
    app.config["CLOCK"] = lambda: utcnow() + timedelta(hours=48, minutes=1)
    expired = client.get(link)

    assert altered.status_code == 400 and "ugyldigt" in text(altered)
    assert expired.status_code == 400 and "udløbet" in text(expired)


def test_bad_email_is_shown_next_to_the_field_and_the_typed_values_are_kept(client, offering, viborg):
    response = ask(client, offering, name="Lene Leder", email="lene-at-viborg")

    page = text(response)
    assert response.status_code == 422
    assert re.search(r'<p class="error" id="email-error">.*Ugyldig e-mailadresse\.</p>', page)
    email_input = re.search(r'<input id="email"[^>]*>', page).group(0)
    assert 'aria-invalid="true"' in email_input and "email-error" in email_input
    assert 'value="lene-at-viborg"' in email_input
    assert 'value="Lene Leder"' in page
    assert '<option value="791" selected>Viborg Kommune</option>' in page
    assert_accessible(response)


def test_missing_name_and_organisation_are_named_in_danish(client, offering, viborg):
    response = ask(client, offering, name="  ", organisation="")

    page = text(response)
    assert response.status_code == 422
    assert re.search(r'id="navn-error">.*Feltet skal udfyldes\.', page)
    assert re.search(r'id="organisation-error">.*Feltet skal udfyldes\.', page)


def test_unknown_organisation_is_shown_at_its_field(client, offering, viborg):
    page = text(ask(client, offering, organisation="999"))

    assert re.search(r"id=\"organisation-error\">.*Organisationen &#39;999&#39; findes ikke\.", page)


def test_a_cancelled_offering_shows_the_domains_message_at_the_top(client, offering, viborg, catalogue_client, auth):
    catalogue_client.post(f"/offerings/{offering['id']}/cancel", json={},
                          headers=auth("school", provider_id=offering["provider_id"]))

    response = ask(client, offering)

    assert response.status_code == 422
    assert re.search(r'class="error-summary".*<li>Udbuddet er aflyst\.</li>', text(response), re.S)


def test_request_without_csrf_is_refused(client, offering, viborg, hr):
    response = ask(client, offering, with_csrf=False)

    assert response.status_code == 400
    assert response.mimetype == "text/html"
    assert api_enrolments(client, hr) == {}


def test_catalogue_down_is_a_friendly_page(client, offering, viborg, catalogue_link):
    catalogue_link.down = True

    response = client.get(f"/anmod/{offering['id']}")

    assert response.status_code == 503
    assert int(response.headers["Retry-After"]) > 0
    assert "Kataloget kan ikke nås lige nu" in text(response)


def test_unknown_or_draft_offering_is_a_404_page(client, make_school, make_offering, viborg):
    draft = make_offering(make_school(), status="draft")

    for offering_id in (987654, draft["id"]):
        response = client.get(f"/anmod/{offering_id}")
        assert response.status_code == 404
        assert '<html lang="da">' in text(response)


def test_demo_offering_shows_the_demo_banner(client, catalogue_app, glu, make_school, viborg):
    school = make_school()
    with catalogue_app.app_context():
        demo = OfferingSchema().dump(create_offering(catalogue_db.session, ADMIN, offering_data(school), demo=True))
        catalogue_db.session.commit()

    assert "Demodata:" in text(client.get(f"/anmod/{demo['id']}"))


# --- Mine kurser ----------------------------------------------------------------------------------

def test_my_courses_shows_the_course_status_and_calendar_link(app, client, offering, viborg, enrol):
    enrol(offering, "Anne")
    enrol(offering, "Bent")
    enrol(offering, "Carla")
    anne, carla = participant(app, "anne@kommune.example"), participant(app, "carla@kommune.example")

    response = client.get(f"/mine-kurser/{anne.page_token}")
    waiting = text(client.get(f"/mine-kurser/{carla.page_token}"))

    page = text(response)
    assert response.status_code == 200
    assert "Introduktion til ledelse" in page and "Mercantec" in page and "Bekræftet" in page
    assert f'href="webcal://localhost/feeds/participants/{anne.feed_token}.ics"' in page
    assert re.search(rf'<input id="kalender-link" type="text" value="http://localhost/feeds/participants/'
                     rf'{anne.feed_token}\.ics" readonly', page)
    assert "opdateres af sig selv" in page
    assert ">Meld fra<" in page
    assert "Venteliste nr. 1" in waiting
    assert response.headers["Cache-Control"] == "private, no-store"
    assert response.headers["Referrer-Policy"] == "no-referrer"
    assert_accessible(response)


def test_cancelling_from_my_courses_promotes_the_first_on_the_waiting_list(app, client, offering, viborg, enrol, hr):
    anne_id = enrol(offering, "Anne").get_json()["id"]
    enrol(offering, "Bent")
    enrol(offering, "Carla")
    anne = participant(app, "anne@kommune.example")

    response = post_form(client, f"/mine-kurser/{anne.page_token}/afmeld/{anne_id}")

    assert response.status_code == 303
    page = text(client.get(response.headers["Location"]))
    assert "Du er meldt fra Introduktion til ledelse." in page
    assert "Afmeldt" in page and ">Meld fra<" not in page
    statuses = {name: item["status"] for name, item in api_enrolments(client, hr).items()}
    assert statuses == {"Anne": "cancelled", "Bent": "confirmed", "Carla": "confirmed"}


def test_a_leader_cannot_cancel_someone_elses_place(app, client, offering, viborg, enrol, hr):
    enrol(offering, "Anne")
    bent_id = enrol(offering, "Bent").get_json()["id"]
    anne = participant(app, "anne@kommune.example")

    response = post_form(client, f"/mine-kurser/{anne.page_token}/afmeld/{bent_id}")

    assert response.status_code == 404
    assert api_enrolments(client, hr)["Bent"]["status"] == "confirmed"


def test_no_cancel_button_after_the_deadline(app, client, offering, viborg, enrol):
    anne_id = enrol(offering, "Anne").get_json()["id"]
    anne = participant(app, "anne@kommune.example")
    with app.app_context():
        db.session.get(OfferingSeats, offering["id"]).enrolment_deadline = copenhagen_today() - timedelta(days=1)
        db.session.commit()

    page = text(client.get(f"/mine-kurser/{anne.page_token}"))
    refused = post_form(client, f"/mine-kurser/{anne.page_token}/afmeld/{anne_id}", follow_redirects=True)

    assert ">Meld fra<" not in page and "Fristen for at melde fra her er overskredet" in page
    assert "Fejl: Tilmeldingsfristen er overskredet" in text(refused)


def test_wrong_token_is_a_404_page(client):
    response = client.get("/mine-kurser/not-a-real-token")

    assert response.status_code == 404
    assert response.mimetype == "text/html"
    assert '<html lang="da">' in text(response)


# --- HR: signing in and out -----------------------------------------------------------------------

def test_hr_is_sent_to_sign_in_by_e_mail(client, viborg):
    assert client.get("/hr").headers["Location"] == "/log-ind?next=/hr"
    sign_in(client)
    assert client.get("/hr").status_code == 200


def test_the_token_page_signs_in_administrators_and_honours_a_local_next_only(client, viborg):
    token = issue_token(TOKEN_SECRET, Role.ADMIN)

    local = post_form(client, "/hr/log-ind?next=/hr/tilmeld", {"token": token})
    foreign = post_form(client, "/hr/log-ind", {"token": token, "next": "//evil.example/hr"})

    assert local.headers["Location"] == "/hr/tilmeld"
    assert foreign.headers["Location"] == "/hr"


def test_invalid_token_is_shown_next_to_the_field(client):
    response = post_form(client, "/hr/log-ind", {"token": "not-a-token"})

    assert response.status_code == 422
    assert re.search(r'id="token-error">.*Adgangsnøglen er ugyldig\.', text(response))
    assert client.get("/hr").status_code == 302


@pytest.mark.parametrize("role, scope", [("hr", {"organisation": "791"}), ("school", {"provider_id": 1})])
def test_only_administrators_tokens_are_taken_on_the_token_page(client, role, scope):
    response = post_form(client, "/hr/log-ind", {"token": issue_token(TOKEN_SECRET, Role(role), **scope)})

    assert response.status_code == 422
    assert "Kun administratorer" in text(response)
    assert client.get("/hr").headers["Location"] == "/log-ind?next=/hr"


def test_session_cookie_is_httponly_and_samesite_lax(client, viborg):
    cookie = sign_in(client, "admin").headers["Set-Cookie"]

    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie


def test_sign_out_clears_the_session(client, viborg):
    sign_in(client)

    response = post_form(client, "/hr/log-ud")

    assert response.status_code == 303
    assert client.get("/hr").status_code == 302
    with client.session_transaction() as session:
        assert "sid" not in session


def test_sign_out_without_csrf_is_refused(client, viborg):
    sign_in(client)

    assert post_form(client, "/hr/log-ud", with_csrf=False).status_code == 400
    assert client.get("/hr").status_code == 200


# --- HR: the organisation's enrolments ------------------------------------------------------------

def test_hr_sees_only_its_own_organisations_people(client, offering, viborg, randers, enrol):
    enrol(offering, "Anne", organisation="791")
    enrol(offering, "Bent", organisation="730")
    sign_in(client)

    response = client.get("/hr")

    page = text(response)
    assert "Tilmeldinger – Viborg Kommune" in page
    assert "Anne" in page and "Bent" not in page
    assert "Introduktion til ledelse (GLU-1) – Mercantec" in page
    assert "/feeds/organisations/" in page and "webcal://" in page
    assert response.headers["Cache-Control"] == "private, no-store"
    assert_accessible(response)


def test_status_filter(client, offering, viborg, enrol):
    for name in ("Anne", "Bent", "Carla"):
        enrol(offering, name)
    sign_in(client)

    page = text(client.get("/hr?status=waitlisted"))

    assert "Carla" in page and "Anne" not in page
    assert '<option value="waitlisted" selected>' in page


def test_hr_approves_and_rejects_requests_through_the_forms(app, client, offering, viborg, hr):
    for name in ("Lene", "Mads"):
        ask(client, offering, name=name, email=f"{name.lower()}@viborg.example")
        press(client, confirmation_link(app, f"{name.lower()}@viborg.example"))
    ids = {name: item["id"] for name, item in api_enrolments(client, hr).items()}
    sign_in(client)

    approved = post_form(client, f"/hr/tilmeldinger/{ids['Lene']}/godkend", {"tilbage": "/hr?status=pending_approval"})
    back = client.get(approved.headers["Location"])
    rejected = post_form(client, f"/hr/tilmeldinger/{ids['Mads']}/afvis", follow_redirects=True)

    assert approved.status_code == 303 and approved.headers["Location"] == "/hr?status=pending_approval"
    assert "Anmodningen fra Lene er godkendt: Bekræftet." in text(back)
    assert "Anmodningen fra Mads er afvist." in text(rejected)
    statuses = {name: item["status"] for name, item in api_enrolments(client, hr).items()}
    assert statuses == {"Lene": "confirmed", "Mads": "rejected"}


def test_hr_cancels_and_the_waiting_list_moves_up(client, offering, viborg, enrol, hr):
    anne = enrol(offering, "Anne").get_json()
    enrol(offering, "Bent")
    enrol(offering, "Carla")
    sign_in(client)

    page = text(post_form(client, f"/hr/tilmeldinger/{anne['id']}/afmeld", follow_redirects=True))

    assert "Anne er meldt fra." in page
    assert api_enrolments(client, hr)["Carla"]["status"] == "confirmed"


def test_hr_hands_a_place_over(client, offering, viborg, enrol, hr):
    anne = enrol(offering, "Anne").get_json()
    sign_in(client)

    page = text(post_form(client, f"/hr/tilmeldinger/{anne['id']}/overdrag",
                          {"navn": "Dorte", "email": "dorte@kommune.example"}, follow_redirects=True))
    invalid = text(post_form(client, f"/hr/tilmeldinger/{anne['id']}/overdrag",
                             {"navn": "Erik", "email": "erik"}, follow_redirects=True))

    assert "Pladsen er overdraget til Dorte (Bekræftet)." in page
    assert "Fejl: Pladsen er ikke overdraget. E-mail: Ugyldig e-mailadresse." in invalid
    listed = api_enrolments(client, hr)
    assert list(listed) == ["Dorte"] and listed["Dorte"]["id"] == anne["id"]


def test_domain_refusals_become_messages_not_errors(client, offering, viborg, randers, enrol):
    anne = enrol(offering, "Anne").get_json()
    bent = enrol(offering, "Bent", organisation="730").get_json()
    sign_in(client)

    not_pending = post_form(client, f"/hr/tilmeldinger/{anne['id']}/godkend", follow_redirects=True)
    other_organisation = post_form(client, f"/hr/tilmeldinger/{bent['id']}/afmeld", follow_redirects=True)

    assert not_pending.status_code == 200
    assert ("Fejl: Anmodningen er allerede behandlet (bekræftet); kun en anmodning, der venter på godkendelse, "
            "kan godkendes.") in text(not_pending)
    assert f"Fejl: Tilmelding {bent['id']} findes ikke." in text(other_organisation)


def test_hr_form_post_without_csrf_is_refused(client, offering, viborg, enrol, hr):
    anne = enrol(offering, "Anne").get_json()
    sign_in(client)

    response = post_form(client, f"/hr/tilmeldinger/{anne['id']}/afmeld", with_csrf=False)

    assert response.status_code == 400
    assert api_enrolments(client, hr)["Anne"]["status"] == "confirmed"


def test_hr_actions_need_signing_in(client, offering, viborg, enrol, hr):
    anne = enrol(offering, "Anne").get_json()

    response = post_form(client, f"/hr/tilmeldinger/{anne['id']}/afmeld")

    assert response.status_code == 303 and response.headers["Location"].startswith("/log-ind")
    assert api_enrolments(client, hr)["Anne"]["status"] == "confirmed"


def test_export_downloads_the_organisations_list(client, offering, viborg, randers, enrol):
    enrol(offering, "Anne")
    enrol(offering, "Bent", organisation="730")
    assert client.get("/hr/eksport.csv").status_code == 302
    sign_in(client)

    response = client.get("/hr/eksport.csv")

    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    assert 'filename="tilmeldinger-791.csv"' in response.headers["Content-Disposition"]
    body = response.get_data().decode("utf-8-sig")
    assert "Anne" in body and "Bent" not in body


def test_admin_chooses_an_organisation(client, offering, viborg, randers, enrol):
    enrol(offering, "Anne", organisation="791")
    enrol(offering, "Bent", organisation="730")
    sign_in(client, "admin")

    chooser = client.get("/hr")
    randers_page = text(client.get("/hr?organisation=730"))

    assert "Vælg organisation" in text(chooser)
    assert_accessible(chooser)
    assert "Bent" in randers_page and "Anne" not in randers_page


# --- HR: enrolling many ---------------------------------------------------------------------------

PEOPLE = "Anne Andersen;anne@viborg.example\nBent Berg;bent@viborg.example\nCarla;carla@viborg.example\n" \
         "Ugyldig;ikke-en-adresse\nAnne igen;ANNE@viborg.example\n"


def test_batch_dry_run_shows_each_rows_outcome_and_writes_nothing(client, offering, viborg, hr, catalogue_client):
    sign_in(client)

    response = post_form(client, "/hr/tilmeld", {"udbud": str(offering["id"]), "deltagere": PEOPLE})

    page = text(response)
    assert response.status_code == 200
    rows = re.findall(r'<th scope="row">(\d)</th>.*?<span class="badge[^"]*">([^<]+)</span>', page, re.S)
    assert rows == [("1", "Bekræftet"), ("2", "Bekræftet"), ("3", "Venteliste nr. 1"), ("4", "Ugyldig"),
                    ("5", "Dublet")]
    assert "e-mail: Ugyldig e-mailadresse." in page and "Står allerede i listen (række 1)." in page
    assert 'name="data"' in page and ">Bekræft tilmelding<" in page
    assert api_enrolments(client, hr) == {}
    assert catalogue_client.get(f"/offerings/{offering['id']}").get_json()["seats_available"] == 2
    assert_accessible(response)


def test_batch_confirm_enrols_the_valid_rows_when_partial(client, offering, viborg, hr):
    sign_in(client)
    preview = text(post_form(client, "/hr/tilmeld", {"udbud": str(offering["id"]), "deltagere": PEOPLE}))
    data = re.search(r'name="data" value="([^"]+)"', preview).group(1).replace("&#34;", '"')

    all_or_nothing = post_form(client, "/hr/tilmeld/bekraeft", {"udbud": str(offering["id"]), "data": data})
    assert all_or_nothing.status_code == 422
    assert "Ingen er tilmeldt, fordi 1 række(r) er ugyldige." in text(all_or_nothing)
    assert api_enrolments(client, hr) == {}

    done = post_form(client, "/hr/tilmeld/bekraeft", {"udbud": str(offering["id"]), "data": data, "delvis": "ja"})

    assert done.status_code == 200
    assert "Tilmeldingen er gennemført" in text(done)
    statuses = {name: item["status"] for name, item in api_enrolments(client, hr).items()}
    assert statuses == {"Anne Andersen": "confirmed", "Bent Berg": "confirmed", "Carla": "waitlisted"}


def test_batch_from_a_csv_file(client, offering, viborg, hr):
    sign_in(client)
    upload = (io.BytesIO("\ufeffnavn;e-mail\r\nSøren Ærø;soren@viborg.example\r\n".encode()), "liste.csv")

    preview = text(post_form(client, "/hr/tilmeld", {"udbud": str(offering["id"]), "fil": upload}))
    data = re.search(r'name="data" value="([^"]+)"', preview).group(1).replace("&#34;", '"')
    post_form(client, "/hr/tilmeld/bekraeft", {"udbud": str(offering["id"]), "data": data})

    assert "Søren Ærø" in preview
    assert api_enrolments(client, hr)["Søren Ærø"]["source"] == "batch"


def test_batch_form_errors_are_shown_at_their_fields(client, offering, viborg):
    sign_in(client)

    missing = text(post_form(client, "/hr/tilmeld", {"udbud": "", "deltagere": ""}))
    unknown = text(post_form(client, "/hr/tilmeld", {"udbud": "987654", "deltagere": "A;a@b.example"}))
    bad_file = text(post_form(client, "/hr/tilmeld", {"udbud": str(offering["id"]),
                                                      "fil": (io.BytesIO(b"who;where\nA;B\n"), "x.csv")}))

    assert re.search(r'id="udbud-error">.*Skriv udbuddets nummer\.', missing)
    assert re.search(r'id="deltagere-error">.*Skriv deltagerne', missing)
    assert re.search(r'id="udbud-error">.*Udbud 987654 findes ikke i kataloget\.', unknown)
    assert 'value="A;a@b.example"' not in unknown and "A;a@b.example</textarea>" in unknown
    assert re.search(r'id="fil-error">.*Første linje skal være kolonnenavnene', bad_file)


def test_batch_without_csrf_is_refused(client, offering, viborg):
    sign_in(client)

    response = post_form(client, "/hr/tilmeld", {"udbud": str(offering["id"]), "deltagere": PEOPLE},
                         with_csrf=False)

    assert response.status_code == 400


# --- Every page -----------------------------------------------------------------------------------

def test_every_page_is_danish_with_labelled_fields_and_ordered_headings(client, offering, viborg, enrol, app):
    enrol(offering, "Anne")
    anne = participant(app, "anne@kommune.example")
    anonymous = ["/", "/hr/log-ind", f"/anmod/{offering['id']}", f"/mine-kurser/{anne.page_token}"]
    for url in anonymous:
        assert_accessible(client.get(url))
    sign_in(client)
    for url in ["/hr", "/hr/tilmeld", "/hr?status=confirmed"]:
        response = client.get(url)
        assert response.status_code == 200
        assert_accessible(response)

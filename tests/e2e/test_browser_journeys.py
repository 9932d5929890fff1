"""What people do in a real browser, against both services running with seed data."""

from __future__ import annotations

import httpx
import vobject

from shared.auth import Role, issue_token
from tests.conftest import TOKEN_SECRET
from tests.e2e.conftest import sign_in_by_link
from tests.oidc_provider.fixtures import ANNA, CLIENT, SCHOOL_DOMAIN, oidc_provider  # noqa: F401 (a fixture)


def bearer(role: Role, **scope) -> dict:
    return {"Authorization": f"Bearer {issue_token(TOKEN_SECRET, role, **scope)}"}


def an_offering(catalogue_url: str, **query) -> dict:
    response = httpx.get(f"{catalogue_url}/offerings", params={"per_page": 1, "date_from": "2027-01-15", **query})
    return response.json()["items"][0]


def test_visitor_finds_module_3_in_midtjylland_and_downloads_its_calendar(system, page):
    catalogue_url, _ = system
    page.goto(f"{catalogue_url}/soeg")

    page.get_by_label("Modul").select_option("GLU-3")
    page.get_by_label("Region").select_option(label="Region Midtjylland")
    page.get_by_role("button", name="Søg").click()
    results = page.locator("ol.offerings > li")
    assert results.count() > 0
    assert all("Situationsbestemt ledelse" in text for text in results.all_inner_texts())
    found = [int(link.get_attribute("href").rstrip("/").rsplit("/", 1)[1]) for link in results.locator("h3 a").all()]
    regions = {httpx.get(f"{catalogue_url}/offerings/{offering_id}").json()["location"]["region"]
               for offering_id in found}
    assert regions == {"Region Midtjylland"}

    results.first.get_by_role("link").first.click()
    page.wait_for_url("**/udbud/*")
    assert "Situationsbestemt ledelse" in page.locator("h1").inner_text()
    ics_href = page.get_by_role("link", name="Download kalenderfil (.ics)").get_attribute("href")
    download = page.request.get(ics_href if ics_href.startswith("http") else catalogue_url + ics_href)

    assert download.status == 200
    assert download.headers["content-type"].startswith("text/calendar")
    calendar = vobject.readOne(download.text())
    offering_id = int(page.url.rstrip("/").rsplit("/", 1)[1])
    sessions = httpx.get(f"{catalogue_url}/offerings/{offering_id}").json()["sessions"]
    assert len(calendar.vevent_list) == len(sessions)
    assert {event.uid.value for event in calendar.vevent_list} == {f"glu-session-{s['id']}@glu-courses"
                                                                  for s in sessions}


def test_hr_enrols_two_staff_and_one_lands_on_the_waiting_list(system, page, mail_server):
    catalogue_url, enrolment_url = system
    offering = an_offering(catalogue_url, module="GLU-2")
    school = bearer(Role.SCHOOL, provider_id=offering["provider_id"])
    assert httpx.patch(f"{catalogue_url}/offerings/{offering['id']}", json={"capacity": 1, "min_participants": 1},
                       headers=school).status_code == 200

    sign_in_by_link(page, enrolment_url, "admin@randers.example", mail_server)
    page.goto(f"{enrolment_url}/hr/tilmeld")
    page.get_by_label("Udbuds-nr.").fill(str(offering["id"]))
    page.get_by_label("Deltagere").fill("Anne Andersen;anne@randers.example\nBo Berg;bo@randers.example")
    page.locator("form button").last.click()

    preview = page.locator("table").inner_text()
    assert "Bekræftet" in preview and "Venteliste" in preview
    page.get_by_role("button", name="Bekræft tilmelding").click()
    page.goto(f"{enrolment_url}/hr")

    listing = page.locator("main").inner_text()
    assert "Anne Andersen" in listing and "Bo Berg" in listing
    assert "Venteliste" in listing


def test_leaders_link_shows_the_course_and_its_subscription(system, page):
    catalogue_url, enrolment_url = system
    offering = an_offering(catalogue_url, module="GLU-5")
    hr = bearer(Role.HR, organisation="730")
    enrolled = httpx.post(f"{enrolment_url}/enrolments", headers=hr, json={
        "offering_id": offering["id"], "participant": {"name": "Lis Leder", "email": "lis@randers.example"}}).json()

    page.goto(enrolled["my_courses_url"])

    assert "Forandringsledelse" in page.locator("main").inner_text()
    subscription = page.get_by_label("Link til abonnement (kopiér det)").input_value()
    assert subscription == enrolled["calendar_url"]
    assert page.locator(f'a[href="{enrolled["calendar_webcal_url"]}"]').count() == 1
    feed = page.request.get(subscription)
    assert feed.status == 200
    assert "Forandringsledelse" in vobject.readOne(feed.text()).vevent.summary.value


def test_bad_email_is_shown_beside_the_field_and_the_rest_is_kept(system, page):
    catalogue_url, enrolment_url = system
    offering = an_offering(catalogue_url, module="GLU-1")
    page.goto(f"{enrolment_url}/anmod/{offering['id']}")

    page.get_by_label("Dit navn").fill("Lene Leder")
    page.get_by_label("Din e-mailadresse på arbejdet").fill("ikke-en-mail")
    page.get_by_label("Din arbejdsplads").select_option(label="Viborg Kommune")
    page.get_by_role("button", name="Send anmodning").click()

    email = page.get_by_label("Din e-mailadresse på arbejdet")
    assert email.get_attribute("aria-invalid") == "true"
    error_id = [part for part in email.get_attribute("aria-describedby").split() if part.endswith("-error")][0]
    assert "e-mail" in page.locator(f"#{error_id}").inner_text().lower()
    assert page.get_by_label("Dit navn").input_value() == "Lene Leder"
    assert email.input_value() == "ikke-en-mail"
    assert page.get_by_label("Din arbejdsplads").input_value() == "791"


def test_a_school_admin_signs_in_by_the_link_in_the_mail_and_out_again(system, page, mail_server):
    catalogue_url, _ = system
    page.goto(f"{catalogue_url}/skole")
    assert "/log-ind" in page.url

    sign_in_by_link(page, catalogue_url, "admin@mercantec.example", mail_server)

    assert page.url == f"{catalogue_url}/skole"
    assert "Logget ind som Mette Lund" in page.locator("header").inner_text()
    assert page.get_by_role("heading", level=1).inner_text().startswith("Mercantec")
    page.get_by_role("button", name="Log ud").click()
    assert "Du er logget ud." in page.locator("main").inner_text()
    page.goto(f"{catalogue_url}/skole")
    assert "/log-ind" in page.url


def test_a_school_admin_sets_up_single_sign_on_and_a_colleague_signs_in_at_the_schools_provider(
        system, page, mail_server, oidc_provider):  # noqa: F811 (the fixture imported above)
    catalogue_url, _ = system
    sign_in_by_link(page, catalogue_url, "admin@videndjurs.example", mail_server)
    page.goto(f"{catalogue_url}/medlemmer")
    page.get_by_label("Navn").fill("Anna Hansen")
    page.get_by_label("E-mailadresse").fill(ANNA.email)
    page.get_by_role("button", name="Send invitation").click()
    assert "Anna Hansen er inviteret" in page.locator("main").inner_text()
    page.get_by_label("Udbyderens adresse (issuer)").fill(oidc_provider.issuer)
    page.get_by_label("Klient-id").fill(CLIENT.client_id)
    page.get_by_label("Klienthemmelighed").fill(CLIENT.client_secret)
    page.get_by_label("E-maildomæner").fill(SCHOOL_DOMAIN)
    page.get_by_role("button", name="Gem single sign-on").click()
    assert "Single sign-on er gemt" in page.locator("main").inner_text()
    page.locator("header").get_by_role("button", name="Log ud").click()

    page.goto(f"{catalogue_url}/log-ind")
    page.get_by_label("E-mailadresse").fill(ANNA.email)
    page.get_by_role("button", name="Send mig et link").click()
    assert page.url.startswith(oidc_provider.issuer)  # at the school's own provider now
    page.locator("input[name=login]").fill(ANNA.sub)
    page.get_by_role("button", name="Log ind").click()

    page.wait_for_url(f"{catalogue_url}/skole")
    assert "Logget ind som Anna Hansen" in page.locator("header").inner_text()
    assert page.get_by_role("heading", level=1).inner_text() == "Viden Djurs"


def test_an_invited_colleague_accepts_by_the_mail_and_switches_between_organisations(system, page, mail_server):
    _, enrolment_url = system
    sign_in_by_link(page, enrolment_url, "admin@viborg.example", mail_server)
    page.goto(f"{enrolment_url}/medlemmer")
    page.get_by_label("Navn").fill("Kasper Munk")
    page.get_by_label("E-mailadresse").fill("admin@syddjurs.example")  # already Syddjurs' HR admin
    page.get_by_label("Rolle", exact=True).select_option(label="HR")
    page.get_by_role("button", name="Send invitation").click()
    assert "Kasper Munk er inviteret" in page.locator("main").inner_text()
    page.locator("header").get_by_role("button", name="Log ud").click()

    handler, _ = mail_server
    invitation = handler.messages()[-1]
    assert invitation["To"] == "admin@syddjurs.example" and "inviteret" in invitation["Subject"]
    link = next(line for line in invitation.get_body().get_content().splitlines() if "/log-ind/" in line)
    page.goto(link.strip())
    page.get_by_role("button", name="Log ind").click()
    assert page.get_by_role("heading", level=1).inner_text() == "Tilmeldinger – Viborg Kommune"

    page.get_by_label("Arbejd som").select_option(label="Syddjurs Kommune (HR-administrator)")
    page.locator("header").get_by_role("button", name="Skift").click()
    assert page.get_by_role("heading", level=1).inner_text() == "Tilmeldinger – Syddjurs Kommune"


def test_the_api_documentation_works_with_no_internet(system, page):
    catalogue_url, _ = system
    page.route(lambda url: not url.startswith(catalogue_url), lambda route: route.abort())  # no CDN, nothing outside

    page.goto(f"{catalogue_url}/docs")

    page.get_by_text("/offerings/{offering_id}/cancel").first.wait_for()

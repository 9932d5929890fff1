"""The catalogue's public HTML pages and a school's own page, through the test client (no browser)."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, time, timedelta
from html.parser import HTMLParser

import pytest
from sqlalchemy import select

from catalogue import pages
from catalogue.models import ACCOUNTS, Offering, db
from shared.auth import Role, issue_token
from shared.clock import copenhagen_today
from shared.schemas import COPENHAGEN
from tests.accounts import add_member, sign_in_directly
from tests.catalogue.fixtures import MODULE_TEXTS, location
from tests.conftest import TOKEN_SECRET

NOT_LABELLED_TYPES = {"hidden", "submit", "button", "reset", "image"}


class Page(HTMLParser):
    """What the tests look at in a page: attributes of every element, labels, JSON-LD and the text."""

    def __init__(self, html: str):
        super().__init__(convert_charrefs=True)
        self.elements: list[tuple[str, dict]] = []
        self.label_for: set[str] = set()
        self.json_ld: list = []
        self.text_parts: list[str] = []
        self._in_json_ld = False
        self.html = html
        self.feed(html)
        self.text = " ".join(" ".join(self.text_parts).split())

    def handle_starttag(self, tag, attrs):
        attributes = {name: (value if value is not None else "") for name, value in attrs}
        self.elements.append((tag, attributes))
        if tag == "label" and attributes.get("for"):
            self.label_for.add(attributes["for"])
        self._in_json_ld = tag == "script" and attributes.get("type") == "application/ld+json"

    def handle_endtag(self, tag):
        if tag == "script":
            self._in_json_ld = False

    def handle_data(self, data):
        if self._in_json_ld:
            self.json_ld.append(json.loads(data))
        else:
            self.text_parts.append(data)

    def all(self, tag: str, **wanted) -> list[dict]:
        return [attrs for name, attrs in self.elements if name == tag
                and all(attrs.get(key.rstrip("_")) == value for key, value in wanted.items())]

    def one(self, tag: str, **wanted) -> dict:
        found = self.all(tag, **wanted)
        assert len(found) == 1, (tag, wanted, found)
        return found[0]

    def hrefs(self, starting: str = "") -> list[str]:
        return [attrs["href"] for attrs in self.all("a") if attrs.get("href", "").startswith(starting)]

    def offering_ids(self) -> set[int]:
        return {int(href.rsplit("/", 1)[1]) for href in self.hrefs("/udbud/")}

    def unlabelled_fields(self) -> list[dict]:
        fields = [attrs for tag, attrs in self.elements
                  if tag in ("select", "textarea") or (tag == "input" and attrs.get("type") not in NOT_LABELLED_TYPES)]
        return [attrs for attrs in fields if not attrs.get("id") or attrs["id"] not in self.label_for]

    def error_after(self, field_id: str) -> str:
        """The error message shown right after the field (the element its aria-describedby names)."""
        return self.text_of(self.one("input", id=field_id)["aria-describedby"])

    def text_of(self, element_id: str) -> str:
        finder = _TextOf(element_id)
        finder.feed(self.html)
        return " ".join("".join(finder.parts).split())


class _TextOf(HTMLParser):
    def __init__(self, element_id: str):
        super().__init__(convert_charrefs=True)
        self.element_id, self.depth, self.parts = element_id, 0, []

    def handle_starttag(self, tag, attrs):
        if self.depth:
            self.depth += 1
        elif dict(attrs).get("id") == self.element_id:
            self.depth = 1

    def handle_endtag(self, tag):
        if self.depth:
            self.depth -= 1

    def handle_data(self, data):
        if self.depth:
            self.parts.append(data)


def page(client, url: str, status: int = 200, **kwargs) -> Page:
    response = client.get(url, **kwargs)
    assert response.status_code == status, response.get_data(as_text=True)[:3000]
    assert response.mimetype == "text/html"
    return check_page(Page(response.get_data(as_text=True)))


def check_page(parsed: Page) -> Page:
    """What every page must have: Danish as its language, and a label for every field."""
    assert parsed.one("html")["lang"] == "da"
    assert parsed.unlabelled_fields() == []
    # Browsers send these as the API accepts them (shared.api refuses urlencoded bodies).
    assert {form.get("enctype") for form in parsed.all("form", method="post")} <= {"multipart/form-data"}
    return parsed


def csrf_from(parsed: Page) -> str:
    return parsed.all("input", name="csrf_token")[0]["value"]


def post_form(client, url: str, data: dict | None = None):
    """As a browser sends the pages' forms: multipart/form-data (the API refuses urlencoded bodies)."""
    return client.post(url, data=data or {}, content_type="multipart/form-data")


# --- Data ---------------------------------------------------------------------------------------

VIBORG = location()
AALBORG = location(city="Aalborg", municipality_code="851", municipality="Aalborg Kommune", region_code="1081",
                   postcode="9000", address="Sofiendalsvej 60", latitude=57.0337, longitude=9.8900)


@pytest.fixture
def mercantec(make_school):
    return make_school("Mercantec", VIBORG)


@pytest.fixture
def nord(make_school):
    return make_school("AMU Nordjylland", AALBORG)


def set_seats(client, auth, offering_id: int, taken: int, waitlisted: int = 0, version: int = 1) -> None:
    response = client.put(f"/offerings/{offering_id}/seats", headers=auth("service"),
                          json={"taken": taken, "waitlisted": waitlisted, "version": version})
    assert response.status_code == 200


def mark_demo(app, offering_id: int) -> None:
    with app.app_context():
        db.session.get(Offering, offering_id).demo = True
        db.session.commit()


def cancel_by_api(client, auth, offering: dict, reason: str) -> None:
    response = client.post(f"/offerings/{offering['id']}/cancel", json={"reason": reason},
                           headers=auth("school", provider_id=offering["provider_id"]))
    assert response.status_code == 200


def sign_in_school(client, provider_id: int) -> None:
    """A course administrator of the school, signed in as a used sign-in link leaves the browser."""
    email = f"kursus{provider_id}@skole.example"
    with client.application.app_context():
        known = client.application.extensions["accounts"].db.session.scalar(
            select(ACCOUNTS.Person.id).where(ACCOUNTS.Person.email_key == email))
    if known is None:
        add_member(client.application, email, provider_id, "course_admin", f"Kursusadministrator {provider_id}")
    sign_in_directly(client.application, client, email)


# --- The overview -------------------------------------------------------------------------------

def test_overview_lists_the_six_modules_with_their_next_offerings(client, glu, mercantec, make_offering):
    soon = make_offering(mercantec, module="GLU-4", first_day=20)
    make_offering(mercantec, module="GLU-4", first_day=40)
    make_offering(mercantec, module="GLU-4", first_day=60)
    fourth = make_offering(mercantec, module="GLU-4", first_day=80)

    parsed = page(client, "/")

    for title, _ in MODULE_TEXTS.values():
        assert title in parsed.text
    assert soon["id"] in parsed.offering_ids()
    assert fourth["id"] not in parsed.offering_ids()  # three per module
    assert "Viborg" in parsed.text and "16 ledige pladser" in parsed.text
    assert "/soeg" in parsed.hrefs()
    assert "Demodata" not in parsed.text


def test_overview_shows_the_demo_banner_when_demo_offerings_are_listed(client, app, mercantec, make_offering):
    mark_demo(app, make_offering(mercantec)["id"])

    assert "Demodata:" in page(client, "/").text


def test_overview_describes_each_module_as_a_course_in_json_ld(client, mercantec, make_offering):
    offering = make_offering(mercantec, module="GLU-2")

    [data] = page(client, "/").json_ld

    courses = {course["name"]: course for course in data["@graph"]}
    assert data["@context"] == "https://schema.org"
    assert set(courses) == {title for title, _ in MODULE_TEXTS.values()}
    assert all(course["@type"] == "Course" for course in courses.values())
    [instance] = courses["Ledelse og udvikling"]["hasCourseInstance"]
    assert instance["@type"] == "CourseInstance" and instance["courseMode"] == "onsite"
    assert instance["url"].endswith(f"/udbud/{offering['id']}")
    assert courses["Forandringsledelse"]["hasCourseInstance"] == []


# --- Search -------------------------------------------------------------------------------------

@pytest.fixture
def spread(mercantec, nord, make_offering, client, auth):
    """GLU-1 in Viborg, GLU-4 in Aalborg, and a full GLU-4 in Viborg."""
    made = {
        "viborg_1": make_offering(mercantec, module="GLU-1"),
        "aalborg_4": make_offering(nord, module="GLU-4"),
        "viborg_4_full": make_offering(mercantec, module="GLU-4", capacity=2, min_participants=None),
    }
    set_seats(client, auth, made["viborg_4_full"]["id"], taken=2, waitlisted=3)
    return {name: item["id"] for name, item in made.items()}


def test_search_without_filters_lists_every_upcoming_offering(client, spread):
    parsed = page(client, "/soeg")

    assert parsed.offering_ids() == set(spread.values())
    assert "3 hold fundet" in parsed.text
    assert "venteliste: 3 personer" in parsed.text
    assert "1.200 kr." in parsed.text
    assert parsed.one("input", id="date_from")["value"] == copenhagen_today().isoformat()


def test_search_filters_by_module(client, spread):
    assert page(client, "/soeg?module=GLU-4").offering_ids() == {spread["aalborg_4"], spread["viborg_4_full"]}


def test_search_filters_by_region(client, spread):
    parsed = page(client, "/soeg?region=1081")

    assert parsed.offering_ids() == {spread["aalborg_4"]}
    assert parsed.one("option", value="1081").get("selected") == ""


def test_search_filters_by_municipality_name_or_code(client, spread):
    assert page(client, "/soeg?municipality=Aalborg").offering_ids() == {spread["aalborg_4"]}
    assert page(client, "/soeg?municipality=791").offering_ids() == {spread["viborg_1"], spread["viborg_4_full"]}


def test_search_filters_by_free_seats(client, spread):
    parsed = page(client, "/soeg?module=GLU-4&has_seats=true")

    assert parsed.offering_ids() == {spread["aalborg_4"]}
    assert "checked" in parsed.one("input", id="has_seats")


def test_search_combines_free_text_and_region(client, spread):
    assert page(client, "/soeg?q=konflikt&region=1082").offering_ids() == {spread["viborg_4_full"]}


def test_search_pages_with_previous_and_next_links(client, spread, monkeypatch):
    monkeypatch.setattr(pages, "PER_PAGE", 2)

    first = page(client, "/soeg")
    [next_url] = [attrs["href"] for attrs in first.all("a", rel="next")]
    second = page(client, next_url)

    assert first.all("a", rel="prev") == []
    assert "Side 1 af 2" in first.text and "Side 2 af 2" in second.text
    assert first.offering_ids() | second.offering_ids() == set(spread.values())
    assert second.all("a", rel="next") == [] and len(second.all("a", rel="prev")) == 1


def test_a_bad_date_shows_a_danish_error_at_the_field_and_keeps_the_other_values(client, spread):
    parsed = page(client, "/soeg?q=ledelse&module=GLU-3&region=1082&date_from=2027-13-01&has_seats=true")

    assert parsed.error_after("date_from") == "Skal være en dato (ÅÅÅÅ-MM-DD)."
    assert parsed.one("input", id="date_from")["aria-invalid"] == "true"
    assert parsed.one("input", id="q")["value"] == "ledelse"
    assert "selected" in parsed.one("option", value="GLU-3")
    assert "selected" in parsed.one("option", value="1082")
    assert "checked" in parsed.one("input", id="has_seats")
    assert parsed.offering_ids() == set()


def test_dates_in_the_wrong_order_are_an_error_at_the_to_date(client, spread):
    parsed = page(client, "/soeg?date_from=2027-05-01&date_to=2027-04-01")

    assert parsed.error_after("date_to") == "Til-datoen ligger før fra-datoen."
    assert parsed.one("input", id="date_from")["value"] == "2027-05-01"


@pytest.mark.parametrize("query", ["page=0", "page=x", "language=dansk", "region=Bornholm", "q=" + "x" * 201,
                                   "module=%00", "has_seats=måske"])
def test_nonsense_in_the_query_is_shown_as_an_error_never_a_500(client, spread, query):
    parsed = page(client, f"/soeg?{query}")

    assert "Ret søgningen" in parsed.text
    assert parsed.offering_ids() == set()


def test_search_answers_if_none_match_with_304(client, spread):
    first = client.get("/soeg")

    assert first.headers["ETag"]
    assert client.get("/soeg", headers={"If-None-Match": first.headers["ETag"]}).status_code == 304


# --- One offering -------------------------------------------------------------------------------

def first_monday(year: int, month: int) -> date:
    first = date(year, month, 1)
    return first + timedelta(days=-first.weekday() % 7)


# A winter day given in Danish time and a summer day given in UTC, next year (days in the past are refused).
NEXT_YEAR = copenhagen_today().year + 1
WINTER_DAY, SUMMER_DAY = first_monday(NEXT_YEAR, 2), first_monday(NEXT_YEAR, 6)
DEADLINE = WINTER_DAY - timedelta(days=17)  # a Friday in January
WINTER_AND_SUMMER = [
    {"starts_at": datetime.combine(WINTER_DAY, time(8, 30), COPENHAGEN),
     "ends_at": datetime.combine(WINTER_DAY, time(15, 30), COPENHAGEN)},
    {"starts_at": datetime.combine(SUMMER_DAY, time(6, 30), UTC),
     "ends_at": datetime.combine(SUMMER_DAY, time(13), UTC)},
]


@pytest.fixture
def offering(nord, make_offering):
    return make_offering(nord, module="GLU-4", sessions=WINTER_AND_SUMMER, enrolment_deadline=DEADLINE,
                         price_dkk=3250)


def test_offering_page_shows_sessions_in_danish_time(client, offering):
    parsed = page(client, f"/udbud/{offering['id']}")

    assert f"mandag {WINTER_DAY.day}. februar {NEXT_YEAR}, kl. 08.30–15.30" in parsed.text
    assert f"mandag {SUMMER_DAY.day}. juni {NEXT_YEAR}, kl. 08.30–15.00" in parsed.text
    assert "Kommunikation og konflikthåndtering" in parsed.text
    assert "3.250 kr." in parsed.text
    assert f"fredag {DEADLINE.day}. januar {NEXT_YEAR}" in parsed.text
    assert "mailto:glu@skole.example" in parsed.hrefs()
    assert "16 ledige pladser" in parsed.text


def test_offering_page_links_to_a_map_of_the_place(client, offering, mercantec, make_offering):
    with_coordinates = page(client, f"/udbud/{offering['id']}")
    without = page(client, f"/udbud/{make_offering(mercantec)['id']}")

    assert with_coordinates.hrefs("https://www.openstreetmap.org/?mlat=57.0337&mlon=9.89")
    assert "Sofiendalsvej 60, 9000 Aalborg" in with_coordinates.text
    assert without.hrefs("https://www.openstreetmap.org/search?query=8800%20Viborg")


def test_offering_page_offers_download_subscription_and_a_link_per_session(client, offering):
    parsed = page(client, f"/udbud/{offering['id']}")
    ics = f"/offerings/{offering['id']}.ics"
    api_links = client.get(f"/offerings/{offering['id']}/calendar-links").get_json()

    download = [attrs for attrs in parsed.all("a") if attrs.get("href", "").endswith(ics) and "download" in attrs]
    assert download and download[0]["href"].startswith("http")
    assert parsed.hrefs("webcal://") == [f"webcal://localhost{ics}"]
    copy = parsed.one("input", id="kalenderadresse")
    assert copy["value"] == f"http://localhost{ics}" and "readonly" in copy
    assert parsed.hrefs("https://calendar.google.com/") == [link["google"] for link in api_links]
    assert parsed.hrefs("https://outlook.office.com/") == [link["outlook"] for link in api_links]
    assert len(api_links) == 2
    assert "ikke opdateres" in parsed.text and "8.–24. time" in parsed.text and "e-mail" in parsed.text
    assert client.get(ics).status_code == 200


def test_offering_page_describes_the_course_in_json_ld(client, offering):
    [data] = page(client, f"/udbud/{offering['id']}").json_ld

    assert data["@context"] == "https://schema.org" and data["@type"] == "Course"
    [instance] = data["hasCourseInstance"]
    assert instance["@type"] == "CourseInstance" and instance["courseMode"] == "onsite"
    assert instance["location"]["@type"] == "Place"
    assert instance["location"]["address"] == {
        "@type": "PostalAddress", "streetAddress": "Sofiendalsvej 60", "postalCode": "9000",
        "addressLocality": "Aalborg", "addressRegion": "Region Nordjylland", "addressCountry": "DK"}
    assert instance["startDate"] == f"{WINTER_DAY.isoformat()}T08:30:00+01:00"
    assert instance["endDate"] == f"{SUMMER_DAY.isoformat()}T15:00:00+02:00"
    assert instance["offers"]["price"] == 3250 and instance["offers"]["priceCurrency"] == "DKK"
    assert [event["@type"] for event in instance["subEvent"]] == ["Event", "Event"]
    assert {event["eventStatus"] for event in instance["subEvent"]} == {"https://schema.org/EventScheduled"}


def test_a_cancelled_offering_says_so(client, auth, offering):
    cancel_by_api(client, auth, offering, "For få tilmeldte")

    parsed = page(client, f"/udbud/{offering['id']}")

    assert "Holdet er aflyst" in parsed.text and "For få tilmeldte" in parsed.text
    assert parsed.hrefs("https://calendar.google.com/") == []  # no adding a cancelled day
    assert parsed.hrefs("webcal://")  # a subscription shows the cancellation
    [data] = parsed.json_ld
    events = data["hasCourseInstance"][0]["subEvent"]
    assert {event["eventStatus"] for event in events} == {"https://schema.org/EventCancelled"}


def test_the_enrol_link_goes_to_the_enrolment_service_when_it_is_configured(client, app, auth, offering):
    assert "Tilmeld mig" not in page(client, f"/udbud/{offering['id']}").text

    app.config["ENROLMENT_PUBLIC_URL"] = "https://tilmelding.example"
    parsed = page(client, f"/udbud/{offering['id']}")
    assert parsed.hrefs("https://tilmelding.example/") == [f"https://tilmelding.example/anmod/{offering['id']}",
                                                           f"https://tilmelding.example/hr/tilmeld?udbud={offering['id']}"]
    assert "HR" in parsed.text and "e-mail" in parsed.text

    cancel_by_api(client, auth, offering, "Aflyst")
    assert page(client, f"/udbud/{offering['id']}").hrefs("https://tilmelding.example/") == []


def test_a_demo_offering_shows_the_demo_banner(client, app, offering):
    assert "Demodata:" not in page(client, f"/udbud/{offering['id']}").text
    mark_demo(app, offering["id"])
    assert "Demodata:" in page(client, f"/udbud/{offering['id']}").text


def test_a_draft_is_a_404_page_for_the_public_but_shown_to_its_school(client, mercantec, make_offering):
    draft = make_offering(mercantec, status="draft")

    parsed = page(client, f"/udbud/{draft['id']}", status=404)
    assert "Findes ikke" in parsed.text
    page(client, "/udbud/999999", status=404)

    sign_in_school(client, mercantec["id"])
    assert "Kladde" in page(client, f"/udbud/{draft['id']}").text


def test_json_ld_cannot_end_its_script_element():
    text = str(pages.json_ld({"name": "</script><script>alert(1)</script><!--"}))

    assert "</" not in text and "<!--" not in text
    assert json.loads(text)["name"] == "</script><script>alert(1)</script><!--"


# --- A school's page ----------------------------------------------------------------------------

def test_the_school_page_asks_for_sign_in(client):
    response = client.get("/skole")

    assert response.status_code == 302
    assert response.headers["Location"] == "/log-ind?next=/skole"


def test_a_signed_in_course_administrator_sees_only_their_schools_offerings(client, mercantec, nord, make_offering):
    own = make_offering(mercantec)
    own_draft = make_offering(mercantec, status="draft")
    others = make_offering(nord)
    sign_in_school(client, mercantec["id"])

    parsed = page(client, "/skole")
    assert parsed.offering_ids() == {own["id"], own_draft["id"]}
    assert others["id"] not in parsed.offering_ids()
    assert f"Logget ind som Kursusadministrator {mercantec['id']}" in parsed.text
    assert "Kladder (1)" in parsed.text and "Udgivne (1)" in parsed.text
    assert parsed.all("th", scope="col") and parsed.all("th", scope="row")


def test_the_school_page_shows_seats_taken_and_the_waiting_list(client, auth, mercantec, make_offering):
    offering = make_offering(mercantec, capacity=4, min_participants=None)
    set_seats(client, auth, offering["id"], taken=4, waitlisted=2)
    sign_in_school(client, mercantec["id"])

    row = page(client, "/skole").text_of(f"udbud-{offering['id']}")

    assert "Optaget: 4 af 4" in row and "Venteliste: 2" in row


@pytest.mark.parametrize("token, message", [
    ("not-a-token", "Adgangsnøglen er ugyldig."),
    ("", "Indsæt din adgangsnøgle."),
    (issue_token(TOKEN_SECRET, Role.HR, organisation="791"), "Kun administratorer"),
    (issue_token(TOKEN_SECRET, Role.SCHOOL, provider_id=1), "Kun administratorer"),
])
def test_a_wrong_token_shows_the_form_again_with_the_error_at_the_field(client, mercantec, token, message):
    form = page(client, "/skole/log-ind")
    response = post_form(client, "/skole/log-ind", {"csrf_token": csrf_from(form), "token": token})

    assert response.status_code == 200
    parsed = check_page(Page(response.get_data(as_text=True)))
    assert message in parsed.error_after("token")
    assert client.get("/skole").status_code == 302


def test_signing_in_needs_the_csrf_token(client, mercantec):
    response = post_form(client, "/skole/log-ind", {"token": issue_token(TOKEN_SECRET, Role.ADMIN)})

    assert response.status_code == 400 and response.mimetype == "text/html"


def test_signing_in_never_redirects_off_site(client, mercantec):
    form = page(client, "/skole/log-ind")
    response = post_form(client, "/skole/log-ind", {
        "csrf_token": csrf_from(form), "next": "//evil.example/", "token": issue_token(TOKEN_SECRET, Role.ADMIN)})

    assert response.headers["Location"] == "/"


def test_signing_out(client, mercantec):
    sign_in_school(client, mercantec["id"])
    school_page = page(client, "/skole")

    assert post_form(client, "/skole/log-ud").status_code == 400
    assert post_form(client, "/skole/log-ud", {"csrf_token": csrf_from(school_page)}).status_code == 302
    assert client.get("/skole").status_code == 302


def test_cancelling_from_the_school_page_needs_the_csrf_token(client, mercantec, make_offering):
    offering = make_offering(mercantec)
    sign_in_school(client, mercantec["id"])

    response = post_form(client, f"/skole/udbud/{offering['id']}/aflys", {"reason": "Syg underviser"})

    assert response.status_code == 400 and response.mimetype == "text/html"
    assert client.get(f"/offerings/{offering['id']}").get_json()["status"] == "published"


def test_cancelling_from_the_school_page(client, mercantec, make_offering):
    offering = make_offering(mercantec)
    sign_in_school(client, mercantec["id"])
    token = csrf_from(page(client, "/skole"))

    response = post_form(client, f"/skole/udbud/{offering['id']}/aflys", {"csrf_token": token,
                                                                         "reason": "Syg underviser"})

    assert response.status_code == 303
    assert response.headers["Location"] == f"/skole#udbud-{offering['id']}"
    shown = client.get(f"/offerings/{offering['id']}").get_json()
    assert shown["status"] == "cancelled" and shown["cancellation_reason"] == "Syg underviser"
    assert shown["revision"] == offering["revision"] + 1
    parsed = page(client, "/skole")
    assert "Udbuddet er aflyst" in parsed.text and "Aflyste (1)" in parsed.text

    again = post_form(client, f"/skole/udbud/{offering['id']}/aflys", {"csrf_token": token, "reason": "Igen"})
    assert again.status_code == 409 and "allerede aflyst" in again.get_data(as_text=True)


def test_a_school_cannot_cancel_another_schools_offering(client, mercantec, nord, make_offering):
    others = make_offering(nord)
    sign_in_school(client, mercantec["id"])
    token = csrf_from(page(client, "/skole"))

    response = post_form(client, f"/skole/udbud/{others['id']}/aflys", {"csrf_token": token, "reason": ""})

    assert response.status_code == 403 and response.mimetype == "text/html"
    assert client.get(f"/offerings/{others['id']}").get_json()["status"] == "published"


def test_cancelling_without_signing_in_leads_to_the_sign_in(client, mercantec, make_offering):
    offering = make_offering(mercantec)
    token = csrf_from(page(client, "/skole/log-ind"))

    response = post_form(client, f"/skole/udbud/{offering['id']}/aflys", {"csrf_token": token})

    assert response.status_code == 303 and response.headers["Location"].startswith("/log-ind")
    assert client.get(f"/offerings/{offering['id']}").get_json()["status"] == "published"


# --- Every page ---------------------------------------------------------------------------------

def test_every_page_is_danish_and_labels_every_field(client, offering, mercantec, make_offering):
    urls = ["/", "/soeg", "/soeg?date_from=nej", f"/udbud/{offering['id']}", "/skole/log-ind", "/tilgaengelighed"]
    for url in urls:
        page(client, url)

    draft = make_offering(mercantec, status="draft")
    sign_in_school(client, mercantec["id"])
    school_page = page(client, "/skole")
    assert school_page.hrefs("/skole/udbud/")
    for url in ("/skole/udbud/ny", f"/skole/udbud/{draft['id']}/rediger", f"/skole/udbud/{draft['id']}/kopier",
                f"/skole/udbud/{draft['id']}/aflys", "/skole/import"):
        page(client, url)

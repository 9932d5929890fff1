"""The security headers on every response of both services (shared.security_headers).

Every GET route of each app's url_map is either visited here, as the role that sees it, with its
path filled from data the factories made, or excluded with a reason; a route that is neither (a
page added later) fails the test until it is listed.
"""

from __future__ import annotations

import re

import httpx
import pytest
from sqlalchemy import select

from catalogue.enrolment_client import EnrolmentClient
from catalogue.models import Module, Programme
from catalogue.models import db as catalogue_db
from enrolment import leader_requests
from enrolment.models import Enrolment, Organisation, Participant, db
from shared.accounts import sign_in as links
from shared.db import utcnow
from shared.security_headers import content_security_policy, install_security_headers
from tests.accounts import add_member, sign_in_directly
from tests.catalogue.fixtures import *  # noqa: F403 (fixtures are found by name)
from tests.conftest import TOKEN_SECRET
from tests.enrolment.conftest import (  # noqa: F401 (fixtures are found by name)
    app,
    catalogue_link,
    client,
    enrol,
    enrolment_database,
    hr,
    make_organisation,
)

# ruff: noqa: F811 (the fixtures imported above are the tests' arguments)

# Who visits: None is a stranger; "admin", "school", "hr" are people signed in on the pages; "token:…"
# is an API caller with a bearer token of that role.
CATALOGUE_VISITS = {
    "catalogue_pages.overview": ("/", None),
    "catalogue_pages.search": ("/soeg?module=GLU-1", None),
    "catalogue_pages.offering": ("/udbud/{offering}", None),
    "catalogue_pages.school": ("/skole", "school"),
    "catalogue_pages.school_sign_in": ("/skole/log-ind", None),
    "demand_pages.demand": ("/skole/efterspoergsel", "school"),
    "desk_pages.import_form": ("/skole/import", "school"),
    "desk_pages.import_template": ("/skole/import/skabelon.csv", "school"),
    "decision_pages.settings": ("/skole/indstillinger", "school"),
    "desk_pages.cancel": ("/skole/udbud/{offering}/aflys", "school"),
    "desk_pages.copy": ("/skole/udbud/{offering}/kopier", "school"),
    "desk_pages.edit_offering": ("/skole/udbud/{offering}/rediger", "school"),
    "desk_pages.new_offering": ("/skole/udbud/ny", "school"),
    "participant_pages.participants": ("/skole/udbud/{offering}/deltagere", "school"),
    "participant_pages.participants_csv": ("/skole/udbud/{offering}/deltagere.csv", "school"),
    "participant_pages.attendance": ("/skole/udbud/{offering}/fremmoede", "school"),
    "desk_pages.static": ("/static/catalogue/desk_days.js", None),
    "offerings.Offerings": ("/offerings", None),
    "offerings.OfferingById": ("/offerings/{offering}", None),
    "calendars.OfferingCalendar": ("/offerings/{offering}.ics", None),
    "calendars.OfferingCalendarLinks": ("/offerings/{offering}/calendar-links", None),
    "changes.OfferingChanges": ("/offerings/changes", "token:admin"),
    "changes.WebhookDeliveries": ("/webhook-deliveries", "token:admin"),
    "programmes.Programmes": ("/programmes", None),
    "programmes.ProgrammeById": ("/programmes/{programme}", None),
    "programmes.Modules": ("/modules", None),
    "programmes.ModuleById": ("/modules/{module}", None),
    "providers.Providers": ("/providers", None),
    "providers.ProviderById": ("/providers/{school}", None),
}

ENROLMENT_VISITS = {
    "enrolment_pages.home": ("/", None),
    "enrolment_pages.request_seat": ("/anmod/{offering}", None),
    "enrolment_pages.confirm_request": ("/anmod/bekraeft/{confirmation}", None),
    "enrolment_pages.hr_overview": ("/hr", "hr"),
    "enrolment_pages.export_csv": ("/hr/eksport.csv", "hr"),
    "enrolment_pages.hr_paths": ("/hr/forloeb", "hr"),
    "enrolment_pages.hr_paths_csv": ("/hr/forloeb.csv", "hr"),
    "enrolment_pages.hr_interests": ("/hr/interesse", "hr"),
    "enrolment_pages.sign_in_page": ("/hr/log-ind", None),
    "enrolment_pages.reservations_page": ("/hr/reservationer", "hr"),
    "enrolment_pages.hr_settings": ("/hr/indstillinger", "hr"),
    "enrolment_pages.batch_form": ("/hr/tilmeld", "hr"),
    "enrolment_pages.hr_alternatives": ("/hr/tilmeldinger/{enrolment}/andre-hold", "hr"),
    "enrolment_pages.my_courses": ("/mine-kurser/{page_token}", None),
    "enrolment_pages.my_alternatives": ("/mine-kurser/{page_token}/andre-hold/{enrolment}", None),
    "enrolment_pages.my_links": ("/mine-links", None),
    "enrolment_pages.hr_insight": ("/hr/personer/{participant}/indsigt", "hr"),
    "enrolment_pages.hr_insight_json": ("/hr/personer/{participant}/indsigt.json", "hr"),
    "enrolment_pages.hr_erase": ("/hr/personer/{participant}/slet", "hr"),
    "enrolment_pages.my_data": ("/mine-kurser/{page_token}/mine-data", None),
    "enrolment_pages.my_data_json": ("/mine-kurser/{page_token}/mine-data.json", None),
    "privacy.ParticipantExport": ("/participants/{participant}/export", "token:hr"),
    "enrolments.Enrolments": ("/enrolments", "token:hr"),
    "enrolments.EnrolmentById": ("/enrolments/{enrolment}", "token:hr"),
    "moves.Alternatives": ("/enrolments/{enrolment}/alternatives", "token:hr"),
    "participants.EnrolmentExport": ("/enrolments/export", "token:hr"),
    "feeds.OrganisationFeed": ("/feeds/organisations/{organisation_feed}.ics", None),
    "feeds.ParticipantFeed": ("/feeds/participants/{participant_feed}.ics", None),
    "feeds.OrganisationCalendar": ("/organisation-calendar", "token:hr"),
    "interests.Interests": ("/interests", "token:hr"),
    "interests.InterestById": ("/interests/{interest}", "token:hr"),
    "interests.Demand": ("/interests/demand", "token:school"),
    "attendance.OfferingAttendance": ("/offerings/{offering}/attendance", "token:school"),
    "participants.SchoolParticipants": ("/offerings/{offering}/participants", "token:school"),
    "participants.SchoolParticipantsCsv": ("/offerings/{offering}/participants.csv", "token:school"),
    "reservations.OfferingReservations": ("/offerings/{offering}/reservations", "token:hr"),
    "reservations.Reservations": ("/reservations", "token:hr"),
    "reservations.ReservationById": ("/reservations/{reservation}", "token:hr"),
    "organisations.Organisations": ("/organisations", "token:admin"),
    "paths.OrganisationPath": ("/organisations/791/path", "token:hr"),
    "paths.ParticipantPath": ("/participants/{participant}/path", "token:hr"),
}

# Both services serve these (shared/): the sign-in pages, the audit log, the API's document and docs.
SHARED_VISITS = {
    "accounts_pages.sign_in": ("/log-ind", None),
    "accounts_pages.use_link": ("/log-ind/{sign_in_secret}", None),
    "accounts_pages.members": ("/medlemmer", "admin"),
    "accounts_pages.profile": ("/min-profil", "admin"),
    "accounts_pages.api_keys": ("/noegler", "admin"),
    "audit_pages.log_page": ("/log", "admin"),
    "audit.AuditLog": ("/audit", "token:admin"),
    "api_docs.docs": ("/docs", None),
    "api_docs.asset": ("/docs/assets/swagger-ui-bundle.js", None),
    "api-docs.openapi_json": ("/openapi.json", None),
    "shared_pages.static": ("/static/shared/glu.css", None),
    "shared_pages.accessibility_statement": ("/tilgaengelighed", None),
    "privacy_notice_pages.privacy_notice": ("/privatliv", None),
    "health.Health": ("/healthz", None),
    "health.Ready": ("/readyz", None),
    "metrics": ("/metrics", None),
}

EXCLUDED = {
    # Flask's own static route: neither service has a static/ folder of its own, so it serves nothing
    # (the files are under the blueprints' routes, visited above); its 404 is checked below.
    "static": "no files: each blueprint serves its own static folder",
    # The identity provider's answer needs a provider and a pending sign-in; its refusal (no pending
    # sign-in) is a page like any other and is visited as an error below.
    "accounts_pages.oidc_callback": "needs an OpenID provider; its refusal is visited among the errors",
}

ERRORS = ["/finder-ikke-her", "/udbud/987654", "/offerings/987654", "/oidc/callback", "/offerings?per_page=x"]


def directives(policy: str) -> dict[str, str]:
    return {part.split()[0]: " ".join(part.split()[1:]) for part in policy.split(";") if part.strip()}


def assert_secured(response, path: str, *, https: bool = False) -> None:
    headers = response.headers
    policy = directives(headers.get("Content-Security-Policy", ""))
    assert policy.get("default-src") == "'self'", path
    assert policy["script-src"] == "'self'" and policy["style-src"] == "'self'", path
    assert "unsafe-inline" not in headers["Content-Security-Policy"], path
    assert policy["img-src"] == "'self' data:", path
    assert (policy["object-src"], policy["base-uri"], policy["frame-ancestors"]) == ("'none'", "'none'", "'none'"), path
    assert policy["form-action"].startswith("'self'"), path
    assert headers["X-Content-Type-Options"] == "nosniff", path
    assert headers["Referrer-Policy"] in ("strict-origin-when-cross-origin", "no-referrer"), path
    if https:
        assert headers["Strict-Transport-Security"] == "max-age=31536000", path
    else:
        assert "Strict-Transport-Security" not in headers, path


def get_rules(flask_app) -> set[str]:
    return {rule.endpoint for rule in flask_app.url_map.iter_rules() if "GET" in rule.methods}


@pytest.fixture
def world(app, catalogue_app, make_school, make_offering, make_organisation, enrol, client, auth):
    """A school with an offering, an organisation with one enrolled person, and what their paths need."""
    school = make_school("Mercantec")
    offering = make_offering(school, module="GLU-1", capacity=4, min_participants=1)
    make_organisation("791", requires_approval=False)
    hr_token = auth("hr", organisation="791")
    enrolment = enrol(offering, "Anne").get_json()
    interest = client.post("/interests", headers=hr_token, json={
        "module": "GLU-3", "regions": ["midtjylland"], "auto_enrol": False,
        "participant": {"name": "Bo", "email": "bo@kommune.example"}}).get_json()
    reservation = client.post(f"/offerings/{offering['id']}/reservations", json={"seats": 1},
                              headers=hr_token).get_json()
    request = client.post("/requests", json={"offering_id": offering["id"], "organisation": "791",
                                             "participant": {"name": "Cai", "email": "cai@kommune.example"}})
    # As ENROLMENT_URL would make it: the school's desk reads its participants at this enrolment app.
    catalogue_app.extensions["enrolment_client"] = EnrolmentClient("http://enrolment.test", TOKEN_SECRET,
                                                                   transport=httpx.WSGITransport(app=app))
    with app.app_context():
        participant = db.session.get(Participant, enrolment["participant"]["id"])
        organisation = db.session.scalar(select(Organisation).where(Organisation.key == "791"))
        confirmation = leader_requests.confirmation_token(db.session.get(Enrolment, request.get_json()["id"]),
                                                          utcnow())
        values = {"page_token": participant.page_token, "participant_feed": participant.feed_token,
                  "participant": participant.id, "organisation_feed": organisation.feed_token,
                  "organisation_id": organisation.id}
    with catalogue_app.app_context():
        programme = catalogue_db.session.scalar(select(Programme.id))
        module = catalogue_db.session.scalar(select(Module.id))
    return {**values, "school": school["id"], "offering": offering["id"], "enrolment": enrolment["id"],
            "interest": interest["id"], "reservation": reservation["id"], "confirmation": confirmation,
            "programme": programme, "module": module}


def sign_in_secret(flask_app) -> str:
    """An unused sign-in link for a stranger's address: its page shows the button to use it."""
    accounts = flask_app.extensions["accounts"]
    add_member(flask_app, "link@kommune.example", None, None, "Lis Link", is_admin=True)
    with flask_app.app_context():
        mail = links.request_link(accounts.db.session, accounts.models, "link@kommune.example", None, utcnow())
        accounts.db.session.commit()
        return mail.secret


def visitors(flask_app, tenant: tuple[int, str] | None, auth, token_scopes: dict):
    """A test client per kind of visitor, signed in as it needs to be."""
    admin = flask_app.test_client()
    add_member(flask_app, "admin@glu.example", None, None, "Ada Admin", is_admin=True)
    sign_in_directly(flask_app, admin, "admin@glu.example")
    clients = {None: flask_app.test_client(), "admin": admin}
    if tenant is not None:
        member = flask_app.test_client()
        tenant_id, role = tenant
        add_member(flask_app, f"{role}@member.example", tenant_id, role, "Mia Medlem")
        sign_in_directly(flask_app, member, f"{role}@member.example")
        clients["school" if role.startswith("school") else "hr"] = member
    tokens = {f"token:{role}": auth(role, **scope) for role, scope in token_scopes.items()}
    return clients, tokens


def visit_all(flask_app, visits: dict, clients: dict, tokens: dict, values: dict) -> list[str]:
    """Visit each route, check its headers and return the endpoints visited."""
    visited = []
    for endpoint, (path, who) in visits.items():
        url = path.format(**values)
        if who and who.startswith("token:"):
            response = clients[None].get(url, headers=tokens[who])
        else:
            response = clients[who].get(url)
        assert response.status_code == 200, (endpoint, url, response.status_code, response.get_data(as_text=True)[:300])
        assert_secured(response, url)
        visited.append(endpoint)
    for url in ERRORS:
        response = clients[None].get(url)
        assert response.status_code >= 400, url
        assert_secured(response, url)
    return visited


def assert_every_route_covered(flask_app, visited: list[str]) -> None:
    missing = get_rules(flask_app) - set(visited) - set(EXCLUDED)
    assert not missing, f"GET routes neither visited nor excluded (add them to this test): {sorted(missing)}"


def test_every_catalogue_route_sends_the_security_headers(catalogue_app, world, auth):
    visits = {**CATALOGUE_VISITS, **SHARED_VISITS}
    clients, tokens = visitors(catalogue_app, (world["school"], "school_admin"), auth,
                               {"admin": {}, "school": {"provider_id": world["school"]}})
    values = {**world, "sign_in_secret": sign_in_secret(catalogue_app)}

    visited = visit_all(catalogue_app, visits, clients, tokens, values)

    assert_every_route_covered(catalogue_app, visited)


def test_every_enrolment_route_sends_the_security_headers(app, world, auth):
    visits = {**ENROLMENT_VISITS, **SHARED_VISITS}
    clients, tokens = visitors(app, (world["organisation_id"], "hr_admin"), auth,
                               {"admin": {}, "hr": {"organisation": "791"}, "school": {"provider_id": world["school"]}})
    values = {**world, "sign_in_secret": sign_in_secret(app)}

    visited = visit_all(app, visits, clients, tokens, values)

    assert_every_route_covered(app, visited)


def test_a_leaders_own_page_keeps_no_referrer(client, world):
    response = client.get(f"/mine-kurser/{world['page_token']}")

    assert response.headers["Referrer-Policy"] == "no-referrer"


def test_the_sign_in_form_may_go_on_to_an_identity_provider_and_no_other_form_may(client):
    sign_in = directives(client.get("/log-ind").headers["Content-Security-Policy"])
    elsewhere = directives(client.get("/mine-links").headers["Content-Security-Policy"])

    assert sign_in["form-action"].split()[:2] == ["'self'", "https:"]
    assert elsewhere["form-action"] == "'self'"


@pytest.fixture
def catalogue_at(catalogue_database, catalogue_app):
    """catalogue_at(public_url) -> a catalogue app on the test database that calls itself public_url."""
    from catalogue import create_app

    made = []

    def make(public_url: str):
        made.append(create_app({"DATABASE_URL": catalogue_database, "GLU_TOKEN_SECRET": TOKEN_SECRET,
                                "TESTING": True, "PUBLIC_URL": public_url}))
        return made[-1]

    yield make
    for instance in made:  # no connection may outlive the test: the database is dropped at the end
        with instance.app_context():
            instance.extensions["sqlalchemy"].engine.dispose()


def test_hsts_only_where_the_public_url_is_https(catalogue_at):
    secure, plain = catalogue_at("https://kurser.example.dk"), catalogue_at("http://127.0.0.1:5001")

    for path in ("/healthz", "/log-ind", "/finder-ikke-her"):
        assert_secured(secure.test_client().get(path), path, https=True)
        assert_secured(plain.test_client().get(path), path, https=False)
    # In production no form may go to a provider on plain http, not even one on the same machine.
    production_sign_in = directives(secure.test_client().get("/log-ind").headers["Content-Security-Policy"])
    assert production_sign_in["form-action"] == "'self' https:"


def test_a_failing_hook_still_answers_with_the_headers():
    """A 500 built by Flask when a view fails still carries them (hooks run on error responses too)."""
    from flask import Flask

    bare = Flask(__name__)
    install_security_headers(bare)

    @bare.route("/boom")
    def boom():
        raise RuntimeError("boom")

    response = bare.test_client().get("/boom")

    assert response.status_code == 500
    assert response.headers["Content-Security-Policy"] == content_security_policy("'self'")


def test_no_template_has_inline_script_style_or_handlers():
    """CSP without 'unsafe-inline' refuses them, so none may be written (JSON-LD data blocks are not run)."""
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    inline = re.compile(r"<script(?![^>]*\bsrc=)(?![^>]*application/ld\+json)[^>]*>|<style\b|\sstyle=|\son[a-z]+=",
                        re.IGNORECASE)
    found = [f"{path.relative_to(root)}: {match.group(0)}"
             for folder in ("shared", "catalogue", "enrolment") for path in (root / folder).rglob("*.html")
             for match in inline.finditer(path.read_text())]
    assert not found

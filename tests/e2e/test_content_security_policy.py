"""Every page of both services in real Chromium under their Content-Security-Policy: no violation.

Violations are caught in the browser itself: an init script (Playwright's, which no page's policy
governs) listens for `securitypolicyviolation` and writes each one to the console, where the test
collects it together with Chromium's own "Refused to …" messages. Chosen over a report-uri endpoint,
which would be one more unauthenticated POST route on both services for the sake of a test, and
whose reports Chromium sends late and in batches; the event comes at once, in the page that broke.

Each service's page routes (its …_pages blueprints and /docs) must be visited here or excluded with
a reason, like the header test's routes (tests/shared/test_security_headers.py).
"""

from __future__ import annotations

import httpx
import pytest
from sqlalchemy import select

from enrolment import leader_requests
from enrolment.models import Enrolment, Participant
from enrolment.models import db as enrolment_db
from shared.auth import Role, issue_token
from shared.db import utcnow
from tests.conftest import TOKEN_SECRET
from tests.e2e.conftest import sign_in_by_link

REPORT_VIOLATIONS = """
document.addEventListener("securitypolicyviolation", (event) => {
  console.error(`CSP violation: ${event.violatedDirective} blocked ${event.blockedURI || "inline"}`
                + ` at ${event.documentURI}:${event.lineNumber}`);
});
"""

# Page routes not visited as pages here, and why.
EXCLUDED = {
    "accounts_pages.oidc_callback": "the identity provider's answer: tests/e2e/test_browser_journeys.py's SSO test",
    "participant_pages.participants_csv": "a CSV download, not a page",
    "desk_pages.import_template": "a CSV download, not a page",
    "enrolment_pages.export_csv": "a CSV download, not a page",
    "enrolment_pages.hr_paths_csv": "a CSV download, not a page",
    "enrolment_pages.hr_insight_json": "a JSON download, not a page",
    "enrolment_pages.my_data_json": "a JSON download, not a page",
    "desk_pages.static": "a script file, loaded by /skole/udbud/ny",
    "shared_pages.static": "the stylesheet and scripts, loaded by every page",
}


def bearer(role: Role, **scope) -> dict:
    return {"Authorization": f"Bearer {issue_token(TOKEN_SECRET, role, **scope)}"}


class Violations:
    """The CSP violations a page reported, by every route it went through."""

    def __init__(self, page):
        self.messages: list[str] = []
        page.add_init_script(REPORT_VIOLATIONS)
        page.on("console", self._heard)

    def _heard(self, message) -> None:
        text = message.text
        if text.startswith("CSP violation") or "Content Security Policy" in text or text.startswith("Refused to"):
            self.messages.append(text)


@pytest.fixture
def watched(page):
    return page, Violations(page)


def page_endpoints(flask_app) -> set[str]:
    return {rule.endpoint for rule in flask_app.url_map.iter_rules()
            if "GET" in rule.methods and (rule.endpoint.split(".")[0].endswith("_pages")
                                          or rule.endpoint == "api_docs.docs")}


def endpoint_of(flask_app, url: str) -> str:
    path = httpx.URL(url).path
    return flask_app.url_map.bind("localhost").match(path, method="GET")[0]


def visit(page, violations: Violations, flask_app, url: str, visited: set[str]) -> None:
    response = page.goto(url)
    assert response is not None and response.status < 400, (url, response and response.status)
    page.wait_for_load_state("load")
    if url.endswith("/docs"):
        page.locator(".opblock").first.wait_for()  # Swagger UI has drawn the operations
    assert not violations.messages, (url, violations.messages)
    visited.add(endpoint_of(flask_app, page.url))
    visited.add(endpoint_of(flask_app, url))


def assert_every_page_visited(flask_app, visited: set[str]) -> None:
    missing = page_endpoints(flask_app) - visited - set(EXCLUDED)
    assert not missing, f"pages neither visited nor excluded (add them to this test): {sorted(missing)}"


def test_the_violation_catcher_catches_a_violation(system, watched):
    """The test of the test: an image from elsewhere, put into a page, is reported."""
    catalogue_url, _ = system
    page, violations = watched
    page.goto(f"{catalogue_url}/tilgaengelighed")

    with page.expect_console_message(lambda message: message.text.startswith("CSP violation")):
        page.evaluate("document.body.insertAdjacentHTML('beforeend', '<img src=\"https://elsewhere.invalid/x.png\">')")

    assert any("img-src blocked https://elsewhere.invalid/x.png" in message for message in violations.messages)


def test_every_catalogue_page_runs_without_a_csp_violation(system, watched, mail_server):
    catalogue_url, enrolment_url = system
    page, violations = watched
    app = system.catalogue_app
    providers = httpx.get(f"{catalogue_url}/providers", params={"per_page": 100}).json()["items"]
    provider = next(item["id"] for item in providers if item["name"] == "Mercantec")
    offering = httpx.get(f"{catalogue_url}/offerings", params={"per_page": 1, "provider": provider}).json()["items"][0]
    own = offering["id"]
    # Someone on its list, so the participant pages have a row (and the enrolment service knows the offering).
    assert httpx.post(f"{enrolment_url}/enrolments", headers=bearer(Role.HR, organisation="730"), json={
        "offering_id": own, "participant": {"name": "Dorte Deltager", "email": "dorte@randers.example"}},
    ).status_code == 201
    visited: set[str] = set()

    for path in ("/", "/soeg", "/soeg?module=GLU-3", f"/udbud/{offering['id']}", "/skole/log-ind", "/log-ind",
                 "/tilgaengelighed", "/privatliv", "/docs"):
        visit(page, violations, app, catalogue_url + path, visited)
    sign_in_by_link(page, catalogue_url, "admin@mercantec.example", mail_server)
    visited |= {"accounts_pages.sign_in", "accounts_pages.use_link"}
    for path in ("/skole", "/skole/efterspoergsel", "/skole/import", "/skole/indstillinger", "/skole/udbud/ny",
                 f"/skole/udbud/{own}/rediger", f"/skole/udbud/{own}/aflys", f"/skole/udbud/{own}/kopier",
                 f"/skole/udbud/{own}/deltagere", f"/skole/udbud/{own}/fremmoede", "/medlemmer", "/min-profil",
                 "/noegler", "/log"):
        visit(page, violations, app, catalogue_url + path, visited)

    assert_every_page_visited(app, visited)


def test_every_enrolment_page_runs_without_a_csp_violation(system, watched, mail_server):
    catalogue_url, enrolment_url = system
    page, violations = watched
    app = system.enrolment_app
    offering = httpx.get(f"{catalogue_url}/offerings", params={"per_page": 1, "module": "GLU-1"}).json()["items"][0]
    enrolled = httpx.post(f"{enrolment_url}/enrolments", headers=bearer(Role.HR, organisation="730"), json={
        "offering_id": offering["id"], "participant": {"name": "Rikke Rask", "email": "rikke@randers.example"}})
    assert enrolled.status_code == 201, enrolled.text
    asked = httpx.post(f"{enrolment_url}/requests", json={
        "offering_id": offering["id"], "organisation": "730",
        "participant": {"name": "Lars Leder", "email": "lars@randers.example"}})
    assert asked.status_code == 201, asked.text
    enrolment_id, participant_id = enrolled.json()["id"], enrolled.json()["participant"]["id"]
    with app.app_context():
        page_token = enrolment_db.session.scalar(
            select(Participant.page_token).where(Participant.id == enrolled.json()["participant"]["id"]))
        confirmation = leader_requests.confirmation_token(enrolment_db.session.get(Enrolment, asked.json()["id"]),
                                                          utcnow())
    visited: set[str] = set()

    for path in ("/", f"/anmod/{offering['id']}", f"/anmod/bekraeft/{confirmation}", "/mine-links", "/hr/log-ind",
                 "/log-ind", "/tilgaengelighed", "/privatliv", "/docs", f"/mine-kurser/{page_token}",
                 f"/mine-kurser/{page_token}/andre-hold/{enrolment_id}", f"/mine-kurser/{page_token}/mine-data"):
        visit(page, violations, app, enrolment_url + path, visited)
    sign_in_by_link(page, enrolment_url, "admin@randers.example", mail_server)
    visited |= {"accounts_pages.sign_in", "accounts_pages.use_link"}
    for path in ("/hr", "/hr/forloeb", "/hr/interesse", "/hr/reservationer", "/hr/indstillinger", "/hr/tilmeld",
                 f"/hr/tilmeldinger/{enrolment_id}/andre-hold", f"/hr/personer/{participant_id}/indsigt",
                 f"/hr/personer/{participant_id}/slet", "/medlemmer", "/min-profil", "/noegler", "/log"):
        visit(page, violations, app, enrolment_url + path, visited)

    assert_every_page_visited(app, visited)

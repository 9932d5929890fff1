"""Who may do what: tokens, roles, a school's own offerings, drafts, cancelling, and the issue-token command."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import jwt
import pytest

from shared.auth import AUDIENCE, Role, issue_token, read_token
from shared.clock import copenhagen_today
from tests.catalogue.fixtures import as_json, in_days, location, offering_data, stored_offerings
from tests.conftest import TOKEN_SECRET

PROBLEM = "application/problem+json"
OTHER_SECRET = "another-secret-" + "y" * 32


# --- helpers --------------------------------------------------------------------------------------

def assert_problem(response, status: int) -> dict:
    assert response.status_code == status, response.get_data(as_text=True)[:2000]
    assert response.mimetype == PROBLEM
    problem = response.get_json()
    assert problem["status"] == status and problem["type"] and problem["title"] and problem["detail"]
    if status == 401:
        assert response.headers["WWW-Authenticate"].startswith("Bearer")
    return problem




def bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


def csv_for(school: dict, provider_id: int | None = None) -> str:
    day = in_days(30).date().isoformat()
    return (
        "module;provider_id;location_id;sessions;capacity;price_dkk;enrolment_deadline;contact_email\n"
        f"GLU-2;{provider_id or school['id']};{school['locations'][0]['id']};{day} 09:00-15:00;16;1200;"
        f"{(copenhagen_today() + timedelta(days=10)).isoformat()};glu@skole.example\n"
    )


def ids(items: dict) -> list[int]:
    return [item["id"] for item in items["items"]]


# --- fixtures -------------------------------------------------------------------------------------

@pytest.fixture
def offering(make_offering, school):
    return make_offering(school)


@pytest.fixture
def draft(make_offering, school):
    return make_offering(school, status="draft", first_day=45)


@pytest.fixture
def as_school(auth, school):
    return auth("school", provider_id=school["id"])


@pytest.fixture
def as_other_school(auth, other_school):
    return auth("school", provider_id=other_school["id"])


@pytest.fixture
def role_headers(auth, school):
    """Headers for each role, the school's being `school`; anonymous is no header at all."""
    return {
        "anonymous": {},
        "school": auth("school", provider_id=school["id"]),
        "hr": auth("hr", organisation="751"),
        "service": auth("service"),
        "admin": auth("admin"),
    }


def write_requests(school: dict, offering: dict) -> dict:
    """One request of each kind that changes offerings, by name: (method, path, keyword arguments)."""
    return {
        "create": ("POST", "/offerings", {"json": as_json(offering_data(school, first_day=60))}),
        "edit": ("PATCH", f"/offerings/{offering['id']}", {"json": {"capacity": 20}}),
        "cancel": ("POST", f"/offerings/{offering['id']}/cancel", {"json": {"reason": "For få tilmeldte"}}),
        "import": ("POST", "/offerings/import", {"data": csv_for(school), "content_type": "text/csv"}),
    }


# --- No token, bad tokens -------------------------------------------------------------------------

@pytest.mark.parametrize("kind", ["create", "edit", "cancel", "import"])
def test_writing_offerings_without_a_token_is_a_401_with_www_authenticate(client, app, school, offering, kind):
    method, path, kwargs = write_requests(school, offering)[kind]
    before = stored_offerings(app)

    assert_problem(client.open(path, method=method, **kwargs), 401)
    assert stored_offerings(app) == before


def test_a_stranger_with_a_bad_body_still_gets_401_not_422(client, app, offering):
    assert_problem(client.post("/offerings", json={"capacity": "many"}), 401)
    assert_problem(client.patch(f"/offerings/{offering['id']}", data="{not json", content_type="application/json"),
                   401)


def _bad_tokens(school_id: int) -> dict:
    now = datetime.now(UTC)
    return {
        "no scheme": {"Authorization": issue_token(TOKEN_SECRET, Role.SCHOOL, provider_id=school_id)},
        "basic scheme": {"Authorization": "Basic c2tvbGU6aGVtbWVsaWc="},
        "bearer without token": {"Authorization": "Bearer "},
        "bearer with garbage": bearer("not-a-jwt"),
        "bearer with NUL": bearer("abc\x00def"),
        "signed with another secret": bearer(issue_token(OTHER_SECRET, Role.SCHOOL, provider_id=school_id)),
        "expired": bearer(issue_token(TOKEN_SECRET, Role.SCHOOL, provider_id=school_id,
                                      now=now - timedelta(days=40), days=30)),
        "other audience": bearer(jwt.encode({"aud": "someone-else", "role": "school", "provider": school_id,
                                             "exp": now + timedelta(days=1)}, TOKEN_SECRET, algorithm="HS256")),
        "unknown role": bearer(jwt.encode({"aud": AUDIENCE, "role": "superuser", "exp": now + timedelta(days=1)},
                                          TOKEN_SECRET, algorithm="HS256")),
        "school without provider": bearer(jwt.encode({"aud": AUDIENCE, "role": "school",
                                                      "exp": now + timedelta(days=1)}, TOKEN_SECRET,
                                                     algorithm="HS256")),
        "unsigned": bearer(jwt.encode({"aud": AUDIENCE, "role": "admin", "exp": now + timedelta(days=1)}, None,
                                      algorithm="none")),
    }


BAD_TOKEN_NAMES = list(_bad_tokens(1))


@pytest.mark.parametrize("name", BAD_TOKEN_NAMES)
def test_bad_tokens_are_401_and_change_nothing(client, app, school, offering, name):
    headers = _bad_tokens(school["id"])[name]
    before = stored_offerings(app)

    assert_problem(client.patch(f"/offerings/{offering['id']}", json={"capacity": 20}, headers=headers), 401)
    assert_problem(client.post("/offerings", json=as_json(offering_data(school)), headers=headers), 401)
    assert stored_offerings(app) == before


def test_an_expired_token_says_it_has_expired(client, school, offering):
    headers = _bad_tokens(school["id"])["expired"]

    problem = assert_problem(client.post(f"/offerings/{offering['id']}/cancel", json={}, headers=headers), 401)

    assert "udløbet" in problem["detail"]


# --- A school and other schools' offerings --------------------------------------------------------

@pytest.mark.parametrize("kind", ["edit", "cancel"])
def test_school_cannot_change_another_schools_offering(client, app, school, offering, as_other_school, kind):
    method, path, kwargs = write_requests(school, offering)[kind]
    before = stored_offerings(app)

    assert_problem(client.open(path, method=method, headers=as_other_school, **kwargs), 403)
    assert stored_offerings(app) == before


def test_school_cannot_create_an_offering_for_another_school(client, app, school, as_other_school):
    before = stored_offerings(app)

    response = client.post("/offerings", json=as_json(offering_data(school)), headers=as_other_school)

    assert_problem(response, 403)
    assert stored_offerings(app) == before


def test_school_cannot_import_offerings_for_another_school(client, app, school, as_other_school):
    before = stored_offerings(app)

    response = client.post("/offerings/import", data=csv_for(school), content_type="text/csv",
                           headers=as_other_school)

    assert_problem(response, 403)
    assert stored_offerings(app) == before


def test_school_imports_offerings_for_itself(client, app, school, as_school):
    response = client.post("/offerings/import", data=csv_for(school), content_type="text/csv", headers=as_school)

    assert response.status_code == 201, response.get_json()
    assert response.get_json()["created"] == 1
    assert [item["provider_id"] for item in stored_offerings(app)[0]] == [school["id"]]


def test_school_edits_and_cancels_its_own_offering(client, school, offering, as_school):
    url = f"/offerings/{offering['id']}"

    assert client.patch(url, json={"capacity": 20}, headers=as_school).get_json()["capacity"] == 20
    assert client.post(f"{url}/cancel", json={}, headers=as_school).get_json()["status"] == "cancelled"


def test_admin_creates_and_edits_an_offering_of_any_school(client, school, role_headers):
    body = as_json(offering_data(school))

    created = client.post("/offerings", json=body, headers=role_headers["admin"])
    assert created.status_code == 201, created.get_json()
    edited = client.patch(f"/offerings/{created.get_json()['id']}", json={"capacity": 12},
                          headers=role_headers["admin"])

    assert edited.status_code == 200
    assert edited.get_json()["capacity"] == 12 and edited.get_json()["provider_id"] == school["id"]


def test_admin_must_name_the_school_when_creating_an_offering(client, app, school, role_headers):
    body = as_json(offering_data(school))
    del body["provider_id"]

    problem = assert_problem(client.post("/offerings", json=body, headers=role_headers["admin"]), 422)

    assert [error["pointer"] for error in problem["errors"]] == ["/provider_id"]
    assert stored_offerings(app) == ([], 0)


@pytest.mark.parametrize("role", ["hr", "service"])
@pytest.mark.parametrize("kind", ["create", "edit", "cancel", "import"])
def test_hr_and_service_tokens_cannot_write_offerings(client, app, school, offering, role_headers, role, kind):
    method, path, kwargs = write_requests(school, offering)[kind]
    before = stored_offerings(app)

    assert_problem(client.open(path, method=method, headers=role_headers[role], **kwargs), 403)
    assert stored_offerings(app) == before


# --- Programmes, modules and providers: admin only ------------------------------------------------

def admin_requests(client) -> dict:
    programme_id = client.get("/programmes").get_json()["items"][0]["id"]
    module_id = client.get("/modules").get_json()["items"][0]["id"]
    provider_id = client.get("/providers").get_json()["items"][0]["id"]
    return {
        "create programme": ("POST", "/programmes", {"code": "KOMLED", "title": "Kommunal ledelse"}),
        "edit programme": ("PATCH", f"/programmes/{programme_id}", {"title": "Ny titel"}),
        "create module": ("POST", "/modules", {"code": "GLU-X", "programme": "GLU", "title": "Ekstra"}),
        "edit module": ("PATCH", f"/modules/{module_id}", {"title": "Ny titel"}),
        "create provider": ("POST", "/providers", {"name": "Ny skole", "locations": [location("Odense", "461",
                                                   "Odense Kommune", "1083", "5000")]}),
        "edit provider": ("PATCH", f"/providers/{provider_id}", {"name": "Omdøbt skole"}),
    }


ADMIN_REQUEST_NAMES = ["create programme", "edit programme", "create module", "edit module", "create provider",
                       "edit provider"]


@pytest.mark.parametrize(("role", "status"), [("anonymous", 401), ("school", 403), ("hr", 403), ("service", 403)])
@pytest.mark.parametrize("name", ADMIN_REQUEST_NAMES)
def test_only_admin_may_change_programmes_modules_and_providers(client, role_headers, role, status, name):
    method, path, body = admin_requests(client)[name]
    listing = "/" + path.split("/")[1]
    before = client.get(listing).get_json()

    assert_problem(client.open(path, method=method, json=body, headers=role_headers[role]), status)
    assert client.get(listing).get_json() == before


def test_admin_adds_and_changes_a_programme(client, role_headers):
    admin = role_headers["admin"]

    created = client.post("/programmes", json={"code": "KOMLED", "title": "Kommunal ledelse"}, headers=admin)
    assert created.status_code == 201, created.get_json()
    url = f"/programmes/{created.get_json()['id']}"
    changed = client.patch(url, json={"description": "For kommunale ledere"}, headers=admin)

    assert changed.status_code == 200
    assert client.get(url).get_json()["description"] == "For kommunale ledere"
    assert "KOMLED" in [item["code"] for item in client.get("/programmes").get_json()["items"]]


def test_admin_adds_and_changes_a_module(client, role_headers, glu):
    admin = role_headers["admin"]

    created = client.post("/modules", json={"code": "GLU-X", "programme": "GLU", "title": "Ekstra modul",
                                            "duration_days": 3}, headers=admin)
    assert created.status_code == 201, created.get_json()
    url = f"/modules/{created.get_json()['id']}"
    changed = client.patch(url, json={"title": "Ekstra modul om trivsel"}, headers=admin)

    assert changed.status_code == 200
    assert client.get(url).get_json()["title"] == "Ekstra modul om trivsel"
    assert "GLU-X" in [item["code"] for item in client.get("/modules").get_json()["items"]]


def test_admin_adds_and_changes_a_provider(client, role_headers):
    admin = role_headers["admin"]
    odense = location("Odense", "461", "Odense Kommune", "1083", "5000")

    created = client.post("/providers", json={"name": "Syddansk Erhvervsskole", "locations": [odense]},
                          headers=admin)
    assert created.status_code == 201, created.get_json()
    url = f"/providers/{created.get_json()['id']}"
    changed = client.patch(url, json={"website": "https://www.sde.dk"}, headers=admin)

    assert changed.status_code == 200
    shown = client.get(url).get_json()
    assert shown["website"] == "https://www.sde.dk" and shown["locations"][0]["city"] == "Odense"
    assert "Syddansk Erhvervsskole" in [item["name"] for item in client.get("/providers").get_json()["items"]]


# --- Drafts ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("who", ["anonymous", "other school", "hr"])
def test_a_draft_is_unknown_to_everyone_but_its_school_and_admin(client, draft, role_headers, as_other_school, who):
    headers = as_other_school if who == "other school" else role_headers[who]

    assert_problem(client.get(f"/offerings/{draft['id']}", headers=headers), 404)
    assert draft["id"] not in ids(client.get("/offerings", headers=headers).get_json())


def test_a_draft_is_not_in_another_schools_draft_list(client, draft, as_other_school):
    response = client.get("/offerings?status=draft", headers=as_other_school)

    assert response.status_code == 200
    assert ids(response.get_json()) == []


def test_anonymous_may_not_list_drafts(client, draft):
    assert_problem(client.get("/offerings?status=draft"), 403)


@pytest.mark.parametrize("who", ["school", "admin"])
def test_a_draft_is_visible_to_its_school_and_admin(client, draft, role_headers, who):
    headers = role_headers[who]

    shown = client.get(f"/offerings/{draft['id']}", headers=headers)
    listed = client.get("/offerings?status=draft", headers=headers)

    assert shown.status_code == 200 and shown.get_json()["status"] == "draft"
    assert ids(listed.get_json()) == [draft["id"]]


def test_school_publishes_its_draft_and_then_everyone_sees_it(client, draft, as_school, as_other_school):
    url = f"/offerings/{draft['id']}"

    published = client.patch(url, json={"status": "published"}, headers=as_school)

    assert published.status_code == 200, published.get_json()
    assert published.get_json()["status"] == "published"
    assert published.get_json()["revision"] == draft["revision"] + 1
    for headers in ({}, as_other_school):
        assert client.get(url, headers=headers).get_json()["status"] == "published"
        assert draft["id"] in ids(client.get("/offerings", headers=headers).get_json())


def test_another_school_cannot_publish_a_draft(client, app, draft, as_other_school):
    before = stored_offerings(app)

    assert_problem(client.patch(f"/offerings/{draft['id']}", json={"status": "published"},
                                headers=as_other_school), 404)
    assert stored_offerings(app) == before


# --- Cancelling -----------------------------------------------------------------------------------

def test_cancelling_keeps_the_offering_visible_as_cancelled(client, app, offering, as_school):
    url = f"/offerings/{offering['id']}"

    response = client.post(f"{url}/cancel", json={"reason": "For få tilmeldte"}, headers=as_school)

    assert response.status_code == 200, response.get_json()
    cancelled = response.get_json()
    assert cancelled["status"] == "cancelled"
    assert cancelled["cancelled_at"] is not None
    assert cancelled["cancellation_reason"] == "For få tilmeldte"
    assert cancelled["revision"] == offering["revision"] + 1
    assert client.get(url).get_json() == cancelled
    assert ids(client.get("/offerings?status=cancelled").get_json()) == [offering["id"]]
    assert offering["id"] not in ids(client.get("/offerings").get_json())
    assert len(stored_offerings(app)[0]) == 1


def test_cancelling_without_a_body_is_allowed(client, offering, as_school):
    response = client.post(f"/offerings/{offering['id']}/cancel", headers=as_school)

    assert response.status_code == 200, response.get_json()
    assert response.get_json()["cancellation_reason"] is None


def test_cancelling_twice_is_a_409_and_keeps_the_first_cancellation(client, app, offering, as_school):
    url = f"/offerings/{offering['id']}/cancel"
    assert client.post(url, json={"reason": "Første"}, headers=as_school).status_code == 200
    before = stored_offerings(app)

    assert_problem(client.post(url, json={"reason": "Anden"}, headers=as_school), 409)
    assert stored_offerings(app) == before


# --- flask --app catalogue issue-token ------------------------------------------------------------

def test_issue_token_prints_one_line_with_a_school_token(app):
    result = app.test_cli_runner().invoke(args=["issue-token", "--role", "school", "--provider", "3"])

    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert len(lines) == 1
    actor = read_token(TOKEN_SECRET, lines[0])
    assert actor.role is Role.SCHOOL and actor.provider_id == 3


def test_issued_token_is_accepted_by_the_api(app, client, make_school, glu):
    school = make_school("Mercantec", location())
    result = app.test_cli_runner().invoke(args=["issue-token", "--role", "school", "--provider", str(school["id"])])

    response = client.post("/offerings", json=as_json(offering_data(school)), headers=bearer(result.output.strip()))

    assert response.status_code == 201, response.get_json()


@pytest.mark.parametrize("args", [
    ["--role", "school"],
    ["--role", "hr"],
    ["--role", "pope"],
    ["--role", "school", "--provider", "0"],
    ["--role", "school", "--provider", "abc"],
    ["--role", "admin", "--days", "0"],
], ids=["school without provider", "hr without organisation", "unknown role", "provider 0", "provider abc",
        "zero days"])
def test_issue_token_refuses_incomplete_or_bad_options_with_a_usage_error(app, args):
    result = app.test_cli_runner().invoke(args=["issue-token", *args])

    assert result.exit_code == 2, result.output
    assert "Usage" in result.output or "Error" in result.output
    assert "eyJ" not in result.output

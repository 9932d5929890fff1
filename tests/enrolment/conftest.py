"""The enrolment service under test, talking over HTTP (in-process WSGI) to a real catalogue app.

Here `app` and `client` are the enrolment service's; the catalogue's fixtures (`catalogue_app`,
`make_school`, `make_offering`, …) build the offerings it enrols into.
"""

from __future__ import annotations

import re

import flask_migrate
import httpx
import pytest

from catalogue.notifications import WebhookSender
from enrolment import create_app
from enrolment.models import Enrolment, db
from enrolment.organisations import create_organisation
from tests.catalogue.fixtures import *  # noqa: F403 (fixtures are found by name)
from tests.conftest import TOKEN_SECRET, empty_tables


@pytest.fixture(scope="session")
def enrolment_database(database_factory):
    url = database_factory("enrolment")
    app = create_app({"DATABASE_URL": url, "GLU_TOKEN_SECRET": TOKEN_SECRET})
    with app.app_context():
        flask_migrate.upgrade()
        db.engine.dispose()
    return url


class SwitchableTransport(httpx.BaseTransport):
    """The catalogue over in-process WSGI, which a test can take down and bring back."""

    def __init__(self, catalogue_app):
        self.wsgi = httpx.WSGITransport(app=catalogue_app)
        self.down = False
        self.sent: list[tuple[str, str]] = []  # (method, path) of each request that reached the catalogue

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if self.down:
            raise httpx.ConnectError("catalogue is down", request=request)
        self.sent.append((request.method, request.url.path))
        return self.wsgi.handle_request(request)


@pytest.fixture
def catalogue_link(catalogue_app):
    return SwitchableTransport(catalogue_app)


@pytest.fixture
def app(enrolment_database, catalogue_app, catalogue_link):
    app = create_app({"DATABASE_URL": enrolment_database, "GLU_TOKEN_SECRET": TOKEN_SECRET, "TESTING": True,
                      "CATALOGUE_URL": "http://catalogue.test", "CATALOGUE_TRANSPORT": catalogue_link,
                      "JOBS_IMMEDIATE": True})
    # The catalogue sends this enrolment service its signed webhooks after a school's change; its jobs
    # run at once in tests, so the webhook arrives before the school's request is answered.
    catalogue_app.extensions["webhook_sender"] = WebhookSender(
        "http://enrolment.test", TOKEN_SECRET, transport=httpx.WSGITransport(app=app))
    yield app
    with app.app_context():
        empty_tables(db)


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def make_organisation(app):
    """make_organisation("791", requires_approval=False) -> the organisation's key."""

    def make(key: str = "791", name: str | None = None, requires_approval: bool = True, kind="municipality") -> str:
        with app.app_context():
            create_organisation(db.session, {
                "key": key, "name": name or f"Kommune {key}", "kind": kind, "requires_approval": requires_approval,
                "ean": None, "order_reference": None, "cost_centre": None, "hr_users": [],
            })
            db.session.commit()
        return key

    return make


@pytest.fixture
def hr(auth):
    """hr("791") -> headers of an HR token for that organisation."""
    return lambda organisation="791": auth("hr", organisation=organisation)


@pytest.fixture
def enrol(client, hr):
    """enrol(offering, "Anne", organisation="791") -> the response of POST /enrolments."""

    def post(offering: dict, name: str, organisation: str = "791", email: str | None = None, **kwargs):
        body = {"offering_id": offering["id"],
                "participant": {"name": name, "email": email or f"{name.lower()}@kommune.example"}}
        return client.post("/enrolments", json=body, headers=hr(organisation), **kwargs)

    return post


def confirm_request(app, client, request_json: dict) -> dict:
    """Press the link of the confirmation mail a leader's request sent (POST /requests answers
    `unconfirmed`); returns the enrolment as it is then, as HR's API shows it."""
    from enrolment import leader_requests
    from shared.db import utcnow

    with app.app_context():
        enrolment = db.session.get(Enrolment, request_json["id"])
        token = leader_requests.confirmation_token(enrolment, utcnow())
    page = client.get(f"/anmod/bekraeft/{token}")
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.get_data(as_text=True)).group(1)
    answer = client.post(f"/anmod/bekraeft/{token}", data={"csrf_token": csrf}, content_type="multipart/form-data")
    assert answer.status_code == 200, answer.get_data(as_text=True)[:2000]
    with app.app_context():
        enrolment = db.session.get(Enrolment, request_json["id"])
        return {**request_json, "status": enrolment.status, "waitlist_position": enrolment.waitlist_position}


class Answered:
    """A response-like answer: POST /requests's status code with the enrolment as it stands once confirmed."""

    def __init__(self, status_code: int, body: dict):
        self.status_code, self._body = status_code, body

    def get_json(self) -> dict:
        return self._body


def request_and_confirm(app, client, body: dict) -> Answered:
    """POST /requests as a leader, then confirm it by the mailed link; a refused request is returned as it came."""
    response = client.post("/requests", json=body)
    if response.status_code != 201:
        return Answered(response.status_code, response.get_json())
    assert response.get_json()["status"] == "unconfirmed", response.get_json()
    return Answered(201, confirm_request(app, client, response.get_json()))

"""/readyz: both services ready; the enrolment service degraded without the catalogue; 503 without a database."""

from __future__ import annotations

import threading

import pytest
from flask import request

from catalogue import create_app as create_catalogue
from enrolment import create_app as create_enrolment
from shared import health
from tests.conftest import TOKEN_SECRET

# Refused at once: nothing listens on port 1.
UNREACHABLE_POSTGRES = "postgresql://postgres@127.0.0.1:1/glu?connect_timeout=2"


def test_enrolment_service_is_ready_with_database_and_catalogue(client):
    response = client.get("/readyz")

    assert response.status_code == 200
    assert response.get_json() == {"status": "ok", "checks": {"database": "ok", "catalogue": "ok"}}
    assert response.headers["Cache-Control"] == "no-store"


def test_catalogue_is_ready_with_its_database(catalogue_client):
    response = catalogue_client.get("/readyz")

    assert response.status_code == 200
    assert response.get_json() == {"status": "ok", "checks": {"database": "ok"}}


def test_without_the_catalogue_the_enrolment_service_is_degraded_but_serves_lists(client, catalogue_link, hr,
                                                                                  make_organisation):
    make_organisation("791")
    catalogue_link.down = True

    response = client.get("/readyz")

    assert response.status_code == 200
    assert response.get_json() == {"status": "degraded", "checks": {"database": "ok", "catalogue": "unreachable"}}
    assert client.get("/enrolments", headers=hr()).status_code == 200


def test_the_catalogue_is_asked_through_its_healthz_with_the_request_id(client, catalogue_app):
    seen = []

    @catalogue_app.after_request
    def note(response):
        seen.append((request.path, request.headers.get("X-Request-ID")))
        return response

    client.get("/readyz", headers={"X-Request-ID": "probe-1"})

    assert seen == [("/healthz", "probe-1")]


def test_enrolment_service_without_its_database_is_unavailable(catalogue_link):
    app = create_enrolment({"DATABASE_URL": UNREACHABLE_POSTGRES, "GLU_TOKEN_SECRET": TOKEN_SECRET, "TESTING": True,
                            "CATALOGUE_URL": "http://catalogue.test", "CATALOGUE_TRANSPORT": catalogue_link})

    response = app.test_client().get("/readyz")

    assert response.status_code == 503
    assert response.content_type == "application/problem+json"
    body = response.get_json()
    assert body["status"] == 503
    assert body["checks"] == {"database": "unreachable", "catalogue": "ok"}
    # Alive all the same: a restart would not help.
    assert app.test_client().get("/healthz").status_code == 200


def test_catalogue_without_its_database_is_unavailable(tmp_path):
    missing = tmp_path / "no-such-directory" / "catalogue.sqlite3"
    app = create_catalogue({"DATABASE_URL": f"sqlite:///{missing}", "GLU_TOKEN_SECRET": TOKEN_SECRET,
                            "TESTING": True})

    response = app.test_client().get("/readyz")

    assert response.status_code == 503
    assert response.content_type == "application/problem+json"
    assert response.get_json()["checks"] == {"database": "unreachable"}


@pytest.fixture
def hanging_app(catalogue_app):
    """The catalogue with a check that does not answer until the test lets it go."""
    release = threading.Event()
    started = []

    def hang():
        started.append(1)
        release.wait(10)

    health.set_checks(catalogue_app, [health.Check("database", hang)], timeout=0.2)
    yield catalogue_app, started
    release.set()


def test_a_check_that_does_not_answer_in_time_is_a_timeout_and_is_not_started_twice(hanging_app):
    app, started = hanging_app

    first = app.test_client().get("/readyz")
    second = app.test_client().get("/readyz")

    assert first.status_code == second.status_code == 503
    assert first.get_json()["checks"] == second.get_json()["checks"] == {"database": "timeout"}
    assert started == [1]


def test_readyz_is_documented(client):
    assert "/readyz" in client.get("/openapi.json").get_json()["paths"]

"""Request ids, JSON logs without personal data, and Prometheus metrics, on both services."""

from __future__ import annotations

import json
import logging
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from flask import request
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy.exc import IntegrityError

from catalogue import create_app as create_catalogue
from shared.errors import handle_integrity_error
from shared.observability import JsonFormatter, redact
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
    request_and_confirm,
)

# ruff: noqa: F811 (the fixtures imported above are the tests' arguments)

EMAIL = re.compile(r"[\w.+-]+@[\w-]+(\.[\w-]+)+")
ROOT = Path(__file__).resolve().parents[2]


def metric(client, name: str, **labels) -> float:
    """The value of one sample of /metrics (0 if it is not there yet)."""
    response = client.get("/metrics")
    assert response.status_code == 200
    for family in text_string_to_metric_families(response.get_data(as_text=True)):
        for sample in family.samples:
            if sample.name == name and all(sample.labels.get(k) == v for k, v in labels.items()):
                return sample.value
    return 0.0


def json_lines(text: str) -> list[dict]:
    """Every line of stderr, each of which must be one JSON object."""
    return [json.loads(line) for line in text.splitlines() if line.strip()]


@pytest.fixture
def offering(make_school, make_offering, make_organisation):
    make_organisation("791", requires_approval=True)
    return make_offering(make_school("Mercantec"), module="GLU-2", capacity=1, min_participants=1)


# --- Request ids ---------------------------------------------------------------------------------------


def test_a_request_id_is_generated_when_none_is_given(catalogue_client):
    first = catalogue_client.get("/healthz").headers["X-Request-ID"]
    second = catalogue_client.get("/healthz").headers["X-Request-ID"]

    assert re.fullmatch(r"[0-9a-f]{32}", first)
    assert first != second


def test_a_sane_request_id_is_kept(catalogue_client):
    given = "edge-7f3a_1.2-" + "x" * 50

    assert catalogue_client.get("/healthz", headers={"X-Request-ID": given}).headers["X-Request-ID"] == given


@pytest.mark.parametrize("insane", ["x" * 65, "has space", "semi;colon", "æøå", "<script>", "a/b"])
def test_an_insane_request_id_is_replaced(catalogue_client, insane):
    returned = catalogue_client.get("/healthz", headers={"X-Request-ID": insane}).headers["X-Request-ID"]

    assert re.fullmatch(r"[0-9a-f]{32}", returned)


def test_errors_carry_the_request_id_too(catalogue_client):
    response = catalogue_client.get("/no/such/page", headers={"X-Request-ID": "lost-1"})

    assert response.status_code == 404
    assert response.headers["X-Request-ID"] == "lost-1"


def enrol_with_id(client, hr, offering: dict, name: str, request_id: str, email: str | None = None):
    body = {"offering_id": offering["id"],
            "participant": {"name": name, "email": email or f"{name.lower()}@kommune.example"}}
    return client.post("/enrolments", json=body, headers={**hr(), "X-Request-ID": request_id})


def test_the_enrolment_service_sends_the_same_request_id_to_the_catalogue(client, hr, enrol, offering,
                                                                          catalogue_app):
    seen = []

    @catalogue_app.after_request
    def note(response):
        seen.append((request.method, request.path, request.headers.get("X-Request-ID")))
        return response

    given = enrol_with_id(client, hr, offering, "Anne", "trace-42")
    generated = enrol(offering, "Bent")

    assert given.status_code == generated.status_code == 201
    assert given.headers["X-Request-ID"] == "trace-42"
    path = f"/offerings/{offering['id']}"
    # Only the first enrolment reads the offering, within its request; seat counts go from the job engine.
    assert [call for call in seen if call[0] == "GET"] == [("GET", path, "trace-42")]
    assert [call[:2] for call in seen if call[0] == "PUT"] == [("PUT", "/offerings/seats")] * 2


# --- Metrics -------------------------------------------------------------------------------------------


def test_metrics_count_requests_by_route_template(catalogue_client):
    labels = {"service": "catalogue", "endpoint": "/offerings/<int:offering_id>", "method": "GET", "status": "404"}
    before = metric(catalogue_client, "glu_http_requests_total", **labels)

    catalogue_client.get("/offerings/987654")
    catalogue_client.get("/offerings/987655")
    catalogue_client.get("/no/such/page/anne@kommune.example")
    response = catalogue_client.get("/metrics")

    text = response.get_data(as_text=True)
    assert response.content_type.startswith("text/plain")
    assert metric(catalogue_client, "glu_http_requests_total", **labels) == before + 2
    assert metric(catalogue_client, "glu_http_request_duration_seconds_count", **labels) >= 2
    assert metric(catalogue_client, "glu_http_requests_total", endpoint="unmatched", status="404") >= 1
    label_values = " ".join(
        value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        for value in sample.labels.values()
    )
    assert "987654" not in label_values and "no/such" not in label_values and "@" not in label_values


def test_the_enrolment_outcome_counter_increases_after_an_enrolment(client, enrol, hr, offering):
    def outcome(name: str) -> float:
        return metric(client, "glu_enrolments_total", outcome=name)

    confirmed, waitlisted, duplicate = outcome("confirmed"), outcome("waitlisted"), outcome("duplicate")
    promotions = metric(client, "glu_waitlist_promotions_total")

    anne = enrol(offering, "Anne")
    bent = enrol(offering, "Bent")
    again = enrol(offering, "Anne")

    assert [anne.status_code, bent.status_code, again.status_code] == [201, 201, 409]
    assert outcome("confirmed") == confirmed + 1
    assert outcome("waitlisted") == waitlisted + 1
    assert outcome("duplicate") == duplicate + 1

    client.post(f"/enrolments/{anne.get_json()['id']}/cancel", headers=hr())

    assert metric(client, "glu_waitlist_promotions_total") == promotions + 1


def test_requests_waiting_for_approval_and_dry_runs(client, hr, offering):
    pending = metric(client, "glu_enrolments_total", outcome="pending_approval")
    confirmed = metric(client, "glu_enrolments_total", outcome="confirmed")
    body = {"offering_id": offering["id"], "organisation": "791",
            "participant": {"name": "Carla", "email": "carla@kommune.example"}}

    assert request_and_confirm(client.application, client, body).status_code == 201
    dry = client.post("/enrolments/batch?dry_run=true", headers=hr(), json={
        "offering_id": offering["id"], "participants": [{"name": "Dorte", "email": "dorte@kommune.example"}]})

    assert dry.status_code == 200
    assert metric(client, "glu_enrolments_total", outcome="pending_approval") == pending + 1
    assert metric(client, "glu_enrolments_total", outcome="confirmed") == confirmed  # a dry run counts nothing


def test_several_workers_add_up_in_multiprocess_mode(tmp_path):
    """With PROMETHEUS_MULTIPROC_DIR, /metrics in one process shows the requests every process answered."""
    script = (
        "import sys; from catalogue import create_app\n"
        f"app = create_app({{'DATABASE_URL': 'sqlite:///{tmp_path / 'c.sqlite3'}', 'GLU_TOKEN_SECRET': 'x' * 40}})\n"
        "client = app.test_client()\n"
        "assert client.get('/healthz').status_code == 200\n"
        "if sys.argv[1] == 'read': sys.stdout.write(client.get('/metrics').get_data(as_text=True))\n"
    )
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(tmp_path / "metrics")}

    def run(mode: str) -> str:
        done = subprocess.run([sys.executable, "-c", script, mode], env=env, cwd=ROOT, capture_output=True,
                              text=True, timeout=120)
        assert done.returncode == 0, done.stderr
        return done.stdout

    run("serve")
    run("serve")
    text = run("read")

    samples = [sample for family in text_string_to_metric_families(text) for sample in family.samples
               if sample.name == "glu_http_requests_total" and sample.labels["endpoint"] == "/healthz"]
    assert [sample.value for sample in samples] == [3.0]


# --- Logs ----------------------------------------------------------------------------------------------


def test_log_lines_are_json_with_the_request_and_no_personal_data(capsys, client, hr, offering):
    capsys.readouterr()

    enrol_with_id(client, hr, offering, "Anne", "log-1", email="anne.hansen@kommune.example")
    # A duplicate: a 409 whose detail names the address.
    enrol_with_id(client, hr, offering, "Anne", "log-2", email="anne.hansen@kommune.example")
    client.get("/feeds/participants/S3cr3tT0kenS3cr3tT0ken.ics?x=anne.hansen@kommune.example")

    err = capsys.readouterr().err
    lines = json_lines(err)
    access = [line for line in lines if line["logger"] == "glu.http"]
    assert {"time", "level", "logger", "message", "request_id", "method", "path"} <= access[0].keys()
    # Both services' lines carry the id: the enrolment's POST and the catalogue's GET and PUT.
    traced = [(line["method"], line["path"], line["status"]) for line in access if line["request_id"] == "log-1"]
    offering_path = f"/offerings/{offering['id']}"
    assert traced == [("GET", offering_path, 200), ("PUT", "/offerings/seats", 200), ("POST", "/enrolments", 201)]
    assert any(line["path"] == "/feeds/participants/<token>.ics" for line in access)
    assert not EMAIL.search(err)
    assert "Anne" not in err and "S3cr3t" not in err and "x=" not in err


def test_under_gunicorn_its_access_log_is_the_only_line_per_request(capsys, catalogue_client):
    capsys.readouterr()
    catalogue_client.get("/healthz")
    catalogue_client.get("/healthz", environ_overrides={"SERVER_SOFTWARE": "gunicorn/23.0.0"})

    access = [line for line in json_lines(capsys.readouterr().err) if line["logger"] == "glu.http"]
    assert len(access) == 1


def test_the_integrity_error_log_names_no_value(catalogue_app, caplog):
    orig = Exception('duplicate key value violates unique constraint "uq_participant"\n'
                     "DETAIL:  Key (email_key)=(anne@kommune.example) already exists.")
    error = IntegrityError("INSERT INTO participant …", {"email": "anne@kommune.example"}, orig)

    with catalogue_app.test_request_context("/offerings"), caplog.at_level(logging.WARNING):
        response = handle_integrity_error(error)

    assert response.status_code == 409
    assert "Integrity error" in caplog.text
    assert "anne" not in caplog.text


def test_the_formatter_scrubs_messages_and_tracebacks():
    try:
        raise ValueError("could not mail bo@example.dk")
    except ValueError:
        record = logging.LogRecord("x", logging.ERROR, __file__, 1, "Sent %s with %s to %s", (
            "Bearer abc.def.ghi", "eyJhbGciOiJIUzI1NiJ9.eyJyb2xlIjoiaHIifQ.c2ln",
            "https://enrolment.example/mine-kurser?token=t0p&x=1"), sys.exc_info())

    line = JsonFormatter().format(record)

    entry = json.loads(line)
    assert "\n" not in line
    assert entry["message"] == "Sent Bearer <token> with <token> to https://enrolment.example/mine-kurser?<query>"
    assert "bo@example.dk" not in entry["exception"] and "<email>" in entry["exception"]
    assert "request_id" not in entry  # outside a request


def test_sql_parameters_and_postgres_details_are_hidden():
    text = ("(psycopg.errors.UniqueViolation) duplicate key\nDETAIL:  Key (organisation_id, email_key)=(1, a b) "
            "already exists.\n[SQL: INSERT INTO participant (name) VALUES (%(name)s)]\n"
            "[parameters: {'name': 'Anne Hansen'}]")

    hidden = redact(text)

    assert "Anne Hansen" not in hidden and "(1, a b)" not in hidden
    assert "Key (organisation_id, email_key)=(<hidden>)" in hidden and "[SQL: INSERT" in hidden


def test_logging_is_configured_once_and_caplog_still_captures(catalogue_database, caplog):
    for _ in range(3):
        create_catalogue({"DATABASE_URL": catalogue_database, "GLU_TOKEN_SECRET": TOKEN_SECRET, "TESTING": True})

    logging.getLogger("tests.observability").warning("still captured")

    assert sum(getattr(handler, "glu_json", False) for handler in logging.getLogger().handlers) == 1
    assert "still captured" in caplog.text

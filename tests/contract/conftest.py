"""Both services under schemathesis: each app over WSGI, on a database seeded with a little of everything.

The catalogue and enrolment apps are built as in their own tests (tests/catalogue/fixtures.py and
tests/enrolment/conftest.py); the enrolment service reaches this catalogue in process. The seeded ids
are handed to the generated requests now and then, so the operations are exercised on rows that
exist, not only on 404s.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import flask_migrate
import httpx
import pytest
import schemathesis
from hypothesis.configuration import set_hypothesis_home_dir

from catalogue import create_app as create_catalogue_app
from catalogue.models import db as catalogue_db
from catalogue.notifications import WebhookSender
from enrolment import create_app as create_enrolment_app
from enrolment.models import db as enrolment_db
from enrolment.organisations import create_organisation
from shared.auth import Role, issue_token
from tests.catalogue.fixtures import *  # noqa: F403 (fixtures are found by name)
from tests.catalogue.fixtures import location
from tests.conftest import TOKEN_SECRET, empty_tables
from tests.contract.contract import Seeded

# Hypothesis keeps caches of its own (constants, Unicode tables) in ./.hypothesis; outside the work tree instead.
set_hypothesis_home_dir(Path(tempfile.gettempdir()) / "glu-courses-hypothesis")

# Few examples per operation and a fixed seed: the suite stays within minutes on two cores, and CI
# sees the same requests on every run. No example database is written (nothing left in the tree).
# GLU_CONTRACT_EXAMPLES and GLU_CONTRACT_SEED run a deeper or another search by hand.
MAX_EXAMPLES = int(os.environ.get("GLU_CONTRACT_EXAMPLES", "50"))

CONFIG = {
    "seed": int(os.environ.get("GLU_CONTRACT_SEED", "14")),
    "generation": {"mode": "all", "max-examples": MAX_EXAMPLES, "deterministic": True, "database": "none",
                   # The token is the test's to set (a real one per role); ignored_auth sends none and a
                   # wrong one, so the Authorization header is not generated or mutated as a parameter.
                   "with-security-parameters": False},
    # Examples, then the coverage phase (each parameter's boundaries, valid and not), then fuzzing; the
    # stateful phase (links between operations) is left out: the document states no links.
    "phases": {"examples": {"enabled": True}, "coverage": {"enabled": True}, "fuzzing": {"enabled": True},
               "stateful": {"enabled": False}},
    "checks": {
        "not_a_server_error": {"enabled": True},
        "status_code_conformance": {"enabled": True},
        "content_type_conformance": {"enabled": True},
        "response_schema_conformance": {"enabled": True},
        "response_headers_conformance": {"enabled": True},
        "negative_data_rejection": {"enabled": True},
        "ignored_auth": {"enabled": True},
        # Valid data can still be refused by a rule no schema can state (a date in the past, a
        # module the catalogue does not have), so accepted-positive-data is not a finding here.
        "positive_data_acceptance": {"enabled": False},
        "use_after_free": {"enabled": False},
        "ensure_resource_availability": {"enabled": False},
    },
}


def token(role: Role, **scope) -> str:
    return issue_token(TOKEN_SECRET, role, **scope)


def load(app) -> schemathesis.BaseSchema:
    return schemathesis.openapi.from_wsgi("/openapi.json", app, config=schemathesis.Config.from_dict(CONFIG))


@pytest.fixture
def catalogue_seeded(catalogue_app, make_school, make_offering) -> Seeded:
    school = make_school("Mercantec", location())
    other = make_school("Tech College Aalborg", location("Aalborg", "851", "Aalborg Kommune", "1081", "9000"))
    published = make_offering(school, module="GLU-1", first_day=30)
    draft = make_offering(school, module="GLU-2", first_day=40, status="draft")
    make_offering(other, module="GLU-3", first_day=50)
    client = catalogue_app.test_client()
    programmes = [programme["id"] for programme in client.get("/programmes").get_json()["items"]]
    modules = [module["id"] for module in client.get("/modules").get_json()["items"]]
    return Seeded(
        ids={"offering_id": [published["id"], draft["id"]], "provider_id": [school["id"]],
             "programme_id": programmes, "module_id": modules[:2]},
        tokens={"school": token(Role.SCHOOL, provider_id=school["id"]), "admin": token(Role.ADMIN),
                "service": token(Role.SERVICE)},
    )


@pytest.fixture
def catalogue_schema(catalogue_app, catalogue_seeded):
    return load(catalogue_app)


# Databases of their own (named apart from the catalogue's and enrolment's tests' on a PostgreSQL server).
@pytest.fixture(scope="session")
def catalogue_database(database_factory):
    url = database_factory("contract_catalogue")
    app = create_catalogue_app({"DATABASE_URL": url, "GLU_TOKEN_SECRET": TOKEN_SECRET})
    with app.app_context():
        flask_migrate.upgrade()
        catalogue_db.engine.dispose()
    return url


@pytest.fixture(scope="session")
def enrolment_database(database_factory):
    url = database_factory("contract_enrolment")
    app = create_enrolment_app({"DATABASE_URL": url, "GLU_TOKEN_SECRET": TOKEN_SECRET})
    with app.app_context():
        flask_migrate.upgrade()
        enrolment_db.engine.dispose()
    return url


@pytest.fixture
def enrolment_app(enrolment_database, catalogue_app):
    app = create_enrolment_app({
        "DATABASE_URL": enrolment_database, "GLU_TOKEN_SECRET": TOKEN_SECRET, "TESTING": True,
        "CATALOGUE_URL": "http://catalogue.test", "CATALOGUE_TRANSPORT": httpx.WSGITransport(app=catalogue_app),
        "JOBS_IMMEDIATE": True})
    catalogue_app.extensions["webhook_sender"] = WebhookSender(
        "http://enrolment.test", TOKEN_SECRET, transport=httpx.WSGITransport(app=app))
    yield app
    with app.app_context():
        empty_tables(enrolment_db)


@pytest.fixture
def enrolment_seeded(enrolment_app, make_school, make_offering) -> Seeded:
    school = make_school("Mercantec", location())
    offering = make_offering(school, module="GLU-1", first_day=30)
    with enrolment_app.app_context():
        create_organisation(enrolment_db.session, {
            "key": "791", "name": "Viborg Kommune", "kind": "municipality", "requires_approval": False,
            "ean": None, "order_reference": None, "cost_centre": None, "hr_users": []})
        enrolment_db.session.commit()
    client = enrolment_app.test_client()
    hr = {"Authorization": f"Bearer {token(Role.HR, organisation='791')}"}
    enrolment = client.post("/enrolments", headers=hr, json={
        "offering_id": offering["id"], "participant": {"name": "Anne Holm", "email": "anne@viborg.example"}})
    assert enrolment.status_code == 201, enrolment.get_json()
    body = enrolment.get_json()
    return Seeded(
        ids={"offering_id": [offering["id"]], "enrolment_id": [body["id"]], "key": ["791"],
             "participant_id": [body["participant"]["id"]] if "id" in body.get("participant", {}) else []},
        tokens={"school": token(Role.SCHOOL, provider_id=school["id"]), "admin": token(Role.ADMIN),
                "hr": token(Role.HR, organisation="791"), "service": token(Role.SERVICE)},
    )


@pytest.fixture
def enrolment_schema(enrolment_app, enrolment_seeded):
    return load(enrolment_app)


@pytest.fixture(autouse=True)
def _node_id_for_schemathesis(request):
    """schemathesis' lazy schemas (from_fixture) read and rename `node._nodeid`, which pytest 9 no longer has;
    give it the node id to read, so each operation is reported as a subtest of the one test."""
    if not hasattr(request.node, "_nodeid"):
        request.node._nodeid = request.node.nodeid

"""Body and field size limits on both services: a body over MAX_REQUEST_BYTES is a 413 (problem+json on
the API, a Danish page on pages) that writes nothing, and every string a request schema reads has a
maximum length, so no field can carry more than its column and its page can show.

The catalogue's offerings have their own, in tests/catalogue/test_offering_validation.py.
"""

from __future__ import annotations

import re

import pytest
from marshmallow import fields, validate
from sqlalchemy import func, select

from catalogue import create_app as create_catalogue
from enrolment import create_app as create_enrolment
from enrolment.models import db
from shared.config import MAX_REQUEST_BYTES
from shared.errors import PROBLEM_CONTENT_TYPE
from tests.catalogue.fixtures import *  # noqa: F403 (fixtures are found by name)
from tests.conftest import TOKEN_SECRET
from tests.enrolment.conftest import (  # noqa: F401 (fixtures are found by name)
    app,
    catalogue_link,
    client,
    enrolment_database,
    hr,
    make_organisation,
)

# ruff: noqa: F811 (the fixtures imported above are the tests' arguments)

TOO_BIG = "x" * (MAX_REQUEST_BYTES + 1)
# A pattern anchored at both ends with only bounded repetition ("^[0-9]{4}$") bounds the length too.
BOUNDED_PATTERN = re.compile(r"^\^[^*+]*\$$")


def rows_in(flask_app, database) -> dict[str, int]:
    with flask_app.app_context():
        return {table.name: database.session.scalar(select(func.count()).select_from(table))
                for table in database.metadata.sorted_tables}


def csrf_of(response) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', response.get_data(as_text=True)).group(1)


# --- Every string has a maximum ---------------------------------------------------------------------


def _is_bounded(field: fields.Field) -> bool:
    for validator in field.validators:
        if isinstance(validator, validate.Length) and validator.max is not None:
            return True
        if isinstance(validator, validate.OneOf | validate.Equal):
            return True
        if isinstance(validator, validate.Regexp) and BOUNDED_PATTERN.match(validator.regex.pattern):
            return True
    return False


def unbounded(schema, path: str = ""):
    """The pointers of the strings and lists in `schema` (as loaded) that have no maximum length."""
    for name, field in schema.fields.items():
        if not field.dump_only:
            yield from _unbounded_field(field, f"{path}/{field.data_key or name}")


def _unbounded_field(field: fields.Field, path: str):
    if isinstance(field, fields.Nested):
        yield from unbounded(field.schema, path)
    elif isinstance(field, fields.List):
        if not _is_bounded(field):
            yield f"{path} (a list)"
        yield from _unbounded_field(field.inner, f"{path}/0")
    elif isinstance(field, fields.Dict):
        yield f"{path} (a mapping)"
    elif isinstance(field, fields.String) and not _is_bounded(field):
        yield path


def request_schemas(flask_app):
    """(endpoint, method, schema) of every flask-smorest view that reads arguments."""
    for endpoint, view in flask_app.view_functions.items():
        view_class = getattr(view, "view_class", None)
        for method in ("get", "post", "put", "patch", "delete"):
            handler = getattr(view_class, method, None) if view_class else None
            for argument in getattr(handler, "_apidoc", {}).get("arguments", {}).get("parameters", []):
                schema = argument["schema"]
                yield endpoint, method, schema() if isinstance(schema, type) else schema


@pytest.mark.parametrize("create_app", [create_catalogue, create_enrolment], ids=["catalogue", "enrolment"])
def test_every_string_a_request_schema_reads_has_a_maximum_length(create_app, tmp_path):
    service = create_app({"GLU_TOKEN_SECRET": TOKEN_SECRET, "DATABASE_URL": f"sqlite:///{tmp_path / 'x.sqlite3'}"})

    found = [f"{method.upper()} {endpoint} {type(schema).__name__}{pointer}"
             for endpoint, method, schema in request_schemas(service) for pointer in unbounded(schema)]

    assert list(request_schemas(service)), "no request schemas found: the walk above lost its way"
    assert not found


# --- Bodies over MAX_REQUEST_BYTES ------------------------------------------------------------------


@pytest.fixture
def offering(make_school, make_offering, make_organisation):
    make_organisation("791", requires_approval=False)
    return make_offering(make_school("Mercantec"), module="GLU-2", capacity=20, min_participants=1)


def assert_problem_413(response) -> None:
    assert response.status_code == 413
    assert response.content_type == PROBLEM_CONTENT_TYPE
    assert response.get_json()["title"] == "Forespørgslen er for stor"


@pytest.mark.parametrize("path", ["/enrolments", "/requests", "/interests"])
def test_an_enrolment_api_body_over_the_limit_is_a_413_problem_and_writes_nothing(app, client, hr, offering, path):
    before = rows_in(app, db)

    response = client.post(path, data='{"note": "' + TOO_BIG + '"}', content_type="application/json", headers=hr())

    assert_problem_413(response)
    assert rows_in(app, db) == before


def test_a_catalogue_api_body_over_the_limit_is_a_413_problem(catalogue_client, auth):
    response = catalogue_client.post("/providers", data='{"name": "' + TOO_BIG + '"}',
                                     content_type="application/json", headers=auth("admin"))

    assert_problem_413(response)


@pytest.mark.parametrize("path", ["/mine-links", "/log-ind"])
def test_a_form_over_the_limit_is_a_413_page_in_danish(app, client, path):
    before = rows_in(app, db)
    csrf = csrf_of(client.get(path))

    response = client.post(path, data={"csrf_token": csrf, "email": TOO_BIG}, content_type="multipart/form-data")

    assert response.status_code == 413
    assert response.content_type.startswith("text/html")
    assert "Forespørgslen er for stor" in response.get_data(as_text=True)
    assert rows_in(app, db) == before


def test_a_catalogue_form_over_the_limit_is_a_413_page_in_danish(catalogue_client):
    csrf = csrf_of(catalogue_client.get("/log-ind"))

    response = catalogue_client.post("/log-ind", data={"csrf_token": csrf, "email": TOO_BIG},
                                     content_type="multipart/form-data")

    assert response.status_code == 413
    assert "Forespørgslen er for stor" in response.get_data(as_text=True)


# --- Fields over their maximum ----------------------------------------------------------------------


def test_a_name_over_its_maximum_is_named_on_the_api_and_beside_the_field_on_the_page(app, client, offering):
    before = rows_in(app, db)
    long_name = "Anne " + "x" * 300

    api = client.post("/requests", json={"offering_id": offering["id"], "organisation": "791",
                                         "participant": {"name": long_name, "email": "anne@kommune.example"}})
    form = client.get(f"/anmod/{offering['id']}")
    page = client.post(f"/anmod/{offering['id']}", content_type="multipart/form-data", data={
        "csrf_token": csrf_of(form), "navn": long_name, "email": "anne@kommune.example", "organisation": "791"})

    assert api.status_code == 422
    assert "/participant/name" in [error["pointer"] for error in api.get_json()["errors"]]
    assert page.status_code == 422
    assert re.search(r'id="navn-error"><span[^>]*>Fejl: </span>Længden', page.get_data(as_text=True))
    assert rows_in(app, db) == before


def test_an_address_over_its_maximum_is_refused_beside_the_field(app, client):
    csrf = csrf_of(client.get("/mine-links"))

    response = client.post("/mine-links", data={"csrf_token": csrf, "email": "a" * 250 + "@kommune.example"},
                           content_type="multipart/form-data")

    assert response.status_code == 422
    assert "Skriv din e-mailadresse" in response.get_data(as_text=True)

"""In the catalogue's own tests, `app` and `client` are the catalogue's."""

import pytest

from catalogue.models import db
from tests.catalogue.fixtures import *  # noqa: F403 (fixtures are found by name)
from tests.catalogue.fixtures import location


@pytest.fixture
def app(catalogue_app):
    return catalogue_app


@pytest.fixture
def client(catalogue_client):
    return catalogue_client


@pytest.fixture
def db_session(app):
    with app.app_context():
        yield db.session


@pytest.fixture
def school(make_school, glu):
    return make_school("Mercantec", location())


@pytest.fixture
def other_school(make_school):
    return make_school("Tech College Aalborg", location("Aalborg", "851", "Aalborg Kommune", "1081", "9000"))

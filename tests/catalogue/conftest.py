"""In the catalogue's own tests, `app` and `client` are the catalogue's."""

import pytest

from catalogue.models import db
from tests.catalogue.fixtures import *  # noqa: F403 (fixtures are found by name)


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

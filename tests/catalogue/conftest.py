"""In the catalogue's own tests, `app` and `client` are the catalogue's."""

import pytest

from catalogue.models import db
from tests.catalogue.fixtures import *  # noqa: F403 (fixtures are found by name)
from tests.catalogue.fixtures import location
from tests.smtp import running_smtp_server


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


@pytest.fixture
def mailbox(app):
    """The app's mail goes to a real SMTP server; yields its handler."""
    with running_smtp_server() as (handler, port):
        app.config.update(SMTP_HOST="127.0.0.1", SMTP_PORT=port, SMTP_STARTTLS=False)
        yield handler

"""The privacy notice /privatliv: on both services, linked from every page, its retention from the settings."""

from __future__ import annotations

import pytest

from shared.privacy_notice import retention_table
from shared.retention import DEFAULTS, Retention
from tests.catalogue.fixtures import *  # noqa: F403 (fixtures are found by name)
from tests.enrolment.conftest import (  # noqa: F401 (fixtures are found by name)
    app,
    catalogue_link,
    client,
    enrolment_database,
)

# ruff: noqa: F811 (the fixtures imported above are the tests' arguments)


@pytest.fixture(params=["catalogue", "enrolment"])
def service(request, app, catalogue_app):
    return {"catalogue": catalogue_app, "enrolment": app}[request.param]


def page(flask_app, path: str = "/privatliv") -> str:
    answer = flask_app.test_client().get(path)
    assert answer.status_code == 200, path
    return answer.get_data(as_text=True)


def test_the_notice_names_who_is_responsible_the_legal_bases_rights_and_the_complaint(service):
    text = page(service)
    assert "<h1>Privatlivspolitik</h1>" in text
    for words in ("dataansvarlig", "databehandler", "litra e", "litra b", "litra c", "artikel 9",
                  "artikel 15", "artikel 17", "artikel 20", "artikel 21", "Mine kurser",
                  "Datatilsynet", "Carl Jacobsens Vej 35", "2500 Valby", "dt@datatilsynet.dk", "www.datatilsynet.dk"):
        assert words in text, words


def test_the_notice_states_the_configured_retention_and_follows_a_change(service):
    assert "6 måneder" in page(service) and "10 år" in page(service)
    service.config["RETENTION_ENROLMENT_MONTHS"] = 9
    service.config["RETENTION_MAIL_BODY_WEEKS"] = 1
    text = page(service)
    assert "9 måneder" in text and "6 måneder" not in text
    assert "1 uge" in text


def test_every_page_links_to_the_notice_from_its_footer(service):
    for path in ("/", "/tilgaengelighed", "/log-ind", "/privatliv"):
        assert 'href="/privatliv">Privatlivspolitik</a>' in page(service, path), path


def test_the_retention_table_says_every_period():
    table = retention_table(Retention.from_config({**DEFAULTS, "RETENTION_SIGN_IN_DAYS": 1,
                                                   "RETENTION_DELIVERY_DAYS": 30}))
    periods = [line.period for line in table]
    assert periods[0] == "6 måneder" and periods[3] == "1 dag" and periods[5] == "30 dage"
    assert "bogføringsloven" in table[2].counted_from

"""The school's desk: "Efterspørgsel", the interest lists' counts in its regions, asked of the enrolment service."""
# ruff: noqa: F811 (the fixtures imported from test_participant_pages are used by name)

from __future__ import annotations

import pytest

from shared.auth import Role, issue_token
from tests.catalogue.fixtures import location
from tests.catalogue.test_participant_pages import (  # noqa: F401 (fixtures)
    clock,
    desk_reaches_the_enrolment_service,
    enrolment_app,
    enrolment_database,
    enrolment_link,
    mette,
)


@pytest.fixture
def mercantec(make_school):
    """A school in Region Midtjylland only."""
    return make_school("Mercantec", location())


def interested(enrolment_app, name: str, module: str, regions: list[str]) -> None:
    from tests.conftest import TOKEN_SECRET

    hr = {"Authorization": f"Bearer {issue_token(TOKEN_SECRET, Role.HR, organisation='791')}"}
    answer = enrolment_app.test_client().post("/interests", headers=hr, json={
        "module": module, "regions": regions, "participant": {"name": name, "email": f"{name.lower()}@viborg.example"}})
    assert answer.status_code == 201, answer.get_json()


def test_the_school_sees_how_many_are_interested_in_each_module_in_its_region(client, enrolment_app, mette, glu):
    interested(enrolment_app, "Anne", "GLU-3", ["midtjylland", "nordjylland"])
    interested(enrolment_app, "Bent", "GLU-3", ["midtjylland"])
    interested(enrolment_app, "Carla", "GLU-4", ["hovedstaden"])  # not the school's region
    shown = client.get("/skole/efterspoergsel")
    assert shown.status_code == 200
    text = shown.get_data(as_text=True)
    assert "<th scope=\"row\">GLU-3</th><td>Region Midtjylland</td><td>2</td>" in text
    assert "GLU-4" not in text and "Anne" not in text and "Nordjylland</td>" not in text
    assert "Efterspørgsel" in client.get("/skole").get_data(as_text=True)


def test_without_the_enrolment_service_the_page_says_so_in_danish(client, enrolment_link, mette):
    enrolment_link.down = True
    shown = client.get("/skole/efterspoergsel")
    assert shown.status_code == 503
    assert "Tilmeldingstjenesten kan ikke nås lige nu" in shown.get_data(as_text=True)


def test_the_demand_page_needs_a_signed_in_school(client):
    assert client.get("/skole/efterspoergsel").status_code in (302, 303)

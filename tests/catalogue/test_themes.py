"""The points of "Kodeks for god ledelse i kommuner og regioner" on modules: set by the administrator, shown on
the module, a filter of the search; the seed's mapping is an example, and says so."""

from __future__ import annotations

import pytest

from catalogue.seed import seed_catalogue
from tests.catalogue.test_pages import page
from tests.catalogue.test_seed import TODAY


def module_id(client, code: str) -> int:
    return next(module["id"] for module in client.get("/modules").get_json()["items"] if module["code"] == code)


def set_themes(client, auth, code: str, themes: list[str], role: str = "admin", **scope):
    return client.patch(f"/modules/{module_id(client, code)}", json={"themes": themes},
                        headers=auth(role, **scope) if role else {})


@pytest.fixture
def offerings(make_school, make_offering):
    school = make_school("Mercantec")
    return {code: make_offering(school, module=code) for code in ("GLU-3", "GLU-4")}


def test_the_administrator_sets_a_modules_points(client, auth, glu):
    response = set_themes(client, auth, "GLU-4", ["kodeks-8", "kodeks-5"])

    assert response.status_code == 200
    body = response.get_json()
    assert [(theme["code"], theme["number"]) for theme in body["themes"]] == [("kodeks-5", 5), ("kodeks-8", 8)]
    assert body["themes"][0]["title"] == "Kommunikerer klart om politiske og administrative beslutninger"
    assert body["themes_example"] is False
    assert client.get(f"/modules/{module_id(client, 'GLU-4')}").get_json()["themes"] == body["themes"]
    assert set_themes(client, auth, "GLU-4", []).get_json()["themes"] == []


def test_only_the_administrator_sets_points(client, auth, glu, school):
    assert set_themes(client, auth, "GLU-4", ["kodeks-5"], role=None).status_code == 401
    assert set_themes(client, auth, "GLU-4", ["kodeks-5"], role="school",
                      provider_id=school["id"]).status_code == 403
    assert client.get(f"/modules/{module_id(client, 'GLU-4')}").get_json()["themes"] == []


def test_an_unknown_point_is_422_and_names_the_field(client, auth, glu):
    response = set_themes(client, auth, "GLU-4", ["kodeks-5", "kodeks-12"])

    assert response.status_code == 422
    assert response.content_type == "application/problem+json"
    assert response.get_json()["errors"][0]["pointer"].startswith("/themes")
    assert client.get(f"/modules/{module_id(client, 'GLU-4')}").get_json()["themes"] == []


def test_offerings_are_filtered_by_a_point(client, auth, offerings):
    set_themes(client, auth, "GLU-4", ["kodeks-5", "kodeks-8"])
    set_themes(client, auth, "GLU-3", ["kodeks-8"])

    def found(theme: str) -> list[str]:
        return [item["module"] for item in client.get(f"/offerings?theme={theme}").get_json()["items"]]

    assert found("kodeks-5") == ["GLU-4"]
    assert sorted(found("kodeks-8")) == ["GLU-3", "GLU-4"]
    assert found("kodeks-1") == []
    assert client.get("/offerings?theme=kodeks-99").status_code == 400  # a bad query parameter, as every other


def test_the_search_page_filters_by_a_point_and_the_module_shows_its_points(client, auth, offerings):
    set_themes(client, auth, "GLU-4", ["kodeks-5"])

    search = page(client, "/soeg?theme=kodeks-5")
    offering = page(client, f"/udbud/{offerings['GLU-4']['id']}")
    overview = page(client, "/")

    assert "Kommunikation og konflikthåndtering" in search.text
    assert "Situationsbestemt ledelse" not in search.text.split("Kodeks for god ledelse", 1)[-1].split("</select>")[-1]
    assert "5. Kommunikerer klart om politiske og administrative beslutninger" in offering.text
    assert "5. Kommunikerer klart om politiske og administrative beslutninger" in overview.text
    assert "Eksempel — ikke en officiel kobling" not in offering.text


def test_the_seed_gives_an_example_mapping_marked_as_one(app, client, auth, db_session):
    seed_catalogue(db_session, TODAY)
    db_session.commit()

    modules = {module["code"]: module for module in client.get("/modules").get_json()["items"]}
    overview = page(client, "/")

    assert all(module["themes"] and module["themes_example"] for module in modules.values())
    assert "Eksempel — ikke en officiel kobling" in overview.text
    # An administrator's choice is theirs, and the seed run again leaves it.
    set_themes(client, auth, "GLU-1", ["kodeks-1"])
    seed_catalogue(db_session, TODAY)
    db_session.commit()
    again = client.get(f"/modules/{module_id(client, 'GLU-1')}").get_json()
    assert ([theme["code"] for theme in again["themes"]], again["themes_example"]) == (["kodeks-1"], False)

"""Anyone finds offerings by module, place, date, language and Danish free text, page by page."""

from datetime import timedelta

import pytest

from shared.clock import copenhagen_today
from tests.catalogue.fixtures import location

VIBORG = location()
AALBORG = location(city="Aalborg", municipality_code="851", municipality="Aalborg Kommune", region_code="1081",
                   postcode="9000")
ODENSE = location(city="Odense", municipality_code="461", municipality="Odense Kommune", region_code="1083",
                  postcode="5000")


def modules_of(response) -> list[str]:
    return [item["module"] for item in response.get_json()["items"]]


@pytest.fixture
def three_schools(make_school, make_offering):
    """Mercantec in Viborg, AMU Nordjylland in Aalborg and SDE in Odense, with one offering each of their own."""
    mercantec = make_school("Mercantec", VIBORG)
    nordjylland = make_school("AMU Nordjylland", AALBORG)
    sde = make_school("Syddansk Erhvervsskole", ODENSE)
    make_offering(mercantec, module="GLU-4", first_day=20)
    make_offering(nordjylland, module="GLU-T", first_day=40, language="en")
    make_offering(sde, module="GLU-3", first_day=60)
    return mercantec, nordjylland, sde


@pytest.mark.parametrize(("query", "expected"), [
    ("konflikt", ["GLU-4"]),
    ("KONFLIKTHÅNDTERING", ["GLU-4"]),
    ("økonomi", ["GLU-T"]),
    ("ØKONOMISTYRING", ["GLU-T"]),
    ("Økonomi Aalborg", ["GLU-T"]),
    ("situationsbestemt", ["GLU-3"]),
    ("ledelse", ["GLU-T", "GLU-3"]),  # inside compounds too: GLU-T's "førstelinjeledelse"
    ("linjeledelse", ["GLU-T"]),
    ("aalborg", ["GLU-T"]),
    ("viborg kommunikation", ["GLU-4"]),
    ("mercantec", ["GLU-4"]),
    ("glu-4", ["GLU-4"]),
    ("nomatchatall", []),
    ("ikt", []),  # under four letters: only a word's beginning, so not inside "konflikt"
    ("100%_", []),
])
def test_free_text_matches_word_beginnings_and_parts_of_compounds_in_any_case(client, three_schools, query, expected):
    response = client.get("/offerings", query_string={"q": query})

    assert response.status_code == 200
    assert modules_of(response) == expected


@pytest.mark.parametrize(("params", "expected"), [
    ({"module": "GLU-3"}, ["GLU-3"]),
    ({"module": "glu-t"}, ["GLU-T"]),
    ({"programme": "GLU"}, ["GLU-4", "GLU-T", "GLU-3"]),
    ({"programme": "OTHER"}, []),
    ({"region": "1081"}, ["GLU-T"]),
    ({"region": "Region Syddanmark"}, ["GLU-3"]),
    ({"region": "midtjylland"}, ["GLU-4"]),
    ({"region": "Atlantis"}, []),
    ({"municipality": "851"}, ["GLU-T"]),
    ({"municipality": "Odense"}, ["GLU-3"]),
    ({"municipality": "Viborg Kommune"}, ["GLU-4"]),
    ({"language": "en"}, ["GLU-T"]),
])
def test_filters_narrow_the_list(client, three_schools, params, expected):
    response = client.get("/offerings", query_string=params)

    assert response.status_code == 200
    assert modules_of(response) == expected


def test_provider_filter_shows_one_schools_offerings(client, three_schools):
    _, nordjylland, _ = three_schools

    response = client.get("/offerings", query_string={"provider": nordjylland["id"]})

    assert [item["provider_id"] for item in response.get_json()["items"]] == [nordjylland["id"]]


def test_date_range_uses_the_first_session_day(client, three_schools):
    day = copenhagen_today() + timedelta(days=40)

    only_day = client.get("/offerings", query_string={"date_from": day.isoformat(), "date_to": day.isoformat()})
    from_day = client.get("/offerings", query_string={"date_from": day.isoformat()})
    until_before = client.get("/offerings", query_string={"date_to": (day - timedelta(days=1)).isoformat()})

    assert modules_of(only_day) == ["GLU-T"]
    assert modules_of(from_day) == ["GLU-T", "GLU-3"]
    assert modules_of(until_before) == ["GLU-4"]


def test_list_is_sorted_by_start_date(client, make_school, make_offering):
    school = make_school()
    for first_day in (50, 20, 35):
        make_offering(school, first_day=first_day)

    starts = [item["starts_at"] for item in client.get("/offerings").get_json()["items"]]

    assert starts == sorted(starts)
    assert len(starts) == 3


def test_cancelled_offerings_leave_the_default_list_but_can_be_listed(client, three_schools, auth):
    mercantec = three_schools[0]
    offering_id = client.get("/offerings", query_string={"module": "GLU-4"}).get_json()["items"][0]["id"]
    client.post(f"/offerings/{offering_id}/cancel", json={}, headers=auth("school", provider_id=mercantec["id"]))

    assert modules_of(client.get("/offerings")) == ["GLU-T", "GLU-3"]
    assert modules_of(client.get("/offerings", query_string={"status": "cancelled"})) == ["GLU-4"]


def test_pages_carry_total_and_link_headers(client, make_school, make_offering):
    school = make_school()
    for first_day in range(20, 27):
        make_offering(school, first_day=first_day)

    first = client.get("/offerings", query_string={"per_page": 3, "module": "GLU-1"})
    middle = client.get("/offerings", query_string={"per_page": 3, "page": 2, "module": "GLU-1"})
    last = client.get("/offerings", query_string={"per_page": 3, "page": 3, "module": "GLU-1"})

    assert first.get_json()["total"] == 7
    assert first.headers["X-Total-Count"] == "7"
    assert len(first.get_json()["items"]) == 3
    assert len(last.get_json()["items"]) == 1
    links = middle.headers["Link"]
    assert '<http://localhost/offerings?per_page=3&page=1&module=GLU-1>; rel="first"' in links
    assert 'page=1&module=GLU-1>; rel="prev"' in links
    assert 'page=3&module=GLU-1>; rel="next"' in links
    assert 'page=3&module=GLU-1>; rel="last"' in links
    assert 'rel="next"' not in last.headers["Link"]
    assert 'rel="prev"' not in first.headers["Link"]
    ids = [item["id"] for page in (first, middle, last) for item in page.get_json()["items"]]
    assert len(set(ids)) == 7


def test_links_start_from_the_configured_public_url(app, client, make_school, make_offering):
    app.config["PUBLIC_URL"] = "https://kurser.example.dk"
    make_offering(make_school())

    response = client.get("/offerings")

    assert response.headers["Link"].startswith("<https://kurser.example.dk/offerings?")


def test_unchanged_list_answers_304_to_its_etag(client, make_school, make_offering, auth):
    school = make_school()
    offering = make_offering(school)
    first = client.get("/offerings")
    etag = first.headers["ETag"]

    again = client.get("/offerings", headers={"If-None-Match": etag})
    client.patch(f"/offerings/{offering['id']}", json={"capacity": 20},
                 headers=auth("school", provider_id=school["id"]))
    after_change = client.get("/offerings", headers={"If-None-Match": etag})

    assert again.status_code == 304
    assert again.data == b""
    assert after_change.status_code == 200
    assert after_change.headers["ETag"] != etag


def test_single_offering_answers_304_to_its_etag(client, make_school, make_offering):
    offering = make_offering(make_school())
    first = client.get(f"/offerings/{offering['id']}")

    again = client.get(f"/offerings/{offering['id']}", headers={"If-None-Match": first.headers["ETag"]})

    assert first.status_code == 200
    assert again.status_code == 304

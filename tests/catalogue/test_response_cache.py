"""Searches served again from the response cache while nothing has changed, and never once something has."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from catalogue.models import db
from shared.response_cache import ResponseCache, _Stored
from tests.catalogue.fixtures import *  # noqa: F403 (fixtures are found by name)

# ruff: noqa: F811 (the fixtures imported above are the tests' arguments)


@pytest.fixture
def cache(catalogue_app):
    cache = catalogue_app.extensions.get("response_cache")
    if cache is None:
        pytest.skip("the response cache works on PostgreSQL only (TEST_DATABASE_URL)")
    return cache


@pytest.fixture
def school(make_school):
    return make_school("Mercantec")


def cache_results(client) -> dict[str, float]:
    text = client.get("/metrics").get_data(as_text=True)
    results = {}
    for line in text.splitlines():
        if line.startswith("glu_response_cache_total{"):
            results[line.split('result="')[1].split('"')[0]] = float(line.rsplit(" ", 1)[1])
    return results


def test_sqlite_has_no_response_cache(catalogue_app):
    if catalogue_app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"):
        assert "response_cache" not in catalogue_app.extensions


def server_snapshot(app) -> str:
    with app.app_context():
        snapshot = db.session.scalar(text("SELECT pg_current_snapshot()::text"))
        db.session.remove()
    return snapshot


def test_a_repeated_search_is_served_from_the_cache(cache, catalogue_app, catalogue_client, school, make_offering):
    make_offering(school)
    # A commit anywhere on the server (another test process's) changes the snapshot and rightly misses:
    # the pair of searches counts only when nothing committed around it, which a few tries give.
    for _ in range(20):
        before, snapshot = cache_results(catalogue_client), server_snapshot(catalogue_app)
        first = catalogue_client.get("/offerings?q=ledelse")
        second = catalogue_client.get("/offerings?q=ledelse")
        after = cache_results(catalogue_client)
        if server_snapshot(catalogue_app) == snapshot:
            break
    assert first.get_data() == second.get_data()
    assert first.headers["Link"] == second.headers["Link"]
    assert first.headers["ETag"] == second.headers["ETag"]
    assert first.headers["X-Request-ID"] != second.headers["X-Request-ID"]
    assert after.get("hit", 0) - before.get("hit", 0) == 1


def test_seat_counts_show_in_the_next_search(cache, catalogue_client, school, make_offering, auth):
    offering = make_offering(school, capacity=10, min_participants=None)
    catalogue_client.get("/offerings")

    catalogue_client.put(f"/offerings/{offering['id']}/seats", json={"taken": 10, "waitlisted": 2, "version": 1},
                         headers=auth("service"))
    listed = catalogue_client.get("/offerings").get_json()["items"]

    assert (listed[0]["seats_available"], listed[0]["waitlist_length"]) == (0, 2)


def test_a_schools_edit_shows_in_the_next_search(cache, catalogue_client, school, make_offering, auth):
    offering = make_offering(school, price_dkk=1000)
    catalogue_client.get("/offerings")

    catalogue_client.patch(f"/offerings/{offering['id']}", json={"price_dkk": 1500},
                           headers=auth("school", provider_id=school["id"]))

    assert catalogue_client.get("/offerings").get_json()["items"][0]["price_dkk"] == 1500


def test_a_cached_draft_list_is_not_shown_to_another_school(cache, catalogue_client, make_school, make_offering,
                                                            auth):
    mercantec, other = make_school("Mercantec"), make_school("Tradium")
    make_offering(mercantec, status="draft")
    own = catalogue_client.get("/offerings?status=draft", headers=auth("school", provider_id=mercantec["id"]))

    others = catalogue_client.get("/offerings?status=draft", headers=auth("school", provider_id=other["id"]))
    anonymous = catalogue_client.get("/offerings?status=draft")

    assert own.get_json()["total"] == 1
    assert others.get_json()["total"] == 0
    assert anonymous.status_code == 403


class _NoDatabase:
    session = None


def test_the_cache_keeps_within_its_size_least_recently_used_out_first():
    cache = ResponseCache(_NoDatabase(), max_bytes=800)
    for name in "abcdefgh":
        cache.put((name,), _Stored(b"x" * 100, []))
    cache._entries.move_to_end(("a",))  # as a hit does
    cache.put(("i",), _Stored(b"x" * 100, []))

    assert [key[0] for key in cache._entries] == list("cdefghai")
    cache.put(("huge",), _Stored(b"x" * 101, []))  # over an eighth of the whole: never stored
    assert ("huge",) not in cache._entries


def test_a_moved_session_shows_in_the_next_calendar_download(cache, catalogue_client, school, make_offering, auth):
    offering = make_offering(school)
    before = catalogue_client.get(f"/offerings/{offering['id']}.ics").get_data()
    sessions = [{"starts_at": s["starts_at"].replace("T09:", "T10:"), "ends_at": s["ends_at"]}
                for s in offering["sessions"]]

    moved = catalogue_client.patch(f"/offerings/{offering['id']}", json={"sessions": sessions},
                                   headers=auth("school", provider_id=school["id"]))
    after = catalogue_client.get(f"/offerings/{offering['id']}.ics").get_data()

    assert moved.status_code == 200
    assert after != before

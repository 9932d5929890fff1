"""Calendar feeds come from the feed cache while nothing in them has changed, and never once it has."""

from datetime import UTC, datetime, timedelta

import pytest
import vobject
from werkzeug.http import generate_etag

from enrolment import calendar, feeds
from enrolment.calendar import KEEP_CANCELLED, Feed
from enrolment.feed_cache import FeedCache, feed_cache
from enrolment.models import Enrolment, db
from shared.db import utcnow


def path_of(url: str) -> str:
    return "/" + url.split("://", 1)[1].split("/", 1)[1]


def events_of(data: bytes) -> list:
    return list(getattr(vobject.readOne(data.decode("utf-8")), "vevent_list", []))


@pytest.fixture
def renders(monkeypatch):
    """How many feeds were rendered rather than served from the cache."""
    count = {"participant": 0, "organisation": 0}
    for kind in count:
        real = getattr(calendar, f"{kind}_feed")

        def counted(*args, kind=kind, real=real):
            count[kind] += 1
            return real(*args)

        monkeypatch.setattr(calendar, f"{kind}_feed", counted)
    return count


@pytest.fixture
def fetch(app, client):
    """fetch(path) -> the response; fetch(path, fresh=True) renders it, past a cache it leaves alone."""

    def get(path: str, fresh: bool = False, **kwargs):
        if not fresh:
            return client.get(path, **kwargs)
        kept = feed_cache(app)
        app.extensions["feed_cache"] = FeedCache()
        try:
            return client.get(path, **kwargs)
        finally:
            app.extensions["feed_cache"] = kept

    return get


@pytest.fixture
def school(make_school):
    return make_school("Mercantec")


@pytest.fixture
def offering(make_organisation, make_offering, school):
    make_organisation("791", requires_approval=False)
    return make_offering(school, capacity=1, min_participants=1)


@pytest.fixture
def anne(enrol, offering):
    return enrol(offering, "Anne").get_json()


def assert_cached(fetch, renders, path: str) -> bytes:
    """Fetch `path` twice: once rendered if need be, then from the cache without rendering."""
    first = fetch(path)
    rendered = sum(renders.values())
    second = fetch(path)
    assert sum(renders.values()) == rendered, "the second fetch was rendered, not served from the cache"
    assert first.data == second.data
    return second.data


def assert_current(fetch, path: str, before: bytes) -> bytes:
    """The feed served now has changed, and is what rendering it afresh gives."""
    served = fetch(path).data
    assert served != before
    assert served == fetch(path, fresh=True).data
    return served


def test_a_cached_feed_is_byte_identical_to_a_fresh_one(fetch, renders, anne):
    path = path_of(anne["calendar_url"])

    cached = assert_cached(fetch, renders, path)
    fresh = fetch(path, fresh=True)

    assert cached == fresh.data
    assert renders["participant"] == 2
    assert fresh.headers["ETag"] == f'"{generate_etag(cached)}"'


def test_the_feed_changes_when_the_place_is_cancelled(client, fetch, renders, anne, hr):
    path = path_of(anne["calendar_url"])
    before = assert_cached(fetch, renders, path)

    client.post(f"/enrolments/{anne['id']}/cancel", headers=hr())

    after = assert_current(fetch, path, before)
    assert {event.status.value for event in events_of(after)} == {"CANCELLED"}


def test_the_feed_changes_when_someone_moves_up_from_the_waiting_list(client, fetch, renders, enrol, offering,
                                                                       anne, hr):
    bent = enrol(offering, "Bent").get_json()
    path = path_of(bent["calendar_url"])
    before = assert_cached(fetch, renders, path)

    client.post(f"/enrolments/{anne['id']}/cancel", headers=hr())

    after = assert_current(fetch, path, before)
    assert bent["status"] == "waitlisted"
    assert {event.status.value for event in events_of(after)} == {"CONFIRMED"}


def test_the_feed_changes_with_a_new_enrolment(fetch, renders, enrol, make_offering, school, anne):
    path = path_of(anne["calendar_url"])
    before = assert_cached(fetch, renders, path)

    enrol(make_offering(school, module="GLU-2", first_day=60, min_participants=1), "Anne")

    assert len(events_of(assert_current(fetch, path, before))) == 4


def test_the_feed_changes_when_the_school_moves_a_session(fetch, renders, anne, offering, catalogue_client, auth):
    path = path_of(anne["calendar_url"])
    before = assert_cached(fetch, renders, path)
    sessions = [{"id": s["id"], "starts_at": s["starts_at"], "ends_at": s["ends_at"]} for s in offering["sessions"]]
    sessions[1]["starts_at"] = sessions[1]["starts_at"].replace("T09:", "T10:")

    moved = catalogue_client.patch(f"/offerings/{offering['id']}", json={"sessions": sessions},
                                   headers=auth("school", provider_id=offering["provider_id"]))

    assert moved.status_code == 200
    starts_before = [event.dtstart.value for event in events_of(before)]
    after = assert_current(fetch, path, before)
    assert [event.dtstart.value for event in events_of(after)] == [starts_before[0],
                                                                    starts_before[1] + timedelta(hours=1)]


def test_the_feed_changes_when_the_school_cancels_the_offering(fetch, renders, anne, offering, catalogue_client, auth):
    path = path_of(anne["calendar_url"])
    before = assert_cached(fetch, renders, path)

    catalogue_client.post(f"/offerings/{offering['id']}/cancel", json={"reason": "For få tilmeldte"},
                          headers=auth("school", provider_id=offering["provider_id"]))

    after = assert_current(fetch, path, before)
    assert {event.status.value for event in events_of(after)} == {"CANCELLED"}
    assert "For få tilmeldte" in events_of(after)[0].description.value


def test_the_feeds_change_when_the_participant_is_renamed(client, fetch, renders, anne, hr):
    path = path_of(anne["calendar_url"])
    organisation_path = path_of(client.get("/organisation-calendar", headers=hr()).get_json()["calendar_url"])
    before = assert_cached(fetch, renders, path)
    organisation_before = assert_cached(fetch, renders, organisation_path)

    # The same person (same e-mail address) under a new name: only the name changes.
    renamed = client.post(f"/enrolments/{anne['id']}/substitute", headers=hr(),
                          json={"participant": {"name": "Anne Sofie", "email": "anne@kommune.example"}})

    assert renamed.status_code == 200
    assert "Anne Sofie" in vobject.readOne(assert_current(fetch, path, before).decode()).x_wr_calname.value
    assert "Anne Sofie" in events_of(assert_current(fetch, organisation_path, organisation_before))[0].description.value


def test_a_handed_over_place_is_cancelled_in_the_feed_and_the_organisation_feed_names_the_newcomer(
        client, fetch, renders, anne, hr):
    path = path_of(anne["calendar_url"])
    organisation_path = path_of(client.get("/organisation-calendar", headers=hr()).get_json()["calendar_url"])
    before = assert_cached(fetch, renders, path)
    organisation_before = assert_cached(fetch, renders, organisation_path)

    client.post(f"/enrolments/{anne['id']}/substitute", headers=hr(),
                json={"participant": {"name": "Dorte", "email": "dorte@kommune.example"}})

    assert {event.status.value for event in events_of(assert_current(fetch, path, before))} == {"CANCELLED"}
    people = events_of(assert_current(fetch, organisation_path, organisation_before))[0].description.value
    assert "Dorte" in people and "Anne" not in people


def test_the_feed_changes_when_the_school_is_renamed_and_the_offering_learnt_anew(
        app, fetch, renders, offering, anne, school, catalogue_client, auth):
    path = path_of(anne["calendar_url"])
    before = assert_cached(fetch, renders, path)

    # Not a change of the offering (its revision stays, no webhook); the hourly reconciliation takes it in.
    catalogue_client.patch(f"/providers/{school['id']}", json={"name": "Mercantec Viborg"}, headers=auth("admin"))
    assert "1 udbud afstemt" in app.test_cli_runner().invoke(args=["sync-seats"]).output

    assert "Udbyder: Mercantec Viborg" in events_of(assert_current(fetch, path, before))[0].description.value


def test_the_organisation_feed_changes_when_a_colleague_enrols(client, fetch, renders, enrol, offering, anne, hr):
    path = path_of(client.get("/organisation-calendar", headers=hr()).get_json()["calendar_url"])
    before = assert_cached(fetch, renders, path)

    enrol(offering, "Bent")

    assert "Bent" in events_of(assert_current(fetch, path, before))[0].description.value


def test_a_cached_cancellation_leaves_the_feed_after_30_days(client, fetch, renders, monkeypatch, anne, hr):
    path = path_of(anne["calendar_url"])
    client.post(f"/enrolments/{anne['id']}/cancel", headers=hr())
    cancelled_at = utcnow()
    cancelled = assert_cached(fetch, renders, path)

    monkeypatch.setattr("enrolment.views.feeds.utcnow", lambda: cancelled_at + KEEP_CANCELLED - timedelta(minutes=1))
    almost = fetch(path).data
    monkeypatch.setattr("enrolment.views.feeds.utcnow", lambda: cancelled_at + KEEP_CANCELLED + timedelta(minutes=1))
    after = fetch(path)

    assert len(events_of(cancelled)) == 2
    assert almost == cancelled
    assert events_of(after.data) == []
    assert after.data == fetch(path, fresh=True).data


def test_a_cached_removed_session_leaves_the_feed_after_30_days(fetch, renders, monkeypatch, anne, offering,
                                                               catalogue_client, auth):
    path = path_of(anne["calendar_url"])
    kept = offering["sessions"][0]
    catalogue_client.patch(f"/offerings/{offering['id']}", headers=auth("school", provider_id=offering["provider_id"]),
                           json={"sessions": [{key: kept[key] for key in ("id", "starts_at", "ends_at")}]})
    removed_at = utcnow()
    with_removed = assert_cached(fetch, renders, path)

    monkeypatch.setattr("enrolment.views.feeds.utcnow", lambda: removed_at + KEEP_CANCELLED + timedelta(minutes=1))
    after = fetch(path).data

    assert [event.status.value for event in events_of(with_removed)] == ["CONFIRMED", "CANCELLED"]
    assert [event.status.value for event in events_of(after)] == ["CONFIRMED"]


def test_a_renewed_link_is_404_though_the_old_feed_was_cached(client, fetch, renders, anne, hr):
    old = path_of(anne["calendar_url"])
    cached = assert_cached(fetch, renders, old)

    renewed = client.post(f"/enrolments/{anne['id']}/renew-links", headers=hr()).get_json()

    assert fetch(old).status_code == 404
    assert fetch(path_of(renewed["calendar_url"])).data == cached


def test_a_renewed_organisation_link_is_404_though_the_old_feed_was_cached(client, fetch, renders, anne, hr):
    old = path_of(client.get("/organisation-calendar", headers=hr()).get_json()["calendar_url"])
    assert_cached(fetch, renders, old)

    new = path_of(client.post("/organisation-calendar/renew", headers=hr()).get_json()["calendar_url"])

    assert (fetch(old).status_code, fetch(new).status_code) == (404, 200)


def test_if_none_match_is_304_for_the_current_etag_and_200_for_an_old_one(client, fetch, renders, anne, hr):
    path = path_of(anne["calendar_url"])
    first = fetch(path)

    unchanged = fetch(path, headers={"If-None-Match": first.headers["ETag"]})
    rendered = sum(renders.values())
    client.post(f"/enrolments/{anne['id']}/cancel", headers=hr())
    changed = fetch(path, headers={"If-None-Match": first.headers["ETag"]})
    again = fetch(path, headers={"If-None-Match": changed.headers["ETag"]})

    assert (unchanged.status_code, unchanged.headers["ETag"], unchanged.data) == (304, first.headers["ETag"], b"")
    assert rendered == 1
    assert changed.status_code == 200 and changed.headers["ETag"] != first.headers["ETag"]
    assert changed.headers["ETag"] == f'"{generate_etag(changed.data)}"'
    assert again.status_code == 304
    assert "Authorization" in again.headers["Vary"] and again.headers["Cache-Control"] == "private, no-cache"


def test_the_query_fingerprint_is_the_one_the_feed_was_rendered_from(app, anne, fetch, renders):
    """The cheap query and the full load read the same values: otherwise no feed would ever be reused."""
    token = path_of(anne["calendar_url"]).rsplit("/", 1)[1].removesuffix(".ics")
    with app.app_context():
        cache = FeedCache()
        rendered = feeds.participant_calendar(db.session, cache, token, utcnow())
        again = feeds.participant_calendar(db.session, cache, token, utcnow())
        db.session.rollback()

    assert again is rendered
    assert renders["participant"] == 1


# --- The cache itself ------------------------------------------------------------------------------

NOW = datetime(2026, 11, 2, 12, tzinfo=UTC)


def test_the_cache_answers_only_the_fingerprint_it_was_given_until_valid_until():
    cache = FeedCache()
    cache.put("feed", ("a",), Feed(b"BEGIN:VCALENDAR", valid_until=NOW + timedelta(days=3)))

    assert cache.get("feed", ("a",), NOW).body == b"BEGIN:VCALENDAR"
    assert cache.get("feed", ("a",), NOW + timedelta(days=3)) is not None
    assert cache.get("feed", ("b",), NOW) is None
    assert cache.get("feed", ("a",), NOW + timedelta(days=3, microseconds=1)) is None
    assert cache.get("other", ("a",), NOW) is None


def test_the_cache_drops_the_least_recently_used_beyond_its_bytes_and_entries():
    cache = FeedCache(max_bytes=25, max_entries=2)
    for key in ("a", "b"):
        cache.put(key, (), Feed(b"x" * 10, None))
    cache.get("a", (), NOW)
    cache.put("c", (), Feed(b"x" * 10, None))  # three entries: "b" is the least recently used
    cache.put("a", (), Feed(b"x" * 12, None))  # 22 bytes: fits
    cache.put("d", (), Feed(b"x" * 14, None))  # 36 bytes: "c" goes, then "a"
    cache.put("e", (), Feed(b"x" * 26, None))  # larger than the whole cache: not kept

    assert [key for key in "abcde" if cache.get(key, (), NOW)] == ["d"]
    assert cache.size == (1, 14)


def test_a_new_rendering_replaces_the_old_one():
    cache = FeedCache()
    cache.put("feed", ("old",), Feed(b"old feed", None))
    cache.put("feed", ("new",), Feed(b"new", None))

    assert cache.get("feed", ("old",), NOW) is None
    assert cache.size == (1, 3)


# --- How long a rendered feed holds ------------------------------------------------------------------

def test_a_feed_holds_until_its_first_cancellation_or_removed_session_turns_30_days_old(app, anne, client, hr):
    client.post(f"/enrolments/{anne['id']}/cancel", headers=hr())
    with app.app_context():
        enrolment = db.session.get(Enrolment, anne["id"])
        enrolment.updated_at = datetime(2026, 11, 10, tzinfo=UTC)
        enrolment.seats.removed_sessions = [{"id": 999, "starts_at": "2026-12-01T08:00:00+00:00",
                                             "ends_at": "2026-12-01T14:00:00+00:00",
                                             "removed_at": "2026-11-01T08:00:00+00:00"}]

        def valid_until(now: datetime) -> datetime | None:
            return calendar.participant_feed("Anne", [enrolment], now).valid_until

        removed_session_first = valid_until(datetime(2026, 11, 12, tzinfo=UTC))
        then_the_cancellation = valid_until(datetime(2026, 12, 2, tzinfo=UTC))
        both_gone = valid_until(datetime(2026, 12, 11, tzinfo=UTC))
        db.session.rollback()

    assert removed_session_first == datetime(2026, 12, 1, 8, tzinfo=UTC)
    assert then_the_cancellation == datetime(2026, 12, 10, tzinfo=UTC)
    assert both_gone is None


def test_a_feed_without_cancellations_holds_until_something_changes(app, anne):
    with app.app_context():
        enrolment = db.session.get(Enrolment, anne["id"])

        assert calendar.participant_feed("Anne", [enrolment], utcnow()).valid_until is None
        assert calendar.organisation_feed("Kommune 791", [enrolment], utcnow()).valid_until is None

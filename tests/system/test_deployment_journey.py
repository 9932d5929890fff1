"""A full user journey over real HTTP against the deployed system (tests/system/conftest.py): PostgreSQL,
migrations and seed by the `flask` command, both services under gunicorn with two workers each.

A school publishes an offering with two seats; HR in Randers enrols three people (the third waits) and
cancels one (the one waiting gets the seat); the school moves a session, and the participant's calendar
feed follows through the catalogue's signed webhook; the school cancels, and the feed and the
enrolment follow again. Nothing here reaches into a process: every step is an HTTP request.
"""

from __future__ import annotations

import os
import signal
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TypeVar

import httpx
import pytest
import vobject

from shared.auth import Role, issue_token
from shared.clock import COPENHAGEN, copenhagen_today

pytestmark = pytest.mark.system

T = TypeVar("T")

SCHOOL = 1  # the first school of the seed
ORGANISATION = "730"  # Randers Kommune: seeded without approval, so HR's enrolments are placed at once
PROPAGATION_DEADLINE_SECONDS = 15.0


def poll(what: str, attempt: Callable[[], T | None], deadline: float = PROPAGATION_DEADLINE_SECONDS) -> T:
    """attempt() until it returns something other than None. The change travels between two other
    processes (a catalogue worker's webhook thread, then an enrolment worker reading the change feed),
    so there is nothing in this process to wait on but the answer."""
    until = time.monotonic() + deadline
    while True:
        result = attempt()
        if result is not None:
            return result
        if time.monotonic() > until:
            pytest.fail(f"{what}: not seen within {deadline:.0f} s")
        time.sleep(0.1)


def seat_counts(client: httpx.Client, catalogue: str, offering: dict) -> tuple[int, int]:
    shown = client.get(f"{catalogue}/offerings/{offering['id']}").json()
    return shown["seats_available"], shown["waitlist_length"]


def local(day, hour: int, minute: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=COPENHAGEN)


def feed_events(client: httpx.Client, url: str) -> dict[str, vobject.base.Component]:
    """The participant's feed, read with vobject, as {UID: VEVENT}."""
    response = client.get(url)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/calendar")
    calendar = vobject.readOne(response.text)
    return {event.uid.value: event for event in getattr(calendar, "vevent_list", [])}


def utc(event, name: str) -> datetime:
    return getattr(event, name).value.astimezone(UTC)


@pytest.fixture
def http(system):
    with httpx.Client(timeout=10.0) as client:
        yield client


@pytest.fixture
def headers(system):
    def make(role: Role, **scope) -> dict[str, str]:
        return {"Authorization": f"Bearer {issue_token(system.token_secret, role, **scope)}"}

    return make


def test_school_publishes_hr_enrols_the_school_moves_and_cancels(system, http, headers):
    catalogue, enrolment = system.catalogue_url, system.enrolment_url
    school, hr = headers(Role.SCHOOL, provider_id=SCHOOL), headers(Role.HR, organisation=ORGANISATION)

    # The school publishes a two-seat offering at one of its own places.
    providers = http.get(f"{catalogue}/providers")
    assert providers.status_code == 200, providers.text
    provider = next(item for item in providers.json()["items"] if item["id"] == SCHOOL)
    first_day = copenhagen_today() + timedelta(days=60)
    second_day = first_day + timedelta(days=1)
    published = http.post(f"{catalogue}/offerings", headers=school, json={
        "module": "GLU-4",
        "location_id": provider["locations"][0]["id"],
        "sessions": [{"starts_at": local(day, 8, 30).isoformat(), "ends_at": local(day, 15, 30).isoformat()}
                     for day in (first_day, second_day)],
        "capacity": 2,
        "min_participants": 1,
        "price_dkk": 3250,
        "enrolment_deadline": (first_day - timedelta(days=14)).isoformat(),
        "contact_email": "kursus@skole.example",
        "reference": "SYSTEM-TEST",
    })
    assert published.status_code == 201, published.text
    offering = published.json()
    assert offering["status"] == "published" and offering["provider_id"] == SCHOOL
    assert published.headers["Location"] == f"{catalogue}/offerings/{offering['id']}"

    # HR enrols three people into the two seats: two confirmed, the third waits. The first request is
    # sent twice with one Idempotency-Key, as a client retrying after a lost answer would; the retry
    # (which may well reach the other worker) replays the same enrolment instead of enrolling again.
    def enrol(name: str, key: str | None = None) -> httpx.Response:
        body = {"offering_id": offering["id"],
                "participant": {"name": name, "email": f"{name.lower()}@randers.example"}}
        extra = {"Idempotency-Key": key} if key else {}
        return http.post(f"{enrolment}/enrolments", json=body, headers={**hr, **extra})

    first = enrol("Anne", key="system-test-anne")
    retry = enrol("Anne", key="system-test-anne")
    assert first.status_code == 201, first.text
    assert retry.status_code == 201, retry.text
    assert retry.headers.get("Idempotent-Replayed") == "true"
    assert "Idempotent-Replayed" not in first.headers
    assert retry.json() == first.json()
    anne = first.json()
    bent, carla = (enrol(name) for name in ("Bent", "Carla"))
    assert (bent.status_code, carla.status_code) == (201, 201), (bent.text, carla.text)
    bent, carla = bent.json(), carla.json()
    assert [person["status"] for person in (anne, bent, carla)] == ["confirmed", "confirmed", "waitlisted"]
    assert carla["waitlist_position"] == 1
    assert anne["calendar_url"].startswith(f"{enrolment}/feeds/participants/")
    listed = http.get(f"{enrolment}/enrolments", params={"offering_id": offering["id"]}, headers=hr)
    assert listed.json()["total"] == 3, listed.text

    # The job engine tells the catalogue the counts just after the enrolment's commit.
    poll("the seat counts in the catalogue", lambda: seat_counts(http, catalogue, offering) == (0, 1) or None)

    # HR cancels Bent's place; Carla, first in line, gets it in the same transaction.
    cancelled = http.post(f"{enrolment}/enrolments/{bent['id']}/cancel", headers=hr)
    assert cancelled.status_code == 200, cancelled.text
    assert cancelled.json()["status"] == "cancelled"
    promoted = http.get(f"{enrolment}/enrolments/{carla['id']}", headers=hr).json()
    assert (promoted["status"], promoted["waitlist_position"]) == ("confirmed", None)
    poll("the seat counts in the catalogue", lambda: seat_counts(http, catalogue, offering) == (0, 0) or None)
    assert {event.status.value for event in feed_events(http, carla["calendar_url"]).values()} == {"CONFIRMED"}

    # Anne's feed: one confirmed event per session.
    before = feed_events(http, anne["calendar_url"])
    uids = [f"glu-session-{session['id']}@glu-courses" for session in offering["sessions"]]
    assert sorted(before) == sorted(uids)
    assert {event.status.value for event in before.values()} == {"CONFIRMED"}

    # The school moves the second session a day later, keeping the session ids.
    moved_day = second_day + timedelta(days=1)
    sessions = [{"id": session["id"], "starts_at": session["starts_at"], "ends_at": session["ends_at"]}
                for session in offering["sessions"]]
    sessions[1].update(starts_at=local(moved_day, 9).isoformat(), ends_at=local(moved_day, 15).isoformat())
    moved = http.patch(f"{catalogue}/offerings/{offering['id']}", json={"sessions": sessions}, headers=school)
    assert moved.status_code == 200, moved.text
    assert [session["id"] for session in moved.json()["sessions"]] == [session["id"] for session in sessions]

    # The enrolment service learns it only through the catalogue's webhook (no cron runs here).
    moved_uid, new_start = uids[1], local(moved_day, 9).astimezone(UTC)

    def feed_shows_the_move():
        events = feed_events(http, anne["calendar_url"])
        return events if moved_uid in events and utc(events[moved_uid], "dtstart") == new_start else None

    after = poll("the moved session in Anne's feed", feed_shows_the_move)
    assert sorted(after) == sorted(before)  # the same UIDs: calendars update the events, not add new ones
    assert utc(after[moved_uid], "dtend") == local(moved_day, 15).astimezone(UTC)
    assert utc(after[uids[0]], "dtstart") == utc(before[uids[0]], "dtstart")
    for uid in uids:
        assert int(after[uid].sequence.value) > int(before[uid].sequence.value), uid

    # The school cancels the offering; the places and the calendar events are cancelled in turn.
    called_off = http.post(f"{catalogue}/offerings/{offering['id']}/cancel", json={"reason": "For få tilmeldte"},
                           headers=school)
    assert called_off.status_code == 200, called_off.text
    assert called_off.json()["status"] == "cancelled"

    def feed_shows_the_cancellation():
        events = feed_events(http, anne["calendar_url"])
        return events if events and {event.status.value for event in events.values()} == {"CANCELLED"} else None

    final = poll("STATUS:CANCELLED in Anne's feed", feed_shows_the_cancellation)
    assert sorted(final) == sorted(uids)
    assert all(int(final[uid].sequence.value) > int(after[uid].sequence.value) for uid in uids)

    def enrolment_cancelled():
        answer = http.get(f"{enrolment}/enrolments/{anne['id']}", headers=hr)
        assert answer.status_code == 200, answer.text
        return answer.json() if answer.json()["status"] == "cancelled" else None

    poll("Anne's enrolment cancelled", enrolment_cancelled)
    assert http.get(f"{enrolment}/enrolments/{carla['id']}", headers=hr).json()["status"] == "cancelled"

    # Publishing (for the interest lists), the move and the cancellation went by webhook, each delivered
    # at the first attempt.
    deliveries = http.get(f"{catalogue}/webhook-deliveries", headers=headers(Role.ADMIN)).json()["items"]
    ours = [delivery for delivery in deliveries if delivery["offering_id"] == offering["id"]]
    assert len(ours) == 3, ours
    assert all(delivery["delivered_at"] and delivery["attempts"] == 1 for delivery in ours), ours


def worker_pids(master: int) -> list[int]:
    """The gunicorn master's worker processes."""
    return [int(pid) for pid in Path(f"/proc/{master}/task/{master}/children").read_text().split()]


def test_a_worker_killed_during_enrolments_loses_no_acknowledged_enrolment(system, http, headers):
    """kill -9 of an enrolment worker mid-load: every 201 stays, nobody is enrolled twice, no seat counted twice.

    Each client retries a failed request with its Idempotency-Key, as the README tells clients to:
    a request the dead worker had committed replays its answer, one it had not runs afresh.
    """
    catalogue, enrolment = system.catalogue_url, system.enrolment_url
    school, hr = headers(Role.SCHOOL, provider_id=SCHOOL), headers(Role.HR, organisation=ORGANISATION)
    provider = next(item for item in http.get(f"{catalogue}/providers").json()["items"] if item["id"] == SCHOOL)
    day = copenhagen_today() + timedelta(days=70)
    offering = http.post(f"{catalogue}/offerings", headers=school, json={
        "module": "GLU-2", "location_id": provider["locations"][0]["id"],
        "sessions": [{"starts_at": local(day, 8, 30).isoformat(), "ends_at": local(day, 15, 30).isoformat()}],
        "capacity": 10, "min_participants": 1, "price_dkk": 3250,
        "enrolment_deadline": (day - timedelta(days=14)).isoformat(), "contact_email": "kursus@skole.example",
        "reference": "SYSTEM-KILL",
    }).json()
    people = [f"leder{number}" for number in range(40)]
    answered: dict[str, dict] = {}
    retried: list[str] = []
    enough_sent = threading.Event()

    def enrol(name: str) -> None:
        body = {"offering_id": offering["id"], "participant": {"name": name, "email": f"{name}@randers.example"}}
        with httpx.Client(timeout=15.0) as client:
            for _ in range(10):  # bounded: a worker is back within seconds
                try:
                    response = client.post(f"{enrolment}/enrolments", json=body,
                                           headers={**hr, "Idempotency-Key": f"kill-{name}"})
                except httpx.TransportError:
                    retried.append(name)
                    continue
                if response.status_code in (502, 503):
                    retried.append(name)
                    continue
                assert response.status_code == 201, response.text
                answered[name] = response.json()
                if len(answered) >= 8:
                    enough_sent.set()
                return

    with ThreadPoolExecutor(max_workers=8) as pool:
        futures = [pool.submit(enrol, name) for name in people]
        assert enough_sent.wait(60)
        os.kill(worker_pids(system.processes["enrolment"].pid)[0], signal.SIGKILL)
        for future in futures:
            future.result()

    assert sorted(answered) == sorted(people), f"never acknowledged: {set(people) - set(answered)}"
    ids = {name: answer["id"] for name, answer in answered.items()}
    assert len(set(ids.values())) == len(people)  # nobody enrolled twice, every 201 its own enrolment
    listed = http.get(f"{enrolment}/enrolments", params={"offering_id": offering["id"], "per_page": 100},
                      headers=hr).json()
    assert {item["id"] for item in listed["items"]} == set(ids.values())  # no acknowledged 201 lost
    confirmed = [item for item in listed["items"] if item["status"] == "confirmed"]
    positions = sorted(item["waitlist_position"] for item in listed["items"] if item["status"] == "waitlisted")
    assert (len(confirmed), positions) == (10, list(range(1, 31)))
    poll("the seat counts in the catalogue", lambda: seat_counts(http, catalogue, offering) == (0, 30) or None)

"""A school's retried POST with the same Idempotency-Key publishes one offering, not two."""

from __future__ import annotations

import io
import threading
from datetime import timedelta

import pytest
from sqlalchemy import func, select, update

from catalogue import offerings as offerings_module
from catalogue.models import IdempotencyRecord, Offering, db
from shared.clock import copenhagen_today
from shared.db import utcnow
from tests.catalogue.fixtures import as_json, offering_data

PROBLEM = "application/problem+json"


@pytest.fixture
def school(make_school, glu):
    return make_school("Mercantec")


@pytest.fixture
def token(auth, school):
    return auth("school", provider_id=school["id"])


@pytest.fixture
def post(client, token, school):
    """post("key-1", capacity=12) -> POST /offerings with a typical body and the school's token."""

    def send(key: str | None, headers: dict | None = None, **overrides):
        extra = {"Idempotency-Key": key} if key is not None else {}
        return client.post("/offerings", json=as_json(offering_data(school, **overrides)),
                           headers={**(token if headers is None else headers), **extra})

    return send


def count_offerings(app) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(Offering))


def records(app) -> list:
    with app.app_context():
        found = db.session.scalars(select(IdempotencyRecord).order_by(IdempotencyRecord.id)).all()
        db.session.expunge_all()
        return found


def set_records(app, age: timedelta, **values) -> None:
    """Make every record `age` old (and set `values`): time passes without sleeping."""
    with app.app_context():
        db.session.execute(update(IdempotencyRecord).values(created_at=utcnow() - age, **values))
        db.session.commit()


def test_same_key_and_body_replay_the_first_response_and_publish_once(app, post):
    first = post("retry-1")
    second = post("retry-1")

    assert first.status_code == 201
    assert second.status_code == 201
    assert second.data == first.data
    assert second.headers["Location"] == first.headers["Location"]
    assert second.mimetype == "application/json"
    assert second.headers["Idempotent-Replayed"] == "true"
    assert "Idempotent-Replayed" not in first.headers
    assert count_offerings(app) == 1


def test_same_key_with_another_body_is_a_422(app, post):
    post("retry-1")

    response = post("retry-1", capacity=12)

    assert response.status_code == 422
    assert response.mimetype == PROBLEM
    problem = response.get_json()
    assert problem["status"] == 422
    assert problem["detail"] == "Idempotency-Key er allerede brugt til en anden forespørgsel."
    assert count_offerings(app) == 1


def test_a_repeat_while_the_first_attempt_works_waits_and_replays_its_answer(app, post, monkeypatch):
    real = offerings_module.create_offering
    working, finish = threading.Event(), threading.Event()

    def slow(*args, **kwargs):
        working.set()
        assert finish.wait(10)
        return real(*args, **kwargs)

    monkeypatch.setattr(offerings_module, "create_offering", slow)
    answers = {}
    first = threading.Thread(target=lambda: answers.setdefault("first", post("retry-1")))
    repeat = threading.Thread(target=lambda: answers.setdefault("repeat", post("retry-1")))
    first.start()
    try:
        assert working.wait(10)
        repeat.start()
        repeat.join(0.5)
        waiting = repeat.is_alive()  # held at the key's lock until the first attempt commits
    finally:
        finish.set()
        first.join(10)
        repeat.join(10)

    assert waiting
    assert answers["first"].status_code == answers["repeat"].status_code == 201
    assert answers["repeat"].headers["Idempotent-Replayed"] == "true"
    assert answers["repeat"].data == answers["first"].data
    assert count_offerings(app) == 1


def test_a_record_older_than_a_day_is_not_replayed(app, post):
    post("retry-1")
    set_records(app, timedelta(hours=24, minutes=1))

    response = post("retry-1")

    assert response.status_code == 201
    assert "Idempotent-Replayed" not in response.headers
    assert count_offerings(app) == 2
    assert len(records(app)) == 1


def test_the_same_key_under_another_token_is_independent(app, post, auth, school):
    mine = post("retry-1")
    admin = post("retry-1", headers=auth("admin"))
    other_token = post("retry-1", headers=auth("school", provider_id=school["id"]), capacity=12)

    assert [r.status_code for r in (mine, admin, other_token)] == [201, 201, 201]
    assert "Idempotent-Replayed" not in admin.headers
    assert count_offerings(app) == 3
    assert len({record.scope for record in records(app)}) == 3


def test_a_server_error_is_not_stored_so_a_retry_runs_again(app, post, monkeypatch):
    real = offerings_module.create_offering

    def broken(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(offerings_module, "create_offering", broken)
    failed = post("retry-1")
    monkeypatch.setattr(offerings_module, "create_offering", real)
    retried = post("retry-1")

    assert failed.status_code == 500
    assert failed.mimetype == PROBLEM
    assert retried.status_code == 201
    assert "Idempotent-Replayed" not in retried.headers
    assert count_offerings(app) == 1


def test_a_validation_error_is_stored_and_replayed(app, post):
    first = post("retry-1", capacity="many")
    second = post("retry-1", capacity="many")

    assert first.status_code == second.status_code == 422
    assert second.mimetype == PROBLEM
    assert second.data == first.data
    assert second.headers["Idempotent-Replayed"] == "true"
    assert count_offerings(app) == 0


def test_requests_without_the_key_are_unaffected(app, post):
    first = post(None)
    second = post(None)

    assert first.status_code == second.status_code == 201
    assert "Idempotent-Replayed" not in second.headers
    assert count_offerings(app) == 2
    assert records(app) == []


def test_an_over_long_key_is_a_400_naming_the_header(app, post):
    response = post("k" * 256)

    assert response.status_code == 400
    assert response.mimetype == PROBLEM
    [error] = response.get_json()["errors"]
    assert error["parameter"] == "Idempotency-Key"
    assert error["pointer"] == ""
    assert count_offerings(app) == 0
    assert records(app) == []


def test_cancelling_twice_with_one_key_replays_the_first_answer(app, client, post, token):
    offering = post(None).get_json()

    first = client.post(f"/offerings/{offering['id']}/cancel", json={"reason": "For få"},
                        headers={**token, "Idempotency-Key": "cancel-1"})
    second = client.post(f"/offerings/{offering['id']}/cancel", json={"reason": "For få"},
                         headers={**token, "Idempotency-Key": "cancel-1"})
    without_key = client.post(f"/offerings/{offering['id']}/cancel", json={"reason": "For få"}, headers=token)

    assert first.status_code == second.status_code == 200
    assert second.data == first.data
    assert second.headers["Idempotent-Replayed"] == "true"
    assert without_key.status_code == 409  # really cancelling twice is refused


def test_an_uploaded_csv_file_is_still_read_with_a_key(app, client, token, school):
    location_id = school["locations"][0]["id"]
    first = (copenhagen_today() + timedelta(days=40)).isoformat()
    second = (copenhagen_today() + timedelta(days=41)).isoformat()
    deadline = (copenhagen_today() + timedelta(days=26)).isoformat()
    body = ("module;location_id;sessions;capacity;price_dkk;enrolment_deadline;contact_email\n"
            f"GLU-2;{location_id};{first} 09:00-15:00 | {second} 09:00-15:00;16;1200;{deadline};glu@skole.example\n")

    response = client.post("/offerings/import", data={"file": (io.BytesIO(body.encode()), "hold.csv")},
                           headers={**token, "Idempotency-Key": "import-1"})

    assert response.status_code == 201, response.get_json()
    assert count_offerings(app) == 1

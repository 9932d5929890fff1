"""A POST retried with the same Idempotency-Key runs once; the first answer is replayed for 24 hours.

The harness is a tiny service with the same commit point as both services (shared.transaction):
its views do not commit, so the record of an answer is committed with the work it describes.
"""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from flask import Flask, request
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import String, func, select, update
from sqlalchemy.orm import Mapped, mapped_column

from shared.api import make_api
from shared.db import declarative_base, engine_options, utcnow
from shared.errors import ValidationFailed
from shared.idempotency import idempotency_record_model, install_idempotency, purge_expired
from shared.transaction import install_commit_point

KEY = {"Idempotency-Key": "4f1c0b7e-8a57-4c1e-9a51-0d3f1c1f2a10"}


class Harness:
    """A tiny service: POST /things makes a row; the counters say how often each view really ran."""

    def __init__(self, url: str):
        self.db = db = SQLAlchemy(model_class=declarative_base())

        class Thing(db.Model):
            id: Mapped[int] = mapped_column(primary_key=True)
            name: Mapped[str] = mapped_column(String(50))

        class Label(db.Model):
            id: Mapped[int] = mapped_column(primary_key=True)
            name: Mapped[str] = mapped_column(String(50), unique=True)

        self.Thing = Thing
        self.Record = idempotency_record_model(db)
        self.calls = {"things": 0, "boom": 0, "invalid": 0, "late": 0}
        self.entered = threading.Event()
        self.release = threading.Event()
        self.release.set()

        app = Flask(__name__)
        app.config.update(API_TITLE="t", API_VERSION="1", OPENAPI_VERSION="3.1.0", SQLALCHEMY_DATABASE_URI=url,
                          SQLALCHEMY_ENGINE_OPTIONS=engine_options(url))
        db.init_app(app)
        make_api(app)
        install_idempotency(app, db, self.Record)
        install_commit_point(app, db)

        @app.post("/things")
        def create_thing():
            self.calls["things"] += 1
            self.entered.set()
            self.release.wait(10)
            thing = Thing(name=request.get_json()["name"])
            db.session.add(thing)
            db.session.flush()
            return {"id": thing.id, "name": thing.name}, 201, {"Location": f"/things/{thing.id}", "X-Other": "1"}

        @app.post("/things-late")
        def create_thing_at_commit():
            """A change the database refuses only when the commit point commits it."""
            self.calls["late"] += 1
            db.session.add(Label(name=request.get_json()["name"]))
            return {"accepted": True}, 201

        @app.post("/boom")
        def boom():
            self.calls["boom"] += 1
            raise RuntimeError("the database went away")

        @app.post("/invalid")
        def invalid():
            self.calls["invalid"] += 1
            raise ValidationFailed.field("/name", "Navnet skal udfyldes.")

        @app.get("/things")
        def list_things():
            return {"count": db.session.scalar(select(func.count()).select_from(Thing))}

        self.app = app
        with app.app_context():
            db.create_all()

    def client(self):
        return self.app.test_client()

    def things(self) -> int:
        with self.app.app_context():
            return self.db.session.scalar(select(func.count()).select_from(self.Thing))

    def records(self) -> list:
        with self.app.app_context():
            records = self.db.session.scalars(select(self.Record)).all()
            self.db.session.expunge_all()
            return records

    def age_records(self, by: timedelta, **values) -> None:
        with self.app.app_context():
            self.db.session.execute(update(self.Record).values(created_at=utcnow() - by, **values))
            self.db.session.commit()


@pytest.fixture
def harness(tmp_path):
    harness = Harness(f"sqlite:///{tmp_path / 'idempotency.sqlite3'}")
    yield harness
    with harness.app.app_context():
        harness.db.engine.dispose()


def post(client, body, headers=KEY, path="/things"):
    return client.post(path, json=body, headers=headers)


def test_same_key_and_body_replays_the_first_response(harness):
    client = harness.client()

    first = post(client, {"name": "a"})
    second = post(client, {"name": "a"})

    assert first.status_code == second.status_code == 201
    assert second.data == first.data
    assert second.headers["Location"] == first.headers["Location"] == "/things/1"
    assert second.content_type == first.content_type == "application/json"
    assert second.headers["Idempotent-Replayed"] == "true"
    assert "Idempotent-Replayed" not in first.headers
    assert "X-Other" not in second.headers  # only the headers worth replaying are kept
    assert harness.calls["things"] == 1
    assert harness.things() == 1
    [record] = harness.records()
    assert (record.state, record.response_status) == ("done", 201)


def test_same_key_with_another_body_is_a_422(harness):
    client = harness.client()
    post(client, {"name": "a"})

    response = post(client, {"name": "b"})

    assert response.status_code == 422
    assert response.content_type == "application/problem+json"
    problem = response.get_json()
    assert problem["detail"] == "Idempotency-Key er allerede brugt til en anden forespørgsel."
    assert problem["errors"][0]["parameter"] == "Idempotency-Key"
    assert harness.calls["things"] == 1


def test_same_key_on_another_path_or_query_is_a_422(harness):
    client = harness.client()
    post(client, {"name": "a"})

    assert client.post("/things?x=1", json={"name": "a"}, headers=KEY).status_code == 422
    assert post(client, {"name": "a"}, path="/invalid").status_code == 422


def test_a_repeat_while_the_first_is_running_waits_for_it_and_gets_its_answer(harness):
    harness.release.clear()
    results = {}
    first = threading.Thread(target=lambda: results.setdefault("first", post(harness.client(), {"name": "a"})))
    repeat = threading.Thread(target=lambda: results.setdefault("repeat", post(harness.client(), {"name": "a"})))
    first.start()
    try:
        assert harness.entered.wait(10)
        repeat.start()
        repeat.join(0.5)
        waiting = repeat.is_alive()  # held at the key's lock, not refused
    finally:
        harness.release.set()
        first.join(10)
        repeat.join(10)

    assert waiting
    assert results["first"].status_code == results["repeat"].status_code == 201
    assert results["repeat"].headers["Idempotent-Replayed"] == "true"
    assert results["repeat"].data == results["first"].data
    assert harness.calls["things"] == 1


def test_the_record_is_committed_with_the_work_so_a_failed_commit_leaves_neither(harness):
    client = harness.client()
    post(client, {"name": "a"}, path="/things-late", headers={})

    refused = post(client, {"name": "a"}, path="/things-late")
    retried = post(client, {"name": "a"}, path="/things-late")

    assert refused.status_code == retried.status_code == 409  # the unique name, found only at the commit
    assert refused.content_type == "application/problem+json"
    assert "Idempotent-Replayed" not in retried.headers
    assert harness.calls["late"] == 3  # nothing was kept of the failed commit, so the retry ran afresh
    assert harness.records() == []


def test_a_record_older_than_a_day_no_longer_counts(harness):
    client = harness.client()
    post(client, {"name": "a"})
    harness.age_records(timedelta(hours=24, seconds=1))

    other_body = post(client, {"name": "b"})
    replay = post(client, {"name": "b"})

    assert other_body.status_code == 201
    assert "Idempotent-Replayed" not in other_body.headers
    assert replay.headers["Idempotent-Replayed"] == "true"
    assert harness.things() == 2
    assert len(harness.records()) == 1


def test_keys_belong_to_the_token(harness):
    client = harness.client()

    anonymous = post(client, {"name": "a"})
    alice = post(client, {"name": "a"}, headers={**KEY, "Authorization": "Bearer alice"})
    bob = post(client, {"name": "b"}, headers={**KEY, "Authorization": "Bearer bob"})

    alice_again = post(client, {"name": "a"}, headers={**KEY, "Authorization": "Bearer alice"})

    assert [r.status_code for r in (anonymous, alice, bob)] == [201, 201, 201]
    assert alice_again.data == alice.data != anonymous.data
    assert harness.things() == 3
    scopes = {record.scope for record in harness.records()}
    assert len(scopes) == 3 and "anonymous" in scopes
    assert not any("alice" in scope for scope in scopes)  # a hash, never the token itself


def test_a_server_error_is_not_kept_so_a_retry_runs_again(harness):
    client = harness.client()

    first = post(client, {}, path="/boom")
    second = post(client, {}, path="/boom")

    assert first.status_code == second.status_code == 500
    assert "Idempotent-Replayed" not in second.headers
    assert harness.calls["boom"] == 2
    assert harness.records() == []


def test_a_client_error_is_kept_and_replayed(harness):
    client = harness.client()

    first = post(client, {}, path="/invalid")
    second = post(client, {}, path="/invalid")

    assert first.status_code == second.status_code == 422
    assert second.content_type == "application/problem+json"
    assert second.data == first.data
    assert second.headers["Idempotent-Replayed"] == "true"
    assert harness.calls["invalid"] == 1


def test_requests_without_the_key_are_untouched(harness):
    client = harness.client()

    first = post(client, {"name": "a"}, headers={})
    second = post(client, {"name": "a"}, headers={})

    assert first.status_code == second.status_code == 201
    assert "Idempotent-Replayed" not in second.headers
    assert harness.things() == 2
    assert harness.records() == []


def test_other_methods_ignore_the_key(harness):
    client = harness.client()

    assert client.get("/things", headers=KEY).get_json() == {"count": 0}
    assert harness.records() == []


@pytest.mark.parametrize("key", ["x" * 256, "nøgle", "tab\there", ""])
def test_a_malformed_key_is_a_400_naming_the_header(harness, key):
    response = post(harness.client(), {"name": "a"}, headers={"Idempotency-Key": key})

    assert response.status_code == 400
    assert response.content_type == "application/problem+json"
    assert response.get_json()["errors"][0] == {
        "pointer": "", "parameter": "Idempotency-Key", "message": response.get_json()["errors"][0]["message"],
    }
    assert harness.calls["things"] == 0
    assert harness.records() == []


def test_a_key_of_255_printable_characters_is_fine(harness):
    response = post(harness.client(), {"name": "a"}, headers={"Idempotency-Key": "~ " + "x" * 253})

    assert response.status_code == 201


def test_purge_removes_only_expired_records(harness):
    client = harness.client()
    post(client, {"name": "a"})
    harness.age_records(timedelta(hours=25))
    post(client, {"name": "b"}, headers={"Idempotency-Key": "fresh"})

    with harness.app.app_context():
        removed = purge_expired(harness.db.session, harness.Record, utcnow())
        harness.db.session.commit()

    assert removed == 1
    assert [record.key for record in harness.records()] == ["fresh"]

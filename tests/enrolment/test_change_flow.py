"""A school's change reaches the enrolment service: signed webhook → change feed → applied once; never lost.

Both services run in-process: the catalogue's webhooks reach this enrolment service over WSGI
(synchronously, see conftest), and it reads the catalogue's change feed over `catalogue_link`.
"""

from __future__ import annotations

import json
import time
from datetime import timedelta

import pytest
from sqlalchemy import select, update

from catalogue.models import WebhookDelivery
from catalogue.models import db as catalogue_db
from catalogue.notifications import WebhookSender
from enrolment import change_feed, changes
from enrolment.models import OfferingSeats, db
from shared import webhooks
from shared.db import utcnow
from tests.conftest import TOKEN_SECRET


@pytest.fixture
def two_seats(make_school, make_offering, make_organisation):
    make_organisation("791", requires_approval=True)
    return make_offering(make_school("Mercantec"), module="GLU-3", capacity=2, min_participants=1)


@pytest.fixture
def carla(enrol, two_seats):
    """Anne and Bent hold the two seats; Carla waits."""
    people = [enrol(two_seats, name).get_json() for name in ("Anne", "Bent", "Carla")]
    assert people[2]["status"] == "waitlisted"
    return people[2]


@pytest.fixture
def school(auth, two_seats):
    return auth("school", provider_id=two_seats["provider_id"])


@pytest.fixture
def applied(monkeypatch):
    """The offering ids apply_offering_change was called with, in order."""
    calls: list[int] = []
    original = changes.apply_offering_change

    def counting(db_session, offering):
        calls.append(offering["id"])
        return original(db_session, offering)

    monkeypatch.setattr(changes, "apply_offering_change", counting)
    return calls


def lose_webhooks(catalogue_app) -> None:
    catalogue_app.extensions["webhook_sender"] = WebhookSender(None, "unused")


def status_of(client, hr, enrolment: dict) -> str:
    return client.get(f"/enrolments/{enrolment['id']}", headers=hr()).get_json()["status"]


def cursor(app) -> int:
    with app.app_context():
        value = change_feed.read_cursor(db.session).last_seq
        db.session.commit()
        db.session.remove()
    return value


def seat_row(app, offering_id: int) -> OfferingSeats:
    with app.app_context():
        seats = db.session.get(OfferingSeats, offering_id)
        db.session.expunge_all()
        db.session.remove()
    return seats


def deliveries(catalogue_app) -> list[WebhookDelivery]:
    with catalogue_app.app_context():
        rows = catalogue_db.session.scalars(select(WebhookDelivery).order_by(WebhookDelivery.id)).all()
        catalogue_db.session.expunge_all()
        catalogue_db.session.remove()
    return rows


def post_webhook(client, body, *, secret=TOKEN_SECRET, timestamp=None, signature=None, headers=None):
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    sent = int(time.time()) if timestamp is None else timestamp
    signed = webhooks.signed_headers(webhooks.signing_key(secret), sent, raw)
    if signature is not None:
        signed[webhooks.SIGNATURE_HEADER] = signature
    return client.post("/webhooks/catalogue", data=raw, headers=headers if headers is not None else signed)


def test_raised_capacity_confirms_the_waitlisted_by_webhook(app, client, hr, carla, two_seats, school,
                                                            catalogue_client, catalogue_app):
    raised = catalogue_client.patch(f"/offerings/{two_seats['id']}", json={"capacity": 3}, headers=school)

    assert raised.status_code == 200
    assert status_of(client, hr, carla) == "confirmed"
    [delivery] = deliveries(catalogue_app)
    assert (delivery.last_status, delivery.attempts) == (200, 1) and delivery.delivered_at is not None
    assert cursor(app) == raised.get_json()["change_seq"]
    assert seat_row(app, two_seats["id"]).capacity == 3
    shown = catalogue_client.get(f"/offerings/{two_seats['id']}").get_json()
    assert (shown["seats_available"], shown["waitlist_length"]) == (0, 0)


def test_a_cancellation_reaches_the_seat_row(app, carla, two_seats, school, catalogue_client):
    cancelled = catalogue_client.post(f"/offerings/{two_seats['id']}/cancel", json={"reason": "For få"},
                                      headers=school)

    assert cancelled.status_code == 200
    seats = seat_row(app, two_seats["id"])
    assert seats.status == "cancelled"
    assert seats.catalogue_revision == cancelled.get_json()["revision"]


def test_a_change_to_an_offering_nobody_enrolled_in_is_skipped(app, make_offering, make_school, auth,
                                                                catalogue_client, catalogue_app, applied):
    school = make_school("Viden Djurs")
    unknown = make_offering(school, capacity=10)

    edited = catalogue_client.patch(f"/offerings/{unknown['id']}", json={"capacity": 12},
                                    headers=auth("school", provider_id=school["id"]))

    assert edited.status_code == 200
    assert applied == []
    assert seat_row(app, unknown["id"]) is None
    assert cursor(app) == edited.get_json()["change_seq"]  # read past, so it is not read again
    assert deliveries(catalogue_app)[0].last_status == 200


def test_a_webhook_without_a_valid_signature_is_refused_and_nothing_applied(app, client, hr, auth, carla, two_seats,
                                                                             school, catalogue_client, catalogue_app):
    lose_webhooks(catalogue_app)
    raised = catalogue_client.patch(f"/offerings/{two_seats['id']}", json={"capacity": 3}, headers=school)
    notice = {"offering_id": two_seats["id"], "change_seq": raised.get_json()["change_seq"]}
    body = json.dumps(notice).encode()
    now = int(time.time())

    refused = [
        post_webhook(client, notice, headers={"Content-Type": "application/json"}),
        post_webhook(client, notice, secret="another-secret-" + "y" * 32),
        post_webhook(client, notice, signature=webhooks.sign(webhooks.signing_key(TOKEN_SECRET), now, body + b" ")),
        post_webhook(client, notice, timestamp=now - 600),
        post_webhook(client, notice, signature="sha256=" + "0" * 64),
        post_webhook(client, notice, headers={"Content-Type": "application/json", **auth("service")}),
    ]

    for response in refused:
        assert response.status_code == 401, response.get_data(as_text=True)
        assert response.mimetype == "application/problem+json"
        assert response.headers["WWW-Authenticate"].startswith("GLU-Signature")
    assert status_of(client, hr, carla) == "waitlisted"
    assert cursor(app) == 0
    accepted = post_webhook(client, notice)
    assert accepted.status_code == 200
    assert accepted.get_json() == {"applied": 1, "cursor": notice["change_seq"]}
    assert status_of(client, hr, carla) == "confirmed"


def test_a_signed_webhook_must_carry_a_json_notice(client):
    not_json = post_webhook(client, b"not json")
    incomplete = post_webhook(client, {"offering_id": 1})

    assert not_json.status_code == 400
    assert incomplete.status_code == 422
    assert incomplete.get_json()["errors"][0]["pointer"] == "/change_seq"


def test_a_lost_webhook_is_caught_up_by_sync_changes(app, client, hr, carla, two_seats, school, catalogue_client,
                                                     catalogue_app, applied):
    lose_webhooks(catalogue_app)
    raised = catalogue_client.patch(f"/offerings/{two_seats['id']}", json={"capacity": 3}, headers=school)
    waiting = status_of(client, hr, carla)
    runner = app.test_cli_runner()

    first = runner.invoke(args=["sync-changes"])
    second = runner.invoke(args=["sync-changes"])

    assert waiting == "waitlisted"
    assert deliveries(catalogue_app) == []
    assert first.exit_code == 0, first.output
    assert f"1 ændringer anvendt, læst til ændring {raised.get_json()['change_seq']}" in first.output
    assert "0 ændringer anvendt" in second.output
    assert status_of(client, hr, carla) == "confirmed"
    assert applied == [two_seats["id"]]


def test_the_catalogue_down_during_a_webhook_is_a_503_and_the_catalogue_retries(
        app, client, hr, carla, two_seats, school, catalogue_client, catalogue_app, catalogue_link):
    before = cursor(app)
    catalogue_link.down = True

    raised = catalogue_client.patch(f"/offerings/{two_seats['id']}", json={"capacity": 3}, headers=school)
    [failed] = deliveries(catalogue_app)
    after = cursor(app)
    sync = app.test_cli_runner().invoke(args=["sync-changes"])
    catalogue_link.down = False
    with catalogue_app.app_context():
        catalogue_db.session.execute(update(WebhookDelivery).values(next_attempt_at=utcnow() - timedelta(seconds=1)))
        catalogue_db.session.commit()
        catalogue_db.session.remove()
    retried = catalogue_app.test_cli_runner().invoke(args=["deliver-webhooks"])

    assert raised.status_code == 200  # the school's change stands; only the webhook failed
    assert (failed.last_status, failed.attempts, failed.delivered_at) == (503, 1, None)
    assert after == before == 0
    assert sync.exit_code != 0 and "Kataloget kan ikke nås" in sync.output
    assert "1 leveret, 0 fejlede" in retried.output
    assert status_of(client, hr, carla) == "confirmed"
    assert cursor(app) == raised.get_json()["change_seq"]


def test_the_same_change_delivered_twice_is_applied_once(app, client, hr, carla, two_seats, school,
                                                         catalogue_client, applied):
    raised = catalogue_client.patch(f"/offerings/{two_seats['id']}", json={"capacity": 3}, headers=school)
    seq = raised.get_json()["change_seq"]

    again = post_webhook(client, {"offering_id": two_seats["id"], "change_seq": seq})
    synced = app.test_cli_runner().invoke(args=["sync-changes"])

    assert applied == [two_seats["id"]]
    assert again.status_code == 200
    assert again.get_json() == {"applied": 0, "cursor": seq}
    assert f"0 ændringer anvendt, læst til ændring {seq}" in synced.output


def test_two_deliveries_at_once_apply_a_batch_once(app, client, hr, carla, two_seats, school, catalogue_client,
                                                   catalogue_app, applied, monkeypatch):
    lose_webhooks(catalogue_app)
    raised = catalogue_client.patch(f"/offerings/{two_seats['id']}", json={"capacity": 3}, headers=school)
    catalogue = app.extensions["catalogue_client"]
    read_feed = catalogue.get_changes
    overtaken: list = []

    def overtaken_while_reading(since, limit=100):
        page = read_feed(since, limit)
        if not overtaken:  # another delivery reads the same batch and applies it first
            overtaken.append(None)
            with app.app_context():
                overtaken[0] = change_feed.catch_up(db.session, catalogue)
                db.session.remove()
        return page

    monkeypatch.setattr(catalogue, "get_changes", overtaken_while_reading)
    with app.app_context():
        result = change_feed.catch_up(db.session, catalogue)
        db.session.remove()

    assert overtaken == [change_feed.CatchUp(applied=1, cursor=raised.get_json()["change_seq"])]
    assert result == change_feed.CatchUp(applied=0, cursor=raised.get_json()["change_seq"])
    assert applied == [two_seats["id"]]
    assert status_of(client, hr, carla) == "confirmed"


def test_the_feed_is_read_in_pages(app, make_school, make_offering, make_organisation, enrol, auth, catalogue_client,
                                   catalogue_app, applied):
    make_organisation("791", requires_approval=False)
    school = make_school("Tradium")
    offerings = [make_offering(school, first_day=30 + n, capacity=5, min_participants=1) for n in range(5)]
    for offering in offerings:
        enrol(offering, "Anne")
    lose_webhooks(catalogue_app)
    as_school = auth("school", provider_id=school["id"])
    for offering in offerings:
        catalogue_client.patch(f"/offerings/{offering['id']}", json={"capacity": 6}, headers=as_school)

    with app.app_context():
        result = change_feed.catch_up(db.session, app.extensions["catalogue_client"], page_size=2)
        db.session.remove()

    assert result.applied == 5
    assert applied == [offering["id"] for offering in offerings]
    assert all(seat_row(app, offering["id"]).capacity == 6 for offering in offerings)

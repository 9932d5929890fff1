"""The change feed (GET /offerings/changes), the signed webhooks announcing it, and their delivery log."""

from __future__ import annotations

import json
import time
from datetime import timedelta

import httpx
import pytest
from sqlalchemy import delete, select, update

from catalogue import create_app
from catalogue.models import ChangeSequence, WebhookDelivery, db
from catalogue.notifications import MAX_ATTEMPTS, retry_delay
from shared import webhooks
from shared.db import utcnow
from tests.conftest import TOKEN_SECRET

PROBLEM = "application/problem+json"


class EnrolmentStub:
    """Stands in for the enrolment service's webhook endpoint: records what arrives, answers `status`."""

    def __init__(self):
        self.status = 200
        self.down = False
        self.received: list[httpx.Request] = []
        self.transport = httpx.MockTransport(self._handle)

    def _handle(self, request: httpx.Request) -> httpx.Response:
        if self.down:
            raise httpx.ConnectError("enrolment service is down", request=request)
        self.received.append(request)
        return httpx.Response(self.status, json={"applied": 0, "cursor": 0})

    @property
    def notices(self) -> list[dict]:
        return [json.loads(request.content) for request in self.received]


@pytest.fixture
def stub():
    return EnrolmentStub()


@pytest.fixture
def hooked(catalogue_database, catalogue_app, stub):
    """A catalogue with ENROLMENT_URL set, whose webhooks reach `stub` (at once: its jobs run immediately)."""
    return create_app({"DATABASE_URL": catalogue_database, "GLU_TOKEN_SECRET": TOKEN_SECRET, "TESTING": True,
                       "ENROLMENT_URL": "http://enrolment.test/", "ENROLMENT_TRANSPORT": stub.transport,
                       "JOBS_IMMEDIATE": True})


@pytest.fixture
def school(make_school):
    return make_school("Mercantec")


@pytest.fixture
def as_school(auth, school):
    return auth("school", provider_id=school["id"])


def changes(client, headers, **params):
    return client.get("/offerings/changes", query_string=params, headers=headers)


def deliveries(app) -> list[dict]:
    """The delivery rows as stored, oldest first (read in an app context of their own)."""
    with app.app_context():
        rows = db.session.scalars(select(WebhookDelivery).order_by(WebhookDelivery.id)).all()
        result = [{column.name: getattr(row, column.name) for column in WebhookDelivery.__table__.columns}
                  for row in rows]
        db.session.remove()
    return result


def make_due(app) -> None:
    """What waiting for the backoff would do, without waiting."""
    with app.app_context():
        db.session.execute(update(WebhookDelivery).where(WebhookDelivery.delivered_at.is_(None))
                           .values(next_attempt_at=utcnow() - timedelta(seconds=1)))
        db.session.commit()
        db.session.remove()


def assert_problem(response, status: int) -> None:
    assert response.status_code == status, response.get_data(as_text=True)[:2000]
    assert response.mimetype == PROBLEM


# --- The feed -------------------------------------------------------------------------------------

def test_creates_edits_and_cancels_appear_in_the_order_they_were_made(client, auth, school, as_school,
                                                                        make_offering):
    first, second, third = (make_offering(school, first_day=30 + n) for n in range(3))
    client.patch(f"/offerings/{first['id']}", json={"capacity": 20}, headers=as_school)
    client.post(f"/offerings/{second['id']}/cancel", json={"reason": "For få"}, headers=as_school)

    page = changes(client, auth("service"), since=0).get_json()

    assert [first["change_seq"], second["change_seq"], third["change_seq"]] == [1, 2, 3]
    assert [(item["id"], item["change_seq"]) for item in page["items"]] == [
        (third["id"], 3), (first["id"], 4), (second["id"], 5)]
    assert (page["last_seq"], page["more"]) == (5, False)
    by_id = {item["id"]: item for item in page["items"]}
    assert by_id[first["id"]]["capacity"] == 20 and by_id[first["id"]]["revision"] == 2
    assert by_id[second["id"]]["status"] == "cancelled"
    assert by_id[third["id"]]["sessions"] and by_id[third["id"]]["location"]["city"] == "Viborg"


def test_the_feed_is_read_in_pages_from_since(client, auth, school, make_offering):
    made = [make_offering(school, first_day=30 + n) for n in range(5)]
    service = auth("service")

    first = changes(client, service, since=0, limit=2).get_json()
    second = changes(client, service, since=first["last_seq"], limit=2).get_json()
    third = changes(client, service, since=second["last_seq"], limit=2).get_json()
    beyond = changes(client, service, since=third["last_seq"], limit=2).get_json()

    assert [[item["id"] for item in page["items"]] for page in (first, second, third)] == [
        [made[0]["id"], made[1]["id"]], [made[2]["id"], made[3]["id"]], [made[4]["id"]]]
    assert [(page["last_seq"], page["more"]) for page in (first, second, third)] == [(2, True), (4, True), (5, False)]
    assert {key: beyond[key] for key in ("items", "last_seq", "more")} == {"items": [], "last_seq": 5, "more": False}
    # Each page names the token of the number it was read from and of its last: one history throughout.
    assert first["since_token"] == "" and second["since_token"] == first["last_token"]
    assert beyond["since_token"] == beyond["last_token"] == third["last_token"]
    assert len({first["last_token"], second["last_token"], third["last_token"]}) == 3


def test_the_feed_shows_drafts_to_the_service(client, auth, school, make_offering):
    draft = make_offering(school, status="draft")

    items = changes(client, auth("service")).get_json()["items"]

    assert [(item["id"], item["status"]) for item in items] == [(draft["id"], "draft")]


def test_seat_counts_do_not_move_an_offering_in_the_feed(client, auth, school, make_offering):
    offering = make_offering(school)
    service = auth("service")

    put = client.put(f"/offerings/{offering['id']}/seats", json={"taken": 3, "waitlisted": 0, "version": 1},
                     headers=service)
    page = changes(client, service, since=offering["change_seq"]).get_json()

    assert put.status_code == 200
    assert client.get(f"/offerings/{offering['id']}").get_json()["change_seq"] == offering["change_seq"]
    assert {key: page[key] for key in ("items", "last_seq", "more")} == {
        "items": [], "last_seq": offering["change_seq"], "more": False}


def test_a_refused_change_takes_no_number(client, auth, school, as_school, make_offering):
    offering = make_offering(school, capacity=16, min_participants=6)

    refused = client.patch(f"/offerings/{offering['id']}", json={"capacity": 2}, headers=as_school)
    accepted = client.patch(f"/offerings/{offering['id']}", json={"capacity": 12}, headers=as_school)

    assert refused.status_code == 422
    assert accepted.get_json()["change_seq"] == offering["change_seq"] + 1


def test_the_counter_is_made_again_if_it_is_missing(app, school, make_offering):
    with app.app_context():
        db.session.execute(delete(ChangeSequence))
        db.session.commit()
        db.session.remove()

    assert [make_offering(school)["change_seq"] for _ in range(2)] == [1, 2]


@pytest.mark.parametrize(("role", "scope", "status"), [
    (None, {}, 401), ("school", {"provider_id": 1}, 403), ("hr", {"organisation": "791"}, 403),
    ("service", {}, 200), ("admin", {}, 200),
])
def test_only_the_service_and_administrators_read_the_feed(client, auth, role, scope, status):
    response = changes(client, auth(role, **scope) if role else {})

    assert response.status_code == status


def test_feed_parameters_are_checked(client, auth):
    service = auth("service")

    assert_problem(changes(client, service, limit=501), 400)
    assert_problem(changes(client, service, since=-1), 400)
    assert_problem(changes(client, service, sinse=3), 400)
    assert changes(client, service, limit=500).status_code == 200


# --- Webhooks -------------------------------------------------------------------------------------

def test_without_enrolment_url_no_delivery_is_written(client, app, school, as_school, make_offering):
    offering = make_offering(school)

    client.patch(f"/offerings/{offering['id']}", json={"capacity": 20}, headers=as_school)
    client.post(f"/offerings/{offering['id']}/cancel", json={}, headers=as_school)

    assert deliveries(app) == []


def test_an_edit_and_a_cancellation_are_delivered_signed(hooked, stub, school, as_school, make_offering):
    offering = make_offering(school)
    client = hooked.test_client()

    edited = client.patch(f"/offerings/{offering['id']}", json={"capacity": 20}, headers=as_school)
    cancelled = client.post(f"/offerings/{offering['id']}/cancel", json={}, headers=as_school)

    seqs = [edited.get_json()["change_seq"], cancelled.get_json()["change_seq"]]
    assert stub.notices == [{"offering_id": offering["id"], "change_seq": seq} for seq in seqs]
    key = webhooks.signing_key(TOKEN_SECRET)
    for request in stub.received:
        assert str(request.url) == "http://enrolment.test/webhooks/catalogue"
        assert request.headers["Content-Type"] == "application/json"
        assert request.headers[webhooks.SIGNATURE_HEADER].startswith("sha256=")
        assert webhooks.verify(key, request.headers[webhooks.TIMESTAMP_HEADER], request.content,
                               request.headers[webhooks.SIGNATURE_HEADER], time.time())
    rows = deliveries(hooked)
    assert [(row["change_seq"], row["attempts"], row["last_status"]) for row in rows] == [(s, 1, 200) for s in seqs]
    assert all(row["delivered_at"] and row["next_attempt_at"] is None for row in rows)


def test_a_new_draft_is_in_the_feed_but_sends_no_webhook_a_published_one_does(hooked, stub, school, as_school,
                                                                               make_offering):
    """Nobody is enrolled in a new offering, but leaders on the module's interest list are to hear of a published
    one at once (enrolment.interests)."""
    body = {"module": "GLU-1", "location_id": school["locations"][0]["id"], "capacity": 10, "price_dkk": 0,
            "sessions": [{"starts_at": "2040-03-01T09:00:00+01:00", "ends_at": "2040-03-01T15:00:00+01:00"}],
            "enrolment_deadline": "2040-02-15", "contact_email": "a@skole.example"}
    make_offering(school)  # the GLU modules

    draft = hooked.test_client().post("/offerings", json={**body, "status": "draft"}, headers=as_school)

    assert draft.status_code == 201 and draft.get_json()["change_seq"] == 2
    assert stub.received == [] and deliveries(hooked) == []

    published = hooked.test_client().post("/offerings", json=body, headers=as_school)

    assert published.status_code == 201 and published.get_json()["change_seq"] == 3
    assert [notice["offering_id"] for notice in stub.notices] == [published.get_json()["id"]]


def test_a_refused_change_writes_no_delivery(hooked, stub, school, as_school, make_offering):
    offering = make_offering(school, capacity=16, min_participants=6)

    refused = hooked.test_client().patch(f"/offerings/{offering['id']}", json={"capacity": 2}, headers=as_school)

    assert refused.status_code == 422
    assert deliveries(hooked) == [] and stub.received == []


def test_the_delivery_is_written_with_the_change_even_if_sending_fails(hooked, stub, school, as_school,
                                                                           make_offering):
    offering = make_offering(school)
    stub.down = True

    edited = hooked.test_client().patch(f"/offerings/{offering['id']}", json={"capacity": 20}, headers=as_school)

    assert edited.status_code == 200  # the school's change does not wait for, or fail with, the webhook
    [row] = deliveries(hooked)
    assert (row["offering_id"], row["change_seq"]) == (offering["id"], edited.get_json()["change_seq"])
    assert row["payload"] == {"offering_id": offering["id"], "change_seq": edited.get_json()["change_seq"]}


def test_a_failed_delivery_backs_off_and_is_retried_by_the_command(hooked, stub, school, as_school, make_offering):
    offering = make_offering(school)
    runner = hooked.test_cli_runner()
    stub.status = 503

    hooked.test_client().patch(f"/offerings/{offering['id']}", json={"capacity": 20}, headers=as_school)
    [after_first] = deliveries(hooked)
    too_early = runner.invoke(args=["deliver-webhooks"])
    stub.down = True
    make_due(hooked)
    second = runner.invoke(args=["deliver-webhooks"])
    [after_second] = deliveries(hooked)
    stub.down, stub.status = False, 200
    make_due(hooked)
    third = runner.invoke(args=["deliver-webhooks"])
    [after_third] = deliveries(hooked)
    again = runner.invoke(args=["deliver-webhooks"])

    assert (after_first["attempts"], after_first["last_status"], after_first["delivered_at"]) == (1, 503, None)
    assert after_first["last_error"].startswith("HTTP 503")
    assert timedelta(seconds=25) < after_first["next_attempt_at"] - utcnow() <= timedelta(seconds=30)
    assert "0 leveret, 0 fejlede" in too_early.output
    assert "0 leveret, 1 fejlede" in second.output
    assert (after_second["attempts"], after_second["last_status"]) == (2, None)
    assert "ConnectError" in after_second["last_error"]
    assert timedelta(seconds=55) < after_second["next_attempt_at"] - utcnow() <= timedelta(seconds=60)
    assert "1 leveret, 0 fejlede" in third.output
    assert (after_third["attempts"], after_third["last_status"], after_third["last_error"]) == (3, 200, None)
    assert after_third["delivered_at"] is not None and after_third["next_attempt_at"] is None
    assert "0 leveret, 0 fejlede" in again.output
    assert len(stub.received) == 2  # the 503 and the success; the connection never got through the second time


def test_the_backoff_doubles_up_to_an_hour():
    assert [retry_delay(n).total_seconds() for n in range(1, 10)] == [30, 60, 120, 240, 480, 960, 1920, 3600, 3600]
    assert retry_delay(500) == timedelta(hours=1)


def test_a_delivery_is_given_up_after_the_last_attempt(hooked, stub, school, as_school, make_offering):
    offering = make_offering(school)
    stub.status = 500
    hooked.test_client().patch(f"/offerings/{offering['id']}", json={"capacity": 20}, headers=as_school)
    with hooked.app_context():
        db.session.execute(update(WebhookDelivery).values(attempts=MAX_ATTEMPTS - 1,
                                                          next_attempt_at=utcnow() - timedelta(seconds=1)))
        db.session.commit()
        db.session.remove()

    result = hooked.test_cli_runner().invoke(args=["deliver-webhooks"])
    [row] = deliveries(hooked)
    later = hooked.test_cli_runner().invoke(args=["deliver-webhooks"])

    assert "0 leveret, 1 fejlede" in result.output
    assert (row["attempts"], row["next_attempt_at"], row["delivered_at"]) == (MAX_ATTEMPTS, None, None)
    assert "0 leveret, 0 fejlede" in later.output


def test_deliver_webhooks_needs_an_enrolment_url(app):
    result = app.test_cli_runner().invoke(args=["deliver-webhooks"])

    assert result.exit_code != 0
    assert "ENROLMENT_URL" in result.output


def test_the_delivery_log_is_for_administrators_newest_first(hooked, stub, auth, school, as_school, make_offering):
    offering = make_offering(school)
    client = hooked.test_client()
    stub.status = 500
    client.patch(f"/offerings/{offering['id']}", json={"capacity": 20}, headers=as_school)
    stub.status = 200
    client.post(f"/offerings/{offering['id']}/cancel", json={}, headers=as_school)

    log = client.get("/webhook-deliveries", headers=auth("admin"))
    paged = client.get("/webhook-deliveries", query_string={"per_page": 1, "page": 2}, headers=auth("admin"))

    assert log.status_code == 200
    body = log.get_json()
    assert body["total"] == 2
    newest, oldest = body["items"]
    assert (newest["change_seq"], newest["last_status"], newest["attempts"]) == (3, 200, 1)
    assert newest["delivered_at"] is not None and newest["next_attempt_at"] is None
    assert (oldest["change_seq"], oldest["last_status"], oldest["delivered_at"]) == (2, 500, None)
    assert oldest["next_attempt_at"] is not None and oldest["last_error"].startswith("HTTP 500")
    assert oldest["payload"] == {"offering_id": offering["id"], "change_seq": 2}
    assert [item["change_seq"] for item in paged.get_json()["items"]] == [2]
    assert 'rel="first"' in paged.headers["Link"]
    assert_problem(client.get("/webhook-deliveries"), 401)
    assert_problem(client.get("/webhook-deliveries", headers=auth("service")), 403)
    assert_problem(client.get("/webhook-deliveries", headers=as_school), 403)


def test_the_api_document_lists_the_feed_and_the_log(client):
    paths = client.get("/openapi.json").get_json()["paths"]

    assert "get" in paths["/offerings/changes"] and "get" in paths["/webhook-deliveries"]
    assert "change_seq" in client.get("/openapi.json").get_json()["components"]["schemas"]["Offering"]["properties"]


# --- Signing and verifying ------------------------------------------------------------------------

KEY = webhooks.signing_key("a-shared-secret")
BODY = b'{"change_seq":7,"offering_id":3}'
NOW = 1_900_000_000


def test_a_signature_verifies_over_its_timestamp_and_body():
    signature = webhooks.sign(KEY, NOW, BODY)

    assert signature.startswith("sha256=") and len(signature) == len("sha256=") + 64
    assert webhooks.verify(KEY, str(NOW), BODY, signature, now=NOW + 10)
    assert webhooks.verify(KEY, NOW, BODY, signature, now=NOW - 10)


def test_a_tampered_body_or_timestamp_does_not_verify():
    signature = webhooks.sign(KEY, NOW, BODY)

    assert not webhooks.verify(KEY, NOW, BODY.replace(b"7", b"8"), signature, now=NOW)
    assert not webhooks.verify(KEY, NOW + 1, BODY, signature, now=NOW)
    assert not webhooks.verify(KEY, NOW, BODY, signature[:-1] + ("0" if signature[-1] != "0" else "1"), now=NOW)


def test_a_stale_or_future_timestamp_does_not_verify():
    old, ahead = NOW - 301, NOW + 301

    assert not webhooks.verify(KEY, old, BODY, webhooks.sign(KEY, old, BODY), now=NOW)
    assert not webhooks.verify(KEY, ahead, BODY, webhooks.sign(KEY, ahead, BODY), now=NOW)
    assert webhooks.verify(KEY, old, BODY, webhooks.sign(KEY, old, BODY), now=NOW, tolerance=400)


def test_another_key_or_missing_parts_do_not_verify():
    signature = webhooks.sign(KEY, NOW, BODY)

    assert not webhooks.verify(webhooks.signing_key("another-secret"), NOW, BODY, signature, now=NOW)
    assert not webhooks.verify(KEY, None, BODY, signature, now=NOW)
    assert not webhooks.verify(KEY, NOW, BODY, None, now=NOW)
    assert not webhooks.verify(KEY, NOW, BODY, "", now=NOW)
    assert not webhooks.verify(KEY, "-5", BODY, webhooks.sign(KEY, "-5", BODY), now=-5)
    assert not webhooks.verify(KEY, "12.5", BODY, webhooks.sign(KEY, "12.5", BODY), now=12)


def test_the_webhook_key_is_derived_not_the_token_secret():
    assert webhooks.signing_key("a-shared-secret") != b"a-shared-secret"
    assert webhooks.sign("a-shared-secret", NOW, BODY) != webhooks.sign(KEY, NOW, BODY)

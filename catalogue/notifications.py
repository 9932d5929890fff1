"""How a school's change reaches the enrolment service: a change feed, and signed webhooks that announce it.

The change feed is the truth. Every change a school makes to an offering (create, edit, cancel;
not the seat counts the enrolment service reports) draws the next number from one counter and
stores it on the offering as `change_seq`. `GET /offerings/changes?since=N` lists the offerings
changed after N in that order, each as it is now; a reader keeps the last number it has applied
and reads on from there, so a change it was not told about is read the next time, never lost.

Webhooks make it prompt. With ENROLMENT_URL set, an edit or cancellation also writes a
`webhook_delivery` row in the same transaction (so a committed change always has its webhook, and
a rolled-back one never does) and asks for the `deliver-webhooks` job after the commit. The job
engine (catalogue.jobs) then has `WebhookSender` POST the due rows to
`{ENROLMENT_URL}/webhooks/catalogue`, signed (shared.webhooks), so the school's response never
waits for it; the enrolment service answers by reading the feed. A failed send is retried with
exponential backoff (30 s, 1 min, 2 min, … at most 1 h) by the engine's sweep every minute (or
`flask --app catalogue deliver-webhooks` by hand); every attempt is kept in the log
(`GET /webhook-deliveries`). New offerings are in the feed but send no webhook: the enrolment
service cannot have enrolled anyone into an offering before it existed.
"""

from __future__ import annotations

import json
import logging
import secrets
import time
from dataclasses import dataclass
from datetime import timedelta

import httpx
from sqlalchemy import Select, select, update
from sqlalchemy.orm import Session as DbSession
from sqlalchemy.orm import joinedload, selectinload

from catalogue.models import ChangeDraw, ChangeSequence, Module, Offering, WebhookDelivery
from shared.db import insert_unless_present, utcnow
from shared.transaction import after_commit
from shared.webhooks import signed_headers, signing_key

log = logging.getLogger(__name__)

WEBHOOK_PATH = "/webhooks/catalogue"
DELIVER_JOB = "deliver-webhooks"
SEND_TIMEOUT_SECONDS = 5.0
FIRST_RETRY = timedelta(seconds=30)
LAST_RETRY = timedelta(hours=1)
# After this many failed sends (about 14 hours) a delivery is given up: `sync-changes` on the
# enrolment side reads the feed anyway, so nothing is lost, and a dead endpoint is not tried forever.
MAX_ATTEMPTS = 20
# A sender claims the rows it is about to send for this long, so two senders (a web worker's
# thread and cron) do not send the same row at once; a sender that dies leaves them due again after it.
CLAIM_FOR = timedelta(seconds=60)
DELIVERY_BATCH = 100
_ERROR_LENGTH = 500


# --- The change feed ------------------------------------------------------------------------------

def next_change_seq(db: DbSession) -> int:
    """The next number of the change feed, for a change about to be committed in this transaction.

    `UPDATE change_sequence SET value = value + 1 RETURNING value` row-locks the counter until this
    transaction ends (on SQLite every transaction already holds the write lock, shared.db). A second
    change waits for the first to commit or roll back before it draws its number, so changes commit
    in the order of their numbers and no number is left behind by a rollback: a reader that has seen
    N can never later meet a committed change below N. The price is that schools' changes commit
    one at a time, which suits how rarely they happen. Take the number as late in the transaction as
    possible. The counter row is made if it is missing (a new or emptied database).
    """
    drawn = _draw(db)
    if drawn is None:
        insert_unless_present(db, ChangeSequence, {"id": 1, "value": 0}, ["id"])
        drawn = _draw(db)
    # A fresh random token for the number (see ChangeDraw): after a restore the number is drawn again,
    # but never with the same token. merge: a number restored from a dump may still have its old row.
    db.merge(ChangeDraw(seq=drawn, token=secrets.token_hex(16)))
    return drawn


def _draw(db: DbSession) -> int | None:
    return db.execute(
        update(ChangeSequence).where(ChangeSequence.id == 1).values(value=ChangeSequence.value + 1)
        .returning(ChangeSequence.value)
    ).scalar_one_or_none()


def record_change(db: DbSession, offering: Offering, *, webhook: bool) -> None:
    """Give a school's change its number in the feed and, if `webhook`, its delivery in the log."""
    offering.change_seq = next_change_seq(db)
    if webhook:
        if offering.id is None:
            db.flush()
        db.add(WebhookDelivery(
            offering_id=offering.id, change_seq=offering.change_seq,
            payload={"offering_id": offering.id, "change_seq": offering.change_seq},
            created_at=utcnow(), attempts=0, next_attempt_at=utcnow(),
        ))
        after_commit(db, DELIVER_JOB)


@dataclass
class ChangesPage:
    items: list[Offering]
    last_seq: int
    more: bool
    since_token: str | None = None
    last_token: str | None = None


def changes_since(db: DbSession, since: int, limit: int) -> ChangesPage:
    """Offerings changed after `since`, in the order of their changes, each as it is now.

    An offering changed twice appears once, at its latest number. `last_seq` is where the next
    read starts: the last number returned, or `since` if nothing was.
    """
    rows = list(db.scalars(
        select(Offering).where(Offering.change_seq > since).order_by(Offering.change_seq).limit(limit + 1)
        .options(joinedload(Offering.module).joinedload(Module.programme), joinedload(Offering.provider),
                 joinedload(Offering.location), selectinload(Offering.sessions))
    ).unique())
    items = rows[:limit]
    last_seq = items[-1].change_seq if items else since
    tokens = dict(db.execute(select(ChangeDraw.seq, ChangeDraw.token)
                             .where(ChangeDraw.seq.in_({since, last_seq}))).all())
    tokens[0] = ""  # the start of every history
    return ChangesPage(items=items, last_seq=last_seq, more=len(rows) > limit,
                       since_token=tokens.get(since), last_token=tokens.get(last_seq))


# --- Webhooks -------------------------------------------------------------------------------------

def deliveries_query() -> Select:
    """The delivery log, newest first."""
    return select(WebhookDelivery).order_by(WebhookDelivery.id.desc())


def retry_delay(failed_attempts: int) -> timedelta:
    """How long to wait after the n-th failed send: 30 s, 1 min, 2 min, 4 min, … at most an hour."""
    return min(FIRST_RETRY * 2 ** min(max(failed_attempts - 1, 0), 16), LAST_RETRY)


@dataclass
class DeliveryReport:
    delivered: int = 0
    failed: int = 0


class WebhookSender:
    """POSTs due webhook deliveries to the enrolment service; disabled without an enrolment URL.

    `deliver_due` sends every due row: the `deliver-webhooks` job and the CLI command call it.
    """

    def __init__(self, enrolment_url: str | None, token_secret: str | None, *,
                 transport: httpx.BaseTransport | None = None, timeout: float = SEND_TIMEOUT_SECONDS):
        self.url = f"{enrolment_url.rstrip('/')}{WEBHOOK_PATH}" if enrolment_url else None
        self._key = signing_key(token_secret or "")
        self._transport = transport
        self._timeout = timeout

    @property
    def enabled(self) -> bool:
        return self.url is not None

    def deliver_due(self, db: DbSession) -> DeliveryReport:
        """Send every due delivery once. Commits: a claim before sending, each outcome after it.

        No transaction is open while a webhook is in flight, so the enrolment service may call the
        catalogue back (it reads the change feed) without waiting for a lock held here.
        """
        report = DeliveryReport()
        if not self.enabled:
            return report
        with httpx.Client(transport=self._transport, timeout=self._timeout) as client:
            while True:
                claimed = self._claim(db)
                for delivery_id, payload in claimed:
                    status, error = self._post(client, payload)
                    self._record(db, delivery_id, status, error)
                    if error is None:
                        report.delivered += 1
                    else:
                        report.failed += 1
                if len(claimed) < DELIVERY_BATCH:
                    return report

    def _claim(self, db: DbSession) -> list[tuple[int, dict]]:
        now = utcnow()
        rows = db.scalars(
            select(WebhookDelivery)
            .where(WebhookDelivery.delivered_at.is_(None), WebhookDelivery.next_attempt_at <= now)
            .order_by(WebhookDelivery.id).limit(DELIVERY_BATCH).with_for_update(skip_locked=True)
        ).all()
        claimed = []
        for row in rows:
            row.next_attempt_at = now + CLAIM_FOR
            claimed.append((row.id, dict(row.payload)))
        db.commit()
        return claimed

    def _post(self, client: httpx.Client, payload: dict) -> tuple[int | None, str | None]:
        body = json.dumps(payload, separators=(",", ":"), sort_keys=True).encode()
        try:
            response = client.post(self.url, content=body, headers=signed_headers(self._key, int(time.time()), body))
        except httpx.HTTPError as error:
            log.warning("Webhook for offering %s not delivered: %r", payload.get("offering_id"), error)
            return None, repr(error)
        if 200 <= response.status_code < 300:
            return response.status_code, None
        log.warning("Enrolment service answered %s to the webhook for offering %s", response.status_code,
                    payload.get("offering_id"))
        return response.status_code, f"HTTP {response.status_code}: {response.text[:300]}"

    def _record(self, db: DbSession, delivery_id: int, status: int | None, error: str | None) -> None:
        now = utcnow()
        delivery = db.get(WebhookDelivery, delivery_id, with_for_update=True, populate_existing=True)
        delivery.attempts += 1
        delivery.last_status = status
        if error is None:
            delivery.delivered_at = now
            delivery.next_attempt_at = None
            delivery.last_error = None
        else:
            delivery.last_error = error[:_ERROR_LENGTH]
            delivery.next_attempt_at = (now + retry_delay(delivery.attempts)
                                        if delivery.attempts < MAX_ATTEMPTS else None)
        db.commit()


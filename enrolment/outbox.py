"""The outbox: what must happen once a transaction has committed, written in that transaction, delivered after it.

Domain code adds messages with `add_mail` and `report_seats` in the transaction of the change that
causes them (models.OutboxMessage), and asks for the `deliver-outbox` job after the commit
(shared.transaction.after_commit). The job engine (shared.jobs) runs `deliver_due`: right after
the commit, and every minute as a sweep for anything a killed worker never enqueued or that must
be tried again. The job is coalesced (one run waits in the queue at most), so under load a run
finds the messages of many commits, and sends the seat counts of all their offerings in one PUT.
Delivery is at least once; both receivers make a repeat harmless (the catalogue
ignores seat counts whose version is not newer; a mail carries a Message-ID fixed by its row, so
a repeat is the same message).

Several deliverers may run at once: each claims the rows it is about to deliver (`FOR UPDATE SKIP
LOCKED` on PostgreSQL; on SQLite each transaction holds the database), moves their `due_at`
`CLAIM_FOR` ahead and commits before it sends, so no two send one row at the same time, and a
deliverer that dies mid-way leaves its rows due again after `CLAIM_FOR`. A failed delivery is
tried again after 1 s, 2 s, 4 s, … at most an hour, and given up after `MAX_ATTEMPTS`.
"""

from __future__ import annotations

import logging
import smtplib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session as DbSession

from enrolment.catalogue_client import CatalogueClient, SeatCounts
from enrolment.models import OfferingSeats, OutboxMessage
from enrolment.seats import taken_seats
from shared.db import utcnow
from shared.mail import PlainMail, SmtpSettings, send_mail
from shared.transaction import after_commit

log = logging.getLogger(__name__)

DELIVER_JOB = "deliver-outbox"
MAIL, SEAT_COUNTS = "mail", "seat_counts"
CLAIM_FOR = timedelta(seconds=60)
FIRST_RETRY = timedelta(seconds=1)
LAST_RETRY = timedelta(hours=1)
MAX_ATTEMPTS = 20
BATCH = 100


# --- Writing, in the transaction of the change ------------------------------------------------------

def add_mail(db: DbSession, recipient: str, subject: str, body: str, calendar: bytes | None = None,
             method: str | None = None) -> OutboxMessage:
    message = OutboxMessage(kind=MAIL, recipient=recipient, subject=subject, body=body, calendar=calendar,
                            calendar_method=method, due_at=utcnow())
    db.add(message)
    after_commit(db, DELIVER_JOB)
    return message


def report_seats(db: DbSession, seats: OfferingSeats) -> None:
    """Tell the catalogue the offering's seat counts once this transaction has committed."""
    db.add(OutboxMessage(kind=SEAT_COUNTS, offering_id=seats.offering_id, due_at=utcnow()))
    after_commit(db, DELIVER_JOB)


# --- Delivering, after the commit -------------------------------------------------------------------

@dataclass
class Delivery:
    delivered: int = 0
    failed: int = 0


def retry_delay(failed_attempts: int) -> timedelta:
    return min(FIRST_RETRY * 2 ** min(max(failed_attempts - 1, 0), 20), LAST_RETRY)


def deliver_due(db: DbSession, catalogue: CatalogueClient, smtp: SmtpSettings | None, *,
                now: Callable[[], datetime] = utcnow, smtp_factory=smtplib.SMTP) -> Delivery:
    """Deliver every due message, a batch at a time; without SMTP settings mails stay in the outbox."""
    report = Delivery()
    kinds = [SEAT_COUNTS, MAIL] if smtp else [SEAT_COUNTS]
    while True:
        claimed = _claim(db, kinds, now())
        outcomes = _send_seat_counts(db, catalogue, {message.offering_id for message in claimed
                                                     if message.kind == SEAT_COUNTS})
        for message in claimed:
            if message.kind == MAIL:
                outcomes[MAIL, message.id] = _send(lambda m=message: send_mail(_mail_of(m), smtp, smtp_factory))
        _record(db, claimed, outcomes, now(), report)
        if len(claimed) < BATCH:
            return report


def _claim(db: DbSession, kinds: list[str], now: datetime) -> list:
    """The due messages (as plain rows: nothing is held while sending), each moved CLAIM_FOR ahead."""
    table = OutboxMessage.__table__
    rows = db.execute(select(table).where(table.c.delivered_at.is_(None), table.c.due_at <= now,
                                          table.c.kind.in_(kinds))
                      .order_by(table.c.id).limit(BATCH).with_for_update(skip_locked=True)).all()
    if rows:
        db.execute(update(table).where(table.c.id.in_([row.id for row in rows])).values(due_at=now + CLAIM_FOR))
    db.commit()
    return rows


def _send_seat_counts(db: DbSession, catalogue: CatalogueClient, offering_ids: set[int]) -> dict:
    """One PUT of these offerings' counts; {(SEAT_COUNTS, offering id): error or None}."""
    if not offering_ids:
        return {}
    # The counts as committed now, not when the messages were written: one PUT says every change so far.
    # Taken is confirmed + reserved (seats.taken_seats): the catalogue's free seats must not offer reserved ones.
    rows = db.execute(select(OfferingSeats.offering_id, OfferingSeats.confirmed, OfferingSeats.reserved,
                             OfferingSeats.waitlisted, OfferingSeats.seats_version)
                      .where(OfferingSeats.offering_id.in_(offering_ids))).all()
    db.rollback()
    taken = catalogue.put_seat_counts({row.offering_id: SeatCounts(taken=taken_seats(row), waitlisted=row.waitlisted,
                                                                   version=row.seats_version) for row in rows})
    return {(SEAT_COUNTS, offering_id): None if taken is not None and offering_id in taken else
            "Kataloget tog ikke imod pladstallene." for offering_id in offering_ids}


def _mail_of(row) -> PlainMail:
    # The Message-ID from the row's creation and id: a resend after a crash is the same message.
    return PlainMail(row.recipient, row.subject, row.body, row.created_at, f"{row.created_at:%Y%m%d%H%M%S.%f}.{row.id}",
                     row.calendar, row.calendar_method)


def _send(deliver: Callable[[], None]) -> str | None:
    try:
        deliver()
    except (OSError, smtplib.SMTPException) as error:
        return repr(error)[:500]
    return None


def _record(db: DbSession, claimed: list, outcomes: dict, now: datetime, report: Delivery) -> None:
    for message in claimed:
        error = outcomes[(SEAT_COUNTS, message.offering_id) if message.kind == SEAT_COUNTS else (MAIL, message.id)]
        attempts = message.attempts + 1
        if error is None:
            values = {"attempts": attempts, "delivered_at": now, "due_at": None, "last_error": None}
            report.delivered += 1
        else:
            due = now + retry_delay(attempts) if attempts < MAX_ATTEMPTS else None
            values = {"attempts": attempts, "due_at": due, "last_error": error}
            report.failed += 1
            log.warning("Outbox message %s (%s) not delivered, attempt %s", message.id, message.kind, attempts)
        db.execute(update(OutboxMessage.__table__).where(OutboxMessage.id == message.id).values(**values))
    db.commit()

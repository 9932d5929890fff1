"""Seats: who gets one, who waits, and who moves up — each decided under one lock per offering.

Why this is race-free: every change of who holds a seat in an offering starts with
`lock_offering` or `lock_known_offering`, which lock the offering's `OfferingSeats` row —
`SELECT … FOR UPDATE` on PostgreSQL; on SQLite every transaction already holds the database's
write lock (shared.db). The lock is held until the request's transaction commits, so the
confirmed count read under it cannot change before this transaction has written its decision:
there is no gap between checking for a free seat and taking it. Two transactions enrolling into
the same offering queue on the lock; enrolments into different offerings do not wait for each other.

The counts are read by a statement of their own, sent after the lock is held: a count inside the
locking SELECT would be computed from the snapshot taken before waiting for the lock, and so miss
what the transaction that held the lock had just committed. Once read, the counts are kept in the
session for the rest of the transaction and carried forward by `place_in_line` and
`promote_waiting`, so an enrolment reads them once; any other change of an enrolment's status
forgets them, and they are read again when next needed.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from flask import current_app
from sqlalchemy import event, func, select
from sqlalchemy.orm import Session as DbSession
from sqlalchemy.orm import object_session

from enrolment.models import Enrolment, OfferingSeats, db
from shared.db import insert_unless_present, utcnow
from shared.errors import NotFound
from shared.observability import count_enrolment, count_promotions
from shared.schemas import OfferingSchema

# One instance for every load and dump: building a schema costs more than using it.
_OFFERING_SCHEMA = OfferingSchema()


@dataclass(frozen=True)
class SeatCounts:
    taken: int
    waitlisted: int
    version: int


def lock_offering(db: DbSession, offering: dict) -> OfferingSeats:
    """Lock the offering's seat row, creating it the first time, and take in what the catalogue says now.

    The seat counts are read at once, under the lock and before anything is changed, so that the
    changes this transaction makes to the row reach the database as one UPDATE when it flushes.
    """
    seats = lock_offering_row(db, offering)
    _counts(db, seats.offering_id)
    record_offering(db, seats, offering)
    return seats


def lock_offering_row(db: DbSession, offering: dict) -> OfferingSeats:
    """Lock the offering's seat row, creating it the first time (the catalogue's view not yet taken in)."""
    seats = _locked(db, offering["id"])
    if seats is not None:
        return seats
    # The first enrolment: two transactions may both get here; one row results, and the second
    # waits on the unique index until the first commits, then locks the row it made.
    insert_unless_present(db, OfferingSeats, {
        "offering_id": offering["id"], "provider_id": offering["provider_id"], "capacity": offering["capacity"],
        "status": offering["status"], "enrolment_deadline": offering["enrolment_deadline"],
        "catalogue_revision": 0, "next_place": 1, "seats_version": 0, "refreshed_at": utcnow(),
        "snapshot": {}, "removed_sessions": [],
    }, ["offering_id"])
    return _locked(db, offering["id"])


def lock_known_offering(db: DbSession, offering_id: int) -> OfferingSeats:
    """Lock the seat row of an offering this service already knows, without asking the catalogue."""
    seats = _locked(db, offering_id)
    if seats is None:
        raise NotFound(f"Udbud {offering_id} har ingen tilmeldinger.")
    return seats


def _locked(db: DbSession, offering_id: int) -> OfferingSeats | None:
    statement = (select(OfferingSeats).where(OfferingSeats.offering_id == offering_id)
                 .with_for_update().execution_options(populate_existing=True))
    return db.scalars(statement).one_or_none()


@dataclass(frozen=True)
class Recorded:
    """What changed when the catalogue's view of an offering was taken in."""

    promoted: list[Enrolment]
    moved: bool  # sessions or place changed
    newly_cancelled: bool


def record_offering(db: DbSession, seats: OfferingSeats, offering: dict) -> Recorded:
    """Take in the catalogue's view of a locked offering; a raised capacity promotes in this transaction.

    Lowering the capacity below the confirmed count unconfirms no one: it only means nobody moves
    up until enough seats are free again.
    """
    if offering["revision"] < seats.catalogue_revision:
        return Recorded([], False, False)  # an older answer than one already recorded
    before = _OFFERING_SCHEMA.load(seats.snapshot) if seats.snapshot else None
    moved = before is not None and (_timetable(before) != _timetable(offering)
                                    or before["location"] != offering["location"])
    newly_cancelled = offering["status"] == "cancelled" and seats.status != "cancelled"
    raised = offering["capacity"] > seats.capacity
    _record_snapshot(seats, offering, before)
    seats.capacity = offering["capacity"]
    seats.status = offering["status"]
    seats.enrolment_deadline = offering["enrolment_deadline"]
    seats.provider_id = offering["provider_id"]
    seats.catalogue_revision = offering["revision"]
    seats.refreshed_at = utcnow()
    return Recorded(promote_waiting(db, seats) if raised else [], moved, newly_cancelled)


def _timetable(offering: dict) -> list[tuple]:
    return [(session["id"], session["starts_at"], session["ends_at"]) for session in offering["sessions"]]


def _record_snapshot(seats: OfferingSeats, offering: dict, previous: dict | None) -> None:
    """Keep the offering as calendars need it, and remember sessions the school has removed since `previous`."""
    kept = {session["id"] for session in offering["sessions"]}
    now = utcnow().isoformat()
    removed = [dict(item) for item in seats.removed_sessions or [] if item["id"] not in kept]
    for session in previous["sessions"] if previous else []:
        if session["id"] not in kept and all(item["id"] != session["id"] for item in removed):
            removed.append({"id": session["id"], "starts_at": session["starts_at"].isoformat(),
                            "ends_at": session["ends_at"].isoformat(), "removed_at": now})
    seats.removed_sessions = removed
    seats.snapshot = _OFFERING_SCHEMA.dump(offering)


def place_in_line(db: DbSession, seats: OfferingSeats, enrolment: Enrolment) -> None:
    """Confirm the enrolment if a seat is free, otherwise put it on the waiting list. Needs the lock.

    A waitlisted enrolment gets its `waitlist_position` at once: it is last in line.
    """
    taken, waitlisted = _counts(db, seats.offering_id)
    enrolment.place = seats.next_place
    seats.next_place += 1
    enrolment.status = "confirmed" if taken < seats.capacity else "waitlisted"
    count_enrolment(enrolment.status, db)  # counted once the transaction commits
    enrolment.updated_at = utcnow()
    if enrolment.status == "confirmed":
        taken += 1
    else:
        waitlisted += 1
        enrolment.waitlist_position = waitlisted
    mark_changed(db, seats)
    # Setting the status above forgot the counts; these are the counts with this enrolment placed.
    _know_counts(db, seats.offering_id, taken, waitlisted)


def promote_waiting(db: DbSession, seats: OfferingSeats) -> list[Enrolment]:
    """Confirm the first on the waiting list for every free seat. Needs the lock."""
    taken, waitlisted = _counts(db, seats.offering_id)
    free = seats.capacity - taken
    if free <= 0:
        mark_changed(db, seats)
        return []
    promoted = list(db.scalars(
        select(Enrolment).where(Enrolment.offering_id == seats.offering_id, Enrolment.status == "waitlisted")
        .order_by(Enrolment.place).limit(free)
    ))
    for enrolment in promoted:
        enrolment.status = "confirmed"
        enrolment.updated_at = utcnow()
    count_promotions(len(promoted), db)
    mark_changed(db, seats)
    # Setting the statuses above forgot the counts; these are the counts after the promotions.
    _know_counts(db, seats.offering_id, taken + len(promoted), waitlisted - len(promoted))
    return promoted


def seat_counts(db: DbSession, seats: OfferingSeats) -> SeatCounts:
    """The offering's seat counts now, for the catalogue. Needs the lock."""
    taken, waitlisted = _counts(db, seats.offering_id)
    return SeatCounts(taken=taken, waitlisted=waitlisted, version=seats.seats_version)


# --- Seat counts known in this transaction ----------------------------------------------------------
# Read once under the offering's lock and carried forward by place_in_line and promote_waiting, which
# hold the same lock. Any other change of an enrolment's status (a cancellation, the offering
# cancelled) forgets them (_forget_known_counts listens to every change of Enrolment.status), and so
# does the end of the transaction, with its lock: the next transaction reads them afresh.

_KNOWN = "glu.known_seat_counts"


def _counts(db: DbSession, offering_id: int) -> tuple[int, int]:
    """(confirmed, waitlisted) in the locked offering: as known in this transaction, or read now."""
    known = db.info.get(_KNOWN, {}).get(offering_id)
    if known is not None:
        return known
    db.flush()
    rows = dict(db.execute(
        select(Enrolment.status, func.count()).where(Enrolment.offering_id == offering_id,
                                                     Enrolment.status.in_(("confirmed", "waitlisted")))
        .group_by(Enrolment.status)
    ).all())
    counts = rows.get("confirmed", 0), rows.get("waitlisted", 0)
    _know_counts(db, offering_id, *counts)
    return counts


def _know_counts(db: DbSession, offering_id: int, taken: int, waitlisted: int) -> None:
    db.info.setdefault(_KNOWN, {})[offering_id] = (taken, waitlisted)


def _forget_known_counts(enrolment: Enrolment, value, previous, initiator) -> None:
    # Every offering's, not only this enrolment's: a new enrolment has no offering_id before its flush.
    # A new enrolment not yet in a session holds no seat; place_in_line records what it changes itself.
    session = object_session(enrolment)
    if session is not None:
        session.info.pop(_KNOWN, None)


def _forget_counts_at_transaction_end(session: DbSession, transaction) -> None:
    # The end of the transaction (and with it the lock), or of a savepoint, whose rollback would undo
    # statuses without telling _forget_known_counts; not the inner transaction every flush opens.
    if transaction.parent is None or transaction.nested:
        session.info.pop(_KNOWN, None)


def add_waitlist_positions(db: DbSession, enrolments: Iterable[Enrolment]) -> None:
    """Set `waitlist_position` (1 is next in line) on the waitlisted among `enrolments`."""
    waiting = [enrolment for enrolment in enrolments if enrolment.status == "waitlisted"]
    for offering_id in {enrolment.offering_id for enrolment in waiting}:
        places = list(db.scalars(select(Enrolment.place).where(
            Enrolment.offering_id == offering_id, Enrolment.status == "waitlisted").order_by(Enrolment.place)))
        for enrolment in waiting:
            if enrolment.offering_id == offering_id:
                enrolment.waitlist_position = places.index(enrolment.place) + 1


# --- Telling the catalogue ------------------------------------------------------------------------
# The catalogue shows free seats and waiting lists. Changed offerings are noted in the session;
# just before commit their counts are read (still under the lock), and once the commit has
# succeeded they are sent to the catalogue. A count that cannot be sent is caught up by the next
# change or by `flask --app enrolment sync-seats`; the version lets the catalogue drop late arrivals.

_CHANGED = "glu.changed_offerings"
_COUNTS = "glu.seat_counts"


def mark_changed(db: DbSession, seats: OfferingSeats) -> None:
    seats.seats_version += 1
    db.info.setdefault(_CHANGED, {})[seats.offering_id] = seats


def _count_changed(session: DbSession) -> None:
    changed = session.info.pop(_CHANGED, {})
    if changed:
        session.info[_COUNTS] = {offering_id: seat_counts(session, seats) for offering_id, seats in changed.items()}


def _publish_counts(session: DbSession) -> None:
    counts = session.info.pop(_COUNTS, {})
    if counts:
        client = current_app.extensions["catalogue_client"]
        for offering_id, offering_counts in counts.items():
            client.put_seat_counts(offering_id, offering_counts)


def _forget_changes(session: DbSession) -> None:
    session.info.pop(_CHANGED, None)
    session.info.pop(_COUNTS, None)


def install_seat_publishing() -> None:
    if not event.contains(db.session, "before_commit", _count_changed):
        event.listen(db.session, "before_commit", _count_changed)
        event.listen(db.session, "after_commit", _publish_counts)
        event.listen(db.session, "after_rollback", _forget_changes)
        event.listen(db.session, "after_transaction_end", _forget_counts_at_transaction_end)
        event.listen(Enrolment.status, "set", _forget_known_counts)

"""Seats: who gets one, who waits, and who moves up — each decided under one lock per offering.

Why every decision here is race-free:

- Every change of who holds or waits for a seat in an offering starts by locking the offering's
  `OfferingSeats` row (`lock_offering`, `lock_enrolment`): `SELECT … FOR UPDATE` on PostgreSQL; on
  SQLite every transaction already holds the database's write lock (shared.db). The lock is held
  until the transaction ends.
- Only then is the enrolment read, again (`populate_existing`): under READ COMMITTED each
  statement sees everything committed before it, and whoever else could change this enrolment
  must first take the same lock, so the status checked is the status changed. Two approvals, an
  approval and a cancellation, two cancellations: the second waits for the first to commit, then
  finds the decision made and is refused.
- The confirmed and waitlisted counts live on the locked row and are changed only by
  `set_status`, the one writer of an enrolment's status, in the same transaction: there is no gap
  between reading a free seat and taking it, and the counts cannot drift from the statuses.
- The waiting list is ordered by `place`, drawn from `next_place` on the same row.
- Seats reserved for an organisation and not yet named (`reserved`, enrolment.reservations) are
  held on the same row and changed under the same lock: free seats are capacity − confirmed −
  reserved (`free_seats`), for enrolling and promoting alike.

Every function that changes statuses returns the changes (`StatusChange`); its caller writes
what follows from them — mails, the catalogue's seat counts — to the outbox (enrolment.notices,
enrolment.outbox) in the same transaction.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session as DbSession

from enrolment.models import Enrolment, OfferingSeats
from shared.db import insert_unless_present, utcnow
from shared.errors import NotFound
from shared.observability import count_enrolment, count_promotions
from shared.schemas import OfferingSchema
from shared.transaction import after_commit

# One instance for every load and dump: building a schema costs more than using it.
_OFFERING_SCHEMA = OfferingSchema()
_COUNTED = ("confirmed", "waitlisted")


@dataclass(frozen=True)
class StatusChange:
    """An enrolment's status went from `before` (None: it is new) to `enrolment.status`."""

    enrolment: Enrolment
    before: str | None

    @property
    def after(self) -> str:
        return self.enrolment.status


# --- Taking the lock ----------------------------------------------------------------------------------

def lock_offering(db: DbSession, offering_id: int) -> OfferingSeats | None:
    """The offering's seat row, locked until the transaction ends; None if this service does not know it."""
    statement = (select(OfferingSeats).where(OfferingSeats.offering_id == offering_id)
                 .with_for_update().execution_options(populate_existing=True))
    return db.scalars(statement).one_or_none()


def lock_or_add_offering(db: DbSession, offering: dict) -> OfferingSeats:
    """Lock the seat row of an offering read from the catalogue, making it the first time (then record_offering)."""
    seats = lock_offering(db, offering["id"])
    if seats is None:
        # Two transactions may both get here; one row results, and the second waits on the primary
        # key until the first commits, then locks the row it made.
        insert_unless_present(db, OfferingSeats, {
            "offering_id": offering["id"], "provider_id": offering["provider_id"], "capacity": offering["capacity"],
            "status": offering["status"], "enrolment_deadline": offering["enrolment_deadline"],
            "catalogue_revision": 0, "next_place": 1, "confirmed": 0, "waitlisted": 0, "reserved": 0,
            "seats_version": 0,
            "refreshed_at": utcnow(), "snapshot": {}, "removed_sessions": [],
        }, ["offering_id"])
        seats = lock_offering(db, offering["id"])
    return seats


def lock_enrolment(db: DbSession, enrolment: Enrolment) -> OfferingSeats:
    """Lock the enrolment's offering, then read the enrolment again: what it says now holds until the commit."""
    seats = lock_offering(db, enrolment.offering_id)
    if seats is None:
        raise NotFound(f"Udbud {enrolment.offering_id} er ukendt.")
    db.refresh(enrolment)  # its status, holder and position as committed by whoever held the lock before
    return seats


# --- Deciding, under the lock -------------------------------------------------------------------------

def next_seats_version(seats: OfferingSeats) -> None:
    """Move the row's seat-count version on: above the last one, and at least the clock in microseconds.

    The catalogue keeps the counts with the highest version it was sent. After this database is
    restored from a backup, its versions are those of the dump, below what the catalogue was sent from
    the lost time after it; a plain `+ 1` would then be ignored until it caught up, and the catalogue
    would show the lost counts. The clock does not go back with a restore, so a version drawn from it
    is newer than any sent before. Safe: still strictly rising on the row (the lock orders writers),
    and far below the catalogue's limit of 2**62 (microseconds reach that in about 146,000 years).
    """
    seats.seats_version = max(seats.seats_version + 1, int(utcnow().timestamp() * 1_000_000))


def set_status(db: DbSession, seats: OfferingSeats, enrolment: Enrolment, status: str, *,
               ended_by: str | None = None) -> StatusChange:
    """The only writer of `Enrolment.status`: keeps the locked row's counts and the calendar's sequence with it.

    A cancellation says who ended the place (models.ENDED_BY).
    """
    if (status == "cancelled") != (ended_by is not None):
        raise ValueError("a cancellation, and only a cancellation, names who ended the place")
    before = enrolment.status
    enrolment.ended_by = ended_by
    for counted, step in ((before, -1), (status, +1)):
        if counted in _COUNTED:
            setattr(seats, counted, getattr(seats, counted) + step)
    if before in _COUNTED or status in _COUNTED:
        next_seats_version(seats)  # the catalogue drops counts that are not newer than what it has
    enrolment.status = status
    enrolment.updated_at = utcnow()
    if before is not None:
        enrolment.calendar_sequence += 1  # so every calendar sees the event change
    # The last in line is the newest waitlisted; anyone else changing status leaves the line.
    enrolment.waitlist_position = seats.waitlisted if status == "waitlisted" else None
    return StatusChange(enrolment, before)


def place_in_line(db: DbSession, seats: OfferingSeats, enrolment: Enrolment) -> StatusChange:
    """Confirm the enrolment if a seat is free, otherwise put it last on the waiting list."""
    enrolment.place = seats.next_place
    seats.next_place += 1
    change = set_status(db, seats, enrolment, "confirmed" if free_seats(seats) > 0 else "waitlisted")
    count_enrolment(change.after, db)  # counted once the transaction commits
    return change


def promote_waiting(db: DbSession, seats: OfferingSeats) -> list[StatusChange]:
    """Confirm the first on the waiting list for every free seat."""
    free = free_seats(seats)
    offer_to_interest_lists(db, seats, free)
    if free <= 0 or seats.waitlisted == 0 or seats.status == "cancelled":
        return []
    waiting = db.scalars(select(Enrolment).where(Enrolment.offering_id == seats.offering_id,
                                                 Enrolment.status == "waitlisted")
                         .order_by(Enrolment.place).limit(free)).all()
    changes = [set_status(db, seats, enrolment, "confirmed") for enrolment in waiting]
    count_promotions(len(changes), db)
    return changes


# --- Interest lists (enrolment.interests) --------------------------------------------------------------

INTEREST_MATCH_JOB = "match-interests"


def offer_to_interest_lists(db: DbSession, seats: OfferingSeats, free: int) -> None:
    """Seats left free with nobody waiting for them (a cancellation, a raised capacity, a move away, a newly
    published offering): once this transaction commits, the job offers them to the module's interest list."""
    if free > seats.waitlisted and seats.status == "published":
        after_commit(db, INTEREST_MATCH_JOB)


# --- Reserved seats (enrolment.reservations), under the same lock ------------------------------------------

def free_seats(seats: OfferingSeats) -> int:
    """Seats no one holds: neither a confirmed place nor an organisation's unnamed reservation (may be < 0)."""
    return seats.capacity - seats.confirmed - seats.reserved


def taken_seats(seats: OfferingSeats) -> int:
    """What the catalogue is told is taken: confirmed places and reserved seats, so its free seats are right."""
    return seats.confirmed + seats.reserved


def change_reserved(seats: OfferingSeats, step: int) -> None:
    """Hold (+) or give back (−) unnamed seats on the locked row; the catalogue's counts change with them."""
    seats.reserved += step
    next_seats_version(seats)


def take_reserved_seat(db: DbSession, seats: OfferingSeats, enrolment: Enrolment) -> StatusChange:
    """Confirm a new enrolment in one of the row's reserved seats: the seat is already held, so none need be free
    (even when the school has since lowered the capacity) and the waiting list is passed by."""
    enrolment.place = seats.next_place
    seats.next_place += 1
    seats.reserved -= 1
    change = set_status(db, seats, enrolment, "confirmed")
    count_enrolment(change.after, db)
    return change


# --- What the catalogue says ----------------------------------------------------------------------------

@dataclass(frozen=True)
class Recorded:
    """What changed when the catalogue's view of an offering was taken in."""

    promoted: list[StatusChange]
    moved: bool  # sessions or place changed
    newly_cancelled: bool
    newly_held: bool = False  # go or no-go: the school has just decided the course is held
    # The ids of the sessions that moved (all of them when the place changed): what calendars are sent again.
    moved_sessions: frozenset[int] = frozenset()


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
    moved_sessions = frozenset()
    if moved:
        moved_sessions = (frozenset(session["id"] for session in offering["sessions"])
                          if before["location"] != offering["location"]
                          else frozenset(item[0] for item in set(_timetable(offering)) - set(_timetable(before))))
    newly_cancelled = offering["status"] == "cancelled" and seats.status != "cancelled"
    newly_held = offering.get("decision") == "held" and (before or {}).get("decision") != "held"
    _record_snapshot(seats, offering, before)
    seats.capacity = offering["capacity"]
    seats.status = offering["status"]
    seats.enrolment_deadline = offering["enrolment_deadline"]
    seats.provider_id = offering["provider_id"]
    seats.catalogue_revision = offering["revision"]
    seats.refreshed_at = utcnow()
    return Recorded(promote_waiting(db, seats), moved, newly_cancelled, newly_held, moved_sessions)


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

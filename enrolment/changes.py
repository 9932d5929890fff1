"""What the enrolment service does when a school has changed an offering in the catalogue."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session as DbSession

from enrolment import notices, seats
from enrolment.models import ACTIVE_STATUSES, Enrolment, OfferingSeats
from shared.db import utcnow


def apply_offering_change(db: DbSession, offering: dict) -> OfferingSeats:
    """Take in the catalogue's current view of an offering, all in one transaction under its lock.

    A raised capacity promotes from the waiting list; a cancelled offering cancels every place in
    it (and each person is told); moved sessions or a new place are written to everyone concerned.
    """
    offering_seats = seats.lock_offering_row(db, offering)
    recorded = seats.record_offering(db, offering_seats, offering)
    active = list(db.scalars(select(Enrolment).where(Enrolment.offering_id == offering_seats.offering_id,
                                                     Enrolment.status.in_(ACTIVE_STATUSES))))
    if recorded.newly_cancelled:
        for enrolment in active:
            enrolment.status = "cancelled"
            enrolment.updated_at = utcnow()
    elif recorded.moved:
        notices.offering_moved(db, active)
    seats.mark_changed(db, offering_seats)
    return offering_seats


def refresh_offering(db: DbSession, catalogue, offering_id: int) -> seats.SeatCounts:
    """Learn the offering anew from the catalogue, act on what changed, and return its seat counts."""
    offering_seats = apply_offering_change(db, catalogue.get_offering(offering_id))
    return seats.seat_counts(db, offering_seats)

"""What the enrolment service does when a school has changed an offering in the catalogue."""

from __future__ import annotations

import logging

from sqlalchemy import select
from sqlalchemy.orm import Session as DbSession

from enrolment import notices, outbox, reservations, seats
from enrolment.catalogue_client import SeatCounts
from enrolment.models import ACTIVE_STATUSES, Enrolment, OfferingSeats
from shared.errors import DomainError
from shared.transaction import commit, rollback

log = logging.getLogger(__name__)


def apply_offering_change(db: DbSession, offering: dict) -> OfferingSeats:
    """Take in the catalogue's current view of an offering, all in one transaction under its lock.

    A raised capacity promotes from the waiting list; a cancelled offering cancels every place in
    it (and each person is told) and gives back the seats reserved on it; moved sessions or a new
    place are written to everyone concerned; a course the school has decided to hold is announced
    to everyone confirmed ("Holdet gennemføres").
    An enrolment accepted on this service's copy after the school had cancelled (the copy is at most
    as old as the last webhook or sync) is cancelled here like every other place, with the same mail.
    """
    offering_seats = seats.lock_or_add_offering(db, offering)
    recorded = seats.record_offering(db, offering_seats, offering)
    active = list(db.scalars(select(Enrolment).where(Enrolment.offering_id == offering_seats.offering_id,
                                                     Enrolment.status.in_(ACTIVE_STATUSES))))
    changes = list(recorded.promoted)
    if recorded.newly_cancelled:
        changes += [seats.set_status(db, offering_seats, enrolment, "cancelled", ended_by="school")
                    for enrolment in active]
        reservations.release_for_cancelled_offering(db, offering_seats)
    elif recorded.moved:
        notices.offering_moved(db, active, set(recorded.moved_sessions))
    if recorded.newly_held and not recorded.newly_cancelled:
        notices.course_held(db, [enrolment for enrolment in active if enrolment.status == "confirmed"])
    notices.status_changed(db, changes)
    outbox.report_seats(db, offering_seats)
    return offering_seats


def refresh_offering(db: DbSession, catalogue, offering_id: int) -> SeatCounts:
    """Learn the offering anew from the catalogue, act on what changed, and return its seat counts."""
    offering_seats = apply_offering_change(db, catalogue.get_offering(offering_id))
    return SeatCounts(taken=seats.taken_seats(offering_seats), waitlisted=offering_seats.waitlisted,
                      version=offering_seats.seats_version)


def refresh_all(db: DbSession, catalogue) -> tuple[int, int]:
    """Reconcile every known offering with the catalogue, one transaction each; (reconciled, failed)."""
    offering_ids = list(db.scalars(select(OfferingSeats.offering_id).order_by(OfferingSeats.offering_id)))
    db.rollback()
    failed = 0
    for offering_id in offering_ids:
        try:
            refresh_offering(db, catalogue, offering_id)
            commit(db)
        except DomainError as error:
            rollback(db)
            failed += 1
            log.warning("Offering %s not reconciled: %s", offering_id, error.detail)
    return len(offering_ids) - failed, failed

"""Reserved seats: HR holds unnamed seats on an offering, names its people into them, and gives back the rest.

Why it never oversells: a reservation's seats are counted on the offering's locked seat row
(`OfferingSeats.reserved`, seats.free_seats), so reserving, enrolling and promoting all decide on
the same row under the same lock (seats.lock_offering). Every change here takes that lock first,
then reads the reservation again (`_lock_reservation`): whoever else could change it (a second
naming, a release, the deadline job) must take the same lock, so what is checked is what is
changed. Two namings into the last unnamed seat: the second waits, then finds none left (409).

A named seat becomes a confirmed enrolment at once (seats.take_reserved_seat): the seat was the
organisation's already, so it passes the waiting list by. Seats given back — by HR, or by the
`release-reservations` job once the enrolment deadline has passed — go to the waiting list in
the same transaction (seats.promote_waiting).
"""

from __future__ import annotations

import logging
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session as DbSession
from sqlalchemy.orm import joinedload

from enrolment import notices, outbox, seats
from enrolment.catalogue_client import CatalogueClient
from enrolment.enrolments import ORGANISATION_ROLES, audit_change, earlier_places_if_none_active, lock_open_offering
from enrolment.models import Enrolment, OfferingSeats, Organisation, Reservation
from enrolment.organisations import find_or_add_participant, organisation_in_scope
from shared import audit
from shared.auth import Actor, Role
from shared.db import MAX_ID, utcnow
from shared.errors import Conflict, FieldError, Forbidden, NotFound, ValidationFailed
from shared.schemas import OfferingSchema
from shared.transaction import commit, rollback

log = logging.getLogger(__name__)

RELEASE_JOB = "release-reservations"
_OFFERING_SCHEMA = OfferingSchema()


# --- Reserving ------------------------------------------------------------------------------------------

def reserve_seats(db: DbSession, actor: Actor, catalogue: CatalogueClient, offering_id: int, count: int,
                  organisation_key: str | None, today: date) -> Reservation:
    """HR (or an administrator, naming the organisation) holds `count` unnamed seats; 409 if fewer are free."""
    organisation = organisation_in_scope(db, actor, organisation_key)
    offering_seats = lock_open_offering(db, catalogue, offering_id, today)
    # Under the lock: no enrolment, promotion or other reservation can take a seat between this check and the hold.
    free = seats.free_seats(offering_seats)
    if count > free:
        message = f"Der er kun {max(free, 0)} ledige pladser; der er ikke reserveret nogen."
        raise Conflict(message, [FieldError("/seats", message)])
    reservation = Reservation(offering_id=offering_id, offering_seats=offering_seats, organisation=organisation,
                              seats=count, named=0, released=0, created_by=audit.actor_of_request().name)
    db.add(reservation)
    seats.change_reserved(offering_seats, +count)
    db.flush()
    outbox.report_seats(db, offering_seats)
    notices.reservation_made(db, reservation)
    audit.record(db, "reservation.created", "reservation", reservation.id, tenant_id=organisation.id,
                 changes={"offering_id": [None, offering_id], "seats": [None, count]})
    return reservation


# --- Naming someone into a reserved seat ---------------------------------------------------------------

def name_into(db: DbSession, actor: Actor, reservation_id: int, participant: dict, today: date) -> Enrolment:
    """A person of the reservation's organisation takes one unnamed seat: a confirmed enrolment, until the deadline."""
    _require_manager(actor)
    reservation = get_reservation(db, actor, reservation_id)
    offering_seats = _lock_reservation(db, reservation)
    if reservation.released_at is not None:
        raise Conflict("Reservationen er frigivet; der kan ikke navngives flere i den.")
    if offering_seats.status == "cancelled":
        raise Conflict("Udbuddet er aflyst.")
    if today > offering_seats.enrolment_deadline:
        raise Conflict(f"Tilmeldingsfristen var {offering_seats.enrolment_deadline.isoformat()}; "
                       "reservationens ubrugte pladser frigives.")
    if reservation.unnamed <= 0:
        raise Conflict("Alle reservationens pladser er navngivet.")
    person, added = find_or_add_participant(db, reservation.organisation, participant["name"], participant["email"])
    earlier = [] if added else earlier_places_if_none_active(db, offering_seats.offering_id, person)
    enrolment = Enrolment(offering_id=offering_seats.offering_id, seats=offering_seats, participant=person,
                          organisation=reservation.organisation, source="reserved", status=None)
    db.add(enrolment)
    change = seats.take_reserved_seat(db, offering_seats, enrolment)
    reservation.named += 1
    db.flush()
    notices.status_changed(db, [change], earlier_places={enrolment: earlier})
    outbox.report_seats(db, offering_seats)
    audit.record(db, "reservation.named", "reservation", reservation.id, tenant_id=reservation.organisation_id,
                 changes={"named": [reservation.named - 1, reservation.named], "enrolment_id": [None, enrolment.id]})
    audit_change(db, "enrolment.enrolled", enrolment, None)
    return enrolment


# --- Giving seats back ------------------------------------------------------------------------------------

def release_seats(db: DbSession, actor: Actor, reservation_id: int, count: int | None = None) -> Reservation:
    """HR gives back unnamed seats (all, or `count` of them); the waiting list moves up in this transaction."""
    _require_manager(actor)
    reservation = get_reservation(db, actor, reservation_id)
    offering_seats = _lock_reservation(db, reservation)
    if reservation.released_at is not None or reservation.unnamed <= 0:
        raise Conflict("Reservationen har ingen unavngivne pladser at frigive.")
    if count is not None and count > reservation.unnamed:
        raise ValidationFailed.field("/seats", f"Reservationen har kun {reservation.unnamed} unavngivne pladser.")
    _release(db, reservation, offering_seats, reservation.unnamed if count is None else count, actor=None)
    return reservation


def release_past_deadline(db: DbSession, today: date) -> int:
    """The deadline job: every reservation whose offering's deadline has passed gives back its unnamed seats.

    One transaction per reservation, each deciding again under the offering's lock: a run that
    overlaps another, or runs twice, finds the reservation released and does nothing (idempotent).
    """
    candidates = list(db.scalars(
        select(Reservation.id).join(Reservation.offering_seats)
        .where(Reservation.released_at.is_(None), Reservation.seats > Reservation.named + Reservation.released,
               OfferingSeats.enrolment_deadline < today)
        .order_by(Reservation.id)))
    db.rollback()
    released = 0
    for reservation_id in candidates:
        reservation = db.get(Reservation, reservation_id)
        offering_seats = _lock_reservation(db, reservation)
        if reservation.released_at is None and reservation.unnamed > 0 and today > offering_seats.enrolment_deadline:
            _release(db, reservation, offering_seats, reservation.unnamed, actor=audit.SYSTEM, because="deadline")
            released += 1
        commit(db)
    rollback(db)
    return released


def release_for_cancelled_offering(db: DbSession, offering_seats: OfferingSeats) -> None:
    """The school cancelled the locked offering: every reservation on it gives back its unnamed seats.

    Its named seats are places like any other and are cancelled with them; HR is told of the unnamed
    ones, which would otherwise go on looking held on /hr/reservationer.
    """
    for reservation in db.scalars(select(Reservation).where(Reservation.offering_id == offering_seats.offering_id,
                                                            Reservation.released_at.is_(None))
                                  .order_by(Reservation.id)):
        if reservation.unnamed > 0:
            _release(db, reservation, offering_seats, reservation.unnamed, actor=audit.SYSTEM, because="cancelled")


def _release(db: DbSession, reservation: Reservation, offering_seats: OfferingSeats, count: int, *,
             actor: audit.AuditActor | None, because: str | None = None) -> None:
    """Give back `count` unnamed seats of a locked reservation; the first on the waiting list get them.

    `because` is why the system gave them back ("deadline", "cancelled"), and HR is told; None when HR did.
    """
    before = reservation.released
    reservation.released += count
    if reservation.unnamed == 0:
        reservation.released_at = utcnow()
    seats.change_reserved(offering_seats, -count)
    promoted = seats.promote_waiting(db, offering_seats)
    notices.status_changed(db, promoted)
    outbox.report_seats(db, offering_seats)
    if because:
        notices.reservation_released(db, reservation, count, because)
    audit.record(db, "reservation.released", "reservation", reservation.id, tenant_id=reservation.organisation_id,
                 actor=actor, changes={"released": [before, reservation.released],
                                       "automatic": [None, because is not None],
                                       **({"because": [None, because]} if because else {})})
    for change in promoted:
        audit_change(db, "enrolment.promoted", change.enrolment, change.before, actor=audit.SYSTEM)


# --- Reading --------------------------------------------------------------------------------------------

def get_reservation(db: DbSession, actor: Actor, reservation_id: int) -> Reservation:
    """A reservation the caller may see; another organisation's is as unknown as a missing one."""
    if actor.role not in (*ORGANISATION_ROLES, Role.ADMIN):
        raise Forbidden("Kun HR og administratorer kan se reservationer.")
    reservation = db.get(Reservation, reservation_id) if 0 < reservation_id <= MAX_ID else None
    if reservation is None or (actor.role in ORGANISATION_ROLES
                               and reservation.organisation.key != actor.organisation):
        raise NotFound(f"Reservation {reservation_id} findes ikke.")
    return reservation


def list_reservations(db: DbSession, actor: Actor, offering_id: int | None = None,
                      organisation_key: str | None = None) -> list[Reservation]:
    """HR's own organisation's reservations (an administrator's: all, or one organisation's), newest first."""
    if actor.role not in (*ORGANISATION_ROLES, Role.ADMIN):
        raise Forbidden("Kun HR og administratorer kan se reservationer.")
    statement = (select(Reservation).join(Reservation.organisation)
                 .options(joinedload(Reservation.organisation), joinedload(Reservation.offering_seats))
                 .order_by(Reservation.id.desc()))
    if actor.role in ORGANISATION_ROLES:
        statement = statement.where(Organisation.key == actor.organisation)
    elif organisation_key:
        statement = statement.where(Organisation.key == organisation_key)
    if offering_id is not None:
        statement = statement.where(Reservation.offering_id == offering_id)
    return list(db.scalars(statement))


def offering_of(reservation: Reservation) -> dict | None:
    """The offering as this service last saw it (for pages and mails); None before it was read."""
    snapshot = reservation.offering_seats.snapshot
    return _OFFERING_SCHEMA.load(snapshot) if snapshot else None


def _lock_reservation(db: DbSession, reservation: Reservation) -> OfferingSeats:
    """Lock the reservation's offering, then read the reservation again: what it says now holds until the commit."""
    offering_seats = seats.lock_offering(db, reservation.offering_id)
    db.refresh(reservation)
    return offering_seats


def _require_manager(actor: Actor) -> None:
    if actor.role is Role.APPROVER:
        raise Forbidden("En godkender kan kun godkende og afvise anmodninger.")

"""Moving a place to another offering of the same module: the old place ends, a new one is placed in line.

One transaction, under both offerings' locks, so a move is all or nothing: a refusal raises before
anything is written, or the request's commit point rolls everything back (shared.transaction);
the first place is then exactly as it was.

Why it is race-free:

- The target is read (from this service's copy, or once from the catalogue) before any lock is
  taken: no lock is held while waiting for another service.
- Both offerings' seat rows are then locked in ascending order of offering id. Every move takes
  its two locks in that one order, so two moves in opposite directions (A→B and B→A) cannot each
  hold the lock the other waits for: the second waits for the first to commit. Every other change
  of a place takes only one offering's lock, so it cannot close a cycle either.
- Only then is the place read again (`db.refresh`) and checked: its status, its holder, whether
  it was moved already (`moved_to_id`, written under the old offering's lock). Two moves
  of one place: the second waits, then finds it ended (or moved) and is refused (409).
- The new place is confirmed or waitlisted by `seats.place_in_line` on the locked target row,
  as any enrolment is: two moves into the last seat cannot both get it.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy.orm import Session as DbSession

from enrolment import notices, outbox, seats
from enrolment.alternatives import original_offering, own_enrolment, require_movable
from enrolment.catalogue_client import CatalogueClient
from enrolment.enrolments import (
    audit_change,
    can_cancel,
    earlier_places_if_none_active,
    get_enrolment,
    new_place,
    require_open,
)
from enrolment.models import ACTIVE_STATUSES, Enrolment, OfferingSeats, Participant
from shared import audit
from shared.auth import Actor, Role
from shared.db import MAX_ID
from shared.errors import Conflict, Forbidden, NotFound
from shared.schemas import OfferingSchema

_OFFERING_SCHEMA = OfferingSchema()
MOVERS = (Role.HR, Role.ADMIN)


def move_enrolment(db: DbSession, actor: Actor, catalogue: CatalogueClient, enrolment_id: int, offering_id: int,
                   today: date, now: datetime) -> Enrolment:
    """HR (or an administrator) moves a place of their organisation; the new place (a new enrolment)."""
    if actor.role not in MOVERS:
        raise Forbidden("Kun HR og administratorer kan flytte en plads; en godkender kan kun godkende og afvise.")
    return _move(db, catalogue, get_enrolment(db, actor, enrolment_id), offering_id, today, now)


def move_own_enrolment(db: DbSession, participant: Participant, catalogue: CatalogueClient, enrolment_id: int,
                       offering_id: int, today: date, now: datetime) -> Enrolment:
    """A leader moves their own place from "Mine kurser", by the same rules as HR's move."""
    return _move(db, catalogue, own_enrolment(db, participant, enrolment_id), offering_id, today, now,
                 holder=participant)


def _move(db: DbSession, catalogue: CatalogueClient, enrolment: Enrolment, offering_id: int, today: date,
          now: datetime, holder: Participant | None = None) -> Enrolment:
    if offering_id == enrolment.offering_id:
        raise Conflict("Pladsen er allerede på dette hold; vælg et andet hold.")
    require_movable(enrolment)  # early, with no lock; asked again under the locks
    module = original_offering(enrolment)["module_code"]
    fetched = _target(db, catalogue, offering_id)
    _require_same_module(fetched, module)

    old_seats, new_seats = _lock_both(db, enrolment.offering_id, offering_id, fetched)
    db.refresh(enrolment)  # as committed by whoever held either lock before
    if holder is not None and enrolment.participant_id != holder.id:
        raise NotFound(f"Tilmelding {enrolment.id} findes ikke.")  # handed over to someone else meanwhile
    require_movable(enrolment)
    active = enrolment.status in ACTIVE_STATUSES
    if active and not can_cancel(enrolment, today):  # read from the locked row: enrolment.seats is old_seats
        raise Conflict("Fristen for at melde fra det nuværende hold er overskredet; kontakt skolen for at flytte.")
    target = _OFFERING_SCHEMA.load(new_seats.snapshot)
    _require_same_module(target, module)
    require_open(new_seats.status, new_seats.enrolment_deadline, today)
    if target["starts_at"] <= now:
        raise Conflict("Holdet er allerede begyndt; vælg et hold, der ikke er gået i gang.")
    person = enrolment.participant
    earlier = earlier_places_if_none_active(db, offering_id, person)  # 409 if already in the target

    # A leader's own request HR has not approved yet stays one: moving it is not approving it.
    still_a_request = holder is not None and enrolment.status == "pending_approval"
    changes = []
    if active:
        changes = [seats.set_status(db, old_seats, enrolment, "cancelled", ended_by="move"),
                   *seats.promote_waiting(db, old_seats)]
    placed = new_place(db, new_seats, enrolment.organisation, person, source=enrolment.source,
                       needs_approval=still_a_request)
    moved = placed.enrolment
    enrolment.moved_to_id = moved.id

    notices.place_moved(db, enrolment, moved, cancelled_now=active, earlier=earlier)
    notices.status_changed(db, changes[1:])  # those who moved up into the freed seat
    outbox.report_seats(db, old_seats)
    outbox.report_seats(db, new_seats)
    by_holder = audit.AuditActor("participant", holder.id, f"Deltager {holder.id} (Mine kurser)") if holder else None
    audit.record(db, "enrolment.moved", "enrolment", enrolment.id, tenant_id=enrolment.organisation_id, actor=by_holder,
                 changes={"offering": [enrolment.offering_id, offering_id], "enrolment": [enrolment.id, moved.id],
                          "status": [changes[0].before if changes else "cancelled", placed.after]})
    for promoted in changes[1:]:
        audit_change(db, "enrolment.promoted", promoted.enrolment, promoted.before, actor=audit.SYSTEM)
    return moved


def _target(db: DbSession, catalogue: CatalogueClient, offering_id: int) -> dict | None:
    """The target as this service knows it (None: its copy, read again under the lock), else from the catalogue."""
    known = db.get(OfferingSeats, offering_id) if 0 < offering_id <= MAX_ID else None
    if known is not None and known.snapshot:
        return None
    return catalogue.get_offering(offering_id)


def _lock_both(db: DbSession, old_id: int, new_id: int, fetched: dict | None) -> tuple[OfferingSeats, OfferingSeats]:
    """Both offerings' seat rows, locked in ascending order of offering id (the module's note says why)."""
    locked: dict[int, OfferingSeats] = {}
    for offering_id in sorted((old_id, new_id)):
        if offering_id == new_id and fetched is not None:
            locked[offering_id] = seats.lock_or_add_offering(db, fetched)
            # What the catalogue said is taken in as enrolling does (enrolments.lock_open_offering).
            notices.status_changed(db, seats.record_offering(db, locked[offering_id], fetched).promoted)
        else:
            locked[offering_id] = seats.lock_offering(db, offering_id)
            if locked[offering_id] is None:
                raise NotFound(f"Udbud {offering_id} er ukendt.")
    return locked[old_id], locked[new_id]


def _require_same_module(offering: dict | None, module: str) -> None:
    if offering is not None and offering["module_code"] != module:
        raise Conflict(f"Udbud {offering['id']} er et andet modul ({offering['module_code']}); en plads kan kun "
                       f"flyttes til et hold af samme modul ({module}).")

"""An enrolment's life: enrolled by HR or requested by a leader (enrolment.leader_requests), approved or
rejected, substituted, cancelled.

Each change reads top to bottom: who may act (get_enrolment), the offering's lock and the
enrolment read again under it (seats.lock_enrolment), the check of what it says now, the
decision (seats.set_status, the only writer of a status), and what follows from it written to the
outbox in the same transaction (notices for mails, outbox.report_seats for the catalogue's
counts). The request's commit point commits it all at once (shared.transaction).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import Select, or_, select
from sqlalchemy.orm import Session as DbSession
from sqlalchemy.orm import joinedload

from enrolment import notices, outbox, seats
from enrolment.catalogue_client import CatalogueClient
from enrolment.models import ACTIVE_STATUSES, STATUS_LABELS, Enrolment, OfferingSeats, Organisation, Participant
from enrolment.organisations import find_or_add_participant, organisation_in_scope, participant_for
from shared import audit
from shared.auth import Actor, Role
from shared.db import MAX_ID, utcnow
from shared.errors import Conflict, Forbidden, NotFound
from shared.observability import count_enrolment


def enrol_participant(db: DbSession, actor: Actor, catalogue: CatalogueClient, offering_id: int,
                      participant: dict, organisation_key: str | None, today: date, source: str = "hr") -> Enrolment:
    """HR (or an administrator) enrols someone: confirmed if a seat is free, otherwise waitlisted (and positioned)."""
    organisation = organisation_in_scope(db, actor, organisation_key)
    offering_seats = lock_open_offering(db, catalogue, offering_id, today)
    enrolment = _enrol(db, organisation, offering_seats, participant, source=source, needs_approval=False)
    audit_change(db, "enrolment.enrolled", enrolment, None)
    return enrolment


def audit_change(db: DbSession, action: str, enrolment: Enrolment, before: str | None, *, actor=None) -> None:
    """The audit entry of a change of a place: its status from → to (and, for a new place, whose it is)."""
    changes = {"status": [before, enrolment.status]}
    if before is None:
        # By id, never the name: the audit log outlives an erasure (enrolment.erasure) and must not hold it.
        changes["participant"] = [None, enrolment.participant.id]
    audit.record(db, action, "enrolment", enrolment.id, tenant_id=enrolment.organisation_id, actor=actor,
                 changes=changes)


def _enrol(db: DbSession, organisation: Organisation, offering_seats: OfferingSeats, participant: dict, *,
           source: str, needs_approval: bool) -> Enrolment:
    person, added = find_or_add_participant(db, organisation, participant["name"], participant["email"])
    # Someone added just now has no places in the offering yet (and the unique index would refuse one).
    earlier = [] if added else earlier_places_if_none_active(db, offering_seats.offering_id, person)
    enrolment = add_enrolment(db, offering_seats, organisation, person, source=source, needs_approval=needs_approval,
                              earlier=earlier)
    outbox.report_seats(db, offering_seats)
    return enrolment


def lock_open_offering(db: DbSession, catalogue: CatalogueClient, offering_id: int, today: date) -> OfferingSeats:
    """Lock the offering's seats and refuse it (409) if it takes no enrolments.

    An offering this service knows is decided on its own copy, kept current by the catalogue's
    change feed and webhooks, so enrolling needs no call to the catalogue (and goes on while the
    catalogue is down). An offering it does not know yet is read from the catalogue once.
    """
    offering_seats = seats.lock_offering(db, offering_id) if 0 < offering_id <= MAX_ID else None
    if offering_seats is None:
        offering = catalogue.get_offering(offering_id)
        offering_seats = seats.lock_or_add_offering(db, offering)
        notices.status_changed(db, seats.record_offering(db, offering_seats, offering).promoted)
    try:
        require_open(offering_seats.status, offering_seats.enrolment_deadline, today)
    except Conflict:
        count_enrolment("refused")  # at once: the transaction is rolled back
        raise
    return offering_seats


def add_enrolment(db: DbSession, offering_seats: OfferingSeats, organisation: Organisation, person: Participant, *,
                  source: str, needs_approval: bool = False, earlier: list[Enrolment] | None = None) -> Enrolment:
    """Enrol someone not yet enrolled into a locked offering: waiting for approval, or placed in line.

    `earlier` is the person's earlier places in the offering if the caller has read them (the
    mail's calendar cancels their events); otherwise the mail reads them. The caller reports the
    offering's seats (outbox.report_seats) once it has placed everyone.
    """
    change = new_place(db, offering_seats, organisation, person, source=source, needs_approval=needs_approval)
    notices.status_changed(db, [change], earlier_places=None if earlier is None else {change.enrolment: earlier})
    return change.enrolment


def new_place(db: DbSession, offering_seats: OfferingSeats, organisation: Organisation, person: Participant, *,
              source: str, needs_approval: bool) -> seats.StatusChange:
    """A new enrolment in a locked offering, waiting for approval or placed in line; flushed, so it has its id."""
    # `seats` as well as its key: the mail reads the offering from it.
    enrolment = Enrolment(offering_id=offering_seats.offering_id, seats=offering_seats, participant=person,
                          organisation=organisation, source=source, status=None)
    db.add(enrolment)
    if needs_approval:
        change = seats.set_status(db, offering_seats, enrolment, "pending_approval")
        count_enrolment("pending_approval", db)
    else:
        change = seats.place_in_line(db, offering_seats, enrolment)
    db.flush()
    return change


def approve_request(db: DbSession, actor: Actor, enrolment_id: int, today: date) -> Enrolment:
    """HR places a leader's request in line: a seat if one is free, otherwise the waiting list."""
    enrolment = get_enrolment(db, actor, enrolment_id)
    offering_seats = seats.lock_enrolment(db, enrolment)
    if enrolment.status != "pending_approval":
        raise Conflict(f"Anmodningen er allerede behandlet ({STATUS_LABELS[enrolment.status].lower()}); "
                       "kun en anmodning, der venter på godkendelse, kan godkendes.")
    require_open(offering_seats.status, offering_seats.enrolment_deadline, today)
    notices.status_changed(db, [seats.place_in_line(db, offering_seats, enrolment)])
    outbox.report_seats(db, offering_seats)
    audit_change(db, "enrolment.approved", enrolment, "pending_approval")
    return enrolment


def reject_request(db: DbSession, actor: Actor, enrolment_id: int) -> Enrolment:
    enrolment = get_enrolment(db, actor, enrolment_id)
    offering_seats = seats.lock_enrolment(db, enrolment)
    if enrolment.status != "pending_approval":
        raise Conflict(f"Anmodningen er allerede behandlet ({STATUS_LABELS[enrolment.status].lower()}); "
                       "kun en anmodning, der venter på godkendelse, kan afvises.")
    notices.status_changed(db, [seats.set_status(db, offering_seats, enrolment, "rejected")])
    count_enrolment("rejected", db)
    audit_change(db, "enrolment.rejected", enrolment, "pending_approval")
    return enrolment


def cancel_enrolment(db: DbSession, actor: Actor, enrolment_id: int, today: date) -> Enrolment:
    """HR (or an administrator) cancels a place, by the rules of `_cancel`."""
    _require_not_approver(actor)
    return _cancel(db, get_enrolment(db, actor, enrolment_id), today)


def cancel_own_enrolment(db: DbSession, participant: Participant, enrolment_id: int, today: date) -> Enrolment:
    """A leader cancels their own place from "Mine kurser", by the same rules as HR's cancellation.

    Someone else's enrolment is as unknown as a missing one (whose place it is cannot change: a
    substitution makes the new holder's enrolment a new page's, checked again under the lock).
    """
    enrolment = db.get(Enrolment, enrolment_id) if 0 < enrolment_id <= MAX_ID else None
    if enrolment is None or enrolment.participant_id != participant.id:
        raise NotFound(f"Tilmelding {enrolment_id} findes ikke.")
    return _cancel(db, enrolment, today, holder=participant)


def can_cancel(enrolment: Enrolment, today: date) -> bool:
    """Whether the place may still be cancelled (what `_cancel` checks again under the lock); for pages' buttons."""
    return enrolment.status in ACTIVE_STATUSES and not _past_cancellation_deadline(enrolment.seats, today)


def _cancel(db: DbSession, enrolment: Enrolment, today: date, holder: Participant | None = None) -> Enrolment:
    """Cancel until the deadline; a freed seat goes to the first on the waiting list in this transaction."""
    offering_seats = seats.lock_enrolment(db, enrolment)
    if holder is not None and enrolment.participant_id != holder.id:
        raise NotFound(f"Tilmelding {enrolment.id} findes ikke.")  # handed over to someone else meanwhile
    if enrolment.status not in ACTIVE_STATUSES:
        raise Conflict(f"Tilmeldingen er allerede afsluttet ({STATUS_LABELS[enrolment.status].lower()}).")
    if _past_cancellation_deadline(offering_seats, today):
        raise Conflict("Tilmeldingsfristen er overskredet; kontakt skolen for at melde fra.")
    ended_by = "organisation" if holder is None else "participant"
    changes = [seats.set_status(db, offering_seats, enrolment, "cancelled", ended_by=ended_by),
               *seats.promote_waiting(db, offering_seats)]
    notices.status_changed(db, changes)
    outbox.report_seats(db, offering_seats)
    by_holder = audit.AuditActor("participant", holder.id, f"Deltager {holder.id} (Mine kurser)") if holder else None
    audit_change(db, "enrolment.cancelled", enrolment, changes[0].before, actor=by_holder)
    for promoted in changes[1:]:
        audit_change(db, "enrolment.promoted", promoted.enrolment, promoted.before, actor=audit.SYSTEM)
    return enrolment


def _past_cancellation_deadline(offering_seats: OfferingSeats, today: date) -> bool:
    return today > offering_seats.enrolment_deadline


def substitute_participant(db: DbSession, actor: Actor, enrolment_id: int, participant: dict) -> Enrolment:
    """Another person from the same organisation takes over the seat, or the place in line."""
    _require_not_approver(actor)
    enrolment = get_enrolment(db, actor, enrolment_id)
    offering_seats = seats.lock_enrolment(db, enrolment)
    if enrolment.status not in ACTIVE_STATUSES:
        raise Conflict("Kun en aktiv tilmelding kan overdrages.")
    person = participant_for(db, enrolment.organisation, participant["name"], participant["email"])
    if person.id != enrolment.participant_id:
        _require_not_enrolled(db, enrolment.offering_id, person)
        previous = enrolment.participant
        ended = _ended_place_of_former_holder(db, offering_seats, enrolment)
        enrolment.participant = person
        enrolment.calendar_sequence += 1
        enrolment.updated_at = utcnow()
        notices.place_handed_over(db, enrolment, ended)
        audit.record(db, "enrolment.substituted", "enrolment", enrolment.id, tenant_id=enrolment.organisation_id,
                     changes={"participant": [previous.id, person.id]})
    return enrolment


def _ended_place_of_former_holder(db: DbSession, offering_seats: OfferingSeats, enrolment: Enrolment) -> Enrolment:
    """What the former holder keeps of a place handed over: an ended place of their own, pointing to the place.

    The place itself (its id, seat and place in line) goes on with the newcomer, as the API promises;
    the former holder's calendar shows this one as CANCELLED (enrolment.calendar), with a SEQUENCE
    above the one their events had, instead of the events vanishing. It counts no seat (set_status
    counts neither "cancelled" nor a new place). Under the offering's lock, like the handing over.
    """
    ended = Enrolment(offering_id=enrolment.offering_id, seats=offering_seats, participant=enrolment.participant,
                      organisation=enrolment.organisation, source=enrolment.source, status=None,
                      calendar_sequence=enrolment.calendar_sequence + 1, moved_to_id=enrolment.id)
    db.add(ended)
    seats.set_status(db, offering_seats, ended, "cancelled", ended_by="handed_over")
    db.flush()
    return ended


ORGANISATION_ROLES = (Role.HR, Role.APPROVER)


def get_enrolment(db: DbSession, actor: Actor, enrolment_id: int) -> Enrolment:
    """An enrolment the caller may see; another organisation's is as unknown as a missing one."""
    if actor.role not in (*ORGANISATION_ROLES, Role.ADMIN):
        raise Forbidden("Kun HR og administratorer kan se tilmeldinger.")
    enrolment = db.get(Enrolment, enrolment_id) if 0 < enrolment_id <= MAX_ID else None
    if enrolment is None or (actor.role in ORGANISATION_ROLES and enrolment.organisation.key != actor.organisation):
        raise NotFound(f"Tilmelding {enrolment_id} findes ikke.")
    return enrolment


def _require_not_approver(actor: Actor) -> None:
    if actor.role is Role.APPROVER:
        raise Forbidden("En godkender kan kun godkende og afvise anmodninger.")


@dataclass(frozen=True)
class EnrolmentFilters:
    offering_id: int | None = None
    status: str | None = None
    organisation: str | None = None


def enrolments_query(actor: Actor, filters: EnrolmentFilters) -> Select:
    """The enrolments the caller may see: HR its own organisation's, an administrator all (or one's)."""
    if actor.role not in (*ORGANISATION_ROLES, Role.ADMIN):
        raise Forbidden("Kun HR og administratorer kan se tilmeldinger.")
    # A request nobody has confirmed is in no one's queue (enrolment.leader_requests); the ended place a former
    # holder keeps after a handing over is theirs, for their calendar: the place is listed once, under its holder.
    statement = (select(Enrolment).join(Enrolment.organisation).where(Enrolment.status != "unconfirmed")
                 .where(or_(Enrolment.ended_by.is_(None), Enrolment.ended_by != "handed_over"))
                 .options(joinedload(Enrolment.participant), joinedload(Enrolment.organisation))
                 .order_by(Enrolment.offering_id, Enrolment.id))
    if actor.role in ORGANISATION_ROLES:
        if filters.organisation not in (None, actor.organisation):
            raise Forbidden("Du kan kun se din egen organisations tilmeldinger.")
        statement = statement.where(Organisation.key == actor.organisation)
    elif filters.organisation:
        statement = statement.where(Organisation.key == filters.organisation)
    if filters.offering_id:
        statement = statement.where(Enrolment.offering_id == filters.offering_id)
    if filters.status:
        statement = statement.where(Enrolment.status == filters.status)
    return statement


def require_open(status: str, deadline: date, today: date) -> None:
    if status == "cancelled":
        raise Conflict("Udbuddet er aflyst.")
    if status != "published":
        raise Conflict("Udbuddet er ikke offentliggjort endnu.")
    if today > deadline:
        raise Conflict(f"Tilmeldingsfristen var {deadline.isoformat()}.")


def _require_not_enrolled(db: DbSession, offering_id: int, participant: Participant) -> None:
    earlier_places_if_none_active(db, offering_id, participant)


def earlier_places_if_none_active(db: DbSession, offering_id: int, participant: Participant) -> list[Enrolment]:
    """The person's places in the offering, all ended (cancelled, rejected); 409 if one is still active."""
    places = list(db.scalars(select(Enrolment).where(Enrolment.offering_id == offering_id,
                                                     Enrolment.participant_id == participant.id)
                             .order_by(Enrolment.id)))
    active = next((place for place in places if place.status in ACTIVE_STATUSES), None)
    if active is not None:
        count_enrolment("duplicate")  # at once: the transaction is rolled back
        raise Conflict(f"{participant.email} er allerede tilmeldt dette udbud (tilmelding {active.id}).")
    return places

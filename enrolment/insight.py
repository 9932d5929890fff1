"""Insight (GDPR art. 15 and 20): everything this service holds about one person, and who may ask for it.

`participant_insight` gathers it as plain data — the person, their places with each place's history
from the audit log, the days they attended and whether they completed, their interests, the reserved
seats they were named into, the mails sent to them and every audit entry about them — for HR's page,
the leader's own page and the JSON export alike (shared.schemas.ParticipantExportSchema).

The catalogue holds nothing about participants (enrolment.erasure), so this is all there is.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session as DbSession

from enrolment import erasure
from enrolment.models import (
    STATUS_LABELS,
    Attendance,
    AuditEntry,
    Enrolment,
    Interest,
    OutboxMessage,
    Participant,
)
from enrolment.outbox import MAIL, MAX_ATTEMPTS
from shared import audit
from shared.audit import ACTIONS
from shared.auth import Actor, Role
from shared.db import MAX_ID
from shared.errors import Forbidden, NotFound
from shared.schemas import OfferingSchema

_OFFERING_SCHEMA = OfferingSchema()


# --- Who may ---------------------------------------------------------------------------------------

def get_participant(db: DbSession, actor: Actor, participant_id: int) -> Participant:
    """A person HR of their organisation (or an administrator) may see; another organisation's is as unknown
    as a missing one. Approvers decide on requests and schools see their participant lists: neither reads this."""
    if actor.role not in (Role.HR, Role.ADMIN):
        raise Forbidden("Kun HR og administratorer kan se og slette en persons data.")
    participant = db.get(Participant, participant_id) if 0 < participant_id <= MAX_ID else None
    if participant is None or (actor.role is Role.HR and participant.organisation.key != actor.organisation):
        raise NotFound(f"Person {participant_id} findes ikke.")
    return participant


def export_participant(db: DbSession, actor: Actor, participant_id: int) -> dict:
    """GET /participants/{id}/export: HR's (or an administrator's) insight into one person."""
    return participant_insight(db, get_participant(db, actor, participant_id))


def erase(db: DbSession, actor: Actor, participant_id: int, now: datetime) -> erasure.Erasure:
    """POST /participants/{id}/erase: HR of the organisation or an administrator erases the person."""
    participant = get_participant(db, actor, participant_id)
    return erasure.erase_participant(db, participant, actor=audit.actor_of_request(), now=now)


# --- What is held ---------------------------------------------------------------------------------

def participant_insight(db: DbSession, participant: Participant, *, for_the_person: bool = False) -> dict:
    """Everything held about the person, as plain data (datetimes as they are; the schema writes them).

    `for_the_person` (their own link): who acted is named by role, not by name, where it was one of the
    organisation's or a school's people — their names and addresses are those people's data, not the
    leader's (art. 15(4)). HR's export names them, as HR's own audit log does.
    """
    places = list(db.scalars(select(Enrolment).where(Enrolment.participant_id == participant.id)
                             .order_by(Enrolment.created_at, Enrolment.id)))
    interests = list(db.scalars(select(Interest).where(Interest.participant_id == participant.id)
                                .order_by(Interest.created_at, Interest.id)))
    entries = _audit_entries(db, participant, places, interests)
    return {
        "person": {
            "id": participant.id, "name": participant.name, "email": participant.email,
            "organisation": {"key": participant.organisation.key, "name": participant.organisation.name},
            "created_at": participant.created_at, "erased_at": participant.erased_at,
        },
        "enrolments": [_place(db, place, entries, for_the_person) for place in places],
        "interests": [_interest(interest) for interest in interests],
        "reservations": _reservations(entries, {place.id for place in places}),
        "mails": _mails(db, participant),
        "audit_entries": [_entry(entry, for_the_person) for entry in entries],
    }


def _place(db: DbSession, place: Enrolment, entries: list, for_the_person: bool) -> dict:
    offering = _OFFERING_SCHEMA.load(place.seats.snapshot) if place.seats.snapshot else None
    marks = db.scalars(select(Attendance).where(Attendance.enrolment_id == place.id).order_by(Attendance.session_id))
    return {
        "id": place.id, "offering_id": place.offering_id, "status": place.status,
        "status_text": STATUS_LABELS.get(place.status, place.status), "source": place.source,
        "waitlist_position": place.waitlist_position, "ended_by": place.ended_by, "moved_to_id": place.moved_to_id,
        "created_at": place.created_at, "updated_at": place.updated_at,
        "offering": None if offering is None else {
            "module_code": offering["module_code"], "module_title": offering["module_title"],
            "provider_name": offering["provider_name"], "starts_at": offering["starts_at"],
            "ends_at": offering["ends_at"], "status": offering["status"]},
        "attendance": [{"session_id": mark.session_id, "attended": mark.attended, "recorded_at": mark.recorded_at}
                       for mark in marks],
        "completion": place.completion, "completion_note": place.completion_note,
        "completion_recorded_at": place.completion_recorded_at, "completed_on": place.completed_on,
        "completion_provider_name": place.completion_provider_name,
        "history": [_entry(entry, for_the_person) for entry in entries
                    if entry.object_type == "enrolment" and entry.object_id == str(place.id)],
    }


def _interest(interest: Interest) -> dict:
    return {"id": interest.id, "module_code": interest.module_code, "regions": list(interest.regions or []),
            "before": interest.before, "auto_enrol": interest.auto_enrol, "registered_by": interest.registered_by,
            "created_at": interest.created_at, "ended_at": interest.ended_at, "end_reason": interest.end_reason,
            "enrolment_id": interest.enrolment_id}


def _reservations(entries: list, place_ids: set[int]) -> list[dict]:
    """The organisation's reserved seats the person was named into (the log's `reservation.named`)."""
    return [{"reservation_id": int(entry.object_id), "enrolment_id": entry.changes["enrolment_id"][1],
             "named_at": entry.at}
            for entry in entries if entry.action == "reservation.named"
            and (entry.changes.get("enrolment_id") or [None, None])[1] in place_ids]


def _mails(db: DbSession, participant: Participant) -> list[dict]:
    messages = db.scalars(select(OutboxMessage).where(
        OutboxMessage.kind == MAIL, func.lower(OutboxMessage.recipient) == participant.email.strip().lower())
        .order_by(OutboxMessage.created_at, OutboxMessage.id))
    return [{"id": message.id, "recipient": message.recipient, "subject": message.subject, "body": message.body,
             "created_at": message.created_at, "sent_at": message.delivered_at, "status": _mail_status(message)}
            for message in messages]


def _mail_status(message: OutboxMessage) -> str:
    if message.delivered_at is not None:
        return "sent"
    return "given_up" if message.due_at is None and message.attempts >= MAX_ATTEMPTS else "waiting"


def _audit_entries(db: DbSession, participant: Participant, places: list[Enrolment], interests: list[Interest]):
    place_ids = [str(place.id) for place in places]
    interest_ids = [str(interest.id) for interest in interests]
    named = [entry for entry in db.scalars(select(AuditEntry).where(
        AuditEntry.action == "reservation.named", AuditEntry.tenant_id == participant.organisation_id))
        if str((entry.changes.get("enrolment_id") or [None, None])[1]) in place_ids]
    about = db.scalars(select(AuditEntry).where(or_(
        (AuditEntry.object_type == "participant") & (AuditEntry.object_id == str(participant.id)),
        (AuditEntry.object_type == "enrolment") & AuditEntry.object_id.in_(place_ids),
        (AuditEntry.object_type == "interest") & AuditEntry.object_id.in_(interest_ids),
        (AuditEntry.actor_type == "participant") & (AuditEntry.actor_id == participant.id),
    )))
    return sorted({entry.id: entry for entry in [*about, *named]}.values(), key=lambda entry: (entry.at, entry.id))


# How the leader's own insight names someone else who acted (for_the_person).
_ROLE_NAMES = {"hr": "HR", "hr_admin": "HR", "approver": "Godkender", "school": "Skolen", "admin": "Administrator"}


def _entry(entry, for_the_person: bool = False) -> dict:
    actor_name = entry.actor_name
    if for_the_person and entry.actor_type in ("person", "token", "key"):
        actor_name = _ROLE_NAMES.get(entry.actor_role or "", "En medarbejder")
    return {"id": entry.id, "at": entry.at, "action": entry.action,
            "action_text": ACTIONS.get(entry.action, entry.action), "object_type": entry.object_type,
            "object_id": entry.object_id, "actor_name": actor_name, "changes": entry.changes}

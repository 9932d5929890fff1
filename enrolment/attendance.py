"""A course's life after enrolment: who attended each day, who completed, and the school's message to everyone.

Only the school that runs the offering (OfferingSeats.provider_id, as the catalogue last said) and
administrators may do any of it; HR and leaders only read the result ("Mine kurser", HR's list and
export). Another school's offering is refused (403, as its participant list is); an enrolment of
another school's offering is as unknown as a missing one (404).

Why attendance and completion cannot cross a cancellation: each starts by locking the offering's
seat row (seats.lock_offering / lock_enrolment) and only then reads who is confirmed. A cancellation
(enrolment.enrolments._cancel) takes the same lock before it changes the status, so either it
committed first, and the place is no longer confirmed here (409), or it waits until this
transaction has committed its marks, and then cancels a place whose marks stay as they were
recorded — for a day that had begun while the place was confirmed.

The time is the caller's `now` (shared.clock.now() in the views), so tests move it without sleeping:
a day can be marked from the moment it begins, completion from the moment the last day begins. The
school may correct either later; every change leaves an audit entry with its before and after.

The message to everyone enrolled goes to the confirmed participants only: the waiting list has no
seat, and what a school writes to its participants ("tag en pc med", "vi mødes i lokale 12") is
about a course they may never attend; whoever gets a seat later gets the usual mail about it.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session as DbSession
from sqlalchemy.orm import joinedload

from enrolment import notices, seats
from enrolment.catalogue_client import CatalogueClient
from enrolment.models import COMPLETION_LABELS, STATUS_LABELS, Attendance, Enrolment, OfferingSeats
from enrolment.notices import MONTHS
from shared import audit
from shared.auth import Actor, Role
from shared.clock import COPENHAGEN
from shared.db import MAX_ID
from shared.errors import Conflict, FieldError, Forbidden, NotFound, ValidationFailed
from shared.schemas import OfferingSchema

_OFFERING_SCHEMA = OfferingSchema()
SCHOOL_ROLES = (Role.SCHOOL, Role.ADMIN)


@dataclass(frozen=True)
class ParticipantRecord:
    """One confirmed participant's marks and completion, as the school sees them."""

    enrolment_id: int
    name: str
    organisation: str
    marks: list[dict]
    completion: str | None
    completion_note: str | None
    completion_recorded_at: datetime | None
    completed_on: date | None
    completion_provider_name: str | None


@dataclass(frozen=True)
class AttendanceSheet:
    offering_id: int
    sessions: list[dict]  # {"id", "starts_at", "ends_at", "begun"}
    completion_open: bool
    participants: list[ParticipantRecord]


# --- Reading ------------------------------------------------------------------------------------

def attendance_sheet(db: DbSession, actor: Actor, catalogue: CatalogueClient, offering_id: int,
                     now: datetime) -> AttendanceSheet:
    """The offering's days × its confirmed participants, with the marks and completions recorded so far."""
    _require_school_role(actor)
    known = db.get(OfferingSeats, offering_id) if 0 < offering_id <= MAX_ID else None
    if known is None:
        # Nobody has enrolled yet: the catalogue says whether it exists (404 if not) and whose it is.
        offering = catalogue.get_offering(offering_id) if 0 < offering_id <= MAX_ID else None
        if offering is None:
            raise NotFound(f"Udbud {offering_id} findes ikke.")
        _require_school_of(actor, offering["provider_id"])
        return AttendanceSheet(offering_id, _sessions(offering, now), _last_day_begun(offering, now), [])
    _require_school_of(actor, known.provider_id)
    return _sheet(db, known, now)


def _sheet(db: DbSession, offering_seats: OfferingSeats, now: datetime) -> AttendanceSheet:
    offering = _offering(offering_seats)
    confirmed = _confirmed(db, offering_seats.offering_id)
    marks: dict[int, list[dict]] = {}
    if confirmed:
        for mark in db.scalars(select(Attendance).where(Attendance.enrolment_id.in_([e.id for e in confirmed]))
                               .order_by(Attendance.session_id)):
            marks.setdefault(mark.enrolment_id, []).append(
                {"session_id": mark.session_id, "attended": mark.attended, "recorded_at": mark.recorded_at})
    return AttendanceSheet(offering_seats.offering_id, _sessions(offering, now), _last_day_begun(offering, now), [
        ParticipantRecord(enrolment.id, enrolment.participant.name, enrolment.organisation.name,
                          marks.get(enrolment.id, []), enrolment.completion, enrolment.completion_note,
                          enrolment.completion_recorded_at, enrolment.completed_on,
                          enrolment.completion_provider_name)
        for enrolment in confirmed])


# --- Attendance ---------------------------------------------------------------------------------

def record_attendance(db: DbSession, actor: Actor, offering_id: int, session_id: int, attended: list[int],
                      now: datetime) -> AttendanceSheet:
    """The whole list for one day: those named attended, every other confirmed participant did not."""
    offering_seats = _lock_school_offering(db, actor, offering_id)
    offering = _offering(offering_seats)
    session = next((item for item in offering["sessions"] if item["id"] == session_id), None)
    if session is None:
        raise NotFound(f"Dag {session_id} hører ikke til udbud {offering_id}.")
    if now < session["starts_at"]:
        raise Conflict(f"Dagen er ikke begyndt endnu ({_day(session['starts_at'])}); fremmødet kan først "
                       "registreres, når den er begyndt.")
    # Read under the lock: who is confirmed now stays so until this transaction commits.
    confirmed = {enrolment.id: enrolment for enrolment in _confirmed(db, offering_id)}
    _require_confirmed(db, offering_id, attended, confirmed)
    existing = {mark.enrolment_id: mark for mark in db.scalars(select(Attendance).where(
        Attendance.session_id == session_id, Attendance.enrolment_id.in_(list(confirmed) or [0])))}
    recorded_by = audit.actor_of_request().name or "GLU-kurser"
    named = set(attended)
    for enrolment_id, enrolment in confirmed.items():
        present = enrolment_id in named
        mark = existing.get(enrolment_id)
        if mark is not None and mark.attended == present:
            continue
        before = mark.attended if mark is not None else None
        if mark is None:
            db.add(Attendance(enrolment_id=enrolment_id, session_id=session_id, attended=present, recorded_at=now,
                              recorded_by=recorded_by))
        else:
            mark.attended, mark.recorded_at, mark.recorded_by = present, now, recorded_by
        audit.record(db, "attendance.recorded", "enrolment", enrolment_id, tenant_id=enrolment.organisation_id,
                     changes={f"attended_session_{session_id}": [before, present]})
    db.flush()
    return _sheet(db, offering_seats, now)


def _require_confirmed(db: DbSession, offering_id: int, named: list[int], confirmed: dict[int, Enrolment]) -> None:
    """Everyone named holds a confirmed place in the offering: another status is a 409, a stranger a 422."""
    others = [enrolment_id for enrolment_id in named if enrolment_id not in confirmed]
    if not others:
        return
    found = {enrolment.id: enrolment for enrolment in db.scalars(select(Enrolment).where(
        Enrolment.offering_id == offering_id, Enrolment.id.in_(others)).options(joinedload(Enrolment.participant)))}
    strangers = [FieldError(f"/attended/{index}", f"Tilmelding {enrolment_id} hører ikke til udbuddet.")
                 for index, enrolment_id in enumerate(named) if enrolment_id in others and enrolment_id not in found]
    if strangers:
        raise ValidationFailed("Listen nævner tilmeldinger, der ikke hører til udbuddet.", strangers)
    first = found[others[0]]
    raise Conflict(f"{first.participant.name} har ikke en bekræftet plads "
                   f"({STATUS_LABELS[first.status].lower()}); kun bekræftede deltagere kan registreres som mødt.")


# --- Completion ---------------------------------------------------------------------------------

def record_completion(db: DbSession, actor: Actor, enrolment_id: int, result: str, note: str | None,
                      now: datetime) -> ParticipantRecord:
    """Completed or not, once the last day has begun, for a confirmed place; the school may correct it later."""
    _require_school_role(actor)
    enrolment = db.get(Enrolment, enrolment_id) if 0 < enrolment_id <= MAX_ID else None
    if enrolment is None:
        raise NotFound(f"Tilmelding {enrolment_id} findes ikke.")
    # The lock, then the enrolment read again: a cancellation cannot slip in between the check and the write.
    offering_seats = seats.lock_enrolment(db, enrolment)
    if not _may_act_for(actor, offering_seats.provider_id):
        raise NotFound(f"Tilmelding {enrolment_id} findes ikke.")  # another school's: as unknown as a missing one
    offering = _offering(offering_seats)
    last = _last_session(offering)
    if not _last_day_begun(offering, now):
        raise Conflict("Gennemførelsen kan først registreres, når kursets sidste dag er begyndt"
                       + (f" ({_day(last['starts_at'])})." if last else "."))
    if enrolment.status != "confirmed":
        raise Conflict(f"{enrolment.participant.name} har ikke en bekræftet plads "
                       f"({STATUS_LABELS[enrolment.status].lower()}); kun bekræftede deltagere kan gennemføre.")
    before = {"completion": enrolment.completion, "completion_note": enrolment.completion_note}
    enrolment.completion, enrolment.completion_note, enrolment.completion_recorded_at = result, note or None, now
    enrolment.completed_on = last["starts_at"].astimezone(COPENHAGEN).date()
    enrolment.completion_provider_name = offering["provider_name"]
    changes = audit.changed(before, {"completion": enrolment.completion, "completion_note": enrolment.completion_note})
    if changes:
        audit.record(db, "enrolment.completion_recorded", "enrolment", enrolment.id,
                     tenant_id=enrolment.organisation_id, changes=changes)
    db.flush()
    marks = [{"session_id": mark.session_id, "attended": mark.attended, "recorded_at": mark.recorded_at}
             for mark in db.scalars(select(Attendance).where(Attendance.enrolment_id == enrolment.id)
                                    .order_by(Attendance.session_id))]
    return ParticipantRecord(enrolment.id, enrolment.participant.name, enrolment.organisation.name, marks,
                             enrolment.completion, enrolment.completion_note, enrolment.completion_recorded_at,
                             enrolment.completed_on, enrolment.completion_provider_name)


def completion_text(enrolment: Enrolment) -> str | None:
    """'Gennemført 3. februar 2027 hos Mercantec' (or 'Ikke gennemført …'); None before the school has said."""
    if enrolment.completion is None:
        return None
    day = enrolment.completed_on
    when = f" {day.day}. {MONTHS[day.month - 1]} {day.year}" if day else ""
    school = f" hos {enrolment.completion_provider_name}" if enrolment.completion_provider_name else ""
    return f"{COMPLETION_LABELS[enrolment.completion]}{when}{school}"


# --- The school's message -----------------------------------------------------------------------

def send_message(db: DbSession, actor: Actor, offering_id: int, subject: str, text: str, now: datetime) -> int:
    """One mail through the outbox to every confirmed participant; how many it went to.

    Read under the offering's lock like everything else that asks who holds a seat, so the count
    the school is shown is the list the mails went to.
    """
    offering_seats = _lock_school_offering(db, actor, offering_id)
    offering = _offering(offering_seats)
    confirmed = _confirmed(db, offering_id)
    body = (f"{offering['provider_name']} skriver til alle tilmeldte på kurset:\n\n{text}\n\n"
            f"Spørgsmål til skolen: {offering['contact_email']}")
    for enrolment in confirmed:
        notices.send(db, enrolment, offering, subject, body, None, now)
    # One entry per organisation reached, so each HR reads in its own log that its people were written to.
    for organisation_id, count in sorted(Counter(enrolment.organisation_id for enrolment in confirmed).items()):
        audit.record(db, "offering.message_sent", "offering", offering_id, tenant_id=organisation_id,
                     changes={"subject": [None, subject], "recipients": [None, count]})
    if not confirmed:
        audit.record(db, "offering.message_sent", "offering", offering_id, tenant_id=None,
                     changes={"subject": [None, subject], "recipients": [None, 0]})
    return len(confirmed)


# --- Who may, and what the offering says ------------------------------------------------------------

def _require_school_role(actor: Actor) -> None:
    if actor.role not in SCHOOL_ROLES:
        raise Forbidden("Kun skolen, der afholder udbuddet, og administratorer kan registrere fremmøde, "
                        "gennemførelse og skrive til deltagerne.")


def _may_act_for(actor: Actor, provider_id: int) -> bool:
    return actor.role is Role.ADMIN or actor.is_school_of(provider_id)


def _require_school_of(actor: Actor, provider_id: int) -> None:
    if not _may_act_for(actor, provider_id):
        raise Forbidden("Du kan kun se og registrere deltagerne på din egen skoles udbud.")


def _lock_school_offering(db: DbSession, actor: Actor, offering_id: int) -> OfferingSeats:
    """The offering's seat row, locked (and read again) until the commit; 404 if nobody ever enrolled in it."""
    _require_school_role(actor)
    offering_seats = seats.lock_offering(db, offering_id) if 0 < offering_id <= MAX_ID else None
    if offering_seats is None:
        raise NotFound(f"Udbud {offering_id} har ingen tilmeldte.")
    _require_school_of(actor, offering_seats.provider_id)
    return offering_seats


def _offering(offering_seats: OfferingSeats) -> dict:
    return _OFFERING_SCHEMA.load(offering_seats.snapshot)


def _confirmed(db: DbSession, offering_id: int) -> list[Enrolment]:
    return list(db.scalars(select(Enrolment).where(Enrolment.offering_id == offering_id,
                                                   Enrolment.status == "confirmed")
                           .options(joinedload(Enrolment.participant), joinedload(Enrolment.organisation))
                           .order_by(Enrolment.place, Enrolment.id)))


def _sessions(offering: dict, now: datetime) -> list[dict]:
    return [{"id": session["id"], "starts_at": session["starts_at"], "ends_at": session["ends_at"],
             "begun": now >= session["starts_at"]} for session in offering["sessions"]]


def _last_session(offering: dict) -> dict | None:
    return max(offering["sessions"], key=lambda session: session["starts_at"], default=None)


def _last_day_begun(offering: dict, now: datetime) -> bool:
    last = _last_session(offering)
    return last is not None and now >= last["starts_at"]


def _day(instant: datetime) -> str:
    local = instant.astimezone(COPENHAGEN)
    return f"{local.day}. {MONTHS[local.month - 1]} {local.year} kl. {local:%H.%M}"

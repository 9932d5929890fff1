"""Publishing, editing and cancelling offerings: the rules a school's changes must follow.

Functions here take plain data already validated field by field by the shared schemas, check
what needs the database or the whole offering, change the models and flush; the caller commits.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session as DbSession

from catalogue.models import Location, Module, Offering, Session
from shared.auth import Actor, Role
from shared.db import MAX_ID, utcnow
from shared.errors import Conflict, FieldError, Forbidden, NotFound, ValidationFailed
from shared.schemas import COPENHAGEN

EDITABLE_FIELDS = (
    "capacity", "min_participants", "price_dkk", "enrolment_deadline", "language", "contact_email",
    "reference", "note",
)


def get_offering(db: DbSession, actor: Actor, offering_id: int) -> Offering:
    """An offering `actor` may see; a draft of another school is as unknown as a missing id."""
    offering = db.get(Offering, offering_id) if 0 < offering_id <= MAX_ID else None
    if offering is None or (offering.status == "draft" and not _may_edit(actor, offering.provider_id)):
        raise NotFound(f"Udbud {offering_id} findes ikke.")
    return offering


def create_offering(db: DbSession, actor: Actor, data: dict, *, demo: bool = False) -> Offering:
    provider_id = data.get("provider_id") or actor.provider_id
    if provider_id is None:
        raise ValidationFailed.field("/provider_id", "Angiv skolen (provider_id).")
    _require_editor(actor, provider_id)
    problems: list[FieldError] = []
    module = db.scalar(select(Module).where(Module.code == data["module"].upper()))
    if module is None:
        problems.append(FieldError("/module", f"Modulet '{data['module']}' findes ikke."))
    location = _location_of(db, provider_id, data["location_id"], problems)
    if problems:
        raise ValidationFailed("Udbuddet kan ikke oprettes.", problems)
    offering = Offering(module=module, provider_id=provider_id, location=location, status=data["status"],
                        demo=demo, revision=1)
    for name in EDITABLE_FIELDS:
        setattr(offering, name, data[name])
    set_sessions(offering, data["sessions"])
    check_offering(offering)
    _check_reference_free(db, offering)
    db.add(offering)
    db.flush()
    return offering


def update_offering(db: DbSession, actor: Actor, offering_id: int, changes: dict) -> Offering:
    """Apply a school's changes; the result is checked whole, and the revision goes up by one."""
    offering = get_offering(db, actor, offering_id)
    _require_editor(actor, offering.provider_id)
    if offering.status == "cancelled":
        raise Conflict("Et aflyst udbud kan ikke ændres.")
    if not changes:
        return offering
    if "location_id" in changes:
        problems: list[FieldError] = []
        offering.location = _location_of(db, offering.provider_id, changes["location_id"], problems)
        if problems:
            raise ValidationFailed("Udbuddet kan ikke ændres.", problems)
    for name in EDITABLE_FIELDS:
        if name in changes:
            setattr(offering, name, changes[name])
    if "sessions" in changes:
        set_sessions(offering, changes["sessions"])
    if changes.get("status") == "published":
        offering.status = "published"
    check_offering(offering)
    _check_reference_free(db, offering)
    _bump_revision(offering)
    db.flush()
    return offering


def cancel_offering(db: DbSession, actor: Actor, offering_id: int, reason: str | None) -> Offering:
    """Cancel, never delete: leaders' calendars must be able to show the cancellation."""
    offering = get_offering(db, actor, offering_id)
    _require_editor(actor, offering.provider_id)
    if offering.status == "cancelled":
        raise Conflict("Udbuddet er allerede aflyst.")
    offering.status = "cancelled"
    offering.cancelled_at = utcnow()
    offering.cancellation_reason = reason
    _bump_revision(offering)
    db.flush()
    return offering


def set_sessions(offering: Offering, sessions: list[dict]) -> None:
    """Replace the sessions: ones given with an id are moved (keeping their id), others are added.

    A session's id is kept because calendars derive the event's UID from it.
    """
    existing = {session.id: session for session in offering.sessions if session.id is not None}
    problems = [
        FieldError(f"/sessions/{index}/id", f"Sessionen {item['id']} hører ikke til dette udbud.")
        for index, item in enumerate(sessions)
        if "id" in item and item["id"] not in existing
    ]
    if problems:
        raise ValidationFailed("Ukendt session.", problems)
    kept = []
    for item in sessions:
        session = existing.get(item.get("id")) or Session()
        session.starts_at = item["starts_at"]
        session.ends_at = item["ends_at"]
        kept.append(session)
    offering.sessions = sorted(kept, key=lambda session: session.starts_at)
    offering.starts_at = offering.sessions[0].starts_at
    offering.ends_at = max(session.ends_at for session in offering.sessions)


def check_offering(offering: Offering) -> None:
    """Rules over the whole offering, checked after every change."""
    problems: list[FieldError] = []
    sessions = offering.sessions
    for index, (earlier, later) in enumerate(zip(sessions, sessions[1:], strict=False), start=1):
        if later.starts_at < earlier.ends_at:
            problems.append(FieldError(f"/sessions/{index}/starts_at",
                                       "Sessionen overlapper en anden session i udbuddet."))
    for index, session in enumerate(sessions):
        if session.ends_at <= session.starts_at:
            problems.append(FieldError(f"/sessions/{index}/ends_at", "Sessionen skal slutte efter den starter."))
        elif (session.ends_at - session.starts_at).total_seconds() > 24 * 3600:
            problems.append(FieldError(f"/sessions/{index}/ends_at", "En session kan højst vare 24 timer."))
    first_day = _local_day(offering.starts_at)
    if offering.enrolment_deadline > first_day:
        problems.append(FieldError("/enrolment_deadline",
                                   "Tilmeldingsfristen skal ligge senest på dagen for første session."))
    if offering.min_participants is not None and offering.min_participants > offering.capacity:
        problems.append(FieldError("/min_participants", "Minimumsdeltagerantallet er større end kapaciteten."))
    if problems:
        raise ValidationFailed("Udbuddet er ikke gyldigt.", problems)


def _local_day(instant: datetime):
    return instant.astimezone(COPENHAGEN).date()


def _may_edit(actor: Actor, provider_id: int) -> bool:
    return actor.role is Role.ADMIN or actor.is_school_of(provider_id)


def _require_editor(actor: Actor, provider_id: int) -> None:
    if not _may_edit(actor, provider_id):
        raise Forbidden("Kun skolen selv (eller en administrator) kan ændre skolens udbud.")


def _location_of(db: DbSession, provider_id: int, location_id: int, problems: list[FieldError]) -> Location | None:
    location = db.get(Location, location_id)
    if location is None:
        problems.append(FieldError("/location_id", f"Stedet {location_id} findes ikke."))
    elif location.provider_id != provider_id:
        problems.append(FieldError("/location_id", "Stedet hører til en anden skole."))
    return location


def _check_reference_free(db: DbSession, offering: Offering) -> None:
    if offering.reference is None:
        return
    clash = db.scalar(
        select(Offering.id).where(
            Offering.provider_id == offering.provider_id,
            Offering.reference == offering.reference,
            Offering.id != offering.id if offering.id else True,
        )
    )
    if clash is not None:
        raise ValidationFailed.field("/reference", f"Skolen har allerede et udbud med referencen "
                                                   f"'{offering.reference}' (udbud {clash}).")


def _bump_revision(offering: Offering) -> None:
    offering.revision += 1
    offering.updated_at = utcnow()

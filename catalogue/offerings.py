"""Publishing, editing and cancelling offerings: the rules a school's changes must follow.

Functions here take plain data already validated field by field by the shared schemas, check
what needs the database or the whole offering, change the models and flush; the caller commits.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

from sqlalchemy import bindparam, select, update
from sqlalchemy.orm import Session as DbSession

from catalogue import decisions
from catalogue.models import Location, Module, Offering, Session
from catalogue.notifications import record_change
from shared import audit
from shared.auth import Actor, Role
from shared.clock import copenhagen_today, now
from shared.db import MAX_ID, utcnow
from shared.errors import Conflict, FieldError, Forbidden, NotFound, ValidationFailed
from shared.schemas import COPENHAGEN

EDITABLE_FIELDS = (
    "capacity", "min_participants", "price_dkk", "enrolment_deadline", "language", "contact_email",
    "reference", "note",
)


def get_offering(db: DbSession, actor: Actor, offering_id: int, *, for_update: bool = False) -> Offering:
    """An offering `actor` may see; a draft of another school is as unknown as a missing id.

    `for_update` locks the row (PostgreSQL) so two edits in flight cannot both read one revision.
    """
    offering = db.get(Offering, offering_id, with_for_update=for_update) if 0 < offering_id <= MAX_ID else None
    if offering is None or (offering.status == "draft" and not _may_see_drafts(actor, offering.provider_id)):
        raise NotFound(f"Udbud {offering_id} findes ikke.")
    return offering


def create_offering(db: DbSession, actor: Actor, data: dict, *, demo: bool = False,
                    audit_action: str = "offering.created", copied_from: int | None = None,
                    webhook: bool = False) -> Offering:
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
    _check_reference_free(db, provider_id, data["reference"], None)
    offering = Offering(module=module, provider_id=provider_id, location=location, status=data["status"],
                        demo=demo, revision=1)
    for name in EDITABLE_FIELDS:
        setattr(offering, name, data[name])
    positions = set_sessions(offering, data["sessions"])
    check_offering(offering, positions)
    decisions.place_decision_date(offering, data.get("decision_date"))
    # In the change feed; a webhook only for a published one (`webhook`): nobody can have enrolled into an
    # offering before it existed, but leaders on the module's interest list are to be told of it at once.
    db.add(offering)
    record_change(db, offering, webhook=webhook and offering.status == "published")
    db.flush()
    # A copy's entry names its original (copy_offering), so the log tells where the new offering came from.
    origin = {"copied_from": copied_from} if copied_from is not None else {}
    audit.record(db, audit_action, "offering", offering.id, tenant_id=provider_id,
                 changes=audit.changed({}, audited_fields(offering) | origin))
    return offering


def update_offering(db: DbSession, actor: Actor, offering_id: int, changes: dict, *, webhook: bool = False) -> Offering:
    """Apply a school's changes; the result is checked whole, and the revision goes up by one.

    Every change takes the next number of the change feed; `webhook` also writes its delivery to the
    enrolment service (notifications.record_change).
    """
    offering = get_offering(db, actor, offering_id, for_update=True)
    _require_editor(actor, offering.provider_id)
    if offering.status == "cancelled":
        raise Conflict("Et aflyst udbud kan ikke ændres.")
    if not changes:
        return offering
    before = audited_fields(offering)
    if "reference" in changes:
        _check_reference_free(db, offering.provider_id, changes["reference"], offering.id)
    if "location_id" in changes:
        problems: list[FieldError] = []
        offering.location = _location_of(db, offering.provider_id, changes["location_id"], problems)
        if problems:
            raise ValidationFailed("Udbuddet kan ikke ændres.", problems)
    for name in EDITABLE_FIELDS:
        if name in changes:
            setattr(offering, name, changes[name])
    first_day_before = _local_day(offering.starts_at)
    publishing = changes.get("status") == "published" and offering.status == "draft"
    positions = set_sessions(offering, changes["sessions"]) if "sessions" in changes else None
    if changes.get("status") == "published":
        offering.status = "published"
    check_offering(offering, positions)
    decisions.place_decision_date(offering, changes.get("decision_date"), first_day_before=first_day_before,
                                  publishing=publishing)
    bump_revision(db, offering, webhook=webhook)
    db.flush()
    audit.record(db, "offering.changed", "offering", offering.id, tenant_id=offering.provider_id,
                 changes=audit.changed(before, audited_fields(offering)))
    return offering


def cancel_offering(db: DbSession, actor: Actor, offering_id: int, reason: str | None, *,
                    webhook: bool = False) -> Offering:
    """Cancel, never delete: leaders' calendars must be able to show the cancellation. `webhook` as for updates."""
    offering = get_offering(db, actor, offering_id, for_update=True)
    _require_editor(actor, offering.provider_id)
    if offering.status == "cancelled":
        raise Conflict("Udbuddet er allerede aflyst.")
    before = offering.status
    offering.status = "cancelled"
    offering.cancelled_at = utcnow()
    offering.cancellation_reason = reason
    # Go or no-go: a cancellation is the decision, if none was made; the desk shows whom it reached.
    if offering.decision is None:
        offering.decision, offering.decided_at = "cancelled", offering.cancelled_at
    offering.participants_at_cancellation = offering.seats_taken
    offering.waitlisted_at_cancellation = offering.waitlist_length
    bump_revision(db, offering, webhook=webhook)
    db.flush()
    audit.record(db, "offering.cancelled", "offering", offering.id, tenant_id=offering.provider_id,
                 changes={"status": [before, "cancelled"], "cancellation_reason": [None, reason]})
    return offering


def audited_fields(offering: Offering) -> dict:
    """What an audit entry compares before and after a change: the fields a school sets, and the sessions."""
    fields = {name: getattr(offering, name) for name in EDITABLE_FIELDS}
    fields.update(status=offering.status, location_id=offering.location_id, decision_date=offering.decision_date,
                  sessions=[[session.starts_at.isoformat(), session.ends_at.isoformat()]
                            for session in offering.sessions])
    return fields


def record_seat_counts(db: DbSession, offering_id: int, counts: dict) -> dict:
    """Take in the enrolment service's counts {taken, waitlisted, version} for an offering (any status).

    Counts may arrive out of order, so ones whose version is not above the stored version are
    ignored. One conditional UPDATE compares and writes: it locks the row, and a report that had to
    wait for another's lock checks the version again against what that one committed, so an older
    report can never overwrite a newer one. Seat counts are not a school's change: neither
    `revision`, `updated_at` nor `change_seq` moves. Returns the counts the offering now holds.
    """
    if not 0 < offering_id <= MAX_ID:
        raise NotFound(f"Udbud {offering_id} findes ikke.")
    recorded = db.execute(
        update(Offering).where(Offering.id == offering_id, Offering.seats_version < counts["version"])
        .values(seats_taken=counts["taken"], waitlist_length=counts["waitlisted"], seats_version=counts["version"])
        .execution_options(synchronize_session=False))
    if recorded.rowcount == 1:
        return counts
    # Ignored, or no such offering: one more statement, only on this rare path, tells which.
    stored = db.execute(select(Offering.seats_taken, Offering.waitlist_length, Offering.seats_version)
                        .where(Offering.id == offering_id)).one_or_none()
    if stored is None:
        raise NotFound(f"Udbud {offering_id} findes ikke.")
    return {"taken": stored.seats_taken, "waitlisted": stored.waitlist_length, "version": stored.seats_version}


def record_many_seat_counts(db: DbSession, reports: list[dict]) -> tuple[list[dict], list[int]]:
    """`record_seat_counts` for several offerings in one transaction: (the counts each now holds, unknown ids).

    The same conditional UPDATE for each offering, executed in the order of their ids, so two
    deliveries sending overlapping offerings lock the rows in the same order and cannot deadlock.
    Then one SELECT reads what every offering holds, whether its report was newer or ignored.
    """
    newest = {}
    for report in sorted(reports, key=lambda report: (report["offering_id"], report["version"])):
        newest[report["offering_id"]] = report  # of two reports for one offering, the higher version
    ids = [offering_id for offering_id in newest if offering_id <= MAX_ID]
    stored = {}
    if ids:
        table = Offering.__table__
        db.execute(update(table).where(table.c.id == bindparam("offering"), table.c.seats_version < bindparam("new"))
                   .values(seats_taken=bindparam("taken"), waitlist_length=bindparam("waitlisted"),
                           seats_version=bindparam("new")),
                   [{"offering": offering_id, "taken": newest[offering_id]["taken"],
                     "waitlisted": newest[offering_id]["waitlisted"], "new": newest[offering_id]["version"]}
                    for offering_id in ids])
        rows = db.execute(select(table.c.id, table.c.seats_taken, table.c.waitlist_length, table.c.seats_version)
                          .where(table.c.id.in_(ids)))
        stored = {row.id: {"offering_id": row.id, "taken": row.seats_taken, "waitlisted": row.waitlist_length,
                           "version": row.seats_version} for row in rows}
    return ([stored[offering_id] for offering_id in newest if offering_id in stored],
            [offering_id for offering_id in newest if offering_id not in stored])


def set_sessions(offering: Offering, sessions: list[dict]) -> dict[int, int]:
    """Replace the sessions: ones given with an id are moved (keeping their id), others are added.

    A session's id is kept because calendars derive the event's UID from it. Returns each
    session's place in the request, keyed by id(session), so errors point at what the client sent.
    """
    existing = {session.id: session for session in offering.sessions if session.id is not None}
    problems = [
        FieldError(f"/sessions/{index}/id", f"Sessionen {item['id']} hører ikke til dette udbud.")
        for index, item in enumerate(sessions)
        if "id" in item and item["id"] not in existing
    ]
    if problems:
        raise ValidationFailed("Ukendt session.", problems)
    _refuse_days_in_the_past(existing, sessions)
    kept = []
    for item in sessions:
        session = existing.get(item.get("id")) or Session()
        session.starts_at = item["starts_at"]
        session.ends_at = item["ends_at"]
        kept.append(session)
    offering.sessions = sorted(kept, key=lambda session: session.starts_at)
    offering.starts_at = offering.sessions[0].starts_at
    offering.ends_at = max(session.ends_at for session in offering.sessions)
    return {id(session): index for index, session in enumerate(kept)}


def _refuse_days_in_the_past(existing: dict[int, Session], sessions: list[dict]) -> None:
    """A day added or moved to before today (Danish time) is refused; days already held stay as they were,
    so a running course can still be edited."""
    today = copenhagen_today(now())
    problems = [
        FieldError(f"/sessions/{index}/starts_at", "Dagen ligger i fortiden.")
        for index, item in enumerate(sessions)
        if _local_day(item["starts_at"]) < today
        and ("id" not in item or existing[item["id"]].starts_at != item["starts_at"])
    ]
    if problems:
        raise ValidationFailed("Udbuddet kan ikke have dage i fortiden.", problems)


def check_offering(offering: Offering, positions: dict[int, int] | None = None) -> None:
    """Rules over the whole offering, checked after every change.

    `positions` (from set_sessions) makes session errors point at the client's own list.
    """
    problems: list[FieldError] = []
    sessions = offering.sessions

    def pointer(session: Session, field: str) -> str:
        index = positions[id(session)] if positions else sessions.index(session)
        return f"/sessions/{index}/{field}"

    for earlier, later in zip(sessions, sessions[1:], strict=False):
        if later.starts_at < earlier.ends_at:
            problems.append(FieldError(pointer(later, "starts_at"), "Sessionen overlapper en anden session."))
    for session in sessions:
        if session.ends_at <= session.starts_at:
            problems.append(FieldError(pointer(session, "ends_at"), "Sessionen skal slutte efter den starter."))
        elif (session.ends_at - session.starts_at).total_seconds() > 24 * 3600:
            problems.append(FieldError(pointer(session, "ends_at"), "En session kan højst vare 24 timer."))
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


def _may_see_drafts(actor: Actor, provider_id: int) -> bool:
    return actor.role is Role.SERVICE or _may_edit(actor, provider_id)


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


def _check_reference_free(db: DbSession, provider_id: int, reference: str | None, offering_id: int | None) -> None:
    """Called before the offering changes, so no pending change is flushed into the unique constraint."""
    if reference is None:
        return
    clash = db.scalar(select(Offering.id).where(
        Offering.provider_id == provider_id, Offering.reference == reference, Offering.id != (offering_id or 0),
    ))
    if clash is not None:
        raise ValidationFailed.field("/reference", f"Skolen har allerede et udbud med referencen '{reference}' "
                                                   f"(udbud {clash}).")


def bump_revision(db: DbSession, offering: Offering, *, webhook: bool) -> None:
    """Last in every change: the change feed's number locks its counter until the commit."""
    offering.revision += 1
    offering.updated_at = utcnow()
    record_change(db, offering, webhook=webhook)


def copy_offering(db: DbSession, actor: Actor, offering_id: int, first_day: date,
                  reference: str | None = None) -> Offering:
    """A new draft of the same offering on new dates: the everyday "the same module again next quarter".

    The sessions move together so the first falls on `first_day`, each keeping its Danish wall-clock
    times (the local dates are shifted, not the UTC instants, so a copy across a change of clocks still
    starts at 08:30); the deadline moves by the same number of days, but not before today. Everything
    else is kept, except the school's reference, which is unique per school: the given one or none.
    The copy goes through create_offering's rules like any new offering.
    """
    source = get_offering(db, actor, offering_id)
    _require_editor(actor, source.provider_id)
    if first_day < copenhagen_today(now()):
        raise ValidationFailed.field("/first_day", "Den første dag ligger i fortiden.")
    shift = first_day - _local_day(source.starts_at)
    data = {name: getattr(source, name) for name in EDITABLE_FIELDS}
    data.update(
        module=source.module.code, provider_id=source.provider_id, location_id=source.location_id, status="draft",
        sessions=moved_sessions(source, first_day),
        # Never before today: a copy starting soon still takes enrolments until tonight.
        enrolment_deadline=max(source.enrolment_deadline + shift, copenhagen_today(now())), reference=reference,
    )
    return create_offering(db, actor, data, audit_action="offering.copied", copied_from=source.id)


def moved_sessions(offering: Offering, first_day: date) -> list[dict]:
    """The offering's sessions moved together so the first falls on `first_day`, at the same Danish times."""
    shift = first_day - _local_day(offering.starts_at)
    return [{"starts_at": shift_local(session.starts_at, shift), "ends_at": shift_local(session.ends_at, shift)}
            for session in offering.sessions]


def shift_local(instant: datetime, days: timedelta) -> datetime:
    """The same wall-clock time in Copenhagen, `days` later."""
    local = instant.astimezone(COPENHAGEN)
    return (local.replace(tzinfo=None) + days).replace(tzinfo=COPENHAGEN)


def require_editor(actor: Actor, provider_id: int) -> None:
    """For pages that show a form before the change: the same refusal the change itself would give."""
    _require_editor(actor, provider_id)

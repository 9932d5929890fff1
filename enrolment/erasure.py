"""Erasure of a person (GDPR art. 17): name and e-mail replaced by a pseudonym everywhere, links dead, mails stopped.

What is kept: the person's row (under the pseudonym) and their places, so seat counts, completions
and the statistics built on them stay as they were; the audit trail, whose entries about the person
are rewritten to the pseudonym (the one path allowed to change an audit row, migration 0014).
What goes: the name and e-mail address wherever this service copied them — mails in the outbox (to
the person, and HR's mails naming them), stored idempotent responses, audit entries' changes and
actor names — and the secrets of the feed and "Mine kurser" links. Mails still waiting to be sent to
the person are dropped, so nothing more reaches the old address.

A place the person still holds or waits for in a course not yet on its last day is cancelled first
by the usual rules (the waiting list moves up, the next person hears of it, the catalogue gets the
new counts), only without a mail to the person. Places in courses that have reached their last day
are history (attendance, completion) and stay as they are.

The catalogue holds no participant names or addresses (its pages read participant lists from this
service, and store none), so erasure is this service's alone.
"""

from __future__ import annotations

import json
import re
import secrets
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import func, or_, select, update
from sqlalchemy.orm import Session as DbSession

from enrolment import notices, outbox, seats
from enrolment.enrolments import audit_change
from enrolment.models import (
    ACTIVE_STATUSES,
    AuditEntry,
    Enrolment,
    IdempotencyRecord,
    Interest,
    OutboxMessage,
    Participant,
    new_secret,
)
from enrolment.seats import StatusChange
from shared import audit
from shared.schemas import OfferingSchema

_OFFERING_SCHEMA = OfferingSchema()
# Places that can still be cancelled: the active ones, and a leader's request nobody has confirmed yet.
_CANCELLABLE = (*ACTIVE_STATUSES, "unconfirmed")
ERASED_NAME = "Slettet person"
# The transaction-local setting the audit trigger (migration 0014) checks before it lets an UPDATE through.
PSEUDONYMISING = "glu.pseudonymising"


@dataclass(frozen=True)
class Erasure:
    """What erasing a person did; `already_erased` when they had been erased before (then nothing was done)."""

    participant_id: int
    erased_at: datetime
    already_erased: bool = False
    cancelled: tuple[int, ...] = ()  # the person's places cancelled now
    promoted: tuple[int, ...] = ()  # others' places confirmed from the waiting list into the freed seats
    mails_dropped: int = 0  # mails to the person that were still waiting to be sent
    audit_entries_rewritten: int = 0
    changes: list[StatusChange] = field(default_factory=list, repr=False, compare=False)

    @property
    def cancelled_count(self) -> int:
        return len(self.cancelled)


def erase_participant(db: DbSession, participant: Participant, *, actor: audit.AuditActor,
                      now: datetime) -> Erasure:
    """Erase the person (see the module's docstring); a second erasure does nothing and says so.

    `actor` is who erases, as the audit log names them (audit.SYSTEM for the retention purge).
    The caller has checked that the actor may; the caller commits.
    """
    if participant.erased_at is not None:
        return Erasure(participant.id, participant.erased_at, already_erased=True)
    # The offerings' locks first, in the order of their ids (as everyone taking several does), then the
    # person's row: the order in which an enrolment takes them (offering, then find_or_add_participant).
    locked = {offering_id: seats.lock_offering(db, offering_id)
              for offering_id in sorted({place.offering_id for place in _open_places(db, participant)})}
    db.scalars(select(Participant).where(Participant.id == participant.id).with_for_update()
               .execution_options(populate_existing=True)).one()
    if participant.erased_at is not None:  # erased by someone else while this one waited for the locks
        return Erasure(participant.id, participant.erased_at, already_erased=True)
    # Read again under the person's lock: a place added meanwhile has committed by now (its row's foreign
    # key share-locks the person, which FOR UPDATE waited for), and no new one can be added until this
    # commits. Its offering, if new, is locked out of order; PostgreSQL resolves the rare deadlock by
    # refusing one of the two transactions, and the erasure can simply be asked again.
    places = _open_places(db, participant)
    for offering_id in sorted({place.offering_id for place in places} - set(locked)):
        locked[offering_id] = seats.lock_offering(db, offering_id)

    cancelled, promoted = _cancel_places(db, participant, places, locked, actor, now)
    name, email = participant.name, participant.email
    code = secrets.token_hex(8)
    participant.name = f"{ERASED_NAME} {code}"
    participant.email = participant.email_key = f"slettet-{code}@invalid"
    participant.feed_token, participant.page_token = new_secret(), new_secret()  # the old links are dead
    participant.erased_at = now
    _end_interests(db, participant, actor, now)
    for place in db.scalars(select(Enrolment).where(Enrolment.participant_id == participant.id,
                                                    Enrolment.completion_note.is_not(None))):
        place.completion_note = _replaced(place.completion_note, name, email, participant)  # the school's words
    dropped = _scrub_outbox(db, name, email, participant)
    _scrub_idempotent_responses(db, name, email, participant)
    rewritten = _scrub_audit(db, participant, name, email)
    audit.record(db, "participant.erased", "participant", participant.id, tenant_id=participant.organisation_id,
                 actor=actor, changes={"erased": [False, True],
                                       "cancelled": [None, [change.enrolment.id for change in cancelled]]})
    db.flush()
    return Erasure(participant.id, now, False, tuple(change.enrolment.id for change in cancelled),
                   tuple(change.enrolment.id for change in promoted), dropped, rewritten, [*cancelled, *promoted])


def _open_places(db: DbSession, participant: Participant) -> list[Enrolment]:
    return list(db.scalars(select(Enrolment).where(Enrolment.participant_id == participant.id,
                                                   Enrolment.status.in_(_CANCELLABLE))
                           .order_by(Enrolment.offering_id, Enrolment.id)))


def _cancel_places(db: DbSession, participant: Participant, places: list[Enrolment], locked: dict, actor, now):
    cancelled: list[StatusChange] = []
    promoted: list[StatusChange] = []
    for place in places:
        offering_seats = locked[place.offering_id]
        db.refresh(place)  # as committed by whoever held the lock before (seats.lock_enrolment)
        if place.participant_id != participant.id or place.status not in _CANCELLABLE:
            continue
        if offering_seats.snapshot and _last_day_begun(offering_seats, now):
            continue  # the course has reached its last day: the place is history, kept for completion and counts
        # Past the enrolment deadline too, unlike HR's own cancellation: the person is gone, and a seat held
        # under a pseudonym would only keep someone on the waiting list out.
        change = seats.set_status(db, offering_seats, place, "cancelled", ended_by="organisation")
        moved_up = seats.promote_waiting(db, offering_seats)
        # No mail to the erased person; those who moved up hear of it as after any cancellation.
        notices.status_changed(db, moved_up)
        outbox.report_seats(db, offering_seats)
        audit_change(db, "enrolment.cancelled", place, change.before, actor=actor)
        for up in moved_up:
            audit_change(db, "enrolment.promoted", up.enrolment, up.before, actor=audit.SYSTEM)
        cancelled.append(change)
        promoted.extend(moved_up)
    return cancelled, promoted


def _last_day_begun(offering_seats, now: datetime) -> bool:
    sessions = _OFFERING_SCHEMA.load(offering_seats.snapshot)["sessions"]
    return bool(sessions) and now >= max(session["starts_at"] for session in sessions)


def _end_interests(db: DbSession, participant: Participant, actor, now: datetime) -> None:
    """Active interests end, withdrawn: the matching job would otherwise write to the pseudonym's address."""
    for interest in db.scalars(select(Interest).where(Interest.participant_id == participant.id,
                                                      Interest.ended_at.is_(None))):
        interest.ended_at, interest.end_reason = now, "withdrawn"
        audit.record(db, "interest.withdrawn", "interest", interest.id, tenant_id=interest.organisation_id,
                     actor=actor, changes={"end_reason": [None, "withdrawn"]})


def _scrub_outbox(db: DbSession, name: str, email: str, participant: Participant) -> int:
    """Mails to the person: waiting ones dropped, sent ones kept (subject, when) without body or attachment.
    Other mails naming them (HR's of a cancelled course): the name and address replaced in the text."""
    mine = list(db.scalars(select(OutboxMessage).where(OutboxMessage.kind == outbox.MAIL,
                                                       func.lower(OutboxMessage.recipient) == email.strip().lower())))
    dropped = 0
    for message in mine:
        if message.delivered_at is None:
            db.delete(message)
            dropped += 1
        else:
            message.recipient = participant.email
            message.subject = _replaced(message.subject, name, email, participant)
            message.body, message.calendar = None, None
            message.last_error = _replaced(message.last_error, name, email, participant)  # an SMTP refusal names it
    mine_ids = {message.id for message in mine}
    naming = db.scalars(select(OutboxMessage).where(OutboxMessage.kind == outbox.MAIL, or_(
        OutboxMessage.body.contains(name, autoescape=True), OutboxMessage.body.contains(email, autoescape=True),
        OutboxMessage.subject.contains(name, autoescape=True), OutboxMessage.subject.contains(email, autoescape=True))))
    for message in naming:
        if message.id not in mine_ids:
            # Mails to others may name other people too: the name is replaced where it stands as a whole
            # (not "Anne" inside "Annette"), so a colleague's name stays readable.
            message.subject = _replaced(message.subject, name, email, participant, whole_words=True)
            message.body = _replaced(message.body, name, email, participant, whole_words=True)
    return dropped


def _scrub_idempotent_responses(db: DbSession, name: str, email: str, participant: Participant) -> None:
    """Stored answers to repeated requests (an enrolment's JSON names its holder): the pseudonym in their stead.

    Replaced rather than deleted, so a repeat of the request within the window still gets the answer it
    got, instead of enrolling the person anew."""
    table = IdempotencyRecord.__table__
    pairs = []
    for old, new in ((email, participant.email), (name, participant.name)):
        pairs.append((old.encode(), new.encode()))
        escaped = json.dumps(old)[1:-1].encode()  # as the JSON of a response writes it (\u00f8 for ø)
        if escaped != old.encode():
            pairs.append((escaped, json.dumps(new)[1:-1].encode()))
    for row in db.execute(select(table.c.id, table.c.response_body).where(table.c.response_body.is_not(None))):
        body = row.response_body
        for old, new in pairs:
            body = body.replace(old, new)
        if body != row.response_body:
            db.execute(update(table).where(table.c.id == row.id).values(response_body=body))


def _scrub_audit(db: DbSession, participant: Participant, name: str, email: str) -> int:
    """Entries about the person, their places or interests, or by them: name and address replaced by the pseudonym.

    The one UPDATE of audit rows there is: on PostgreSQL the trigger lets it through only with the
    transaction-local setting on, and only for `changes` and `actor_name` (migration 0014).
    """
    places = select(Enrolment.id).where(or_(Enrolment.participant_id == participant.id,
                                            Enrolment.id.in_(select(Enrolment.moved_to_id).where(
                                                Enrolment.participant_id == participant.id))))
    place_ids = [str(place_id) for place_id in db.scalars(places)]
    interest_ids = [str(interest_id) for interest_id in db.scalars(
        select(Interest.id).where(Interest.participant_id == participant.id))]
    entries = db.scalars(select(AuditEntry).where(or_(
        (AuditEntry.object_type == "participant") & (AuditEntry.object_id == str(participant.id)),
        (AuditEntry.object_type == "enrolment") & AuditEntry.object_id.in_(place_ids),
        (AuditEntry.object_type == "interest") & AuditEntry.object_id.in_(interest_ids),
        (AuditEntry.actor_type == "participant") & (AuditEntry.actor_id == participant.id),
    ))).all()
    rewritten = []
    for entry in entries:
        changes = _replaced_in(entry.changes, name, email, participant)
        actor_name = _replaced(entry.actor_name, name, email, participant)
        if changes != entry.changes or actor_name != entry.actor_name:
            rewritten.append({"entry_id": entry.id, "changes": changes, "actor_name": actor_name})
    if not rewritten:
        return 0
    if db.get_bind().dialect.name == "postgresql":
        db.execute(select(_set_config()))
    table = AuditEntry.__table__
    for values in rewritten:
        db.execute(update(table).where(table.c.id == values["entry_id"])
                   .values(changes=values["changes"], actor_name=values["actor_name"]))
    for entry in entries:
        db.expire(entry)
    return len(rewritten)


def _set_config():
    return func.set_config(PSEUDONYMISING, "on", True)  # is_local: ends with this transaction


def _replaced(text: str | None, name: str, email: str, participant: Participant, *,
              whole_words: bool = False) -> str | None:
    if not text:
        return text
    text = text.replace(email, participant.email)
    if not name:
        return text
    if whole_words:
        return re.sub(rf"(?<!\w){re.escape(name)}(?!\w)", lambda _: participant.name, text)
    return text.replace(name, participant.name)


def _replaced_in(value, name: str, email: str, participant: Participant):
    if isinstance(value, dict):
        return {key: _replaced_in(item, name, email, participant) for key, item in value.items()}
    if isinstance(value, list):
        return [_replaced_in(item, name, email, participant) for item in value]
    if isinstance(value, str):
        return _replaced(value, name, email, participant)
    return value

"""The enrolment service's retention purge: what each purpose keeps past its period goes (shared.retention).

Run every night by the job engine (enrolment.jobs, `purge`) and by hand (`flask --app enrolment purge
[--dry-run]`). Each purpose, and what it removes:

- `enrolment`: the personal data of a participant whose every course ended more than
  RETENTION_ENROLMENT_MONTHS ago, whose completions are past their organisation's completion retention
  (Organisation.completion_retention_years, else RETENTION_COMPLETION_YEARS) and who has no interest
  list entry still open: erased as an erasure request would (enrolment.erasure.erase_participant: name
  and address replaced by a pseudonym everywhere, links dead). Their places stay, under the
  pseudonym, as the invoice basis and the statistics (which organisation held which seat).
- `mail_body`: the body and calendar attachment of mails the outbox delivered (or gave up on) more
  than RETENTION_MAIL_BODY_WEEKS ago; the row (to whom, subject, when) stays.
- `delivery`: seat counts the outbox delivered to the catalogue more than RETENTION_DELIVERY_DAYS ago.
- `sign_in`, `audit`: as in both services (shared.retention).

Idempotency records are not here: they are forgotten after a day by `purge-idempotency`
(shared.idempotency), far within any retention. Invoice details (the organisation's EAN number, order
reference, cost centre) are the organisation's current settings, not personal data, and stay while it
is a customer; the bookkeeping trail of them is in the audit entries, kept at least
RETENTION_INVOICE_YEARS after the end of their financial year (Retention.audit_cutoff).

`purge` returns the count per purpose; with `dry_run` it removes nothing and returns the same counts.
The caller commits, with one audit entry of the counts (shared.retention.run_purge).
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime

from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.orm import Session as DbSession
from sqlalchemy.orm import joinedload

from enrolment.erasure import erase_participant
from enrolment.models import ACCOUNTS, AuditEntry, Enrolment, Interest, OutboxMessage, Participant
from shared import audit
from shared.clock import COPENHAGEN, copenhagen_today
from shared.retention import Retention, months_before, purge_audit, purge_sign_in, remove, years_before

PURPOSES = ("enrolment", "mail_body", "delivery", "sign_in", "audit")


def purge(db: DbSession, *, now: datetime, settings: Retention, dry_run: bool = False) -> dict[str, int]:
    counts = {
        "enrolment": purge_participants(db, now, settings, dry_run=dry_run),
        "mail_body": purge_mail_bodies(db, now, settings, dry_run=dry_run),
        "delivery": purge_deliveries(db, now, settings, dry_run=dry_run),
        "sign_in": purge_sign_in(db, ACCOUNTS, now, settings, dry_run=dry_run),
        "audit": purge_audit(db, AuditEntry, now, settings, dry_run=dry_run),
    }
    return counts


# --- Participants ---------------------------------------------------------------------------------

def due_participants(db: DbSession, now: datetime, settings: Retention) -> list[Participant]:
    """Participants not yet erased whose data no purpose needs any more (see the module's docstring)."""
    today = copenhagen_today(now)
    ended_before = months_before(today, settings.enrolment_months)
    places: dict[int, list[Enrolment]] = defaultdict(list)
    for enrolment in db.scalars(select(Enrolment).join(Participant)
                                .where(Participant.erased_at.is_(None))
                                .options(joinedload(Enrolment.seats), joinedload(Enrolment.organisation))):
        places[enrolment.participant_id].append(enrolment)
    interests: dict[int, list[Interest]] = defaultdict(list)
    for interest in db.scalars(select(Interest).join(Participant).where(Participant.erased_at.is_(None))):
        interests[interest.participant_id].append(interest)
    candidates = db.scalars(select(Participant).where(Participant.erased_at.is_(None))
                            .options(joinedload(Participant.organisation)).order_by(Participant.id))
    return [participant for participant in candidates
            if _local_day(participant.created_at) < ended_before
            and all(_place_done(place, today, ended_before, settings) for place in places[participant.id])
            and all(interest.ended_at is not None and _local_day(interest.ended_at) < ended_before
                    for interest in interests[participant.id])]


def purge_participants(db: DbSession, now: datetime, settings: Retention, *, dry_run: bool) -> int:
    due = due_participants(db, now, settings)
    if not dry_run:
        for participant in due:
            erase_participant(db, participant, actor=audit.SYSTEM, now=now)
    return len(due)


def _place_done(place: Enrolment, today: date, ended_before: date, settings: Retention) -> bool:
    """The place's course ended before `ended_before`, and its completion (if any) is past its retention."""
    last_day = _last_day(place)
    if last_day >= ended_before:
        return False
    if place.completion is None:
        return True
    years = place.organisation.completion_retention_years
    kept_years = settings.completion_years if years is None else years
    return (place.completed_on or last_day) < years_before(today, kept_years)


def _last_day(place: Enrolment) -> date:
    """The course's last day (Danish date), as the catalogue last described it; never before the place's
    own last change, so a place changed after its course (a late completion, a cancellation) counts from then."""
    sessions = (place.seats.snapshot or {}).get("sessions") or []
    ends = [datetime.fromisoformat(session["ends_at"]) for session in sessions if session.get("ends_at")]
    days = [_local_day(end) for end in ends] + [_local_day(place.updated_at)]
    if place.completed_on is not None:
        days.append(place.completed_on)
    return max(days)


def _local_day(instant: datetime) -> date:
    return instant.astimezone(COPENHAGEN).date()


# --- The outbox ---------------------------------------------------------------------------------------

def _finished_before(cutoff: datetime):
    """Delivered before `cutoff`, or given up (no delivery, nothing due) on a message made before it."""
    return or_(OutboxMessage.delivered_at < cutoff,
               and_(OutboxMessage.delivered_at.is_(None), OutboxMessage.due_at.is_(None),
                    OutboxMessage.created_at < cutoff))


def purge_mail_bodies(db: DbSession, now: datetime, settings: Retention, *, dry_run: bool) -> int:
    condition = and_(OutboxMessage.kind == "mail", _finished_before(now - settings.mail_body),
                     or_(OutboxMessage.body.is_not(None), OutboxMessage.calendar.is_not(None)))
    count = db.scalar(select(func.count()).select_from(OutboxMessage).where(condition))
    if count and not dry_run:
        db.execute(update(OutboxMessage).where(condition).values(body=None, calendar=None)
                   .execution_options(synchronize_session=False))
    return count


def purge_deliveries(db: DbSession, now: datetime, settings: Retention, *, dry_run: bool) -> int:
    return remove(db, OutboxMessage, and_(OutboxMessage.kind == "seat_counts",
                                          _finished_before(now - settings.delivery)), dry_run=dry_run)




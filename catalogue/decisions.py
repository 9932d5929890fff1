"""Go or no-go: by an offering's decision date the school decides whether the course is held or cancelled.

- Every offering has a `decision_date` (`place_decision_date`): by default
  DECISION_DAYS_BEFORE_START days before its first day, never after it, never before the day it is set.
- The school (or an administrator) decides with `decide`: "held" is recorded as a change of the
  offering (a new revision, in the change feed and the webhook, so the enrolment service tells its
  participants "Holdet gennemføres"); "cancelled" is `offerings.cancel_offering` with the reason.
- The hourly `decide-offerings` job (`run_due_decisions`) reminds the school on the decision date,
  and once the school's grace (`Provider.decision_grace_days`) is over without a decision, applies
  its policy: enough participants (or no minimum) are always held; too few are cancelled under the
  policy "cancel" and held under "hold".

Why the job decides once, however often and on however many workers it runs: each offering is
handled in a transaction of its own that first locks the offering's row (SELECT … FOR UPDATE on
PostgreSQL; on SQLite every transaction holds the database's write lock, shared.db) and only then
reads it again. Whoever else could remind or decide — the job on another worker, the school
pressing a button — takes the same lock first, so the second waits for the first to commit and then
finds the reminder sent or the decision made, and does nothing. A decision is never overwritten:
`decision` goes from None to a value once, and `decide` refuses an offering already decided.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, timedelta

from flask import current_app
from sqlalchemy import func, select
from sqlalchemy.orm import Session as DbSession

from catalogue import offerings
from catalogue.models import ACCOUNTS, Offering, Provider
from catalogue.providers import get_provider
from shared import audit
from shared.auth import Actor, Role
from shared.clock import COPENHAGEN, copenhagen_today, now
from shared.errors import Conflict, DomainError, FieldError, Forbidden, ValidationFailed
from shared.go_no_go import day_and_month, decision_line
from shared.links import absolute_url
from shared.mail import queue_mail
from shared.transaction import commit, rollback

log = logging.getLogger(__name__)

DECISIONS = ("held", "cancelled")
POLICIES = ("cancel", "hold")
POLICY_LABELS = {"cancel": "Aflys automatisk", "hold": "Gennemfør alligevel"}
MAX_GRACE_DAYS = 30
DEFAULT_DAYS_BEFORE_START = 14


# --- The decision date ------------------------------------------------------------------------------

def default_decision_date(first_day: date, today: date, days_before: int) -> date:
    """`days_before` days before the first day; if that has passed, today; never after the first day."""
    return min(max(first_day - timedelta(days=days_before), today), first_day)


def place_decision_date(offering: Offering, given: date | None, *, first_day_before: date | None = None,
                        publishing: bool = False) -> None:
    """Set the decision date of an offering just made (`first_day_before` None) or just changed.

    The rule, kept simple: a date the school gives is checked and kept. Without one, a new offering
    gets the default (`default_decision_date`); an edit that moves the first day by n days moves the
    decision date by n days too, and publishing a draft brings a date already past up to today —
    both within the same bounds (never after the first day; if before today, today). So the school's
    distance to the first day is kept whether it chose the date or took the default, and nothing needs
    to remember which it was. Other edits leave the date alone, and so does every edit once the
    offering is decided: its date is history then.

    Refused (422, /decision_date): a date after the first day; a new date before today; a new date
    for an offering already decided.
    """
    today = copenhagen_today(now())
    first_day = offering.starts_at.astimezone(COPENHAGEN).date()
    current = offering.decision_date
    if given is not None:
        problems = []
        if given > first_day:
            problems.append("Afgørelsesdatoen skal ligge senest på dagen for første session.")
        if given != current and given < today:
            problems.append("Afgørelsesdatoen kan ikke ligge før i dag.")
        if given != current and offering.decision is not None:
            problems.append("Holdet er allerede afgjort; afgørelsesdatoen kan ikke ændres.")
        if problems:
            raise ValidationFailed("Afgørelsesdatoen er ugyldig.",
                                   [FieldError("/decision_date", message) for message in problems])
        offering.decision_date = given
    elif current is None:
        offering.decision_date = default_decision_date(first_day, today, _days_before_start())
    elif offering.decision is None and first_day_before is not None and first_day_before != first_day:
        offering.decision_date = _within_bounds(current + (first_day - first_day_before), first_day, today)
    elif offering.decision is None and publishing:
        offering.decision_date = _within_bounds(current, first_day, today)


def _within_bounds(day: date, first_day: date, today: date) -> date:
    return min(max(day, today), first_day)


def _days_before_start() -> int:
    return int(current_app.config.get("DECISION_DAYS_BEFORE_START", DEFAULT_DAYS_BEFORE_START))


# --- Deciding -----------------------------------------------------------------------------------------

def decide(db: DbSession, actor: Actor, offering_id: int, decision: str, reason: str | None, *,
           webhook: bool = False) -> Offering:
    """The school (or an administrator) decides: "held", or "cancelled" with a reason for the participants.

    Locks the offering, then checks what it says now: a draft, a cancelled or an already decided
    offering is a 409; another school's offering a 403 (its draft a 404, as everywhere).
    """
    offering = offerings.get_offering(db, actor, offering_id, for_update=True)
    offerings.require_editor(actor, offering.provider_id)
    _require_undecided(offering)
    if decision == "cancelled":
        if not reason:
            raise ValidationFailed.field("/reason", "Skriv årsagen til aflysningen; deltagerne får den at vide.")
        offerings.cancel_offering(db, actor, offering_id, reason, webhook=webhook)
        _record_decision(db, offering, reason)
        return offering
    return _hold(db, offering, reason, webhook=webhook)


def _require_undecided(offering: Offering) -> None:
    if offering.status == "draft":
        raise Conflict("En kladde kan ikke afgøres; udgiv den først.")
    if offering.status == "cancelled":
        raise Conflict("Udbuddet er aflyst.")
    if offering.decision is not None:
        raise Conflict("Holdet er allerede afgjort: det gennemføres.")


def _hold(db: DbSession, offering: Offering, reason: str | None, *, webhook: bool) -> Offering:
    """Record "held" like every other change of the school: a new revision, the change feed, the webhook."""
    offering.decision = "held"
    offering.decided_at = now()
    offerings.bump_revision(db, offering, webhook=webhook)
    db.flush()
    _record_decision(db, offering, reason)
    return offering


def _record_decision(db: DbSession, offering: Offering, reason: str | None) -> None:
    audit.record(db, "offering.decided", "offering", offering.id, tenant_id=offering.provider_id,
                 changes={"decision": [None, offering.decision], **({"reason": [None, reason]} if reason else {})})


# --- The job: remind, then apply the school's policy ---------------------------------------------------

@dataclass
class DecisionReport:
    reminded: int = 0
    held: int = 0
    cancelled: int = 0
    failed: int = 0


def run_due_decisions(db: DbSession, today: date, *, webhook: bool = False) -> DecisionReport:
    """Remind and decide every published, undecided offering whose decision date is `today` or earlier.

    Courses that have begun are left alone: deciding on them would tell nobody anything useful.
    Each offering is handled and committed on its own (see the module's docstring for why two
    runs at once decide once); one that fails is logged and left for the next run.
    """
    report = DecisionReport()
    due = list(db.scalars(select(Offering.id).where(
        Offering.status == "published", Offering.decision.is_(None), Offering.decision_date <= today,
        Offering.starts_at > now()).order_by(Offering.id)))
    rollback(db)
    for offering_id in due:
        try:
            outcome = _handle_due(db, offering_id, today, webhook=webhook)
            commit(db)
        except DomainError as error:
            rollback(db)
            report.failed += 1
            log.warning("Offering %s not decided: %s", offering_id, error.detail)
            continue
        for name in outcome:
            setattr(report, name, getattr(report, name) + 1)
    return report


def _handle_due(db: DbSession, offering_id: int, today: date, *, webhook: bool) -> list[str]:
    # Lock, then read again: what another run (or the school) committed meanwhile is what is checked.
    offering = db.get(Offering, offering_id, with_for_update=True, populate_existing=True)
    if (offering is None or offering.status != "published" or offering.decision is not None
            or offering.decision_date > today or offering.starts_at <= now()):
        return []
    done = []
    if offering.decision_reminded_at is None:
        _remind(db, offering)
        done.append("reminded")
    provider = offering.provider
    if today >= offering.decision_date + timedelta(days=provider.decision_grace_days):
        minimum = offering.min_participants
        if not minimum or offering.seats_taken >= minimum or provider.decision_policy == "hold":
            _hold(db, offering, None, webhook=webhook)
            done.append("held")
        else:
            reason = f"For få tilmeldte ({offering.seats_taken} af mindst {minimum})"
            # The school's own standing instruction, so the job acts as the school, and only on its offering.
            school = Actor(role=Role.SCHOOL, provider_id=offering.provider_id)
            offerings.cancel_offering(db, school, offering.id, reason, webhook=webhook)
            _record_decision(db, offering, reason)
            done.append("cancelled")
    return done


def _remind(db: DbSession, offering: Offering) -> None:
    """Mail the offering's contact address and the school's people: decide now, or the policy will."""
    provider = offering.provider
    grace_ends = offering.decision_date + timedelta(days=provider.decision_grace_days)
    first_day = offering.starts_at.astimezone(COPENHAGEN).date()
    title = f"{offering.module.code} {offering.module.title}, {day_and_month(first_day)} {first_day.year}"
    if provider.decision_policy == "cancel" and offering.min_participants:
        otherwise = (f"aflyses holdet automatisk, hvis der stadig er færre end {offering.min_participants} "
                     f"tilmeldte, og ellers gennemføres det")
    else:
        otherwise = "gennemføres holdet"
    body = "\n".join([
        "Hej", "",
        f"{title} ({offering.location.short_name}):",
        f"{status_line(offering)}.",
        *([f"{offering.waitlist_length} står på venteliste."] if offering.waitlist_length else []), "",
        "Skal holdet gennemføres eller aflyses? Afgør det på skolens side:",
        absolute_url(f"/skole#udbud-{offering.id}"), "",
        f"Er holdet ikke afgjort senest {day_and_month(grace_ends)}, {otherwise} "
        f"(skolens indstilling, som en skoleadministrator kan ændre: {absolute_url('/skole/indstillinger')}).",
    ])
    for address in _school_addresses(db, offering):
        queue_mail(db, address, f"Afgør holdet: {title}", body)
    offering.decision_reminded_at = now()
    audit.record(db, "offering.decision_reminded", "offering", offering.id, tenant_id=offering.provider_id,
                 changes={"decision_reminded_at": [None, offering.decision_reminded_at.isoformat()]})


def _school_addresses(db: DbSession, offering: Offering) -> list[str]:
    """The offering's contact address and every member of the school, each address once."""
    members = db.scalars(select(ACCOUNTS.Person.email).join(
        ACCOUNTS.Membership, ACCOUNTS.Membership.person_id == ACCOUNTS.Person.id)
        .where(ACCOUNTS.Membership.tenant_id == offering.provider_id).order_by(func.lower(ACCOUNTS.Person.email)))
    addresses: dict[str, str] = {}
    for address in [offering.contact_email, *members]:
        addresses.setdefault(address.casefold(), address)
    return list(addresses.values())


# --- What the pages show ------------------------------------------------------------------------------

def status_line(offering: Offering) -> str | None:
    """"4 af mindst 6 tilmeldt — afgøres 13. januar", "Gennemføres", "Aflyst: …" (shared.go_no_go)."""
    return decision_line(status=offering.status, decision=offering.decision, decision_date=offering.decision_date,
                         taken=offering.seats_taken, minimum=offering.min_participants,
                         told_confirmed=offering.participants_at_cancellation,
                         told_waitlisted=offering.waitlisted_at_cancellation)


# --- The school's policy ------------------------------------------------------------------------------

def may_set_policy(actor: Actor, provider_id: int) -> bool:
    """An administrator, or the school itself: its school admin, or an operator's token for the school
    (which carries no member role); not a course administrator or a course administrator's API key."""
    return actor.role is Role.ADMIN or (actor.is_school_of(provider_id) and actor.member_role in (None, "school_admin"))


def set_decision_policy(db: DbSession, actor: Actor, provider_id: int, changes: dict) -> Provider:
    """The school's admin (or an administrator) sets what happens to offerings nobody decides on in time.

    A course administrator may decide each offering, but not the school's standing rule (403).
    """
    if not may_set_policy(actor, provider_id):
        raise Forbidden("Kun skolens administrator kan ændre skolens regel for afgørelser.")
    provider = get_provider(db, provider_id)
    before = {name: getattr(provider, name) for name in changes}
    for name, value in changes.items():
        setattr(provider, name, value)
    db.flush()
    audit.record(db, "school.changed", "provider", provider.id, tenant_id=provider.id,
                 changes=audit.changed(before, dict(changes)))
    return provider

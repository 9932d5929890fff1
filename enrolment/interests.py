"""Interest lists across runs: "tell me (or enrol me) when there is a hold of this module in my region".

A leader (through their "Mine kurser" link) or HR (for its organisation's staff) registers interest
in a module, for one or more regions, optionally for a course starting before a day. Whenever an
offering of that module in one of those regions has a free seat and nobody waiting — just
published, a seat given back, the capacity raised — the job `match-interests` tells the interested,
first registered first told, and enrols those whose HR chose it by the organisation's usual rules.

Why matching is race-free and tells once:

- The job locks the offering's seat row (seats.lock_offering) and reads the seat counts again
  before it decides, like every other change of who holds a seat; an automatic enrolment takes a
  seat with seats.place_in_line under that lock, so it and an ordinary enrolment at once cannot
  both take the last seat.
- The interests are read again under FOR UPDATE, in id order (the same order in every run, so two
  runs for two offerings cannot deadlock): an interest enrolled through one offering is ended
  before another run sees it, and a withdrawal waits for the run (or the run for it).
- Who was told of which offering is an `InterestNotice` row (unique per interest and offering),
  written in the same transaction: a second run of the job, or a run after a later change, finds
  it and tells nobody twice.

Which module exists is the catalogue's to say (it owns the modules): registering asks it, with the
client's timeout, and while it cannot be reached an interest cannot be registered (503, "try
again") rather than be stored for a module that may not exist — a wrong code would never match.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import date

from sqlalchemy import Select, select
from sqlalchemy.orm import Session as DbSession
from sqlalchemy.orm import joinedload

from enrolment import enrolments, notices, outbox, seats
from enrolment.models import (
    ACTIVE_STATUSES,
    Enrolment,
    Interest,
    InterestNotice,
    OfferingSeats,
    Organisation,
    Participant,
)
from enrolment.organisations import find_or_add_participant, organisation_in_scope
from shared import audit
from shared.auth import Actor, Role
from shared.clock import COPENHAGEN
from shared.db import MAX_ID, utcnow
from shared.errors import Conflict, FieldError, Forbidden, NotFound, ValidationFailed
from shared.geography import REGIONS, region_code
from shared.schemas import OfferingSchema
from shared.transaction import after_commit, commit

MATCH_JOB = seats.INTEREST_MATCH_JOB
_OFFERING_SCHEMA = OfferingSchema()


# --- Registering, listing, withdrawing --------------------------------------------------------------

def register_for_staff(db: DbSession, actor: Actor, catalogue, data: dict, today: date) -> Interest:
    """HR registers interest for one of its organisation's staff (added the first time), optionally to be enrolled."""
    organisation = organisation_in_scope(db, actor, data.get("organisation"))
    regions, before = _checked(data, today)
    module = _known_module(catalogue, data["module"])
    person, _ = find_or_add_participant(db, organisation, data["participant"]["name"], data["participant"]["email"])
    return _register(db, person, module, regions, before, auto_enrol=data.get("auto_enrol", False),
                     registered_by="hr", actor=None)


def register_own(db: DbSession, participant: Participant, catalogue, data: dict, today: date) -> Interest:
    """A leader registers their own interest through their "Mine kurser" link (to be told, not enrolled)."""
    regions, before = _checked(data, today)
    module = _known_module(catalogue, data["module"])
    return _register(db, participant, module, regions, before, auto_enrol=False, registered_by="participant",
                     actor=_leader(participant))


def _checked(data: dict, today: date) -> tuple[list[str], date | None]:
    errors = []
    regions: list[str] = []
    for index, given in enumerate(data["regions"]):
        code = region_code(given)
        if code is None:
            errors.append(FieldError(f"/regions/{index}", f"Regionen '{given}' findes ikke. Vælg en af Danmarks "
                                                          "fem regioner."))
        elif code not in regions:
            regions.append(code)
    before = data.get("before")
    if before is not None and before <= today:
        errors.append(FieldError("/before", "Datoen skal ligge efter i dag."))
    if errors:
        raise ValidationFailed(errors[0].message, errors)
    return regions, before


def _known_module(catalogue, code: str) -> str:
    wanted = code.strip().casefold()
    for known in catalogue.module_codes():
        if known.casefold() == wanted:
            return known
    raise ValidationFailed.field("/module", f"Modulet '{code}' findes ikke i kataloget.")


def _register(db: DbSession, person: Participant, module: str, regions: list[str], before: date | None, *,
              auto_enrol: bool, registered_by: str, actor) -> Interest:
    # Checked here for a clear message; two registrations at once are decided by the partial unique
    # index uq_interest_active_participant_module (the second is refused as a conflict).
    existing = db.scalar(select(Interest).where(Interest.participant_id == person.id, Interest.module_code == module,
                                                Interest.ended_at.is_(None)))
    if existing is not None:
        raise Conflict(f"{person.email} står allerede på interesselisten for {module} (interesse {existing.id}).")
    interest = Interest(participant=person, organisation_id=person.organisation_id, module_code=module,
                        regions=regions, before=before, auto_enrol=auto_enrol, registered_by=registered_by,
                        created_at=utcnow())
    db.add(interest)
    db.flush()
    audit.record(db, "interest.registered", "interest", interest.id, tenant_id=person.organisation_id, actor=actor,
                 changes={"participant": [None, person.id], "module": [None, module], "regions": [None, regions],
                          "auto_enrol": [None, auto_enrol]})
    # An offering with free seats may exist already: the job tells (or enrols) at once.
    after_commit(db, MATCH_JOB)
    return interest


@dataclass(frozen=True)
class InterestFilters:
    module: str | None = None
    status: str | None = None  # "active" or "ended"
    organisation: str | None = None


def interests_query(actor: Actor, filters: InterestFilters) -> Select:
    """The interests the caller may see: HR its own organisation's, an administrator all (or one's)."""
    if actor.role not in (Role.HR, Role.ADMIN):
        raise Forbidden("Kun HR og administratorer kan se interesselister.")
    statement = (select(Interest).join(Interest.organisation).options(joinedload(Interest.participant))
                 .order_by(Interest.created_at, Interest.id))
    if actor.role is Role.HR:
        if filters.organisation not in (None, actor.organisation):
            raise Forbidden("Du kan kun se din egen organisations interesser.")
        statement = statement.where(Organisation.key == actor.organisation)
    elif filters.organisation:
        statement = statement.where(Organisation.key == filters.organisation)
    if filters.module:
        statement = statement.where(Interest.module_code == filters.module)
    if filters.status == "active":
        statement = statement.where(Interest.ended_at.is_(None))
    elif filters.status == "ended":
        statement = statement.where(Interest.ended_at.is_not(None))
    return statement


def own_interests(db: DbSession, participant: Participant) -> list[Interest]:
    return list(db.scalars(select(Interest).where(Interest.participant_id == participant.id,
                                                  Interest.ended_at.is_(None))
                           .order_by(Interest.created_at, Interest.id)))


def get_interest(db: DbSession, actor: Actor, interest_id: int, *, lock: bool = False) -> Interest:
    """An interest the caller may see; another organisation's is as unknown as a missing one."""
    if actor.role not in (Role.HR, Role.ADMIN):
        raise Forbidden("Kun HR og administratorer kan se interesser.")
    interest = _locked(db, interest_id) if lock else (db.get(Interest, interest_id) if 0 < interest_id <= MAX_ID
                                                      else None)
    if interest is None or (actor.role is Role.HR and interest.organisation.key != actor.organisation):
        raise NotFound(f"Interesse {interest_id} findes ikke.")
    return interest


def withdraw_interest(db: DbSession, actor: Actor, interest_id: int) -> Interest:
    """HR withdraws one of its organisation's interests (it ends as withdrawn and is kept, for the record)."""
    return _withdraw(db, get_interest(db, actor, interest_id, lock=True), None)


def withdraw_own_interest(db: DbSession, participant: Participant, interest_id: int) -> Interest:
    interest = _locked(db, interest_id)
    if interest is None or interest.participant_id != participant.id:
        raise NotFound(f"Interesse {interest_id} findes ikke.")
    return _withdraw(db, interest, _leader(participant))


def _locked(db: DbSession, interest_id: int) -> Interest | None:
    # FOR UPDATE: a matching run that is enrolling this interest finishes first (or waits for this).
    if not 0 < interest_id <= MAX_ID:
        return None
    return db.scalars(select(Interest).where(Interest.id == interest_id).with_for_update()
                      .execution_options(populate_existing=True)).one_or_none()


def _withdraw(db: DbSession, interest: Interest, actor) -> Interest:
    if interest.ended_at is not None:
        raise Conflict(f"Interessen er allerede afsluttet ({END_LABELS[interest.end_reason].lower()}).")
    _end(db, interest, "withdrawn", actor=actor)
    return interest


END_LABELS = {"fulfilled": "Opfyldt", "withdrawn": "Fjernet", "expired": "Udløbet"}


def _end(db: DbSession, interest: Interest, reason: str, *, actor=None) -> None:
    interest.ended_at = utcnow()
    interest.end_reason = reason
    audit.record(db, f"interest.{reason}", "interest", interest.id, tenant_id=interest.organisation_id,
                 actor=actor if actor is not None or reason == "withdrawn" else audit.SYSTEM,
                 changes={"end_reason": [None, reason]})


def _leader(participant: Participant) -> audit.AuditActor:
    # By id, never the name: the audit log outlives an erasure (enrolment.erasure) and must not hold it.
    return audit.AuditActor("participant", participant.id, f"Deltager {participant.id} (Mine kurser)")


# --- The schools' view: demand ------------------------------------------------------------------------

def demand(db: DbSession, actor: Actor, module: str | None, region: str | None, today: date) -> list[dict]:
    """How many active interests there are per module and region (no one's name): what tells a school to run a hold."""
    if actor.role not in (Role.SCHOOL, Role.ADMIN):
        raise Forbidden("Kun skoler og administratorer kan se efterspørgslen.")
    wanted_region = None
    if region:
        wanted_region = region_code(region)
        if wanted_region is None:
            raise ValidationFailed.field("/region", f"Regionen '{region}' findes ikke.")
    statement = select(Interest.module_code, Interest.regions, Interest.before).where(Interest.ended_at.is_(None))
    if module:
        statement = statement.where(Interest.module_code == module)
    counts: Counter = Counter()
    for code, regions, before in db.execute(statement):
        if before is not None and before <= today:
            continue  # past its date: expired, whether or not the job has ended it yet
        for interest_region in regions:
            if wanted_region in (None, interest_region):
                counts[(code, interest_region)] += 1
    return [{"module": code, "region_code": region_code_, "region": REGIONS.get(region_code_, region_code_),
             "interested": count}
            for (code, region_code_), count in sorted(counts.items())]


# --- Matching, on the job engine ----------------------------------------------------------------------

def match_interests(db: DbSession, today: date) -> int:
    """The job: end the interests past their date, then offer every offering's free seats to its interest list.

    One transaction per offering, each under the offering's lock; returns how many were told or enrolled.
    """
    expire_interests(db, today)
    commit(db)
    modules = set(db.scalars(select(Interest.module_code).where(Interest.ended_at.is_(None)).distinct()))
    candidates = [] if not modules else [
        offering_id for offering_id, snapshot in db.execute(
            select(OfferingSeats.offering_id, OfferingSeats.snapshot)
            .where(OfferingSeats.status == "published", OfferingSeats.enrolment_deadline >= today,
                   OfferingSeats.confirmed + OfferingSeats.reserved < OfferingSeats.capacity,
                   OfferingSeats.waitlisted == 0)
            .order_by(OfferingSeats.offering_id))
        if (snapshot or {}).get("module") in modules]
    db.rollback()
    told = 0
    for offering_id in candidates:
        offering_seats = seats.lock_offering(db, offering_id)
        if offering_seats is not None:
            told += len(match_offering(db, offering_seats, today))
        commit(db)
    return told


def wanted_offerings(db: DbSession, offerings: list[dict]) -> set[int]:
    """The ids of those published offerings (as the catalogue's change feed lists them) whose module someone
    is on the interest list for: the change feed takes them in although no one is enrolled yet."""
    published = {offering["id"]: offering["module_code"] for offering in offerings if offering["status"] == "published"}
    if not published:
        return set()
    wanted = set(db.scalars(select(Interest.module_code).where(Interest.ended_at.is_(None),
                                                               Interest.module_code.in_(set(published.values())))
                            .distinct()))
    return {offering_id for offering_id, module in published.items() if module in wanted}


def expire_interests(db: DbSession, today: date) -> int:
    """End as expired the active interests whose "before" day has come (no course can start before it now)."""
    due = list(db.scalars(select(Interest).where(Interest.ended_at.is_(None), Interest.before <= today)
                          .order_by(Interest.id).with_for_update()))
    for interest in due:
        _end(db, interest, "expired")
    return len(due)


def match_offering(db: DbSession, offering_seats: OfferingSeats, today: date) -> list[Interest]:
    """Offer a locked offering's free seats to its interest list; the caller holds the lock (seats.lock_offering).

    Read under the lock: the free seats (seats.free_seats: capacity − confirmed − reserved, and only
    while nobody waits — the waiting list comes first), the interests (again, FOR UPDATE) and who
    was told already. First registered, first told: an interest HR chose to enrol takes a seat while one is free — a
    request waiting for approval where the organisation approves requests, which holds none but
    is still counted, so approvals cannot outnumber the seats — and ends as fulfilled; the
    others are told once. An interest to enrol that finds no free seat is neither told nor
    ended: it waits for the next seat.
    """
    if not offering_seats.snapshot or offering_seats.status != "published" \
            or today > offering_seats.enrolment_deadline:
        return []
    offering = _OFFERING_SCHEMA.load(offering_seats.snapshot)
    free = seats.free_seats(offering_seats) if offering_seats.waitlisted == 0 else 0
    if free <= 0:
        return []
    first_day = offering["starts_at"].astimezone(COPENHAGEN).date()
    region = offering["location"]["region_code"]
    interests = list(db.scalars(
        select(Interest).where(Interest.module_code == offering["module_code"], Interest.ended_at.is_(None))
        .order_by(Interest.id).with_for_update().execution_options(populate_existing=True)))
    told_already = set(db.scalars(select(InterestNotice.interest_id)
                                  .where(InterestNotice.offering_id == offering_seats.offering_id)))
    matched: list[Interest] = []
    enrolled = False
    for interest in sorted(interests, key=lambda item: (item.created_at, item.id)):
        if (interest.id in told_already or region not in interest.regions
                or (interest.before is not None and not first_day < interest.before)):
            continue
        if interest.auto_enrol:
            if free <= 0:
                continue
            interest.enrolment_id = _enrol(db, offering_seats, interest).id
            free -= 1
            enrolled = True
            _end(db, interest, "fulfilled")
        else:
            notices.interest_offered(db, interest, offering)
        db.add(InterestNotice(interest_id=interest.id, offering_id=offering_seats.offering_id, told_at=utcnow()))
        matched.append(interest)
    if enrolled:
        outbox.report_seats(db, offering_seats)
    return matched


def _enrol(db: DbSession, offering_seats: OfferingSeats, interest: Interest) -> Enrolment:
    """The person's place: one they hold already, or a new one by the organisation's rules (its mail tells them)."""
    held = db.scalar(select(Enrolment).where(Enrolment.offering_id == offering_seats.offering_id,
                                             Enrolment.participant_id == interest.participant_id,
                                             Enrolment.status.in_(ACTIVE_STATUSES)))
    if held is not None:
        return held
    organisation = interest.organisation
    enrolment = enrolments.add_enrolment(db, offering_seats, organisation, interest.participant, source="interest",
                                         needs_approval=organisation.requires_approval)
    enrolments.audit_change(db, "enrolment.enrolled", enrolment, None, actor=audit.SYSTEM)
    return enrolment

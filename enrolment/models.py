"""The enrolment service's tables: organisations and their people, enrolments and each offering's seats."""

from __future__ import annotations

import secrets
from datetime import date, datetime

from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import (
    JSON,
    BigInteger,
    ForeignKey,
    Index,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
    case,
    func,
    select,
    text,
)
from sqlalchemy.orm import Mapped, aliased, column_property, mapped_column, relationship

from shared.accounts.api_keys import api_key_model
from shared.accounts.models import account_models
from shared.audit import audit_entry_model
from shared.db import UTCDateTime, declarative_base, utcnow
from shared.idempotency import idempotency_record_model
from shared.links import absolute_url

db = SQLAlchemy(model_class=declarative_base())

def new_secret() -> str:
    return secrets.token_urlsafe(32)


# Statuses that hold or wait for a seat; a participant has at most one of these per offering.
ACTIVE_STATUSES = ("confirmed", "waitlisted", "pending_approval")
STATUS_LABELS = {
    "confirmed": "Bekræftet",
    "waitlisted": "Venteliste",
    "pending_approval": "Afventer godkendelse",
    "cancelled": "Afmeldt",
    "rejected": "Afvist",
    "unconfirmed": "Afventer bekræftelse",
}

# Who ended a cancelled place: the school (it cancelled the offering), the organisation's HR, the
# participant themselves ("meld fra"), a move to another offering, or HR handing the place to a colleague
# (the former holder's own ended place, enrolments.substitute_participant; moved_to_id is the place).
ENDED_BY = ("school", "organisation", "participant", "move", "handed_over")


class Organisation(db.Model):
    """A municipality, region, state agency or company whose HR enrols its staff."""

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(20))
    requires_approval: Mapped[bool] = mapped_column(default=True)
    ean: Mapped[str | None] = mapped_column(String(13))
    order_reference: Mapped[str | None] = mapped_column(String(100))
    cost_centre: Mapped[str | None] = mapped_column(String(100))
    # The region (shared.geography code, e.g. "1082") where the GLU path suggests offerings (enrolment.paths).
    region_code: Mapped[str | None] = mapped_column(String(4))
    # Years a completion is kept after the course's last day (enrolment.purge); None: RETENTION_COMPLETION_YEARS.
    # The organisation decides, as long as its leaders' GLU paths need their completed modules.
    completion_retention_years: Mapped[int | None]
    # The secret in HR's organisation calendar feed URL; a new one revokes the old.
    feed_token: Mapped[str] = mapped_column(String(64), unique=True, default=new_secret)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    hr_users: Mapped[list[HrUser]] = relationship(back_populates="organisation", order_by="HrUser.id",
                                                  cascade="all, delete-orphan")


class HrUser(db.Model):
    """Someone in the organisation's HR who decides on requests."""

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str] = mapped_column(String(254))

    organisation: Mapped[Organisation] = relationship(back_populates="hr_users")


class Participant(db.Model):
    """A leader, known by organisation and e-mail address (compared without regard to case)."""

    __table_args__ = (UniqueConstraint("organisation_id", "email_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"))
    name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str] = mapped_column(String(254))
    email_key: Mapped[str] = mapped_column(String(254))
    # Secrets in the leader's links: the calendar feed (handed to Google and Microsoft, so it only
    # reads) and the "Mine kurser" page (which can cancel). Separate, so one can be revoked alone.
    feed_token: Mapped[str] = mapped_column(String(64), unique=True, default=new_secret)
    page_token: Mapped[str] = mapped_column(String(64), unique=True, default=new_secret)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # When the person was erased (enrolment.erasure): name and e-mail are a pseudonym from then on.
    erased_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    organisation: Mapped[Organisation] = relationship()


class OfferingSeats(db.Model):
    """What this service last learnt of a catalogue offering, its seat counts, and the lock that guards them.

    Every change of who holds a seat in an offering first locks this row (seats.lock_offering), and
    seats.set_status, the only writer of an enrolment's status, keeps `confirmed` and `waitlisted`
    equal to the enrolments' statuses in the same transaction.
    """

    offering_id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    provider_id: Mapped[int] = mapped_column(index=True)
    capacity: Mapped[int]
    status: Mapped[str] = mapped_column(String(12))
    enrolment_deadline: Mapped[date]
    catalogue_revision: Mapped[int]
    # The next place in line; enrolments keep their place, so the waiting list is ordered by it.
    next_place: Mapped[int] = mapped_column(default=1)
    confirmed: Mapped[int] = mapped_column(default=0, server_default="0")
    waitlisted: Mapped[int] = mapped_column(default=0, server_default="0")
    # Seats held by organisations' reservations and not yet named (enrolment.reservations): taken, like the
    # confirmed, from the free seats; changed only under the lock, with the reservations themselves.
    reserved: Mapped[int] = mapped_column(default=0, server_default="0")
    # Grows with every change of the seat counts, so the catalogue can ignore counts that arrive late;
    # drawn from the clock (seats.next_seats_version) so that it still grows after a restore.
    seats_version: Mapped[int] = mapped_column(BigInteger, default=0)
    refreshed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # The offering as the catalogue last showed it (OfferingSchema's JSON): what calendars are built from.
    snapshot: Mapped[dict] = mapped_column(JSON, default=dict)
    # Sessions the school has since removed: [{"id", "starts_at", "ends_at", "removed_at"}], kept so
    # calendars can show them as cancelled instead of letting them vanish.
    removed_sessions: Mapped[list] = mapped_column(JSON, default=list)


class Enrolment(db.Model):
    __table_args__ = (
        # One active enrolment per participant and offering, whatever races: the database decides.
        Index("uq_enrolment_active_participant", "offering_id", "participant_id", unique=True,
              sqlite_where=text("status IN ('confirmed', 'waitlisted', 'pending_approval')"),
              postgresql_where=text("status IN ('confirmed', 'waitlisted', 'pending_approval')")),
        Index("ix_enrolment_offering_status_place", "offering_id", "status", "place"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    offering_id: Mapped[int] = mapped_column(ForeignKey("offering_seats.offering_id"))
    participant_id: Mapped[int] = mapped_column(ForeignKey("participant.id"), index=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"), index=True)
    status: Mapped[str] = mapped_column(String(20))
    place: Mapped[int | None] = mapped_column(doc="Place in line, given when the enrolment joins it")
    source: Mapped[str] = mapped_column(String(10))
    # Who ended a cancelled place (ENDED_BY), and the place a move made in its stead: what a move may
    # still do with it. Written with the status, under the offering's lock (seats.set_status).
    ended_by: Mapped[str | None] = mapped_column(String(12))
    moved_to_id: Mapped[int | None] = mapped_column(ForeignKey("enrolment.id"))
    # Grows whenever the status changes, so a calendar's SEQUENCE for this person's event grows too.
    calendar_sequence: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # What the school reported once the course's last day had begun (enrolment.attendance): NULL until then,
    # then "completed" or "not_completed". The day and the school are kept as they were then, so "Mine
    # kurser" and HR's export read the same whatever later happens to the catalogue's copy of the offering.
    completion: Mapped[str | None] = mapped_column(String(20))
    completion_note: Mapped[str | None] = mapped_column(String(500))
    completion_recorded_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    completed_on: Mapped[date | None] = mapped_column(doc="The course's last day (Danish date)")
    completion_provider_name: Mapped[str | None] = mapped_column(String(200))

    participant: Mapped[Participant] = relationship()
    organisation: Mapped[Organisation] = relationship()
    seats: Mapped[OfferingSeats] = relationship()

    @property
    def movable(self) -> bool:
        """Active, or ended by the school's cancellation and not moved yet: what a move may take (enrolment.moves)."""
        return self.status in ACTIVE_STATUSES or (
            self.status == "cancelled" and self.ended_by == "school" and self.moved_to_id is None)

    @property
    def organisation_key(self) -> str:
        return self.organisation.key

    @property
    def calendar_url(self) -> str:
        return absolute_url(f"/feeds/participants/{self.participant.feed_token}.ics")

    @property
    def my_courses_url(self) -> str:
        return absolute_url(f"/mine-kurser/{self.participant.page_token}")


# The position in line (1 is next) of a waitlisted enrolment, read with every enrolment: the waitlisted
# of its offering with a place not after its own (ix_enrolment_offering_status_place answers it).
_in_line = aliased(Enrolment.__table__)
Enrolment.waitlist_position = column_property(case(
    (Enrolment.status == "waitlisted",
     select(func.count()).select_from(_in_line)
     .where(_in_line.c.offering_id == Enrolment.offering_id, _in_line.c.status == "waitlisted",
            _in_line.c.place <= Enrolment.place).correlate_except(_in_line).scalar_subquery()),
    else_=None), doc="Set by seats.set_status when the status changes in this transaction; never written")


COMPLETION_LABELS = {"completed": "Gennemført", "not_completed": "Ikke gennemført"}


class Attendance(db.Model):
    """Whether a confirmed participant attended one day of the course, as the offering's school marked it.

    `session_id` is the catalogue's id of the day (one of OfferingSeats.snapshot's sessions); the
    service owns no session table, so there is no foreign key to it.
    """

    __table_args__ = (UniqueConstraint("enrolment_id", "session_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    enrolment_id: Mapped[int] = mapped_column(ForeignKey("enrolment.id"))
    session_id: Mapped[int]
    attended: Mapped[bool]
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    recorded_by: Mapped[str] = mapped_column(String(300), doc="Who marked it, as the audit log names them")


class OutboxMessage(db.Model):
    """Something to do once the transaction that wrote it has committed: the enrolment service's one outbox.

    Written in the same transaction as the change that causes it, so a rolled-back change leaves
    none and a committed one always has it; delivered afterwards by the job engine (enrolment.outbox),
    at least once. Two kinds:

    - `mail`: an e-mail (recipient, subject, body, an optional iTIP attachment). Without SMTP
      settings (tests) mails stay here, to be read back.
    - `seat_counts`: tell the catalogue the offering's seat counts (read when delivered, so a later
      change is sent with them; the catalogue ignores counts whose version is not newer).
    """

    __tablename__ = "outbox"
    __table_args__ = (
        # The deliverer asks for the due messages of the kinds it can deliver: seat counts alone
        # while mail cannot be sent, without reading through the mail that waits meanwhile.
        Index("ix_outbox_due", "kind", "due_at", sqlite_where=text("delivered_at IS NULL"),
              postgresql_where=text("delivered_at IS NULL")),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(20))
    offering_id: Mapped[int | None]
    recipient: Mapped[str | None] = mapped_column(String(254))
    subject: Mapped[str | None] = mapped_column(String(300))
    body: Mapped[str | None] = mapped_column(Text)
    calendar: Mapped[bytes | None] = mapped_column(LargeBinary, doc="An iTIP attachment (text/calendar)")
    calendar_method: Mapped[str | None] = mapped_column(String(10))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # When it is next to be tried; None once delivered or given up.
    due_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=utcnow)
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    attempts: Mapped[int] = mapped_column(default=0)
    last_error: Mapped[str | None] = mapped_column(String(500))


IdempotencyRecord = idempotency_record_model(db)


# The organisations' people: HR, HR admins and approvers (shared.accounts).
ACCOUNTS = account_models(db, "organisation", "Organisation")
ApiKey = api_key_model(db, "organisation", "Organisation")

# Who did what (shared.audit).
AuditEntry = audit_entry_model(db)


# --- Interest lists across runs (enrolment.interests) ------------------------------------------------------

INTEREST_END_REASONS = ("fulfilled", "withdrawn", "expired")
INTEREST_REGISTERED_BY = ("hr", "participant")


class Interest(db.Model):
    """Someone wants a module in one of these regions, optionally starting before a day: told when there is a hold.

    `module_code` is the catalogue's module code (the catalogue owns modules; there is no foreign key);
    `regions` are region codes (shared.geography). Active while `ended_at` is NULL; one active interest
    per participant and module, whatever races: the partial unique index decides.
    """

    __table_args__ = (
        Index("uq_interest_active_participant_module", "participant_id", "module_code", unique=True,
              sqlite_where=text("ended_at IS NULL"), postgresql_where=text("ended_at IS NULL")),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    participant_id: Mapped[int] = mapped_column(ForeignKey("participant.id"), index=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"), index=True)
    module_code: Mapped[str] = mapped_column(String(20))
    regions: Mapped[list] = mapped_column(JSON, default=list)
    before: Mapped[date | None] = mapped_column(doc="The course must start before this day (Danish date)")
    # HR's choice: enrol the person by the organisation's usual rules (approval where it requires it).
    auto_enrol: Mapped[bool] = mapped_column(default=False)
    registered_by: Mapped[str] = mapped_column(String(12))
    # First registered, first told: the matching job orders by it (and the id, for equal instants).
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    end_reason: Mapped[str | None] = mapped_column(String(12))
    # The place an automatic enrolment made, when it ended the interest as fulfilled.
    enrolment_id: Mapped[int | None] = mapped_column(ForeignKey("enrolment.id"))

    participant: Mapped[Participant] = relationship()
    organisation: Mapped[Organisation] = relationship()

    @property
    def active(self) -> bool:
        return self.ended_at is None

    @property
    def participant_name(self) -> str:
        return self.participant.name


class InterestNotice(db.Model):
    """That an interest was told of an offering: the matching job tells each interest of each offering once."""

    __table_args__ = (UniqueConstraint("interest_id", "offering_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    interest_id: Mapped[int] = mapped_column(ForeignKey("interest.id"))
    offering_id: Mapped[int]
    told_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


# --- Reserved seats (enrolment.reservations) -----------------------------------------------------------

class Reservation(db.Model):
    """Unnamed seats an organisation's HR holds on an offering, named into one by one until the deadline.

    `seats` reserved in all, of which `named` became confirmed enrolments and `released` were given
    back; the rest (`unnamed`) are counted in OfferingSeats.reserved. All three change only under the
    offering's lock, in the same transaction as OfferingSeats.reserved.
    """

    id: Mapped[int] = mapped_column(primary_key=True)
    offering_id: Mapped[int] = mapped_column(ForeignKey("offering_seats.offering_id"), index=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"), index=True)
    seats: Mapped[int]
    named: Mapped[int] = mapped_column(default=0)
    released: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by: Mapped[str] = mapped_column(String(300), doc="Who reserved, as the audit log names them")
    # When the last unnamed seat was given back (by HR or by the deadline job); None while seats remain.
    released_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    organisation: Mapped[Organisation] = relationship()
    offering_seats: Mapped[OfferingSeats] = relationship()

    @property
    def unnamed(self) -> int:
        return self.seats - self.named - self.released

    @property
    def organisation_key(self) -> str:
        return self.organisation.key

"""The enrolment service's tables: organisations and their people, enrolments and each offering's seats."""

from __future__ import annotations

from datetime import date, datetime

from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import ForeignKey, Index, String, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from shared.db import UTCDateTime, declarative_base, utcnow
from shared.idempotency import idempotency_record_model

db = SQLAlchemy(model_class=declarative_base())

# Statuses that hold or wait for a seat; a participant has at most one of these per offering.
ACTIVE_STATUSES = ("confirmed", "waitlisted", "pending_approval")


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
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    organisation: Mapped[Organisation] = relationship()


class OfferingSeats(db.Model):
    """What this service last learnt of a catalogue offering, and the lock that guards its seats.

    Every change of who holds a seat in an offering first locks this row (seats.lock_offering).
    """

    offering_id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    provider_id: Mapped[int] = mapped_column(index=True)
    capacity: Mapped[int]
    status: Mapped[str] = mapped_column(String(12))
    enrolment_deadline: Mapped[date]
    catalogue_revision: Mapped[int]
    # The next place in line; enrolments keep their place, so the waiting list is ordered by it.
    next_place: Mapped[int] = mapped_column(default=1)
    # Grows with every change of the seat counts, so the catalogue can ignore counts that arrive late.
    seats_version: Mapped[int] = mapped_column(default=0)
    refreshed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


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
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    participant: Mapped[Participant] = relationship()
    organisation: Mapped[Organisation] = relationship()
    seats: Mapped[OfferingSeats] = relationship()

    # Not a column: seats.add_waitlist_positions sets it on the enrolments a response shows.
    waitlist_position = None

    @property
    def organisation_key(self) -> str:
        return self.organisation.key


IdempotencyRecord = idempotency_record_model(db)

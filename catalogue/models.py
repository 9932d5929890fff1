"""The catalogue's tables: programmes and their modules, providers and their locations, offerings and sessions."""

from __future__ import annotations

from datetime import date, datetime

from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import JSON, BigInteger, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from shared.accounts.api_keys import api_key_model
from shared.accounts.models import account_models
from shared.audit import audit_entry_model
from shared.db import UTCDateTime, declarative_base, utcnow
from shared.geography import REGIONS
from shared.idempotency import idempotency_record_model
from shared.links import absolute_url

db = SQLAlchemy(model_class=declarative_base())


class Programme(db.Model):
    """A leadership programme: GLU, or for instance a municipality's own programme."""

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(20), unique=True)
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")

    modules: Mapped[list[Module]] = relationship(back_populates="programme", order_by="Module.position")


class Module(db.Model):
    id: Mapped[int] = mapped_column(primary_key=True)
    programme_id: Mapped[int] = mapped_column(ForeignKey("programme.id"), index=True)
    code: Mapped[str] = mapped_column(String(20), unique=True)
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    content: Mapped[list[str]] = mapped_column(JSON, default=list)
    target_group: Mapped[str] = mapped_column(Text, default="")
    duration_days: Mapped[int | None]
    amu_number: Mapped[str | None] = mapped_column(String(20))
    position: Mapped[int] = mapped_column(default=0)
    # Normalised words for free-text search; rebuilt by search.index_module on every change.
    search_text: Mapped[str] = mapped_column(Text, default="")

    programme: Mapped[Programme] = relationship(back_populates="modules")
    theme_rows: Mapped[list[ModuleTheme]] = relationship(cascade="all, delete-orphan", lazy="selectin")

    @property
    def programme_code(self) -> str:
        return self.programme.code

    @property
    def themes(self) -> list[dict]:
        """The Kodeks points it works with, in the Kodeks' order: [{"code", "number", "title"}]."""
        from catalogue.themes import THEMES, in_kodeks_order, theme_number

        return [{"code": code, "number": theme_number(code), "title": THEMES[code]}
                for code in in_kodeks_order(row.theme for row in self.theme_rows)]

    @property
    def themes_example(self) -> bool:
        """The points are the seed's example mapping, not an official one (catalogue.themes)."""
        return any(row.example for row in self.theme_rows)


class ModuleTheme(db.Model):
    """A point of the Kodeks for god ledelse a module works with (catalogue.themes: the points are fixed there)."""

    __tablename__ = "module_theme"

    module_id: Mapped[int] = mapped_column(ForeignKey("module.id"), primary_key=True)
    theme: Mapped[str] = mapped_column(String(20), primary_key=True, index=True)
    # Set by the seed's example mapping; an administrator's choice is not an example.
    example: Mapped[bool] = mapped_column(default=False)


class Provider(db.Model):
    """A vocational school or other AMU provider."""

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    website: Mapped[str | None] = mapped_column(String(300))
    email: Mapped[str | None] = mapped_column(String(254))
    search_text: Mapped[str] = mapped_column(Text, default="")
    # Go or no-go (catalogue.decisions): what happens to an offering nobody has decided on within
    # `decision_grace_days` after its decision date. "hold" by default: a school that never opened its
    # settings must not find its courses cancelled by software, which cannot be undone and sends every
    # participant away; cancelling automatically is the school's own choice ("cancel").
    decision_policy: Mapped[str] = mapped_column(String(8), default="hold", server_default="hold")
    decision_grace_days: Mapped[int] = mapped_column(default=2, server_default="2")

    locations: Mapped[list[Location]] = relationship(back_populates="provider", order_by="Location.id")


class Location(db.Model):
    id: Mapped[int] = mapped_column(primary_key=True)
    provider_id: Mapped[int] = mapped_column(ForeignKey("provider.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    address: Mapped[str | None] = mapped_column(String(200))
    postcode: Mapped[str] = mapped_column(String(4))
    city: Mapped[str] = mapped_column(String(100))
    municipality_code: Mapped[str] = mapped_column(String(3), index=True)
    municipality: Mapped[str] = mapped_column(String(100))
    region_code: Mapped[str] = mapped_column(String(4), index=True)
    latitude: Mapped[float | None]
    longitude: Mapped[float | None]
    search_text: Mapped[str] = mapped_column(Text, default="")

    provider: Mapped[Provider] = relationship(back_populates="locations")

    @property
    def region(self) -> str:
        return REGIONS[self.region_code]

    @property
    def short_name(self) -> str:
        """'Mercantec, Viborg': the name, and the town unless the name already says it."""
        return self.name if self.city in self.name else f"{self.name}, {self.city}"


class Offering(db.Model):
    """One run of one module at one school and location."""

    __table_args__ = (
        UniqueConstraint("provider_id", "reference"),
        Index("ix_offering_status_starts_at", "status", "starts_at"),
        # Search by place (region, municipality) and its count: read from the index alone on PostgreSQL.
        Index("ix_offering_search", "status", "location_id", "starts_at",
              postgresql_include=["module_id", "provider_id"]),
        # The hourly decide-offerings job: published, undecided offerings whose decision date has come.
        Index("ix_offering_decision_due", "status", "decision", "decision_date"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    module_id: Mapped[int] = mapped_column(ForeignKey("module.id"), index=True)
    provider_id: Mapped[int] = mapped_column(ForeignKey("provider.id"), index=True)
    location_id: Mapped[int] = mapped_column(ForeignKey("location.id"), index=True)
    reference: Mapped[str | None] = mapped_column(String(60))
    status: Mapped[str] = mapped_column(String(12))
    capacity: Mapped[int]
    min_participants: Mapped[int | None]
    price_dkk: Mapped[int]
    enrolment_deadline: Mapped[date]
    language: Mapped[str] = mapped_column(String(2))
    contact_email: Mapped[str] = mapped_column(String(254))
    note: Mapped[str | None] = mapped_column(Text)
    demo: Mapped[bool] = mapped_column(default=False)
    revision: Mapped[int] = mapped_column(default=1)
    # First start and last end of the sessions, kept in step by offerings.set_sessions so that
    # search can filter and sort by date on an index instead of aggregating sessions per row.
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    cancellation_reason: Mapped[str | None] = mapped_column(String(500))
    # Go or no-go (catalogue.decisions): by `decision_date` the school decides whether the course is
    # held or cancelled; `decision` is None until then, "held" or "cancelled" after (set once).
    decision_date: Mapped[date]
    decision: Mapped[str | None] = mapped_column(String(10))
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    decision_reminded_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Who was told of the cancellation (the seat counts at that moment), for the school's desk.
    participants_at_cancellation: Mapped[int | None]
    waitlisted_at_cancellation: Mapped[int | None]
    # Seat counts as the enrolment service last told them (offerings.record_seat_counts); it owns the
    # enrolments. `seats_version` is its counter, up to 2**62, so that late, older counts are ignored.
    seats_taken: Mapped[int] = mapped_column(default=0, server_default="0")
    waitlist_length: Mapped[int] = mapped_column(default=0, server_default="0")
    seats_version: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    # The offering's place in the change feed (GET /offerings/changes): the value of `change_sequence`
    # drawn by the school's latest change (notifications.record_change). Seat counts do not move it.
    change_seq: Mapped[int] = mapped_column(BigInteger, index=True, default=0, server_default="0")

    module: Mapped[Module] = relationship()
    provider: Mapped[Provider] = relationship()
    location: Mapped[Location] = relationship()
    sessions: Mapped[list[Session]] = relationship(
        back_populates="offering", order_by="Session.starts_at", cascade="all, delete-orphan"
    )

    @property
    def module_code(self) -> str:
        return self.module.code

    @property
    def module_title(self) -> str:
        return self.module.title

    @property
    def module_description(self) -> str:
        return self.module.description

    @property
    def module_content(self) -> list[str]:
        return self.module.content

    @property
    def url(self) -> str:
        return absolute_url(f"/offerings/{self.id}")

    @property
    def programme_code(self) -> str:
        return self.module.programme.code

    @property
    def provider_name(self) -> str:
        return self.provider.name

    @property
    def seats_available(self) -> int:
        """Never negative: a school may lower the capacity below the seats already taken."""
        return max(self.capacity - self.seats_taken, 0)


class Session(db.Model):
    """One teaching day (or part of one) of an offering."""

    id: Mapped[int] = mapped_column(primary_key=True)
    offering_id: Mapped[int] = mapped_column(ForeignKey("offering.id"), index=True)
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime)

    offering: Mapped[Offering] = relationship(back_populates="sessions")


class ChangeSequence(db.Model):
    """The one counter (a single row, id 1) every school's change draws its `change_seq` from.

    Drawn with UPDATE … RETURNING, which row-locks the counter until the change commits: see
    notifications.next_change_seq for why that makes the change feed safe to read by number.
    """

    __tablename__ = "change_sequence"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    value: Mapped[int] = mapped_column(BigInteger, default=0)


class ChangeDraw(db.Model):
    """A random token for each number drawn from the change sequence (notifications.next_change_seq).

    The feed names the token of the reader's last number, so a catalogue restored from a backup (its
    counter back at an earlier number, and new changes drawing those numbers again) is recognised by the
    reader without anyone telling it: the tokens after the dump are new. One short row per change.
    """

    __tablename__ = "change_draw"

    seq: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    token: Mapped[str] = mapped_column(String(32))


class WebhookDelivery(db.Model):
    """One webhook to the enrolment service, written with the change it announces: the delivery log.

    `attempts` counts every send; a failed one sets `next_attempt_at` later (exponential backoff),
    a delivered one `delivered_at`. `next_attempt_at` is NULL once the delivery has been given up.
    """

    __tablename__ = "webhook_delivery"
    __table_args__ = (Index("ix_webhook_delivery_due", "delivered_at", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    offering_id: Mapped[int] = mapped_column(ForeignKey("offering.id"), index=True)
    change_seq: Mapped[int] = mapped_column(BigInteger)
    payload: Mapped[dict] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_status: Mapped[int | None]
    last_error: Mapped[str | None] = mapped_column(String(500))


IdempotencyRecord = idempotency_record_model(db)


# The schools' people: course administrators and school admins (shared.accounts).
ACCOUNTS = account_models(db, "provider", "Provider")
ApiKey = api_key_model(db, "provider", "Provider")

# Who did what (shared.audit).
AuditEntry = audit_entry_model(db)

"""The tables of people and their sign-ins, defined on each service's own database.

Each service owns its accounts: the catalogue the schools' people (a membership's tenant is a
`provider`), the enrolment service the organisations' (`organisation`). The shape is the same, so
it is defined once here and made on each service's `db` by `account_models`, the way
shared.idempotency makes its record model. No table refers to the other service's database.

Secrets (sign-in links, session ids, API keys) are stored only as their SHA-256: the database
alone never lets anyone in.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import JSON, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from shared.db import UTCDateTime, utcnow


@dataclass(frozen=True)
class AccountModels:
    Person: type
    Membership: type
    SignInLink: type
    WebSession: type
    SignInProvider: type


def account_models(db, tenant_table: str, tenant_class: str) -> AccountModels:
    """Define the account models on a Flask-SQLAlchemy `db` whose tenants are `tenant_class` (table
    `tenant_table`); once per `db`."""

    class Person(db.Model):
        """Someone who signs in: known by e-mail address (compared without regard to case)."""

        id: Mapped[int] = mapped_column(primary_key=True)
        name: Mapped[str] = mapped_column(String(200))
        email: Mapped[str] = mapped_column(String(254))
        email_key: Mapped[str] = mapped_column(String(254), unique=True)
        # A system administrator: every school or organisation, and creating them.
        is_admin: Mapped[bool] = mapped_column(default=False)
        created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

        memberships: Mapped[list[Membership]] = relationship(
            back_populates="person", order_by="Membership.id", cascade="all, delete-orphan",
            foreign_keys="Membership.person_id")

    class Membership(db.Model):
        """A person's role in one school or organisation (the service's tenant)."""

        __table_args__ = (UniqueConstraint("person_id", "tenant_id"),)

        id: Mapped[int] = mapped_column(primary_key=True)
        person_id: Mapped[int] = mapped_column(ForeignKey("person.id", ondelete="CASCADE"), index=True)
        tenant_id: Mapped[int] = mapped_column(ForeignKey(f"{tenant_table}.id", ondelete="CASCADE"), index=True)
        role: Mapped[str] = mapped_column(String(20))
        created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
        invited_by_id: Mapped[int | None] = mapped_column(ForeignKey("person.id", ondelete="SET NULL"))

        person: Mapped[Person] = relationship(back_populates="memberships", foreign_keys=[person_id])
        tenant = relationship(tenant_class)

    class SignInLink(db.Model):
        """A one-time link mailed to a person: to sign in, or to accept an invitation."""

        __tablename__ = "sign_in_link"

        id: Mapped[int] = mapped_column(primary_key=True)
        token_hash: Mapped[str] = mapped_column(String(64), unique=True)
        purpose: Mapped[str] = mapped_column(String(12))  # "sign_in" | "invitation"
        person_id: Mapped[int] = mapped_column(ForeignKey("person.id", ondelete="CASCADE"), index=True)
        # Where to go after signing in (a local path, checked when the link was asked for).
        next_path: Mapped[str | None] = mapped_column(String(500))
        created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
        expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
        used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

        person: Mapped[Person] = relationship()

    class WebSession(db.Model):
        """A signed-in browser. The cookie holds the id; this row decides whether it is still good."""

        __tablename__ = "web_session"

        id: Mapped[int] = mapped_column(primary_key=True)
        token_hash: Mapped[str] = mapped_column(String(64), unique=True)
        person_id: Mapped[int] = mapped_column(ForeignKey("person.id", ondelete="CASCADE"), index=True)
        # The membership the person acts in now (their choice when they have several); None: as administrator.
        membership_id: Mapped[int | None] = mapped_column(ForeignKey("membership.id", ondelete="SET NULL"))
        created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
        last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
        ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
        user_agent: Mapped[str] = mapped_column(String(200), default="")
        via: Mapped[str] = mapped_column(String(12), default="link")  # "link" | "invitation" | "oidc" | "token"

        person: Mapped[Person] = relationship()
        membership: Mapped[Membership | None] = relationship()

    class SignInProvider(db.Model):
        """A tenant's own OpenID provider (single sign-on): addresses at its domains sign in there, not by link.

        The client secret is kept as given, since the token endpoint needs it; the database is the
        service's own and no page shows the secret again.
        """

        __tablename__ = "sign_in_provider"

        id: Mapped[int] = mapped_column(primary_key=True)
        tenant_id: Mapped[int] = mapped_column(ForeignKey(f"{tenant_table}.id", ondelete="CASCADE"), unique=True)
        issuer: Mapped[str] = mapped_column(String(300))
        client_id: Mapped[str] = mapped_column(String(200))
        client_secret: Mapped[str] = mapped_column(String(500))
        email_domains: Mapped[list[str]] = mapped_column(JSON, default=list)  # lower-case
        updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

        tenant = relationship(tenant_class)

    return AccountModels(Person, Membership, SignInLink, WebSession, SignInProvider)

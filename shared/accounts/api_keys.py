"""API keys: a school's or organisation's integrations call the API as the tenant, not as a person.

A signed-in member makes a key for their own tenant (a system administrator for any), with a name,
a role no higher than their own and an expiry at most a year away; the secret is shown once and
stored only as its SHA-256, like sign-in links and sessions. Keys are listed (name, role, creator,
created, last used, expiry) and revoked on the pages (shared.accounts.key_pages), never through the
API: a key must not make keys.

A key reads `glu_<c|e>_<32 random bytes, URL-safe>`: the letter names the service that issued it
(c: the catalogue, e: the enrolment service), so a service knows where to check a key it meets.
Its own keys it looks up in its own `api_key` table (a revocation there counts at the next
request); the other service's it asks that service about (shared.accounts.introspection).

A key acts with its membership role's API role (`MemberRole.actor_role`) and the tenant's scope,
made by the service's own `Accounts.scope_of`: a key has the `tenant_id` and `tenant` a
membership has, which is all scope_of reads.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from flask import current_app
from sqlalchemy import ForeignKey, String, select
from sqlalchemy.orm import Mapped, mapped_column, relationship
from sqlalchemy.orm import Session as DbSession

from shared import audit, clock
from shared.accounts import Accounts
from shared.accounts.members import tenant_id_of
from shared.accounts.sign_in import secret_hash
from shared.auth import API_KEY_PREFIX, Actor, Role
from shared.clock import COPENHAGEN, copenhagen_today
from shared.db import UTCDateTime, utcnow
from shared.errors import FieldError, Forbidden, NotFound, Unauthorized, ValidationFailed

SERVICE_LETTERS = {"catalogue": "c", "enrolment": "e"}
# What a list shows of a key: "glu_c_" and a few characters of the secret, enough to tell keys apart.
SHOWN_PREFIX_LENGTH = 12
LONGEST_VALIDITY = timedelta(days=365)
# last_used_at is written at most this often: a busy integration is not a write per request.
TOUCH_EVERY = timedelta(minutes=1)
NAME_LENGTH = 100

INVALID = "API-nøglen er ugyldig."
EXPIRED = "API-nøglen er udløbet. Lav en ny under Nøgler."
REVOKED = "API-nøglen er tilbagekaldt."


def api_key_model(db, tenant_table: str, tenant_class: str) -> type:
    """Define the ApiKey model on a Flask-SQLAlchemy `db` whose tenants are `tenant_class`; once per `db`."""

    class ApiKey(db.Model):
        """A tenant's key for an integration. Only the hash of the secret is kept."""

        __tablename__ = "api_key"

        id: Mapped[int] = mapped_column(primary_key=True)
        tenant_id: Mapped[int] = mapped_column(ForeignKey(f"{tenant_table}.id", ondelete="CASCADE"), index=True)
        name: Mapped[str] = mapped_column(String(NAME_LENGTH))
        role: Mapped[str] = mapped_column(String(20))  # a membership role of the service, e.g. "course_admin"
        prefix: Mapped[str] = mapped_column(String(SHOWN_PREFIX_LENGTH))
        key_hash: Mapped[str] = mapped_column(String(64), unique=True)
        # The key outlives its creator's membership: it is the tenant's, not the person's.
        created_by_id: Mapped[int | None] = mapped_column(ForeignKey("person.id", ondelete="SET NULL"))
        created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
        expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
        last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
        revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

        tenant = relationship(tenant_class)
        created_by = relationship("Person")

        @property
        def last_day(self) -> date:
            """The last day (Danish time) the key works: it expires at the midnight after it."""
            return (self.expires_at.astimezone(COPENHAGEN) - timedelta(days=1)).date()

    return ApiKey


@dataclass(frozen=True)
class ApiKeys:
    """A service's side of API keys: its accounts (roles, tenants, scope) and its ApiKey model."""

    accounts: Accounts
    model: type

    @property
    def letter(self) -> str:
        return SERVICE_LETTERS[self.accounts.service]

    def actor_for_bearer(self, secret: str) -> Actor:
        """The caller with this key (shared.auth.current_actor): this service's own, or the other's, asked there."""
        letter = service_letter_of(secret)
        if letter == self.letter:
            return actor_for_key(self.accounts.db.session, self, secret, clock.now())
        if letter is None:
            raise Unauthorized(INVALID)
        introspection = current_app.extensions.get("key_introspection")
        if introspection is None:  # the other service's address is not configured here
            raise Unauthorized("API-nøglen er lavet i den anden tjeneste og kan ikke kontrolleres her.")
        return introspection.actor_for(secret, clock.now())


@dataclass(frozen=True)
class NewKey:
    """A key just made: the secret appears only here, to be shown once."""

    key: object
    secret: str


def service_letter_of(secret: str) -> str | None:
    """"c" or "e" for a key's issuing service, None if `secret` does not look like a key at all."""
    if not secret.startswith(API_KEY_PREFIX) or secret[5:6] != "_":
        return None
    letter = secret[4]
    return letter if letter in SERVICE_LETTERS.values() else None


def grantable_roles(keys: ApiKeys, actor: Actor) -> dict:
    """The roles `actor` may give a key: up to their own membership's rank, all of them for an administrator."""
    roles = keys.accounts.roles
    if actor.role is Role.ADMIN:
        return dict(roles)
    own = roles.get(actor.member_role or "")
    return {key: role for key, role in roles.items() if own is not None and role.rank <= own.rank}


def create_key(db: DbSession, keys: ApiKeys, actor: Actor, tenant_id: int, name: str, role: str,
               last_day: date | None, now: datetime) -> NewKey:
    """A new key for the tenant, valid to the end of `last_day` (Danish time), at most a year ahead."""
    _require_member(db, keys, actor, tenant_id)
    errors = []
    name = name.strip()
    if not name:
        errors.append(("/name", "Giv nøglen et navn, fx navnet på systemet, der skal bruge den."))
    elif len(name) > NAME_LENGTH:
        errors.append(("/name", f"Navnet må højst være {NAME_LENGTH} tegn."))
    if role not in keys.accounts.roles:
        errors.append(("/role", "Vælg en rolle."))
    elif role not in grantable_roles(keys, actor):
        errors.append(("/role", "Du kan ikke give en nøgle en rolle, der er højere end din egen."))
    today = copenhagen_today(now)
    if last_day is None:
        errors.append(("/expires_on", "Vælg den sidste dag, nøglen skal virke."))
    elif last_day < today:
        errors.append(("/expires_on", "Datoen er overskredet. Vælg i dag eller en senere dag."))
    elif last_day > today + LONGEST_VALIDITY:
        errors.append(("/expires_on", "En nøgle kan højst virke et år. Lav en ny, når den udløber."))
    if errors:
        raise _validation(errors)
    secret = f"{API_KEY_PREFIX}{keys.letter}_{secrets.token_urlsafe(32)}"
    key = keys.model(tenant_id=tenant_id, name=name, role=role, prefix=secret[:SHOWN_PREFIX_LENGTH],
                     key_hash=secret_hash(secret), created_by_id=actor.person_id, created_at=now,
                     expires_at=_midnight_after(last_day))
    db.add(key)
    db.flush()
    audit.record(db, "key.created", "api_key", key.id, tenant_id=tenant_id,
                 changes={"name": [None, name], "role": [None, role], "prefix": [None, key.prefix],
                          "expires_at": [None, key.expires_at]})
    return NewKey(key, secret)


def keys_of(db: DbSession, keys: ApiKeys, actor: Actor, tenant_id: int) -> list:
    """The tenant's keys, newest first, revoked and expired ones included (they explain a refused integration)."""
    _require_member(db, keys, actor, tenant_id)
    ApiKey = keys.model
    return list(db.scalars(select(ApiKey).where(ApiKey.tenant_id == tenant_id).order_by(ApiKey.id.desc())))


def revoke_key(db: DbSession, keys: ApiKeys, actor: Actor, key_id: int, now: datetime):
    """Revoke the key at once on this service (the other within shared.accounts.introspection's cache time).

    Idempotent: revoking a revoked key changes nothing and is no error (a form sent twice). A member
    may revoke the keys whose role is no higher than their own, as they could have made them.
    """
    key = db.get(keys.model, key_id)
    if key is None:
        raise NotFound("Nøglen findes ikke.")
    _require_member(db, keys, actor, key.tenant_id)
    if key.role not in grantable_roles(keys, actor):
        raise Forbidden("Du kan ikke tilbagekalde en nøgle med en rolle, der er højere end din egen.")
    if key.revoked_at is None:
        key.revoked_at = now
        audit.record(db, "key.revoked", "api_key", key.id, tenant_id=key.tenant_id,
                     changes={"revoked_at": [None, now]})
    return key


def key_for_secret(db: DbSession, keys: ApiKeys, secret: str, now: datetime):
    """The live key with this secret, its last_used_at kept current; Unauthorized if unknown, revoked or expired."""
    key = db.scalar(select(keys.model).where(keys.model.key_hash == secret_hash(secret)))
    if key is None or key.role not in keys.accounts.roles:
        raise Unauthorized(INVALID)
    if key.revoked_at is not None:
        raise Unauthorized(REVOKED)
    if key.expires_at <= now:
        raise Unauthorized(EXPIRED)
    if key.last_used_at is None or now - key.last_used_at >= TOUCH_EVERY:
        key.last_used_at = now
    return key


def actor_of_key(keys: ApiKeys, key) -> Actor:
    role = keys.accounts.roles[key.role]
    return Actor(role=role.actor_role, member_role=key.role, key_id=key.id, **keys.accounts.scope_of(key))


def actor_for_key(db: DbSession, keys: ApiKeys, secret: str, now: datetime) -> Actor:
    """Who calls with this service's own key: the key's role and tenant, and the key's id (for audit entries)."""
    return actor_of_key(keys, key_for_secret(db, keys, secret, now))


def introspect(db: DbSession, keys: ApiKeys, secret: str, now: datetime) -> dict:
    """RFC 7662's answer about one of this service's keys, for the other service (shared.accounts.introspection).

    Asking counts as using the key, so "last used" covers its use on both services.
    """
    try:
        key = key_for_secret(db, keys, secret, now)
    except Unauthorized:
        return {"active": False}
    actor = actor_of_key(keys, key)
    answer = {"active": True, "role": actor.role.value, "member_role": key.role, "key_id": key.id,
              "exp": int(key.expires_at.timestamp())}
    if actor.provider_id is not None:
        answer["provider_id"] = actor.provider_id
    if actor.organisation is not None:
        answer["organisation"] = actor.organisation
    return answer


def _require_member(db: DbSession, keys: ApiKeys, actor: Actor, tenant_id: int) -> None:
    """Only a person (never a key or a token) of the tenant, or a system administrator signed in as a person."""
    if actor.person_id is None or actor.key_id is not None:
        raise Forbidden("Kun personer, der er logget ind, kan se og lave API-nøgler.")
    if actor.role is Role.ADMIN:
        return
    if tenant_id_of(db, keys.accounts, actor) != tenant_id:
        raise NotFound(f"Den {keys.accounts.tenant_label} findes ikke.")


def _midnight_after(day: date) -> datetime:
    return datetime.combine(day + timedelta(days=1), time(), tzinfo=COPENHAGEN)


def _validation(errors: list[tuple[str, str]]) -> ValidationFailed:
    return ValidationFailed(errors[0][1], [FieldError(pointer, message) for pointer, message in errors])

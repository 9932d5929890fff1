"""Who did what: an audit entry for every change, written in the transaction of the change.

A domain function that changes something calls `record(db, action, object_type, object_id,
tenant_id=…, changes=…)` beside the change itself, so the entry commits or rolls back with it.
Who acted is read from the request (`actor_of_request`): an API key or an operator's token, a
person signed in on the pages, or — outside a request (jobs, the change feed) — the system; a
domain function that knows better (the leader's own link) names the actor itself. Each entry
keeps the actor's name as it was, so it reads the same after the person has gone.

`tenant_id` is whose data the change concerns (the catalogue's provider id, the enrolment
service's organisation id): a school reads its own entries, HR its organisation's, an
administrator all (`entries_query`). On PostgreSQL triggers refuse every UPDATE and DELETE of
audit rows, whatever the role, with two exceptions: erasure's pseudonymising UPDATE of `changes` and
`actor_name` alone (enrolment migration 0014), and the retention purge's DELETE of entries older than
a year (enrolment 0015, catalogue 0012). TRUNCATE, which only the tests use, is a table owner's
privilege and not a row change. Entries name participants by id, never by name or e-mail.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from flask import has_request_context, request
from sqlalchemy import JSON, Select, String, select
from sqlalchemy.orm import Mapped, mapped_column
from sqlalchemy.orm import Session as DbSession

from shared.auth import Actor, Role
from shared.db import UTCDateTime, utcnow
from shared.observability import request_id
from shared.transaction import keep_if_refused

_DAY = timedelta(days=1)

# Danish names of the actions, for the audit page.
ACTIONS = {
    "offering.created": "Udbud oprettet", "offering.changed": "Udbud ændret", "offering.imported": "Udbud importeret",
    "offering.cancelled": "Udbud aflyst",
    "offering.decided": "Udbud afgjort", "offering.decision_reminded": "Påmindet om afgørelse",
    "enrolment.enrolled": "Tilmeldt af HR", "enrolment.requested": "Anmodning sendt",
    "enrolment.request_confirmed": "Anmodning bekræftet", "enrolment.approved": "Anmodning godkendt",
    "enrolment.rejected": "Anmodning afvist", "enrolment.cancelled": "Tilmelding afmeldt",
    "enrolment.substituted": "Plads overdraget", "enrolment.promoted": "Fået plads fra ventelisten",
    "member.invited": "Medlem inviteret", "member.role_changed": "Rolle ændret", "member.removed": "Medlem fjernet",
    "sso.changed": "Single sign-on ændret", "sso.removed": "Single sign-on slået fra",
    "key.created": "Nøgle oprettet", "key.revoked": "Nøgle tilbagekaldt",
    "school.created": "Skole oprettet", "school.changed": "Skole ændret",
    "programme.created": "Uddannelse oprettet", "programme.changed": "Uddannelse ændret",
    "module.created": "Modul oprettet", "module.changed": "Modul ændret",
    "organisation.created": "Organisation oprettet", "organisation.changed": "Organisation ændret",
    "links.renewed": "Nye hemmelige links",
    "attendance.recorded": "Fremmøde registreret", "enrolment.completion_recorded": "Gennemførelse registreret",
    "offering.message_sent": "Besked sendt til deltagerne",
    "reservation.created": "Pladser reserveret", "reservation.named": "Navngivet i en reserveret plads",
    "reservation.released": "Reserverede pladser frigivet",
    "sign_in": "Logget ind", "sign_in.refused": "Log-ind afvist", "sign_out": "Logget ud",
    "enrolment.moved": "Flyttet til et andet hold", "change_feed.resync": "Kataloget læst forfra",
    "interest.registered": "Interesse registreret", "interest.withdrawn": "Interesse trukket tilbage",
    "interest.expired": "Interesse udløbet", "interest.fulfilled": "Interesse opfyldt",
    "participant.erased": "Person slettet (pseudonym)",
    "retention.purged": "Slettet efter opbevaringsperioden",
}


def audit_entry_model(db) -> type:
    """Define the `AuditEntry` model on a Flask-SQLAlchemy `db`; once per `db`."""

    class AuditEntry(db.Model):
        __tablename__ = "audit_entry"

        id: Mapped[int] = mapped_column(primary_key=True)
        at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
        actor_type: Mapped[str] = mapped_column(String(12))  # person | key | token | participant | system | anonymous
        actor_id: Mapped[int | None]  # the person's or key's id in this service
        actor_name: Mapped[str] = mapped_column(String(300), default="")
        actor_role: Mapped[str | None] = mapped_column(String(20))
        action: Mapped[str] = mapped_column(String(40), index=True)
        object_type: Mapped[str] = mapped_column(String(30))
        object_id: Mapped[str] = mapped_column(String(40))
        tenant_id: Mapped[int | None] = mapped_column(index=True)
        changes: Mapped[dict] = mapped_column(JSON, default=dict)  # {field: [from, to]}
        request_id: Mapped[str | None] = mapped_column(String(64))

    return AuditEntry


@dataclass(frozen=True)
class AuditActor:
    type: str
    id: int | None = None
    name: str = ""
    role: str | None = None


SYSTEM = AuditActor("system", name="GLU-kurser")


def actor_from_token(actor: Actor) -> AuditActor:
    if actor.is_anonymous:
        return AuditActor("anonymous")
    if getattr(actor, "key_id", None):
        return AuditActor("key", actor.key_id, f"Nøgle {actor.key_id}", actor.role.value)
    label = {Role.SCHOOL: f"skole {actor.provider_id}", Role.HR: f"HR {actor.organisation}",
             Role.APPROVER: f"godkender {actor.organisation}"}.get(actor.role, actor.role.value)
    if getattr(actor, "acting_person", None):
        # A token the other service's pages made for one signed-in person's request (shared.auth.issue_token).
        return AuditActor("token", None, f"{actor.acting_person} ({label}, via den anden tjenestes sider)",
                          actor.role.value)
    return AuditActor("token", None, f"Adgangsnøgle ({label})", actor.role.value)


def person_actor(person, membership) -> AuditActor:
    """A person acting in a membership (None: as administrator)."""
    return AuditActor("person", person.id, f"{person.name} <{person.email}>",
                      membership.role if membership is not None else "admin")


def actor_of_request() -> AuditActor:
    if not has_request_context():
        return SYSTEM
    if request.headers.get("Authorization"):
        from shared.auth import current_actor

        return actor_from_token(current_actor())  # read (and checked) already by the view's `requires`
    from shared.accounts import current_web_session

    web_session = current_web_session()
    if web_session is not None:
        return person_actor(web_session.person, web_session.membership)
    return AuditActor("anonymous")


def record(db: DbSession, action: str, object_type: str, object_id, *, tenant_id: int | None,
           changes: dict | None = None, actor: AuditActor | None = None) -> None:
    """Add the entry to the session: it commits, or rolls back, with the change it records."""
    db.add(_entry(action, object_type, object_id, tenant_id, changes, actor))


def record_refusal(db: DbSession, action: str, object_type: str, object_id, *, tenant_id: int | None,
                   changes: dict | None = None, actor: AuditActor | None = None) -> None:
    """An entry of a refusal (a refused sign-in): written although the request's changes roll back."""
    entry = _entry(action, object_type, object_id, tenant_id, changes, actor)
    db.add(entry)
    keep_if_refused(db, entry)


def _entry(action: str, object_type: str, object_id, tenant_id: int | None, changes: dict | None,
           actor: AuditActor | None):
    from flask import current_app

    who = actor or actor_of_request()
    return current_app.extensions["audit_model"](
        at=utcnow(), actor_type=who.type, actor_id=who.id, actor_name=who.name[:300], actor_role=who.role,
        action=action, object_type=object_type, object_id=str(object_id), tenant_id=tenant_id,
        changes=_json_safe(changes or {}), request_id=request_id() if has_request_context() else None)


def changed(before: dict, after: dict) -> dict:
    """{field: [from, to]} for the fields whose value differs."""
    return {key: [before.get(key), after.get(key)] for key in sorted(set(before) | set(after))
            if before.get(key) != after.get(key)}


@dataclass(frozen=True)
class AuditFilters:
    action: str | None = None
    object_type: str | None = None
    object_id: str | None = None
    since: date | None = None
    until: date | None = None


def entries_query(model, tenant_id: int | None, filters: AuditFilters, *, everything: bool) -> Select:
    """The entries a reader may see, newest first: one tenant's, or (an administrator) all."""
    statement = select(model).order_by(model.id.desc())
    if not everything:
        statement = statement.where(model.tenant_id == tenant_id)
    if filters.action:
        statement = statement.where(model.action == filters.action)
    if filters.object_type:
        statement = statement.where(model.object_type == filters.object_type)
    if filters.object_id:
        statement = statement.where(model.object_id == filters.object_id)
    if filters.since:
        statement = statement.where(model.at >= datetime(filters.since.year, filters.since.month, filters.since.day,
                                                         tzinfo=UTC))
    if filters.until:
        statement = statement.where(model.at < datetime(filters.until.year, filters.until.month, filters.until.day,
                                                        tzinfo=UTC) + _DAY)
    return statement


def _json_safe(value):
    if isinstance(value, dict):
        return {str(key): _json_safe(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_json_safe(item) for item in value]
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value



def install_audit(app, api, model) -> None:
    """The service's AuditEntry model, for `record`; and the API and page that read it (shared.audit_views)."""
    from shared import audit_views

    app.extensions["audit_model"] = model
    audit_views.register(app, api)

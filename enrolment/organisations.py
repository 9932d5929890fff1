"""Organisations and which of them a caller may act for."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session as DbSession
from sqlalchemy.orm import selectinload

from enrolment.models import HrUser, Organisation, Participant
from shared import audit
from shared.auth import Actor, Role
from shared.db import insert_unless_present, utcnow
from shared.errors import Conflict, Forbidden, NotFound, ValidationFailed


def list_organisations(db: DbSession) -> list[Organisation]:
    return list(db.scalars(select(Organisation).options(selectinload(Organisation.hr_users))
                           .order_by(Organisation.name)))


def create_organisation(db: DbSession, data: dict) -> Organisation:
    if find_organisation(db, data["key"]) is not None:
        raise Conflict(f"Organisationen '{data['key']}' findes allerede.")
    data = dict(data)
    hr_users = [HrUser(**user) for user in data.pop("hr_users")]
    organisation = Organisation(**data, hr_users=hr_users)
    db.add(organisation)
    db.flush()
    audit.record(db, "organisation.created", "organisation", organisation.id, tenant_id=organisation.id,
                 changes=audit.changed({}, {name: data[name] for name in ("key", "name", "kind", "requires_approval")}))
    return organisation


def update_organisation(db: DbSession, actor: Actor, key: str, changes: dict) -> Organisation:
    """PATCH /organisations/{key}: its region (region_code) and completion retention.

    HR changes only its own; another's is a 404."""
    organisation = find_organisation(db, key)
    if organisation is None or (actor.role is not Role.ADMIN and key != actor.organisation):
        raise NotFound(f"Organisationen '{key}' findes ikke.")
    before = {name: getattr(organisation, name) for name in changes}
    for name, value in changes.items():
        setattr(organisation, name, value)
    audit.record(db, "organisation.changed", "organisation", organisation.id, tenant_id=organisation.id,
                 changes=audit.changed(before, changes))
    return organisation


def find_organisation(db: DbSession, key: str) -> Organisation | None:
    return db.scalar(select(Organisation).where(Organisation.key == key))


def organisation_in_scope(db: DbSession, actor: Actor, key: str | None) -> Organisation:
    """The organisation `actor` acts for: HR its own, an administrator the one named."""
    if actor.role is Role.HR:
        if key is not None and key != actor.organisation:
            raise Forbidden("Du kan kun tilmelde for din egen organisation.")
        key = actor.organisation
    elif actor.role is Role.ADMIN:
        if not key:
            raise ValidationFailed.field("/organisation", "Angiv organisationen.")
    else:
        raise Forbidden("Kun HR og administratorer kan tilmelde.")
    organisation = find_organisation(db, key)
    if organisation is None:
        raise NotFound(f"Organisationen '{key}' findes ikke.")
    return organisation


def participant_for(db: DbSession, organisation: Organisation, name: str, email: str) -> Participant:
    """The organisation's participant with this e-mail (any case), created the first time; the name is updated."""
    return find_or_add_participant(db, organisation, name, email)[0]


def find_or_add_participant(db: DbSession, organisation: Organisation, name: str, email: str, *,
                            keep_existing: bool = False) -> tuple[Participant, bool]:
    """As `participant_for`, and whether the participant was added just now. With `keep_existing` (a
    stranger's request) someone already known keeps the name and address stored for them.

    One INSERT … ON CONFLICT DO NOTHING RETURNING: a new person is added and read back in one
    statement; only someone already known takes a second one to be read. Two transactions adding
    the same new person at once (under two different offering locks) make one participant, not a
    conflict: the second waits on the unique index, inserts nothing and reads the first one's row.
    """
    email_key = email.strip().casefold()
    # Nothing pending matters to the INSERT (participants are only ever added here, straight to the
    # database), so nothing is flushed first: the caller's changes to the seat row go out as one UPDATE.
    with db.no_autoflush:
        added = insert_unless_present(db, Participant, {
            "organisation_id": organisation.id, "name": name, "email": email.strip(), "email_key": email_key,
            "created_at": utcnow(),
        }, ["organisation_id", "email_key"], returning=True)
    if added is not None:
        return added, True
    participant = db.scalars(select(Participant).where(Participant.organisation_id == organisation.id,
                                                       Participant.email_key == email_key)
                             .execution_options(populate_existing=True)).one()
    if not keep_existing:
        participant.name = name
        participant.email = email.strip()
    return participant, False

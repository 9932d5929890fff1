"""Who belongs to a school or organisation: the first administrator, invitations, roles, removal.

A system administrator (`create-admin`) may do everything here for every tenant; a member whose
role `manages_members` (school admin, HR admin) for their own tenant, giving no role above their
own. A tenant always keeps at least one member who manages members, so it is never locked out.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session as DbSession

from shared import audit
from shared.accounts import Accounts
from shared.accounts.sign_in import LinkMail, email_key, find_person, invitation_link
from shared.auth import Actor, Role
from shared.errors import Conflict, Forbidden, NotFound, ValidationFailed


def add_person(db: DbSession, accounts: Accounts, name: str, email: str, *, is_admin: bool = False):
    """The person with this address, added if new; a name given replaces none."""
    person = find_person(db, accounts.models, email)
    if person is None:
        person = accounts.models.Person(name=name.strip(), email=email.strip(), email_key=email_key(email),
                                        is_admin=is_admin)
        db.add(person)
        db.flush()
    elif is_admin:
        person.is_admin = True
    return person


def add_membership(db: DbSession, accounts: Accounts, person, tenant_id: int, role: str, *, invited_by=None):
    if role not in accounts.roles:
        raise ValidationFailed.field("/role", f"Ukendt rolle '{role}'.")
    existing = next((membership for membership in person.memberships if membership.tenant_id == tenant_id), None)
    if existing is not None:
        raise Conflict(f"{person.email} er allerede medlem ({accounts.roles[existing.role].label}).")
    membership = accounts.models.Membership(person=person, tenant_id=tenant_id, role=role,
                                            invited_by_id=invited_by.id if invited_by is not None else None)
    db.add(membership)
    db.flush()
    return membership


def members_of(db: DbSession, accounts: Accounts, tenant_id: int) -> list:
    Membership, Person = accounts.models.Membership, accounts.models.Person
    return list(db.scalars(select(Membership).join(Membership.person).where(Membership.tenant_id == tenant_id)
                           .order_by(Person.name, Membership.id)))


def invite(db: DbSession, accounts: Accounts, actor: Actor, tenant_id: int, name: str, email: str, role: str,
           now: datetime) -> LinkMail:
    """Make `email` a member of the tenant in `role` and return the invitation mail to send after the commit."""
    inviter = require_manager(db, accounts, actor, tenant_id)
    _require_role_within(accounts, actor, role)
    if not name.strip():
        raise ValidationFailed.field("/name", "Skriv personens navn.")
    person = add_person(db, accounts, name, email)
    membership = add_membership(db, accounts, person, tenant_id, role, invited_by=inviter)
    audit.record(db, "member.invited", "membership", membership.id, tenant_id=tenant_id,
                 changes={"person": [None, f"{person.name} <{person.email}>"], "role": [None, role]})
    return invitation_link(db, accounts.models, person, now)


def change_role(db: DbSession, accounts: Accounts, actor: Actor, membership_id: int, role: str):
    membership = _membership(db, accounts, membership_id)
    require_manager(db, accounts, actor, membership.tenant_id)
    _require_role_within(accounts, actor, role)
    _require_role_within(accounts, actor, membership.role)  # nor take one above their own from someone
    if accounts.roles[membership.role].manages_members and not accounts.roles[role].manages_members:
        _require_another_manager(db, accounts, membership)
    audit.record(db, "member.role_changed", "membership", membership.id, tenant_id=membership.tenant_id,
                 changes={"role": [membership.role, role]})
    membership.role = role
    return membership


def remove_member(db: DbSession, accounts: Accounts, actor: Actor, membership_id: int):
    """End a membership; the person's sessions acting in it end with it (they lose access at their next request)."""
    membership = _membership(db, accounts, membership_id)
    require_manager(db, accounts, actor, membership.tenant_id)
    _require_role_within(accounts, actor, membership.role)
    if accounts.roles[membership.role].manages_members:
        _require_another_manager(db, accounts, membership)
    audit.record(db, "member.removed", "membership", membership.id, tenant_id=membership.tenant_id,
                 changes={"person": [membership.person.email, None], "role": [membership.role, None]})
    db.delete(membership)
    db.flush()
    return membership


def tenant_id_of(db: DbSession, accounts: Accounts, actor: Actor) -> int | None:
    """The tenant a signed-in member acts for (the catalogue's provider id, the enrolment service's organisation id)."""
    if actor.provider_id is not None:
        return actor.provider_id
    if actor.organisation is not None and hasattr(accounts.tenant_model, "key"):  # organisations have keys, schools not
        return db.scalar(select(accounts.tenant_model.id).where(accounts.tenant_model.key == actor.organisation))
    return None


def _membership(db: DbSession, accounts: Accounts, membership_id: int):
    membership = db.get(accounts.models.Membership, membership_id)
    if membership is None:
        raise NotFound(f"Medlemskab {membership_id} findes ikke.")
    return membership


def require_manager(db: DbSession, accounts: Accounts, actor: Actor, tenant_id: int):
    """The person acting, if they may manage the tenant's members; others get 403 (another tenant's: 404)."""
    if actor.role is Role.ADMIN:
        return db.get(accounts.models.Person, actor.person_id) if actor.person_id else None
    if actor.person_id is None or tenant_id_of(db, accounts, actor) != tenant_id:
        raise NotFound(f"Den {accounts.tenant_label} findes ikke.")
    role = accounts.roles.get(actor.member_role or "")
    if role is None or not role.manages_members:
        raise Forbidden("Kun administratorer kan invitere og ændre medlemmer.")
    return db.get(accounts.models.Person, actor.person_id)


def _require_role_within(accounts: Accounts, actor: Actor, role: str) -> None:
    wanted = accounts.roles.get(role)
    if wanted is None:
        raise ValidationFailed.field("/role", f"Ukendt rolle '{role}'.")
    if actor.role is Role.ADMIN:
        return
    if wanted.rank > accounts.roles[actor.member_role].rank:
        raise Forbidden("Du kan ikke give en rolle, der er højere end din egen.")


def _require_another_manager(db: DbSession, accounts: Accounts, membership) -> None:
    Membership = accounts.models.Membership
    managing = [key for key, role in accounts.roles.items() if role.manages_members]
    others = db.scalar(select(func.count()).select_from(Membership).where(
        Membership.tenant_id == membership.tenant_id, Membership.role.in_(managing), Membership.id != membership.id))
    if not others:
        raise Conflict(f"Der skal være mindst én administrator for den {accounts.tenant_label}.")

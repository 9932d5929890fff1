"""People who work in glu-courses as themselves: memberships, sign-in by e-mail link, sessions that end.

Each service keeps the accounts of its own tenants: the catalogue those of the schools (course
administrators and school admins), the enrolment service those of the organisations (HR, HR admins
and approvers); a system administrator is made on each (`flask --app … create-admin EMAIL`). The
two live at different addresses, so a browser holds a session cookie for each anyway, and neither
service has to trust the other's sessions or reach into its tables.

A service describes its side once, as `Accounts` (its models, its tenant table, its roles and how a
membership becomes an `Actor`), and calls `install_accounts(app, accounts)`; the pages
(shared.accounts.pages) and the domain (shared.accounts.sign_in, .members) are the same code for both.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from flask import Flask, current_app, g, session

from shared.accounts.models import AccountModels, account_models
from shared.auth import Actor, Role

__all__ = ["AccountModels", "Accounts", "MemberRole", "account_models", "accounts", "install_accounts"]

SESSION_KEY = "sid"
_G_KEY = "glu_web_session"


@dataclass(frozen=True)
class MemberRole:
    """A role a membership can have: its Danish name, the API role it acts with, and what it may do."""

    label: str
    actor_role: Role
    rank: int  # a member may give others (and API keys) roles up to their own rank
    manages_members: bool = False


@dataclass(frozen=True)
class Accounts:
    service: str  # "catalogue" | "enrolment"
    db: object  # the service's Flask-SQLAlchemy
    models: AccountModels
    tenant_model: type  # Provider | Organisation: has id and name
    tenant_label: str  # "skole" | "organisation", in sentences
    roles: dict[str, MemberRole]
    # The Actor's scope for a membership: {"provider_id": …} or {"organisation": …}.
    scope_of: Callable[[object], dict]
    layout: str  # the template the account pages extend
    home_endpoint: str  # where a member lands after signing in

    def actor_for(self, web_session) -> Actor:
        membership = web_session.membership
        if membership is None:
            return Actor(role=Role.ADMIN, person_id=web_session.person_id)
        role = self.roles[membership.role]
        return Actor(role=role.actor_role, person_id=web_session.person_id, member_role=membership.role,
                     **self.scope_of(membership))


def install_accounts(app: Flask, service_accounts: Accounts) -> None:
    import shared.accounts.key_pages  # noqa: F401 (its routes register on the blueprint)
    from shared.accounts import member_pages  # noqa: F401 (its routes register on the blueprint)
    from shared.accounts.pages import blp

    app.extensions["accounts"] = service_accounts
    app.register_blueprint(blp)
    app.jinja_env.globals["danish_instant"] = danish_instant
    app.context_processor(lambda: {"signed_in": signed_in})


@dataclass(frozen=True)
class SignedIn:
    """What the page header shows of the person signed in, and the memberships they can switch between."""

    name: str
    acting_as: str  # "Mercantec (Skoleadministrator)" or "Administrator"
    current: int | None  # the membership acted in (None: as administrator)
    choices: list[tuple[int | None, str]]
    manages_members: bool
    reads_log: bool  # the audit log (shared.audit_views): not approvers


def signed_in() -> SignedIn | None:
    web_session = current_web_session()
    if web_session is None:
        return None
    service_accounts = accounts()
    person = web_session.person
    choices = [(membership.id, f"{membership.tenant.name} ({service_accounts.roles[membership.role].label})")
               for membership in person.memberships]
    if person.is_admin:
        choices.append((None, "Administrator"))
    acting = next(label for key, label in choices if key == web_session.membership_id)
    membership = web_session.membership
    role = service_accounts.roles[membership.role] if membership is not None else None
    manages = role is None or role.manages_members
    reads_log = role is None or role.actor_role is not Role.APPROVER
    return SignedIn(person.name, acting, web_session.membership_id, choices, manages, reads_log)


def danish_instant(instant) -> str:
    from shared.clock import COPENHAGEN

    local = instant.astimezone(COPENHAGEN)
    return f"{local.day}.{local.month}.{local.year} kl. {local:%H.%M}"


def accounts() -> Accounts | None:
    return current_app.extensions.get("accounts")


def current_web_session():
    """The signed-in browser's session row for this request (read once), or None."""
    if _G_KEY not in g:
        from shared.accounts.sign_in import current_session
        from shared.clock import now

        service_accounts = accounts()
        g.glu_web_session = (current_session(service_accounts.db.session, service_accounts.models,
                                             session.get(SESSION_KEY), now())
                             if service_accounts is not None else None)
    return g.glu_web_session

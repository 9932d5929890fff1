"""Single sign-on for a school or organisation that has its own OpenID provider (shared.oidc does the protocol).

An address at one of the tenant's e-mail domains signs in at the tenant's provider instead of by a
mailed link: `/log-ind` sends the browser there, `/oidc/callback` takes the answer. The provider's
word is taken only for the domains the tenant owns (shared.oidc checks the address), and only
someone who is already a member of that tenant gets in: no account is made by signing in.
"""

from __future__ import annotations

import re

from sqlalchemy import select
from sqlalchemy.orm import Session as DbSession

from shared import audit
from shared.accounts import Accounts
from shared.accounts.members import require_manager
from shared.accounts.sign_in import LinkRefused, find_person
from shared.auth import Actor
from shared.db import utcnow
from shared.errors import Conflict, FieldError, ValidationFailed
from shared.oidc import OidcIdentity, OidcSettings

_DOMAIN = re.compile(r"^(?=.{1,253}$)([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")
# Plain http only for a provider on this machine (development, the tests' provider).
_LOCAL_HTTP = re.compile(r"^http://(127\.0\.0\.1|localhost)(:\d+)?(/|$)")


def settings_of(provider) -> OidcSettings:
    return OidcSettings(provider.issuer, provider.client_id, provider.client_secret, tuple(provider.email_domains))


def provider_for_email(db: DbSession, accounts: Accounts, email: str):
    """The provider of the tenant owning the address's domain, or None (then the address signs in by link)."""
    domain = email.strip().rpartition("@")[2].casefold()
    # Few tenants have one, so all are read; a JSON "contains" differs between SQLite and PostgreSQL.
    for provider in db.scalars(select(accounts.models.SignInProvider)):
        if domain in provider.email_domains:
            return provider
    return None


def provider_of_tenant(db: DbSession, accounts: Accounts, tenant_id: int):
    SignInProvider = accounts.models.SignInProvider
    return db.scalar(select(SignInProvider).where(SignInProvider.tenant_id == tenant_id))


def set_provider(db: DbSession, accounts: Accounts, actor: Actor, tenant_id: int, *, issuer: str, client_id: str,
                 client_secret: str, email_domains: str):
    """Turn single sign-on on (or change it) for the tenant; an empty secret keeps the one stored."""
    require_manager(db, accounts, actor, tenant_id)
    provider = provider_of_tenant(db, accounts, tenant_id)
    issuer = issuer.strip().rstrip("/")
    domains = sorted({domain.strip().casefold() for domain in re.split(r"[,\s]+", email_domains) if domain.strip()})
    errors = []
    if not (issuer.startswith("https://") or _LOCAL_HTTP.match(issuer)):
        errors.append(FieldError("/issuer", "Udbyderens adresse skal begynde med https://."))
    if not client_id.strip():
        errors.append(FieldError("/client_id", "Skriv klient-id'et fra identitetsudbyderen."))
    if not client_secret.strip() and provider is None:
        errors.append(FieldError("/client_secret", "Skriv klienthemmeligheden fra identitetsudbyderen."))
    if not domains:
        errors.append(FieldError("/email_domains", "Skriv mindst ét e-maildomæne, fx viborg.dk."))
    bad = [domain for domain in domains if not _DOMAIN.match(domain)]
    if bad:
        errors.append(FieldError("/email_domains", f"Ugyldigt domæne: {', '.join(bad)}."))
    if errors:
        raise ValidationFailed("Indstillingerne for single sign-on er ikke gyldige.", errors)
    for other in db.scalars(select(accounts.models.SignInProvider)
                            .where(accounts.models.SignInProvider.tenant_id != tenant_id)):
        taken = sorted(set(domains) & set(other.email_domains))
        if taken:
            raise Conflict(f"Domænet {', '.join(taken)} hører allerede til en anden {accounts.tenant_label}.",
                           [FieldError("/email_domains", f"{', '.join(taken)} bruges allerede af en anden.")])
    before = ({"issuer": provider.issuer, "client_id": provider.client_id, "email_domains": provider.email_domains}
              if provider is not None else {})
    if provider is None:
        provider = accounts.models.SignInProvider(tenant_id=tenant_id)
        db.add(provider)
    provider.issuer, provider.client_id, provider.email_domains = issuer, client_id.strip(), domains
    changes = audit.changed(before, {"issuer": issuer, "client_id": provider.client_id, "email_domains": domains})
    if client_secret.strip():
        changes["client_secret"] = ["…" if before else None, "(ny)"]  # never the secret itself
    if client_secret.strip():
        provider.client_secret = client_secret.strip()
    provider.updated_at = utcnow()
    db.flush()
    audit.record(db, "sso.changed", "sign_in_provider", tenant_id, tenant_id=tenant_id, changes=changes)
    return provider


def remove_provider(db: DbSession, accounts: Accounts, actor: Actor, tenant_id: int) -> None:
    require_manager(db, accounts, actor, tenant_id)
    provider = provider_of_tenant(db, accounts, tenant_id)
    if provider is not None:
        audit.record(db, "sso.removed", "sign_in_provider", tenant_id, tenant_id=tenant_id,
                     changes={"issuer": [provider.issuer, None]})
        db.delete(provider)


def member_for_identity(db: DbSession, accounts: Accounts, provider, identity: OidcIdentity):
    """(person, membership) of the member the provider vouched for; LinkRefused for someone not a member."""
    person = find_person(db, accounts.models, identity.email)
    membership = next((membership for membership in (person.memberships if person else [])
                       if membership.tenant_id == provider.tenant_id), None)
    if membership is None:
        raise LinkRefused(f"{identity.email} har ikke adgang til {provider.tenant.name} endnu. Bed en "
                          "administrator om at invitere dig.")
    return person, membership

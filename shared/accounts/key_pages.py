"""The API keys page: a member makes keys for the school's or organisation's integrations, and revokes them.

- GET  /noegler                      the tenant's keys (an administrator: ?tenant=ID) and the form for a new one
- POST /noegler                      make a key; the answer shows its secret, once, with a curl example
- POST /noegler/<id>/tilbagekald     revoke it: refused at once here, within seconds on the other service

Keys are managed on the pages only: a person makes them, a key never makes another. The rules are
shared.accounts.api_keys'; refusals become messages beside the fields (shared.forms).
"""

from __future__ import annotations

from datetime import date, timedelta

from flask import abort, current_app, flash, redirect, render_template, request, url_for

from shared.accounts import api_keys as keys_domain
from shared.accounts import current_web_session
from shared.accounts.pages import blp, page_tenant_id
from shared.auth import Role
from shared.clock import copenhagen_today, now
from shared.errors import DomainError
from shared.forms import FormErrors
from shared.links import absolute_url
from shared.pages import check_csrf, page_actor, redirect_to_sign_in
from shared.transaction import rollback

KEY_FIELDS = {"/name": "name", "/role": "role", "/expires_on": "expires_on"}
DEFAULT_VALIDITY = timedelta(days=90)
# An endpoint the new key may call, for the page's curl example: the school's, or HR's.
EXAMPLE_PATHS = {"catalogue": "/offerings?per_page=5", "enrolment": "/enrolments?per_page=5"}


def _keys() -> keys_domain.ApiKeys:
    return current_app.extensions["api_keys"]


def _scope(tenant_id: int | None) -> dict:
    return {"tenant": tenant_id} if page_actor().role is Role.ADMIN and tenant_id is not None else {}


@blp.route("/noegler")
def api_keys(errors: FormErrors | None = None, typed: dict | None = None, created=None, status: int = 200):
    if current_web_session() is None:
        return redirect_to_sign_in()
    keys = _keys()
    service_accounts = keys.accounts
    db = service_accounts.db.session
    actor = page_actor()
    tenant_id = page_tenant_id()
    tenants = (db.query(service_accounts.tenant_model).order_by(service_accounts.tenant_model.name).all()
               if actor.role is Role.ADMIN else [])
    tenant = db.get(service_accounts.tenant_model, tenant_id) if tenant_id is not None else None
    if tenant_id is not None and tenant is None:
        abort(404)
    if tenant is None and actor.role is not Role.ADMIN:
        abort(403)
    grantable = keys_domain.grantable_roles(keys, actor)
    today = copenhagen_today(now())
    return render_template(
        "shared/accounts/api_keys.html", layout=service_accounts.layout, tenant=tenant, tenants=tenants,
        keys=keys_domain.keys_of(db, keys, actor, tenant_id) if tenant is not None else [],
        roles=service_accounts.roles, grantable=grantable, errors=errors or FormErrors(),
        typed=typed or {"name": "", "role": min(grantable, key=lambda key: grantable[key].rank),
                        "expires_on": (today + DEFAULT_VALIDITY).isoformat()},
        today=today.isoformat(), last_possible=(today + keys_domain.LONGEST_VALIDITY).isoformat(),
        created=created, example_url=absolute_url(EXAMPLE_PATHS[service_accounts.service]),
        now=now(), scope=_scope(tenant_id)), status


@blp.route("/noegler", methods=["POST"])
def create_api_key():
    check_csrf()
    if current_web_session() is None:
        return redirect_to_sign_in()
    keys = _keys()
    db = keys.accounts.db.session
    tenant_id = page_tenant_id()
    typed = {name: request.form.get(name, "").strip() for name in ("name", "role", "expires_on")}
    errors = FormErrors()
    last_day = _date_or_none(typed["expires_on"])
    if typed["expires_on"] and last_day is None:
        errors.add("expires_on", "Skriv datoen som ÅÅÅÅ-MM-DD, fx 2027-06-30.")
    if tenant_id is None:
        errors.add(None, "Vælg først skolen eller organisationen.")
    if not errors:
        try:
            created = keys_domain.create_key(db, keys, page_actor(), tenant_id, typed["name"], typed["role"],
                                             last_day, now())
        except DomainError as refused:
            rollback(db)
            errors.add_domain(refused, KEY_FIELDS)
        else:
            # Shown in this answer and nowhere else: no redirect, so the secret is never in a cookie or a URL.
            return api_keys(created=created, status=201)
    return api_keys(errors=errors, typed=typed, status=422)


@blp.route("/noegler/<int:key_id>/tilbagekald", methods=["POST"])
def revoke_api_key(key_id: int):
    check_csrf()
    if current_web_session() is None:
        return redirect_to_sign_in()
    keys = _keys()
    db = keys.accounts.db.session
    try:
        key = keys_domain.revoke_key(db, keys, page_actor(), key_id, now())
    except DomainError as refused:
        rollback(db)
        flash(refused.detail)
        return redirect(url_for("accounts_pages.api_keys", **_scope(page_tenant_id())), code=303)
    flash(f"Nøglen »{key.name}« er tilbagekaldt. Den virker ikke længere her, og i den anden tjeneste "
          "holder den op med at virke inden for få sekunder.")
    return redirect(url_for("accounts_pages.api_keys", **_scope(key.tenant_id)), code=303)


def _date_or_none(text: str) -> date | None:
    try:
        return date.fromisoformat(text)
    except ValueError:
        return None

"""The members page: a school's or organisation's admins invite colleagues, change their roles, remove them.

- GET  /medlemmer                      the members of the tenant one acts for (an administrator: ?tenant=ID)
- POST /medlemmer/inviter              invite by e-mail (the invitation link is valid a week)
- POST /medlemmer/<id>/rolle           change a member's role
- POST /medlemmer/<id>/fjern           remove a member (their sessions in it end at their next request)
- POST /medlemmer/sso                  single sign-on through the tenant's own OpenID provider (shared.accounts.sso)
- POST /medlemmer/sso/fjern            back to signing in by link

The rules are shared.accounts.members'; refusals become messages beside the fields (shared.forms).
"""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for

from shared.accounts import accounts, current_web_session, sso
from shared.accounts import members as membership
from shared.accounts.pages import blp, page_tenant_id, queue_link_mail
from shared.auth import Role
from shared.clock import now
from shared.errors import DomainError
from shared.forms import FormErrors
from shared.links import absolute_url
from shared.pages import check_csrf, page_actor, redirect_to_sign_in
from shared.transaction import rollback

INVITE_FIELDS = {"/name": "name", "/email": "email", "/role": "role"}
SSO_FIELDS = {"/issuer": "issuer", "/client_id": "client_id", "/client_secret": "client_secret",
              "/email_domains": "email_domains"}


def _back(tenant_id: int):
    actor = page_actor()
    return redirect(url_for("accounts_pages.members", **({"tenant": tenant_id} if actor.role is Role.ADMIN else {})),
                    code=303)


@blp.route("/medlemmer")
def members(errors: FormErrors | None = None, typed: dict | None = None, status: int = 200,
            sso_errors: FormErrors | None = None, sso_typed: dict | None = None):
    if current_web_session() is None:
        return redirect_to_sign_in()
    service_accounts = accounts()
    db = service_accounts.db.session
    actor = page_actor()
    tenant_id = page_tenant_id()
    tenants = db.query(service_accounts.tenant_model).order_by(service_accounts.tenant_model.name).all() \
        if actor.role is Role.ADMIN else []
    if tenant_id is None:
        if actor.role is not Role.ADMIN:
            abort(403)
        return render_template("shared/accounts/members.html", layout=service_accounts.layout, tenant=None,
                               tenants=tenants, members=[], roles={}, errors=FormErrors(), typed={})
    tenant = db.get(service_accounts.tenant_model, tenant_id)
    if tenant is None:
        abort(404)
    role = service_accounts.roles.get(actor.member_role or "")
    if actor.role is not Role.ADMIN and not (role and role.manages_members):
        abort(403, description="Kun administratorer kan se og ændre medlemmerne.")
    own_rank = role.rank if role and actor.role is not Role.ADMIN else max(
        choice.rank for choice in service_accounts.roles.values())
    grantable = {key: choice for key, choice in service_accounts.roles.items() if choice.rank <= own_rank}
    provider = sso.provider_of_tenant(db, service_accounts, tenant_id)
    shown_sso = sso_typed or ({"issuer": provider.issuer, "client_id": provider.client_id,
                               "email_domains": ", ".join(provider.email_domains)} if provider else
                              {"issuer": "", "client_id": "", "email_domains": ""})
    return render_template("shared/accounts/members.html", layout=service_accounts.layout, tenant=tenant,
                           tenants=tenants, members=membership.members_of(db, service_accounts, tenant_id),
                           roles=service_accounts.roles, grantable=grantable, errors=errors or FormErrors(),
                           typed=typed or {"name": "", "email": "", "role": next(iter(grantable))},
                           provider=provider, sso_errors=sso_errors or FormErrors(), sso_typed=shown_sso,
                           callback_url=absolute_url(url_for("accounts_pages.oidc_callback")),
                           scope={"tenant": tenant_id} if actor.role is Role.ADMIN else {}), status


@blp.route("/medlemmer/inviter", methods=["POST"])
def invite():
    check_csrf()
    if current_web_session() is None:
        return redirect_to_sign_in()
    service_accounts = accounts()
    db = service_accounts.db.session
    tenant_id = page_tenant_id()
    typed = {name: request.form.get(name, "").strip() for name in ("name", "email", "role")}
    errors = FormErrors()
    if "@" not in typed["email"] or "." not in typed["email"].rpartition("@")[2]:
        errors.add("email", "Skriv en gyldig e-mailadresse, fx navn@kommune.dk.")
    if tenant_id is None:
        errors.add(None, "Vælg først skolen eller organisationen.")
    if not errors:
        try:
            mail = membership.invite(db, service_accounts, page_actor(), tenant_id, typed["name"], typed["email"],
                                     typed["role"], now())
        except DomainError as refused:
            rollback(db)
            errors.add_domain(refused, INVITE_FIELDS)
        else:
            queue_link_mail(mail)
            flash(f"{typed['name']} er inviteret; invitationen er sendt til {typed['email']}.")
            return _back(tenant_id)
    return members(errors=errors, typed=typed, status=422)


@blp.route("/medlemmer/<int:membership_id>/rolle", methods=["POST"])
def change_role(membership_id: int):
    return _change(lambda db, service_accounts, actor: membership.change_role(
        db, service_accounts, actor, membership_id, request.form.get("role", "")).tenant_id, "Rollen er ændret.")


@blp.route("/medlemmer/<int:membership_id>/fjern", methods=["POST"])
def remove(membership_id: int):
    return _change(lambda db, service_accounts, actor: membership.remove_member(
        db, service_accounts, actor, membership_id).tenant_id, "Medlemmet er fjernet.")


def _change(change, done: str):
    """Run `change` (which returns the tenant it changed), then back to that tenant's members with a message."""
    check_csrf()
    if current_web_session() is None:
        return redirect_to_sign_in()
    service_accounts = accounts()
    db = service_accounts.db.session
    try:
        tenant_id = change(db, service_accounts, page_actor())
    except DomainError as refused:
        rollback(db)
        flash(refused.detail)
        tenant_id = page_tenant_id()
        return _back(tenant_id) if tenant_id is not None else redirect(url_for("accounts_pages.members"), code=303)
    flash(done)
    return _back(tenant_id)


@blp.route("/medlemmer/sso", methods=["POST"])
def set_single_sign_on():
    check_csrf()
    if current_web_session() is None:
        return redirect_to_sign_in()
    service_accounts = accounts()
    db = service_accounts.db.session
    tenant_id = page_tenant_id()
    typed = {name: request.form.get(name, "") for name in ("issuer", "client_id", "client_secret", "email_domains")}
    try:
        if tenant_id is None:
            abort(400)
        sso.set_provider(db, service_accounts, page_actor(), tenant_id, **typed)
    except DomainError as refused:
        rollback(db)
        errors = FormErrors()
        errors.add_domain(refused, SSO_FIELDS)
        return members(sso_errors=errors, sso_typed={**typed, "client_secret": ""}, status=422)
    flash("Single sign-on er gemt. Adresser på domænerne logger nu ind hos jeres identitetsudbyder.")
    return _back(tenant_id)


@blp.route("/medlemmer/sso/fjern", methods=["POST"])
def remove_single_sign_on():
    tenant_id = page_tenant_id()
    if tenant_id is None:
        abort(400)

    def remove_provider(db, service_accounts, actor) -> int:
        sso.remove_provider(db, service_accounts, actor, tenant_id)
        return tenant_id

    return _change(remove_provider, "Single sign-on er slået fra; alle logger ind med link.")

"""The sign-in pages both services serve for their own people, in Danish.

- GET/POST /log-ind               ask for a sign-in link (the same answer whether or not the address is known);
                                  an address at a domain with single sign-on goes to its identity provider
- GET      /oidc/callback         the identity provider's answer (shared.accounts.sso, shared.oidc)
- GET/POST /log-ind/<secret>      the link from the mail: a button to sign in (mail scanners that open
                                  links must not use them up), then a new session
- POST     /log-ud                end the session on the server
- GET      /min-profil            memberships and live sessions; end one of them
- POST     /skift                 act in another membership (or as administrator)

Each page is thin: read the form, call one function of shared.accounts.sign_in, let the request's
commit point commit (shared.transaction), and hand the mail to the job engine after the commit.
"""

from __future__ import annotations

import logging
from dataclasses import asdict

from flask import Blueprint, flash, redirect, render_template, request, session, url_for

from shared import audit, oidc, rate_limits
from shared.accounts import SESSION_KEY, accounts, current_web_session, sso
from shared.accounts import sign_in as links
from shared.clock import now
from shared.links import absolute_url
from shared.mail import queue_mail
from shared.pages import check_csrf, safe_next
from shared.transaction import rollback

# Named …_pages so that errors on these routes render as HTML pages (shared.pages.is_page_request).
blp = Blueprint("accounts_pages", __name__)

log = logging.getLogger(__name__)
PENDING_SSO = "sso"


@blp.after_request
def _not_stored(response):
    response.headers.setdefault("Cache-Control", "private, no-store")
    return response


def _render(template: str, **context):
    return render_template(f"shared/accounts/{template}", layout=accounts().layout, **context)


@blp.route("/log-ind", methods=["GET", "POST"])
def sign_in():
    next_path = safe_next(request.values.get("next"), "")
    if request.method == "GET":
        if current_web_session() is not None:
            return redirect(next_path or url_for(accounts().home_endpoint))
        return _render("sign_in.html", next_path=next_path, email="", error=None)
    check_csrf()
    email = request.form.get("email", "").strip()
    if not _looks_like_address(email):
        return _render("sign_in.html", next_path=next_path, email=email,
                       error="Skriv din e-mailadresse, fx navn@kommune.dk."), 422
    rate_limits.check(rate_limits.SIGN_IN_LINK_PER_IP, rate_limits.client_ip())
    service_accounts = accounts()
    provider = sso.provider_for_email(service_accounts.db.session, service_accounts, email)
    if provider is not None:
        return _to_identity_provider(provider, next_path)
    rate_limits.check(rate_limits.SIGN_IN_LINK_PER_ADDRESS, links.email_key(email))
    mail = links.request_link(service_accounts.db.session, service_accounts.models, email, next_path or None, now())
    if mail is not None:
        queue_link_mail(mail)
    return _render("link_sent.html", email=email)


@blp.route("/log-ind/<secret>", methods=["GET", "POST"])
def use_link(secret: str):
    rate_limits.check(rate_limits.SIGN_IN_PER_IP, rate_limits.client_ip())
    service_accounts = accounts()
    db = service_accounts.db.session
    try:
        if request.method == "GET":
            link = links.peek_link(db, service_accounts.models, secret, now())
            return _render("use_link.html", link=link)
        check_csrf()
        link = links.redeem_link(db, service_accounts.models, secret, now())
    except links.LinkRefused as refused:
        rollback(db)
        if request.method == "POST":
            audit.record_refusal(db, "sign_in.refused", "sign_in_link", "-", tenant_id=None,
                                 changes={"reason": [None, refused.detail]})
        return _render("sign_in.html", next_path="", email="", error=None, refused=refused.detail), 400
    invited = link.purpose == "invitation"
    # An invitation's newest membership is the one it was sent for: the invitee starts out acting in it.
    held = link.person.memberships
    if invited and held:
        membership = max(held, key=lambda each: each.id)
    else:
        membership = held[0] if held and not link.person.is_admin else None
    _begin(links.start_session(db, service_accounts.models, link.person, via="invitation" if invited else "link",
                               membership=membership, user_agent=request.user_agent.string or "", now=now()))
    _audit_sign_in(db, link.person, membership, "invitation" if invited else "link")
    return redirect(link.next_path or url_for(service_accounts.home_endpoint), code=303)


def _to_identity_provider(provider, next_path: str):
    """Send the browser to the tenant's OpenID provider; what the callback must check waits in the session."""
    try:
        url, pending = oidc.start(sso.settings_of(provider), absolute_url(url_for("accounts_pages.oidc_callback")))
    except oidc.OidcError as error:
        log.warning("Single sign-on for %s could not start: %s", provider.tenant_id, error.detail)
        return _render("sign_in.html", next_path=next_path, email="", error=None, refused=str(error)), 503
    session[PENDING_SSO] = {**asdict(pending), "provider": provider.id, "next": next_path}
    return redirect(url, code=303)


@blp.route("/oidc/callback")
def oidc_callback():
    """The identity provider's answer: a member of the tenant is signed in, anyone else is told why not."""
    rate_limits.check(rate_limits.SIGN_IN_PER_IP, rate_limits.client_ip())
    service_accounts = accounts()
    db = service_accounts.db.session
    pending = session.pop(PENDING_SSO, None)
    provider = db.get(service_accounts.models.SignInProvider, pending["provider"]) if pending else None
    try:
        if provider is None:
            raise links.LinkRefused("Log-ind hos jeres identitetsudbyder er udløbet eller ikke begyndt her. "
                                    "Prøv igen.")
        started = oidc.PendingSignIn(**{key: pending[key] for key in
                                        ("state", "nonce", "code_verifier", "redirect_uri", "issuer")})
        identity = oidc.finish(sso.settings_of(provider), started, request.args)
        person, membership = sso.member_for_identity(db, service_accounts, provider, identity)
    except (oidc.OidcError, links.LinkRefused) as refused:
        reason = refused.detail if isinstance(refused, links.LinkRefused) else str(refused)
        if isinstance(refused, oidc.OidcError):
            log.warning("Single sign-on refused: %s", refused.detail)
        audit.record_refusal(db, "sign_in.refused", "sign_in_provider", provider.id if provider else "-",
                             tenant_id=provider.tenant_id if provider else None,
                             changes={"reason": [None, reason], "via": [None, "oidc"]})
        return _render("sign_in.html", next_path="", email="", error=None, refused=reason), 400
    _begin(links.start_session(db, service_accounts.models, person, via="oidc", membership=membership,
                               user_agent=request.user_agent.string or "", now=now()))
    _audit_sign_in(db, person, membership, "oidc")
    return redirect(pending.get("next") or url_for(service_accounts.home_endpoint), code=303)


@blp.route("/log-ud", methods=["POST"])
def sign_out():
    check_csrf()
    web_session = current_web_session()
    if web_session is not None:
        links.end_session(web_session, now())
        audit.record(db_session(), "sign_out", "person", web_session.person_id,
                     tenant_id=web_session.membership.tenant_id if web_session.membership else None)
    session.clear()
    flash("Du er logget ud.")
    return redirect(url_for("accounts_pages.sign_in"), code=303)


@blp.route("/min-profil")
def profile():
    web_session = current_web_session()
    if web_session is None:
        return redirect(url_for("accounts_pages.sign_in", next=request.path))
    service_accounts = accounts()
    live = links.sessions_of(service_accounts.db.session, service_accounts.models, web_session.person, now())
    return _render("profile.html", person=web_session.person, current=web_session, sessions=live,
                   roles=service_accounts.roles)


@blp.route("/min-profil/sessioner/<int:session_id>/afslut", methods=["POST"])
def end_other_session(session_id: int):
    check_csrf()
    web_session = current_web_session()
    if web_session is None:
        return redirect(url_for("accounts_pages.sign_in"))
    service_accounts = accounts()
    for live in links.sessions_of(service_accounts.db.session, service_accounts.models, web_session.person, now()):
        if live.id == session_id:
            links.end_session(live, now())
            flash("Sessionen er afsluttet.")
    if session_id == web_session.id:
        session.clear()
        return redirect(url_for("accounts_pages.sign_in"), code=303)
    return redirect(url_for("accounts_pages.profile"), code=303)


@blp.route("/skift", methods=["POST"])
def switch():
    check_csrf()
    web_session = current_web_session()
    if web_session is None:
        return redirect(url_for("accounts_pages.sign_in"))
    chosen = request.form.get("membership", "")
    try:
        links.switch_membership(web_session, int(chosen) if chosen.isdigit() else None)
    except links.LinkRefused as refused:
        flash(refused.detail)
    return redirect(safe_next(request.form.get("next"), url_for(accounts().home_endpoint)), code=303)


def page_tenant_id() -> int | None:
    """The school or organisation a page is about: the member's own; an administrator's choice (?tenant=)."""
    from shared.accounts.members import tenant_id_of
    from shared.auth import Role
    from shared.pages import page_actor

    actor = page_actor()
    if actor.role is Role.ADMIN:
        chosen = request.values.get("tenant", "")
        return int(chosen) if chosen.isdigit() else None
    service_accounts = accounts()
    return tenant_id_of(service_accounts.db.session, service_accounts, actor)


def db_session():
    return accounts().db.session


def _audit_sign_in(db, person, membership, via: str) -> None:
    who = audit.person_actor(person, membership)
    audit.record(db, "sign_in", "person", person.id, tenant_id=membership.tenant_id if membership else None,
                 changes={"via": [None, via]}, actor=who)


def _begin(secret: str) -> None:
    """A fresh cookie: nothing of what the browser held before signing in carries over (session fixation)."""
    session.clear()
    session[SESSION_KEY] = secret
    session.permanent = False


def queue_link_mail(mail: links.LinkMail) -> None:
    service_accounts = accounts()
    url = absolute_url(url_for("accounts_pages.use_link", secret=mail.secret))
    where = "GLU-kurser for skoler" if service_accounts.service == "catalogue" else "GLU-kurser for HR"
    if mail.purpose == "invitation":
        subject = f"Du er inviteret til {where}"
        opening = (f"Du er inviteret til {where}. Klik på linket for at logge ind første gang. "
                   "Linket virker i 7 dage og kun én gang.")
    else:
        subject = f"Dit link til at logge ind på {where}"
        opening = "Klik på linket for at logge ind. Linket virker i 15 minutter og kun én gang."
    body = "\n".join([f"Hej {mail.name}", "", opening, "", url, "",
                      "Har du ikke bedt om det, kan du se bort fra denne mail; ingen kan logge ind uden linket."])
    queue_mail(service_accounts.db.session, mail.recipient, subject, body)


def _looks_like_address(email: str) -> bool:
    local, at, domain = email.partition("@")
    return bool(local and at and "." in domain and " " not in email and len(email) <= 254)

"""What both services' HTML pages share: the layout, the style sheet, signing in with a token, CSRF.

Pages are server-rendered Jinja in Danish and work without JavaScript. A person signs in by
pasting their token once; it is kept in Flask's signed session cookie (HttpOnly, SameSite=Lax,
Secure behind https) and every form that changes something carries a CSRF token.
"""

from __future__ import annotations

import hmac
import secrets
from urllib.parse import urlsplit

from flask import Blueprint, Flask, abort, current_app, redirect, render_template, request, session, url_for

from shared.auth import ANONYMOUS, Actor, Role, read_token
from shared.errors import Forbidden, Unauthorized

blp = Blueprint("shared_pages", __name__, template_folder="templates", static_folder="static",
                static_url_path="/static/shared")

_TOKEN = "token"
_CSRF = "csrf"


def install_pages(app: Flask) -> None:
    """The shared layout, style sheet and accessibility statement, and CSRF checks on page forms."""
    app.config.update(
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=(app.config.get("PUBLIC_URL") or "").startswith("https"),
    )
    app.secret_key = hmac.new(app.config["GLU_TOKEN_SECRET"].encode(), b"session cookies", "sha256").hexdigest()
    app.register_blueprint(blp)
    app.jinja_env.globals["csrf_token"] = csrf_token
    app.jinja_env.globals["page_actor"] = page_actor


@blp.route("/tilgaengelighed")
def accessibility_statement():
    return render_template("shared/accessibility.html")


def is_page_request() -> bool:
    """Requests to a page blueprint (named …_pages) get HTML error pages instead of problem+json."""
    return bool(request.blueprint and request.blueprint.endswith("_pages"))


def error_page(status: int, title: str, detail: str | None):
    return render_template("shared/error.html", status=status, title=title, detail=detail), status


def csrf_token() -> str:
    if _CSRF not in session:
        session[_CSRF] = secrets.token_urlsafe(32)
    return session[_CSRF]


def check_csrf() -> None:
    """Refuse a form post whose CSRF token is missing or not this session's (400)."""
    sent = request.form.get("csrf_token", "")
    if not sent or not hmac.compare_digest(sent, session.get(_CSRF, "")):
        abort(400, description="Formularen er udløbet. Indlæs siden igen, og prøv en gang til.")


def sign_in(token: str) -> Actor:
    """Keep a valid administrator's token in the session; Unauthorized for an invalid one, Forbidden for others.

    People sign in as themselves (shared.accounts); pasting a token stays for operators.
    """
    actor = read_token(current_app.config["GLU_TOKEN_SECRET"], token.strip())
    if actor.role is not Role.ADMIN:
        raise Forbidden("Kun administratorer logger ind med en adgangsnøgle. Log ind med din e-mailadresse.")
    session.clear()
    session[_TOKEN] = token.strip()
    session.permanent = False
    return actor


def sign_out() -> None:
    session.clear()


def page_actor() -> Actor:
    """Who is signed in on the pages: a person's session (shared.accounts), else an administrator's token."""
    from shared.accounts import accounts, current_web_session

    web_session = current_web_session()
    if web_session is not None:
        return accounts().actor_for(web_session)
    token = session.get(_TOKEN)
    if not token:
        return ANONYMOUS
    try:
        actor = read_token(current_app.config["GLU_TOKEN_SECRET"], token)
    except Unauthorized:
        session.pop(_TOKEN, None)
        return ANONYMOUS
    return actor if actor.role is Role.ADMIN else ANONYMOUS


def require_page_role(*roles: Role) -> Actor | None:
    """The signed-in actor holding one of `roles`; None if no one is signed in (the caller then redirects
    to sign in); Forbidden (a 403 page) for someone signed in with another role, who would only be sent
    back here after signing in."""
    actor = page_actor()
    if actor.is_anonymous:
        return None
    if actor.role not in roles:
        raise Forbidden("Din rolle giver ikke adgang til denne side.")
    return actor


def safe_next(target: str | None, fallback: str) -> str:
    """Only local paths as redirect targets after signing in (no open redirects)."""
    if target and target.startswith("/") and not target.startswith("//") and not urlsplit(target).netloc:
        return target
    return fallback


def redirect_to_sign_in(endpoint: str | None = None):
    """To the sign-in page (`endpoint`, else the accounts' /log-ind), coming back here afterwards."""
    return redirect(url_for(endpoint or "accounts_pages.sign_in", next=request.full_path.rstrip("?")))

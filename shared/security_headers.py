"""Security headers on every response of both services: pages, API, static files and errors alike.

- Content-Security-Policy: scripts, styles, fonts and fetches only from the service itself, nothing
  inline (templates load their code from static files, shared/api_docs.py starts Swagger UI from
  one), no plugins, no <base>, and no page may be framed (clickjacking). `img-src` also allows
  data: because Swagger UI's stylesheet draws its icons as data: SVGs.
- X-Content-Type-Options: nosniff, so a CSV export or an uploaded file is never run as script.
- Referrer-Policy: strict-origin-when-cross-origin; a page that carries a secret in its URL (a
  leader's own links, enrolment.pages.leader) already says no-referrer and keeps it.
- Strict-Transport-Security only where the service's PUBLIC_URL is https: a browser told so over
  plain http (make run, the tests) would refuse the service until max-age ran out.

Installed as an after_request hook right after shared.observability's, so it runs after every other
hook (Flask runs them in reverse) and also on the error responses Flask builds when one of them fails.
"""

from __future__ import annotations

from flask import Flask, Response, request

# Chrome checks form-action on the redirect that answers a form's POST too, and the sign-in form of
# someone whose address has single sign-on is answered with a redirect to their employer's OpenID
# provider: an https origin set at run time (shared.accounts.sso), whose authorization endpoint comes
# from its discovery document. So that one form may go to any https origin; every other form only
# to the service itself.
SIGN_IN_ENDPOINT = "accounts_pages.sign_in"
# sso.py also accepts an http issuer on this machine (a test or development provider); allowed only
# where the service itself runs on plain http, never in production.
LOCAL_PROVIDERS = "http://127.0.0.1:* http://localhost:*"
# A year, the usual value (and the preload list's minimum). Not includeSubDomains: the service's host
# name is typically one under a municipality's or school's domain, whose other hosts are not ours.
HSTS = "max-age=31536000"


def content_security_policy(form_action: str) -> str:
    return "; ".join([
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "object-src 'none'",
        "base-uri 'none'",
        "frame-ancestors 'none'",
        f"form-action {form_action}",
    ])


def install_security_headers(app: Flask) -> None:
    https = (app.config.get("PUBLIC_URL") or "").startswith("https://")
    policy = content_security_policy("'self'")
    sign_in_policy = content_security_policy("'self' https:" if https else f"'self' https: {LOCAL_PROVIDERS}")

    def add_security_headers(response: Response) -> Response:
        headers = response.headers
        headers["Content-Security-Policy"] = sign_in_policy if request.endpoint == SIGN_IN_ENDPOINT else policy
        headers["X-Content-Type-Options"] = "nosniff"
        headers.setdefault("Referrer-Policy", "strict-origin-when-cross-origin")
        if https:
            headers["Strict-Transport-Security"] = HSTS
        return response

    app.after_request(add_security_headers)

"""'Send mine links igen': a leader who lost the mail with their links gives their address and gets them again.

The answer is the same whether or not the address is known (the page tells no stranger who is
enrolled); the mail goes only to the address itself. Limited per address and per IP, like asking
for a sign-in link (shared.accounts.pages), so the page cannot be used to flood someone's inbox.
"""

from __future__ import annotations

from flask import render_template, request

from enrolment import notices
from enrolment.models import db
from enrolment.pages.common import blp
from shared import rate_limits
from shared.forms import FormErrors
from shared.pages import check_csrf

LABELS = {"email": "E-mail"}


@blp.route("/mine-links", methods=["GET", "POST"])
def my_links():
    email = request.form.get("email", "").strip()
    errors = FormErrors()
    if request.method == "GET":
        return render_template("enrolment/my_links.html", email="", errors=errors, labels=LABELS, sent=False)
    check_csrf()
    if not _looks_like_address(email):
        errors.add("email", "Skriv din e-mailadresse, fx navn@kommune.dk.")
        return render_template("enrolment/my_links.html", email=email, errors=errors, labels=LABELS, sent=False), 422
    rate_limits.check(rate_limits.MY_LINKS_PER_IP, rate_limits.client_ip())
    rate_limits.check(rate_limits.MY_LINKS_PER_ADDRESS, email.casefold())
    notices.links_requested(db.session, email)
    return render_template("enrolment/my_links.html", email=email, errors=errors, labels=LABELS, sent=True)


def _looks_like_address(email: str) -> bool:
    local, at, domain = email.partition("@")
    return bool(local and at and "." in domain and " " not in email and len(email) <= 254)

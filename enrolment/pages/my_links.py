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

LINKS_PER_ADDRESS = "3/15 minutes"
LINKS_PER_IP = "20/15 minutes"
SLOW_DOWN = "Du har bedt om dine links mange gange på kort tid. Vent lidt, og prøv igen."
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
    rate_limits.check("my-links:ip", LINKS_PER_IP, request.remote_addr or "unknown", SLOW_DOWN)
    rate_limits.check("my-links:address", LINKS_PER_ADDRESS, email.casefold(), SLOW_DOWN)
    notices.links_requested(db.session, email)
    return render_template("enrolment/my_links.html", email=email, errors=errors, labels=LABELS, sent=True)


def _looks_like_address(email: str) -> bool:
    local, at, domain = email.partition("@")
    return bool(local and at and "." in domain and " " not in email and len(email) <= 254)

"""Go or no-go on the school's desk: hold a course with one button, and the school's policy for the rest.

- POST     /skole/udbud/<id>/afgoer   "Holdet gennemføres": the same decision as POST /offerings/{id}/decision
                                      with "held" (cancelling is the desk's confirmation page, /aflys)
- GET/POST /skole/indstillinger       the school's admin chooses what happens to an offering nobody has
                                      decided on within the grace: cancel automatically, or hold anyway

The rules are catalogue.decisions'; refusals become messages beside the fields (shared.forms) or,
for the one-button decision, a message at the offering's row. `decision_line` (the status line
"4 af mindst 6 tilmeldt — afgøres 13. januar") is given to every catalogue template here.
"""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from marshmallow import ValidationError

from catalogue import decisions, providers
from catalogue.models import db
from catalogue.pages import date_range
from catalogue.views.offerings import webhooks
from shared.auth import Role
from shared.errors import DomainError, ValidationFailed
from shared.forms import FormErrors
from shared.pages import check_csrf, redirect_to_sign_in, require_page_role
from shared.schemas import DecisionPolicySchema
from shared.transaction import rollback

# Named …_pages so that errors on these routes render as HTML (shared.pages.is_page_request).
blp = Blueprint("decision_pages", __name__, template_folder="templates")

SETTINGS_FIELDS = {"/decision_policy": "decision_policy", "/decision_grace_days": "decision_grace_days"}


@blp.app_context_processor
def _decision_helpers() -> dict:
    return {"decision_line": decisions.status_line}


@blp.route("/skole/udbud/<int:offering_id>/afgoer", methods=["POST"])
def hold(offering_id: int):
    check_csrf()
    actor = require_page_role(Role.SCHOOL)
    if actor is None:
        return redirect(url_for("accounts_pages.sign_in", next=url_for("catalogue_pages.school")), 303)
    try:
        held = decisions.decide(db.session, actor, offering_id, "held", None, webhook=webhooks().enabled)
    except DomainError as refused:
        rollback(db.session)
        flash(f"Udbud {offering_id} er ikke afgjort: {refused.detail}")
    else:
        flash(f"Holdet gennemføres: {held.module.title}, {date_range(held)}. De tilmeldte får besked.")
    return redirect(url_for("catalogue_pages.school") + f"#udbud-{offering_id}", 303)


@blp.route("/skole/indstillinger", methods=["GET", "POST"])
def settings():
    actor = require_page_role(Role.SCHOOL)
    if actor is None:
        if request.method == "POST":
            check_csrf()
            return redirect(url_for("accounts_pages.sign_in", next=url_for(".settings")), 303)
        return redirect_to_sign_in()
    provider = providers.get_provider(db.session, actor.provider_id)
    values = {"decision_policy": provider.decision_policy, "decision_grace_days": str(provider.decision_grace_days)}
    errors = FormErrors()
    if request.method == "POST":
        check_csrf()
        values = {name: request.form.get(name, "").strip() for name in SETTINGS_FIELDS.values()}
        try:
            changes = DecisionPolicySchema().load(_typed(values))
            decisions.set_decision_policy(db.session, actor, provider.id, changes)
        except ValidationError as error:
            errors.add_validation(error, SETTINGS_FIELDS)
        except ValidationFailed as refused:  # a course administrator's Forbidden is the 403 page
            rollback(db.session)
            errors.add_domain(refused, SETTINGS_FIELDS)
        else:
            flash("Indstillingerne er gemt.")
            return redirect(url_for(".settings"), 303)
    return render_template("catalogue/decision_settings.html", provider=provider, values=values, errors=errors,
                           policies=decisions.POLICY_LABELS, may_change=decisions.may_set_policy(actor, provider.id),
                           ), 422 if errors else 200


def _typed(values: dict) -> dict:
    """The form's text as the API's JSON: a whole number of days stays a string (refused beside its field)."""
    days = values["decision_grace_days"]
    return {"decision_policy": values["decision_policy"],
            "decision_grace_days": int(days) if days.lstrip("-").isdigit() else days}

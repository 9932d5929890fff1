"""HR's pages: signing in with the HR token, the organisation's enrolments, and acting on them.

Every change calls the same domain function as the API (enrolment.enrolments), commits, and
goes back to the list with a message; a refusal (a Conflict, an enrolment of another
organisation, …) becomes an error message there, never an error page.

Administrators may sign in too. They act for one organisation at a time, chosen on /hr and
carried as ?organisation=<key>, exactly as the API lets them name one; HR always acts for the
organisation in its token.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

from flask import flash, redirect, render_template, request, url_for
from marshmallow import ValidationError

from enrolment import enrolments, exports
from enrolment.attendance import completion_text
from enrolment.enrolments import EnrolmentFilters, enrolments_query
from enrolment.models import ACTIVE_STATUSES, Enrolment, Organisation, db
from enrolment.organisations import organisation_in_scope
from enrolment.pages.common import blp, offering_from_snapshot, organisation_choices, status_text
from enrolment.views.participants import csv_response
from shared.auth import Actor, Role
from shared.clock import copenhagen_today
from shared.errors import DomainError, Forbidden, NotFound, Unauthorized, ValidationFailed, field_errors_from_messages
from shared.forms import FormErrors
from shared.links import absolute_url
from shared.pages import (
    check_csrf,
    redirect_to_sign_in,
    require_page_role,
    safe_next,
    sign_in,
    sign_out,
)
from shared.schemas import ENROLMENT_STATUSES, SubstituteSchema, webcal
from shared.transaction import rollback

HR_ROLES = (Role.HR, Role.APPROVER, Role.ADMIN)
# Enrolling many at once is not an approver's.
ENROLLING_ROLES = (Role.HR, Role.ADMIN)
# The status filter's choices, in the order HR meets them.
STATUS_CHOICES = [("pending_approval", "Afventer godkendelse"), ("confirmed", "Bekræftet"),
                  ("waitlisted", "Venteliste"), ("cancelled", "Afmeldt"), ("rejected", "Afvist")]
SUBSTITUTE_LABELS = {"/participant/name": "Navn", "/participant/email": "E-mail"}


# --- Signing in and out ---------------------------------------------------------------------------

@blp.route("/hr/log-ind", methods=["GET", "POST"])
def sign_in_page():
    """Administrators sign in with a token here; HR and approvers with their e-mail address (/log-ind)."""
    target = safe_next(request.values.get("next"), url_for("enrolment_pages.hr_overview"))
    errors = FormErrors()
    if request.method == "POST":
        check_csrf()
        token = request.form.get("token", "").strip()
        if not token:
            errors.add("token", "Indsæt din adgangsnøgle.")
        else:
            try:
                sign_in(token)
            except (Unauthorized, Forbidden) as error:
                errors.add("token", error.detail)
            else:
                flash("Du er logget ind som administrator.")
                return redirect(target, 303)
    return render_template("enrolment/sign_in.html", errors=errors, next=target), 422 if errors else 200


@blp.route("/hr/log-ud", methods=["POST"])
def sign_out_page():
    check_csrf()
    sign_out()
    flash("Du er logget ud.")
    return redirect(url_for("accounts_pages.sign_in"), 303)


# --- Which organisation ---------------------------------------------------------------------------

def organisation_scope(actor: Actor, key: str | None) -> Organisation | None:
    """HR's own organisation; for an administrator the one chosen (None until one is)."""
    if actor.role is Role.ADMIN and not key:
        return None
    if actor.role is Role.APPROVER:  # sees the organisation's requests; organisation_in_scope is for enrolling
        return organisation_in_scope(db.session, replace(actor, role=Role.HR), None)
    return organisation_in_scope(db.session, actor, key if actor.role is Role.ADMIN else None)


def scope_args(actor: Actor, organisation: Organisation | None) -> dict:
    """The query parameters that keep an administrator's choice of organisation from page to page."""
    return {"organisation": organisation.key} if actor.role is Role.ADMIN and organisation else {}


def chosen_key() -> str | None:
    return request.values.get("organisation", "").strip() or None


# --- The organisation's enrolments ----------------------------------------------------------------

@blp.route("/hr")
def hr_overview():
    actor = require_page_role(*HR_ROLES)
    if actor is None:
        return redirect_to_sign_in()
    try:
        organisation = organisation_scope(actor, chosen_key())
    except NotFound as error:
        if actor.role is not Role.ADMIN:
            raise
        flash(f"Fejl: {error.detail}")
        organisation = None
    if organisation is None:
        return render_template("enrolment/hr_choose.html", organisations=organisation_choices())
    status = request.args.get("status") or None
    if status not in ENROLMENT_STATUSES:
        status = None
    found = list(db.session.scalars(enrolments_query(actor, EnrolmentFilters(
        status=status, organisation=organisation.key if actor.role is Role.ADMIN else None))).unique())
    groups = _by_offering(found)
    feed = absolute_url(f"/feeds/organisations/{organisation.feed_token}.ics")
    return render_template(
        "enrolment/hr_overview.html", organisation=organisation, groups=groups, status=status,
        status_choices=STATUS_CHOICES, scope=scope_args(actor, organisation), back=request.full_path.rstrip("?"),
        feed_url=feed, feed_webcal_url=webcal(feed), total=len(found), manages=actor.role is not Role.APPROVER,
        demo=any(group["offering"] and group["offering"]["demo"] for group in groups))


def _by_offering(found: list[Enrolment]) -> list[dict]:
    """The enrolments grouped by offering, the soonest course first; each with what may be done to it."""
    today = copenhagen_today()
    groups: dict[int, dict] = {}
    for enrolment in found:
        group = groups.setdefault(enrolment.offering_id, {
            "offering_id": enrolment.offering_id, "offering": offering_from_snapshot(enrolment.seats.snapshot),
            "rows": []})
        group["rows"].append({"enrolment": enrolment, "status": status_text(enrolment),
                              "can_cancel": enrolments.can_cancel(enrolment, today),
                              "active": enrolment.status in ACTIVE_STATUSES,
                              "completion": completion_text(enrolment)})
    return sorted(groups.values(), key=lambda group: (
        group["offering"] is None, group["offering"]["starts_at"].isoformat() if group["offering"] else "",
        group["offering_id"]))


@blp.route("/hr/eksport.csv")
def export_csv():
    actor = require_page_role(*HR_ROLES)
    if actor is None:
        return redirect_to_sign_in()
    organisation = organisation_scope(actor, chosen_key())
    if organisation is None:
        return redirect(url_for("enrolment_pages.hr_overview"), 303)
    status = request.args.get("status") or None
    data = exports.enrolments_csv(db.session, actor, EnrolmentFilters(
        status=status if status in ENROLMENT_STATUSES else None,
        organisation=organisation.key if actor.role is Role.ADMIN else None))
    response = csv_response(data, f"tilmeldinger-{organisation.key}.csv")
    response.headers["Cache-Control"] = "private, no-store"
    return response


# --- Acting on one enrolment ----------------------------------------------------------------------

def _act(change: Callable[[Actor], Enrolment], done: Callable[[Enrolment], str]):
    """Check the form, make the change through the domain, commit, and go back to the list with a message."""
    check_csrf()
    back = safe_next(request.form.get("tilbage"), url_for("enrolment_pages.hr_overview"))
    actor = require_page_role(*HR_ROLES)
    if actor is None:
        return redirect(url_for("accounts_pages.sign_in", next=back), 303)
    try:
        enrolment = change(actor)
    except DomainError as error:
        rollback(db.session)
        flash(f"Fejl: {error.detail}")
    else:
        flash(done(enrolment))
    return redirect(back, 303)


@blp.route("/hr/tilmeldinger/<int:enrolment_id>/godkend", methods=["POST"])
def approve(enrolment_id: int):
    return _act(lambda actor: enrolments.approve_request(db.session, actor, enrolment_id, copenhagen_today()),
                lambda e: f"Anmodningen fra {e.participant.name} er godkendt: {status_text(e)}.")


@blp.route("/hr/tilmeldinger/<int:enrolment_id>/afvis", methods=["POST"])
def reject(enrolment_id: int):
    return _act(lambda actor: enrolments.reject_request(db.session, actor, enrolment_id),
                lambda e: f"Anmodningen fra {e.participant.name} er afvist.")


@blp.route("/hr/tilmeldinger/<int:enrolment_id>/afmeld", methods=["POST"])
def cancel(enrolment_id: int):
    return _act(lambda actor: enrolments.cancel_enrolment(db.session, actor, enrolment_id, copenhagen_today()),
                lambda e: f"{e.participant.name} er meldt fra.")


@blp.route("/hr/tilmeldinger/<int:enrolment_id>/overdrag", methods=["POST"])
def substitute(enrolment_id: int):
    def change(actor: Actor) -> Enrolment:
        data = _substitute_data()
        return enrolments.substitute_participant(db.session, actor, enrolment_id, data["participant"])

    return _act(change, lambda e: f"Pladsen er overdraget til {e.participant.name} ({status_text(e)}).")


def _substitute_data() -> dict:
    name, email = (request.form.get(key, "").strip() for key in ("navn", "email"))
    participant = {key: value for key, value in (("name", name), ("email", email)) if value}
    try:
        return SubstituteSchema().load({"participant": participant})
    except ValidationError as error:
        problems = field_errors_from_messages(error.messages)
        raise ValidationFailed("Pladsen er ikke overdraget. " + " ".join(
            f"{SUBSTITUTE_LABELS.get(problem.pointer, 'Deltager')}: {problem.message}" for problem in problems),
        ) from error

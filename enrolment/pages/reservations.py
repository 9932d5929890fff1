"""HR's reserved seats (/hr/reservationer): reserve seats on an offering, name people into them, give back the rest.

Every form calls the same domain function as the API (enrolment.reservations). A refusal comes
back on the same page with its message beside the field it concerns and the typed values kept
(shared.forms.FormErrors): the form's own checks and the domain's refusals are both DomainErrors
here, caught in one place; a change commits (the commit point) and goes back to the list.
"""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from marshmallow import Schema, ValidationError

from enrolment import reservations
from enrolment.models import db
from enrolment.pages.common import blp, catalogue, organisation_choices
from enrolment.pages.hr import ENROLLING_ROLES, chosen_key, organisation_scope, scope_args
from enrolment.pages.leader import catalogue_down
from shared.auth import Actor
from shared.clock import copenhagen_today, now
from shared.errors import DomainError, ServiceUnavailable, ValidationFailed, field_errors_from_messages
from shared.forms import FormErrors
from shared.pages import check_csrf, redirect_to_sign_in, require_page_role
from shared.schemas import ReservationCreateSchema, ReservationNameSchema, ReservationReleaseSchema
from shared.transaction import rollback

LABELS = {"udbud": "Udbudsnummer", "pladser": "Antal pladser"}


@blp.route("/hr/reservationer", methods=["GET", "POST"])
def reservations_page():
    actor = require_page_role(*ENROLLING_ROLES)
    if actor is None:
        if request.method == "POST":
            check_csrf()
            return redirect(url_for("accounts_pages.sign_in", next=url_for("enrolment_pages.reservations_page")), 303)
        return redirect_to_sign_in()
    organisation = organisation_scope(actor, chosen_key())
    if organisation is None:
        return render_template("enrolment/hr_choose.html", organisations=organisation_choices())
    scope = scope_args(actor, organisation)
    errors, status = FormErrors(), 200
    if request.method == "POST":
        check_csrf()
        action, pointers, beside = _action()
        try:
            message = action(actor, organisation.key)
        except ServiceUnavailable as error:
            rollback(db.session)
            return catalogue_down(error)
        except DomainError as error:
            rollback(db.session)
            status = error.status
            if error.errors:
                errors.add_domain(error, pointers)
            else:  # about the offering, the reservation or the person as a whole: beside what was typed last
                errors.add(beside, error.detail)
        else:
            flash(message)
            return redirect(url_for("enrolment_pages.reservations_page", **scope), 303)
    found = reservations.list_reservations(db.session, actor, organisation_key=organisation.key)
    rows = [{"reservation": reservation, "offering": reservations.offering_of(reservation),
             "open": reservation.released_at is None and reservation.unnamed > 0} for reservation in found]
    values = {key: value.strip() for key, value in request.form.items() if key != "csrf_token"}
    return render_template("enrolment/reservations.html", rows=rows, values=values, errors=errors, labels=LABELS,
                           scope=scope, organisation=organisation), status


def _action():
    """The form sent: (what it does, where its JSON pointers show, the field a refusal without one goes beside)."""
    number = _reservation_number()
    handling = request.form.get("handling")
    if handling == "navngiv":
        return _name, {"/participant/name": f"navn-{number}", "/participant/email": f"email-{number}",
                       "/participant": f"navn-{number}"}, f"navn-{number}"
    if handling == "frigiv":
        return _release, {"/seats": f"frigiv-{number}"}, f"frigiv-{number}"
    return _reserve, {"/offering_id": "udbud", "/seats": "pladser"}, "udbud"


def _reserve(actor: Actor, organisation: str) -> str:
    offering_id = _whole_number("udbud", "/offering_id", "Skriv udbuddets nummer, fx 12.")
    data = _load(ReservationCreateSchema(), {"seats": _whole_number("pladser", "/seats", "Skriv et antal, fx 3.")})
    reservation = reservations.reserve_seats(db.session, actor, catalogue(), offering_id, data["seats"],
                                             organisation, copenhagen_today(now()))
    return f"{reservation.seats} pladser er reserveret på udbud {offering_id}."


def _name(actor: Actor, organisation: str) -> str:
    number = _reservation_number()
    typed = {key: request.form.get(f"{field}-{number}", "").strip() for key, field in (("name", "navn"),
                                                                                         ("email", "email"))}
    data = _load(ReservationNameSchema(), {"participant": typed})
    enrolment = reservations.name_into(db.session, actor, number, data["participant"], copenhagen_today(now()))
    return f"{enrolment.participant.name} har fået en af de reserverede pladser og er tilmeldt (bekræftet)."


def _release(actor: Actor, organisation: str) -> str:
    number = _reservation_number()
    typed = request.form.get(f"frigiv-{number}", "").strip()
    count = _whole_number(f"frigiv-{number}", "/seats", "Skriv et antal, eller lad feltet stå tomt.") if typed else None
    data = _load(ReservationReleaseSchema(), {"seats": count})
    reservation = reservations.release_seats(db.session, actor, number, data["seats"])
    left = f" {reservation.unnamed} er stadig reserveret." if reservation.unnamed else ""
    return f"Pladserne er frigivet, og ventelisten er rykket op.{left}"


def _reservation_number() -> int:
    typed = request.form.get("reservation", "")
    return int(typed) if typed.isdigit() and len(typed) < 10 else 0


def _whole_number(field: str, pointer: str, message: str) -> int:
    typed = request.form.get(field, "").strip()
    if not typed.isdigit() or len(typed) > 9:
        raise ValidationFailed.field(pointer, message)
    return int(typed)


def _load(schema: Schema, data: dict) -> dict:
    """The API's own schema checks the form, its messages becoming field errors like the domain's."""
    try:
        return schema.load(data)
    except ValidationError as error:
        problems = field_errors_from_messages(error.messages)
        raise ValidationFailed(problems[0].message, problems) from error

"""The school's desk, for one offering: its participants, a message to everyone enrolled, attendance and completion.

The participants live in the enrolment service, so each page reads the offering here (the school's
own, else 403) and asks the enrolment service through catalogue.enrolment_client, on behalf of the
signed-in member; the enrolment service's own rules decide (enrolment.attendance) and its audit
log names the member. Refusals become messages beside their fields or at the top, through
shared.forms like every other page; the enrolment service being down is one Danish page with 503
and Retry-After (`_enrolment_down`), never a 500.

- GET  /skole/udbud/<id>/deltagere                       the list, the CSV link and the message form
- GET  /skole/udbud/<id>/deltagere.csv                   the enrolment service's CSV, passed through
- POST /skole/udbud/<id>/deltagere/besked                a mail to every confirmed participant
- GET  /skole/udbud/<id>/fremmoede                       the days that have begun × the confirmed participants
- POST /skole/udbud/<id>/fremmoede/<session id>          the day's whole list of who attended
- POST /skole/udbud/<id>/gennemfoert/<enrolment id>      completed or not, once the last day has begun
"""

from __future__ import annotations

from datetime import datetime

from flask import Blueprint, Response, abort, current_app, flash, redirect, render_template, request, url_for
from marshmallow import ValidationError

from catalogue import offerings
from catalogue.enrolment_client import EnrolmentClient, SchoolMember
from catalogue.models import Offering, db
from catalogue.pages import danish_day, date_range
from shared.accounts import current_web_session
from shared.auth import Actor, Role
from shared.clock import COPENHAGEN
from shared.errors import DomainError, Forbidden, ServiceUnavailable
from shared.forms import FormErrors
from shared.pages import check_csrf, redirect_to_sign_in, require_page_role
from shared.schemas import CompletionUpdateSchema, OfferingMessageSchema

# Named …_pages so that errors on these routes render as HTML (shared.pages.is_page_request).
blp = Blueprint("participant_pages", __name__, template_folder="templates")

STATUS_LABELS = {"confirmed": "Bekræftet", "waitlisted": "Venteliste", "pending_approval": "Afventer godkendelse",
                 "cancelled": "Afmeldt"}
COMPLETION_CHOICES = (("completed", "Gennemført"), ("not_completed", "Ikke gennemført"))
MESSAGE_FIELDS = {"/subject": "subject", "/text": "text"}


@blp.after_request
def _not_stored(response: Response) -> Response:
    """Names of participants: no cache keeps them."""
    response.headers.setdefault("Cache-Control", "private, no-store")
    return response


@blp.errorhandler(ServiceUnavailable)
def _enrolment_down(error: ServiceUnavailable):
    return (render_template("catalogue/participants_down.html", detail=error.detail), 503,
            {"Retry-After": error.headers.get("Retry-After", "30")})


def enrolment_client() -> EnrolmentClient:
    return current_app.extensions["enrolment_client"]


# --- The participant list and the message -----------------------------------------------------------

@blp.route("/skole/udbud/<int:offering_id>/deltagere")
def participants(offering_id: int, values: dict | None = None, errors: FormErrors | None = None, status: int = 200):
    actor, member = _signed_in_member()
    if actor is None:
        return redirect_to_sign_in()
    offering = _own_offering(actor, offering_id)
    listed = enrolment_client().participants(member, offering_id)
    return render_template("catalogue/participants.html", offering=offering, participants=listed,
                           values=values or {"subject": "", "text": ""}, errors=errors or FormErrors(),
                           status_text=_status_text, date_range=date_range, demo=offering.demo), status


@blp.route("/skole/udbud/<int:offering_id>/deltagere.csv")
def participants_csv(offering_id: int):
    actor, member = _signed_in_member()
    if actor is None:
        return redirect_to_sign_in()
    _own_offering(actor, offering_id)
    return Response(enrolment_client().participants_csv(member, offering_id), content_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="deltagere-udbud-{offering_id}.csv"'})


@blp.route("/skole/udbud/<int:offering_id>/deltagere/besked", methods=["POST"])
def send_message(offering_id: int):
    check_csrf()
    actor, member = _signed_in_member()
    if actor is None:
        return _sign_in_then(url_for(".participants", offering_id=offering_id))
    _own_offering(actor, offering_id)
    values = {name: request.form.get(name, "") for name in ("subject", "text")}
    errors = FormErrors()
    try:
        data = OfferingMessageSchema().load(values)
        sent = enrolment_client().send_message(member, offering_id, data["subject"], data["text"])
    except ValidationError as error:
        errors.add_validation(error, MESSAGE_FIELDS)
    except ServiceUnavailable:
        raise  # one page for it (_enrolment_down)
    except DomainError as error:
        errors.add_domain(error, MESSAGE_FIELDS)
    if errors:
        return participants(offering_id, values=values, errors=errors, status=422)
    flash(f"Beskeden er sendt til {sent} tilmeldt{'' if sent == 1 else 'e'}.")
    return redirect(url_for(".participants", offering_id=offering_id), 303)


def _status_text(participant: dict) -> str:
    if participant["status"] == "waitlisted" and participant.get("waitlist_position"):
        return f"Venteliste nr. {participant['waitlist_position']}"
    return STATUS_LABELS.get(participant["status"], participant["status"])


# --- Attendance and completion --------------------------------------------------------------------

@blp.route("/skole/udbud/<int:offering_id>/fremmoede")
def attendance(offering_id: int, errors: FormErrors | None = None, typed: dict | None = None, status: int = 200):
    actor, member = _signed_in_member()
    if actor is None:
        return redirect_to_sign_in()
    offering = _own_offering(actor, offering_id)
    sheet = enrolment_client().attendance(member, offering_id)
    return render_template("catalogue/attendance.html", offering=offering, sheet=sheet, days=_days(sheet),
                           errors=errors or FormErrors(), typed=typed or {}, choices=COMPLETION_CHOICES,
                           date_range=date_range, demo=offering.demo), status


@blp.route("/skole/udbud/<int:offering_id>/fremmoede/<int:session_id>", methods=["POST"])
def record_attendance(offering_id: int, session_id: int):
    check_csrf()
    actor, member = _signed_in_member()
    if actor is None:
        return _sign_in_then(url_for(".attendance", offering_id=offering_id))
    _own_offering(actor, offering_id)
    attended = _ids(request.form.getlist("attended"))
    try:
        sheet = enrolment_client().record_attendance(member, offering_id, session_id, attended)
    except ServiceUnavailable:
        raise
    except DomainError as error:
        errors = FormErrors()
        errors.add_domain(error, {})
        return attendance(offering_id, errors=errors, status=error.status)
    session = next(item for item in sheet["sessions"] if item["id"] == session_id)
    flash(f"Fremmødet er gemt for {_when(session)}: {len(set(attended))} af {len(sheet['participants'])} mødt.")
    return redirect(url_for(".attendance", offering_id=offering_id) + f"#dag-{session_id}", 303)


@blp.route("/skole/udbud/<int:offering_id>/gennemfoert/<int:enrolment_id>", methods=["POST"])
def record_completion(offering_id: int, enrolment_id: int):
    check_csrf()
    actor, member = _signed_in_member()
    if actor is None:
        return _sign_in_then(url_for(".attendance", offering_id=offering_id))
    _own_offering(actor, offering_id)
    typed = {"result": request.form.get("result", ""), "note": request.form.get("note", "")}
    fields = {"/result": f"result-{enrolment_id}", "/note": f"note-{enrolment_id}"}
    errors = FormErrors()
    try:
        data = CompletionUpdateSchema().load({"result": typed["result"], "note": typed["note"] or None})
        record = enrolment_client().record_completion(member, enrolment_id, data["result"], data["note"])
    except ValidationError as error:
        errors.add_validation(error, fields)
    except ServiceUnavailable:
        raise
    except DomainError as error:
        errors.add_domain(error, fields)
    if errors:
        return attendance(offering_id, errors=errors, typed={enrolment_id: typed}, status=422 if errors.fields else 409)
    flash(f"{record['name']}: {dict(COMPLETION_CHOICES)[record['completion']].lower()} er gemt.")
    return redirect(url_for(".attendance", offering_id=offering_id) + f"#deltager-{enrolment_id}", 303)


# --- Who, which offering, and how days read ---------------------------------------------------------

def _signed_in_member() -> tuple[Actor | None, SchoolMember | None]:
    """The signed-in school member (None if nobody is signed in; another role is a 403) and how they are named."""
    actor = require_page_role(Role.SCHOOL)
    if actor is None:
        return None, None
    web_session = current_web_session()
    person = web_session.person if web_session is not None else None
    name = f"{person.name} <{person.email}>" if person is not None else ""
    return actor, SchoolMember(actor.provider_id, name)


def _own_offering(actor: Actor, offering_id: int) -> Offering:
    offering = offerings.get_offering(db.session, actor, offering_id)
    if offering.provider_id != actor.provider_id:
        raise Forbidden("Du kan kun se deltagerne på din egen skoles udbud.")
    return offering


def _sign_in_then(target: str):
    return redirect(url_for("accounts_pages.sign_in", next=target), 303)


def _ids(raw: list[str]) -> list[int]:
    """The ticked enrolment ids; anything else is a broken form (400)."""
    try:
        return [int(value) for value in raw]
    except ValueError:
        abort(400, description="Formularen er ugyldig. Indlæs siden igen, og prøv en gang til.")


def _days(sheet: dict) -> list[dict]:
    """Each day of the sheet, numbered, in Danish, with who is marked as attended and whether anyone is marked."""
    days = []
    for number, session in enumerate(sheet["sessions"], start=1):
        marks = [(row["enrolment_id"], mark["attended"]) for row in sheet["participants"] for mark in row["marks"]
                 if mark["session_id"] == session["id"]]
        days.append({**session, "number": number, "when": _when(session), "marked": bool(marks),
                     "attended": {enrolment_id for enrolment_id, attended in marks if attended}})
    return days


def _when(session: dict) -> str:
    """'mandag 1. februar 2027, kl. 08.30–15.30' from the enrolment service's ISO 8601 instants."""
    start, end = (datetime.fromisoformat(session[key]).astimezone(COPENHAGEN) for key in ("starts_at", "ends_at"))
    return f"{danish_day(start)}, kl. {start:%H.%M}–{end:%H.%M}"

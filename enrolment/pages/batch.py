"""HR enrols many people at once: one "navn;e-mail" per line or a CSV file, first a dry run, then for real.

Both steps call enrolment.batches.enrol_batch, the function behind POST /enrolments/batch: the
dry run is rolled back, and its rows travel in a hidden field to the confirmation, which runs the
same rows for real (all or nothing unless HR ticks "only the valid rows").
"""

from __future__ import annotations

import json

from flask import abort, redirect, render_template, request, url_for
from marshmallow import ValidationError

from enrolment import batches
from enrolment.batches import CSV_COLUMNS, BatchReport
from enrolment.models import OfferingSeats, Organisation, db
from enrolment.pages.common import blp, catalogue, offering_from_snapshot, organisation_choices
from enrolment.pages.hr import ENROLLING_ROLES, chosen_key, organisation_scope, scope_args
from enrolment.pages.leader import catalogue_down
from shared.auth import Actor, Role
from shared.clock import copenhagen_today
from shared.errors import Conflict, DomainError, NotFound, ServiceUnavailable, ValidationFailed
from shared.forms import FormErrors
from shared.pages import check_csrf, redirect_to_sign_in, require_page_role
from shared.schemas import MAX_BATCH_ROWS, BatchQuerySchema
from shared.transaction import rollback

# Where enrol_batch's JSON pointers are shown on the form.
BATCH_FIELDS = {"/organisation": "organisation", "/participants": "deltagere", "/offering_id": "udbud"}
OUTCOME_LABELS = {"confirmed": "Bekræftet", "waitlisted": "Venteliste", "duplicate": "Dublet", "invalid": "Ugyldig"}


@blp.route("/hr/tilmeld", methods=["GET", "POST"])
def batch_form():
    actor = require_page_role(*ENROLLING_ROLES)
    if actor is None:
        if request.method == "POST":
            check_csrf()
            return redirect(url_for("accounts_pages.sign_in", next=url_for("enrolment_pages.batch_form")), 303)
        return redirect_to_sign_in()
    values = {"udbud": request.values.get("udbud", "").strip(), "deltagere": request.form.get("deltagere", ""),
              "organisation": chosen_key() or "", "delvis": bool(request.form.get("delvis"))}
    errors = FormErrors()
    if request.method == "GET":
        return _form(actor, values, errors)
    check_csrf()
    offering_id = _offering_id(values["udbud"], errors)
    rows = _rows(errors)
    organisation = _organisation(actor, values["organisation"], errors)
    if errors:
        return _form(actor, values, errors)
    try:
        report, offering = _dry_run(actor, offering_id, organisation, rows, _mode(values["delvis"]))
    except ServiceUnavailable as error:
        return catalogue_down(error)
    except (NotFound, Conflict) as error:  # the offering: unknown, or taking no enrolments
        errors.add("udbud", error.detail)
        return _form(actor, values, errors, status=error.status)
    except DomainError as error:
        errors.add_domain(error, BATCH_FIELDS)
        return _form(actor, values, errors, status=error.status)
    return _preview(actor, values, offering_id, rows, report, offering)


@blp.route("/hr/tilmeld/bekraeft", methods=["POST"])
def batch_confirm():
    check_csrf()
    actor = require_page_role(*ENROLLING_ROLES)
    if actor is None:
        return redirect(url_for("accounts_pages.sign_in", next=url_for("enrolment_pages.batch_form")), 303)
    values = {"udbud": request.form.get("udbud", "").strip(), "organisation": chosen_key() or "",
              "delvis": bool(request.form.get("delvis"))}
    errors = FormErrors()
    offering_id = _offering_id(values["udbud"], errors)
    rows = _carried_rows(request.form.get("data", ""))
    values["deltagere"] = "\n".join(f"{row.get('name') or ''};{row.get('email') or ''}" for row in rows)
    organisation = _organisation(actor, values["organisation"], errors)
    if errors:
        return _form(actor, values, errors)
    mode = _mode(values["delvis"])
    try:
        report = batches.enrol_batch(db.session, actor, catalogue(), offering_id, organisation, rows,
                                     dry_run=False, mode=mode, today=copenhagen_today())
        offering = _offering_seen(offering_id)
    except ServiceUnavailable as error:
        rollback(db.session)
        return catalogue_down(error)
    except ValidationFailed:
        # All or nothing, and some rows are invalid: nothing was enrolled; show the rows again.
        rollback(db.session)
        try:
            report, offering = _dry_run(actor, offering_id, organisation, rows, mode)
        except DomainError as error:
            errors.add_domain(error, BATCH_FIELDS)
            return _form(actor, values, errors, status=error.status)
        message = (f"Ingen er tilmeldt, fordi {report.counts['invalid']} række(r) er ugyldige. Ret listen, "
                   "eller sæt flueben i »Tilmeld kun de gyldige rækker«.")
        return _preview(actor, values, offering_id, rows, report, offering, error=message, status=422)
    except (NotFound, Conflict) as error:
        rollback(db.session)
        errors.add("udbud", error.detail)
        return _form(actor, values, errors, status=error.status)
    except DomainError as error:
        rollback(db.session)
        errors.add_domain(error, BATCH_FIELDS)
        return _form(actor, values, errors, status=error.status)
    return render_template("enrolment/batch_done.html", report=report, offering=offering, outcome=outcome_text,
                           scope=scope_args(actor, _scope_organisation(actor, organisation)),
                           demo=bool(offering and offering["demo"]))


def _dry_run(actor: Actor, offering_id: int, organisation: str | None, rows: list[dict],
             mode: str) -> tuple[BatchReport, dict | None]:
    """What would happen, and the offering as it was read; nothing is kept."""
    try:
        report = batches.enrol_batch(db.session, actor, catalogue(), offering_id, organisation, rows,
                                     dry_run=True, mode=mode, today=copenhagen_today())
        return report, _offering_seen(offering_id)
    finally:
        rollback(db.session)


def _offering_seen(offering_id: int) -> dict | None:
    """The offering as enrol_batch has just recorded it from the catalogue (read before any rollback)."""
    seats = db.session.get(OfferingSeats, offering_id)
    return offering_from_snapshot(seats.snapshot) if seats else None


def _mode(partial: bool) -> str:
    return "partial" if partial else "all_or_nothing"


def outcome_text(row) -> str:
    if row.outcome == "waitlisted" and row.waitlist_position:
        return f"Venteliste nr. {row.waitlist_position}"
    return OUTCOME_LABELS[row.outcome]


def _form(actor: Actor, values: dict, errors: FormErrors, status: int | None = None):
    status = status or (422 if errors else 200)
    return render_template("enrolment/batch_form.html", values=values, errors=errors, max_rows=MAX_BATCH_ROWS,
                           organisations=organisation_choices() if actor.role is Role.ADMIN else [],
                           scope=scope_args(actor, _scope_organisation(actor, values["organisation"]))), status


def _preview(actor: Actor, values: dict, offering_id: int, rows: list[dict], report: BatchReport,
             offering: dict | None, error: str | None = None, status: int = 200):
    values = {**values, "udbud": str(offering_id),
              "deltagere": "\n".join(f"{row.name or ''};{row.email or ''}" for row in report.rows)}
    return render_template("enrolment/batch_preview.html", report=report, offering=offering, outcome=outcome_text,
                           values=values, errors=FormErrors(), data=json.dumps(rows, ensure_ascii=False),
                           error=error, max_rows=MAX_BATCH_ROWS,
                           organisations=organisation_choices() if actor.role is Role.ADMIN else [],
                           scope=scope_args(actor, _scope_organisation(actor, values["organisation"])),
                           demo=bool(offering and offering["demo"])), status


def _scope_organisation(actor: Actor, key: str | None) -> Organisation | None:
    """The organisation an administrator is working for, for links back to /hr (None for HR: its own)."""
    if actor.role is not Role.ADMIN or not key:
        return None
    try:
        return organisation_scope(actor, key)
    except DomainError:
        return None


# --- Reading the form -----------------------------------------------------------------------------

def _offering_id(raw: str, errors: FormErrors) -> int | None:
    if not raw:
        errors.add("udbud", "Skriv udbuddets nummer.")
        return None
    try:
        return BatchQuerySchema(only=("offering_id",)).load({"offering_id": raw})["offering_id"]
    except ValidationError as error:
        errors.add_validation(error, {"/offering_id": "udbud"})
        return None


def _organisation(actor: Actor, key: str, errors: FormErrors) -> str | None:
    """The organisation key to pass on: None for HR (its token says), the chosen one for an administrator."""
    if actor.role is not Role.ADMIN:
        return None
    if not key:
        errors.add("organisation", "Vælg organisationen.")
        return None
    try:
        return organisation_scope(actor, key).key
    except DomainError as error:
        errors.add("organisation", error.detail)
        return None


def _rows(errors: FormErrors) -> list[dict]:
    """The participants from the text field or from the CSV file, read by batches.read_csv either way."""
    upload = request.files.get("fil")
    text = request.form.get("deltagere", "")
    if upload is not None and upload.filename:
        if text.strip():
            errors.add("deltagere", "Skriv deltagerne i feltet eller vælg en fil – ikke begge dele.")
            return []
        return _read(upload.read(), "fil", errors)
    if not text.strip():
        errors.add("deltagere", "Skriv deltagerne, én pr. linje, eller vælg en CSV-fil.")
        return []
    return _read(_with_header(text).encode("utf-8"), "deltagere", errors)


def _with_header(text: str) -> str:
    """Lines typed or pasted as a CSV file: columns pasted from Excel (tabs) count as semicolons, and the
    header name;email is added unless the first line already is one."""
    text = text.strip()
    if ";" not in text and "\t" in text:
        text = text.replace("\t", ";")
    delimiter = ";" if ";" in text or "," not in text else ","
    first = [cell.strip().lower() for cell in text.splitlines()[0].split(delimiter)]
    if all(cell in CSV_COLUMNS for cell in first):
        return text
    return f"name{delimiter}email\n{text}"


def _read(data: bytes, field: str, errors: FormErrors) -> list[dict]:
    try:
        return batches.read_csv(data)
    except ValidationFailed as error:
        named = [f"{problem.pointer.rsplit('/', 1)[-1]}: {problem.message}" for problem in error.errors
                 if problem.pointer.startswith("/columns/")]
        errors.add(field, " ".join([error.detail, *named]))
        return []


def _carried_rows(data: str) -> list[dict]:
    """The rows the dry run showed, carried in the confirmation form; anything else is a broken form (400)."""
    try:
        rows = json.loads(data)
    except ValueError:
        rows = None
    if not isinstance(rows, list) or not rows or not all(isinstance(row, dict) for row in rows):
        abort(400, description="Formularen mangler deltagerlisten. Start forfra med »Tilmeld medarbejdere«.")
    return rows

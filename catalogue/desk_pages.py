"""The school's desk in the browser: create, edit, publish, copy and cancel offerings, and import a CSV file.

- GET/POST /skole/udbud/ny              a new offering, saved as a draft or published
- GET/POST /skole/udbud/<id>/rediger    change a draft or a published offering (the revision goes up)
- POST     /skole/udbud/<id>/udgiv      publish a draft
- GET/POST /skole/udbud/<id>/kopier     the same offering again on new dates, as a draft
- GET/POST /skole/udbud/<id>/aflys      confirm a cancellation, with a reason for the participants
- GET/POST /skole/import                a CSV file: first a dry run of every row, then the import
- GET      /skole/import/skabelon.csv   an example file to start from

Only a signed-in member of the school (Role.SCHOOL). The rules are the API's: the same shared
schemas read the form and the same domain functions (catalogue.offerings, catalogue.importing)
decide; their refusals become Danish messages beside the fields (shared.forms.FormErrors).
The day editor adds and removes days with submit buttons that show the form again, so it works
without JavaScript; each day carries its session's id, which calendars derive their UIDs from.
"""

from __future__ import annotations

import json
from contextlib import suppress
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from flask import Blueprint, Response, abort, current_app, flash, redirect, render_template, request, url_for
from marshmallow import ValidationError
from sqlalchemy import select

from catalogue import decisions, importing, offerings, programmes, providers
from catalogue.models import Offering, db
from catalogue.pages import date_range, page_helpers
from catalogue.views.offerings import webhooks
from shared.auth import Actor, Role
from shared.clock import COPENHAGEN, copenhagen_today, now
from shared.csv_files import write_csv
from shared.errors import Conflict, DomainError, ValidationFailed, field_errors_from_messages
from shared.forms import FormErrors
from shared.pages import check_csrf, redirect_to_sign_in, require_page_role, safe_next
from shared.schemas import OfferingCancelSchema, OfferingCopySchema, OfferingCreateSchema
from shared.transaction import rollback

# Named …_pages so that errors on these routes render as HTML (shared.pages.is_page_request).
blp = Blueprint("desk_pages", __name__, template_folder="templates", static_folder="static",
                static_url_path="/static/catalogue")
blp.context_processor(page_helpers)

# The form's fields, named as the API names them; the module is chosen only when the offering is made.
FIELDS = ("module", "location_id", "capacity", "min_participants", "price_dkk", "enrolment_deadline",
          "decision_date", "language", "contact_email", "reference", "note")
CHANGEABLE = FIELDS[1:]
_NUMBERS = ("location_id", "capacity", "min_participants", "price_dkk")
# Left empty: none (the decision date: the default, catalogue.decisions).
_OPTIONAL = ("min_participants", "decision_date", "reference", "note")
# How the error summary at the top names each field (the message beside the field needs no name).
LABELS = {"module": "Modul", "location_id": "Sted", "days": "Kursusdage", "capacity": "Antal pladser",
          "min_participants": "Mindste antal deltagere", "price_dkk": "Pris", "enrolment_deadline": "Tilmeldingsfrist",
          "decision_date": "Afgøres senest", "language": "Undervisningssprog", "contact_email": "Kontakt",
          "reference": "Reference", "note": "Bemærkning", "first_day": "Ny første dag", "reason": "Årsag",
          "fil": "CSV-fil"}
_DAY_PARTS = {"date": "dato", "start": "starter kl.", "end": "slutter kl."}
CANCEL_FIELDS = {"/reason": "reason"}
COPY_FIELDS = {"/first_day": "first_day", "/reference": "reference"}


def _school() -> Actor | None:
    """The signed-in school member, None for no one (redirect to sign in), a 403 page for another role."""
    return require_page_role(Role.SCHOOL)


def _to_sign_in():
    if request.method == "POST":
        check_csrf()
        return redirect(url_for("accounts_pages.sign_in", next=url_for("catalogue_pages.school")), 303)
    return redirect_to_sign_in()


def _to_desk(offering_id: int | None = None):
    """Back to the desk, at the offering's row: the message is shown where the person is."""
    return redirect(url_for("catalogue_pages.school") + (f"#udbud-{offering_id}" if offering_id else ""), 303)


# --- The offering form: values typed, days, and reading them as the API would ------------------------

@dataclass
class Day:
    """One row of the day editor as typed: date and times in Danish time, and the session's id if it has one."""

    date: str = ""
    start: str = ""
    end: str = ""
    id: str = ""

    @property
    def blank(self) -> bool:
        return not (self.date.strip() or self.start.strip() or self.end.strip())


def _values_of(offering: Offering) -> tuple[dict, list[Day]]:
    values = {name: "" if getattr(offering, name) is None else str(getattr(offering, name)) for name in CHANGEABLE}
    values["module"] = offering.module.code
    days = []
    for session in offering.sessions:
        start, end = session.starts_at.astimezone(COPENHAGEN), session.ends_at.astimezone(COPENHAGEN)
        days.append(Day(start.date().isoformat(), f"{start:%H:%M}", f"{end:%H:%M}", str(session.id)))
    return values, days


def _typed() -> tuple[dict, list[Day]]:
    values = {name: request.form.get(name, "") for name in FIELDS}
    columns = [request.form.getlist(f"day-{part}") for part in ("date", "start", "end", "id")]
    days = [Day(*row) for row in zip(*columns, strict=False)]
    return values, days


def _edited_days(days: list[Day]) -> list[Day] | None:
    """The days after "Tilføj dag" or "Fjern" (None when neither was pressed): the form is shown again."""
    if request.form.get("add_day") is not None:
        last = next((day for day in reversed(days) if not day.blank), None)
        following = ""
        if last is not None:
            with suppress(ValueError):  # a date not yet readable: the new row's date stays empty
                following = (date.fromisoformat(last.date.strip()) + timedelta(days=1)).isoformat()
        return [*days, Day(following, last.start if last else "", last.end if last else "")]
    removed = request.form.get("remove_day")
    if removed is not None and removed.isdigit():
        kept = [day for index, day in enumerate(days) if index != int(removed)]
        return kept or [Day()]
    return None


def _number(text: str):
    """'3.250' and '3250 kr.' are 3250; anything else goes to the schema as typed, which names the problem."""
    digits = text.strip().lower().removesuffix("kr.").removesuffix("kr").strip().replace(".", "").replace(" ", "")
    return int(digits) if digits.isdigit() else text.strip()


def _local_instant(day: str, clock: str) -> str:
    naive = datetime.strptime(f"{day.strip()} {clock.strip().replace('.', ':')}", "%Y-%m-%d %H:%M")
    return naive.replace(tzinfo=COPENHAGEN).isoformat()


def _body(values: dict, days: list[Day], errors: FormErrors, pointers: dict[str, str]) -> dict:
    """The form as the JSON body POST /offerings takes; problems reading days and times go beside them.

    `pointers` is filled with where each of the body's sessions is on the form (blank rows are left out).
    """
    body: dict = {}
    for name in FIELDS:
        text = values[name].strip()
        if text:
            body[name] = _number(text) if name in _NUMBERS else text
        elif name in _OPTIONAL:
            body[name] = None
    sessions = []
    for row, day in enumerate(days):
        if day.blank:
            continue
        field = f"day-{row}"
        try:
            date.fromisoformat(day.date.strip())
        except ValueError:
            errors.add(f"{field}-date", "Skriv datoen som åååå-mm-dd, fx 2027-02-01.")
            continue
        session = {}
        for part in ("start", "end"):
            try:
                session[f"{part}s_at"] = _local_instant(day.date, getattr(day, part))
            except ValueError:
                errors.add(f"{field}-{part}", "Skriv klokkeslættet som tt:mm, fx 08:30." if getattr(day, part).strip()
                           else f"Skriv, hvornår dagen {'starter' if part == 'start' else 'slutter'}, fx 08:30.")
        if len(session) < 2:
            continue
        if day.id.strip():
            session["id"] = _number(day.id)
        index = len(sessions)
        pointers.update({f"/sessions/{index}": f"{field}-date", f"/sessions/{index}/starts_at": f"{field}-date",
                         f"/sessions/{index}/id": f"{field}-date", f"/sessions/{index}/ends_at": f"{field}-end"})
        sessions.append(session)
    if sessions:
        body["sessions"] = sessions
    return body


def _read_offering(values: dict, days: list[Day], errors: FormErrors, pointers: dict[str, str],
                   exclude: tuple = ()) -> dict | None:
    """The form read by OfferingCreateSchema, as POST /offerings reads a body; None with the problems in `errors`."""
    pointers.update({f"/{name}": name for name in FIELDS})
    pointers["/sessions"] = "days"
    body = _body(values, days, errors, pointers)
    if all(day.blank for day in days):
        errors.add("days", "Tilføj mindst én dag.")
    try:
        data = OfferingCreateSchema(exclude=exclude).load({k: v for k, v in body.items() if k not in exclude})
    except ValidationError as error:
        # A day the page could not read is left out of the body; the schema's "sessions missing" says no more.
        day_problems = any(name == "days" or name.startswith("day-") for name in errors.fields)
        for problem in field_errors_from_messages(error.messages):
            name = pointers.get(problem.pointer)
            if not (day_problems and name == "days"):
                errors.add(name, problem.message)
        return None
    return None if errors else data


def _choices(actor: Actor) -> dict:
    provider = providers.get_provider(db.session, actor.provider_id)
    return {"provider": provider, "modules": [(module.code, f"{module.code}: {module.title}")
                                              for module in programmes.list_modules(db.session)],
            "locations": [(str(location.id), f"{location.name}, {location.city}") for location in provider.locations]}


def _form(actor: Actor, values: dict, days: list[Day], errors: FormErrors, offering: Offering | None = None,
          status: int | None = None):
    decision_days = current_app.config.get("DECISION_DAYS_BEFORE_START", decisions.DEFAULT_DAYS_BEFORE_START)
    labels = LABELS | {f"day-{row}-{part}": f"Dag {row + 1}, {label}"
                       for row in range(len(days)) for part, label in _DAY_PARTS.items()}
    return render_template("catalogue/desk_offering_form.html", values=values, days=days or [Day()], errors=errors,
                           offering=offering, decision_days=decision_days, labels=labels, **_choices(actor)), \
        status or (422 if errors else 200)


# --- Create, edit, publish ------------------------------------------------------------------------

@blp.route("/skole/udbud/ny", methods=["GET", "POST"])
def new_offering():
    actor = _school()
    if actor is None:
        return _to_sign_in()
    if request.method == "POST":
        return _posted(actor, None)
    provider = providers.get_provider(db.session, actor.provider_id)
    values = dict.fromkeys(FIELDS, "") | {"language": "da", "contact_email": provider.email or ""}
    if len(provider.locations) == 1:
        values["location_id"] = str(provider.locations[0].id)
    return _form(actor, values, [Day()], FormErrors())


@blp.route("/skole/udbud/<int:offering_id>/rediger", methods=["GET", "POST"])
def edit_offering(offering_id: int):
    actor = _school()
    if actor is None:
        return _to_sign_in()
    offering = _editable(actor, offering_id)
    if request.method == "POST":
        return _posted(actor, offering)
    values, days = _values_of(offering)
    return _form(actor, values, days, FormErrors(), offering)


def _posted(actor: Actor, offering: Offering | None):
    """The offering form sent: a day added or removed (the form again), else read and saved, then its edit page.

    A new offering is made by create_offering; an existing one changed by update_offering with what differs.
    """
    check_csrf()
    values, days = _typed()
    if offering is not None:
        values["module"] = offering.module.code
    edited = _edited_days(days)
    if edited is not None:
        return _form(actor, values, edited, FormErrors(), offering)
    errors, pointers = FormErrors(), {}
    data = _read_offering(values, days, errors, pointers,
                          exclude=() if offering is None else ("module", "provider_id", "status"))
    if data is None:
        return _form(actor, values, days, errors, offering)
    publishing = request.form.get("action") == "publish"
    try:
        saved, message = _create(actor, data, publishing) if offering is None else \
            _update(actor, offering, data, publishing)
    except DomainError as error:
        rollback(db.session)
        errors.add_domain(error, pointers)
        shown = offering and offerings.get_offering(db.session, actor, offering.id)
        return _form(actor, values, days, errors, shown, status=error.status)
    flash(message)
    return redirect(url_for(".edit_offering", offering_id=saved.id), 303)


def _create(actor: Actor, data: dict, publishing: bool) -> tuple[Offering, str]:
    offering = offerings.create_offering(db.session, actor, {**data, "status": "published" if publishing else "draft"},
                                         webhook=webhooks().enabled)
    done = "udgivet" if publishing else "gemt som kladde"
    return offering, f"Udbuddet er {done}: {offering.module.title}, {date_range(offering)}."


def _update(actor: Actor, offering: Offering, data: dict, publishing: bool) -> tuple[Offering, str]:
    changes = _changes(offering, data)
    if publishing and offering.status == "draft":
        changes["status"] = "published"
    if not changes:
        return offering, "Der var ingen ændringer at gemme."
    offering = offerings.update_offering(db.session, actor, offering.id, changes, webhook=webhooks().enabled)
    if changes.get("status") == "published":
        return offering, f"Udbuddet er udgivet: {offering.module.title}, {date_range(offering)}."
    return offering, f"Ændringerne er gemt (version {offering.revision})."


def _editable(actor: Actor, offering_id: int) -> Offering:
    """The school's own offering, not cancelled: another school's is a 403 (its draft a 404), a cancelled one 409."""
    offering = offerings.get_offering(db.session, actor, offering_id)
    offerings.require_editor(actor, offering.provider_id)
    if offering.status == "cancelled":
        raise Conflict("Udbuddet er aflyst, og et aflyst udbud kan ikke ændres. Kopiér det til nye datoer i stedet.")
    return offering


def _changes(offering: Offering, data: dict) -> dict:
    """Only what differs from the offering, so that saving an unchanged form does not raise the revision."""
    changes = {name: data[name] for name in CHANGEABLE if data[name] != getattr(offering, name)}
    sent = [(item.get("id"), item["starts_at"], item["ends_at"]) for item in data["sessions"]]
    if sent != [(session.id, session.starts_at, session.ends_at) for session in offering.sessions]:
        changes["sessions"] = data["sessions"]
    return changes


@blp.route("/skole/udbud/<int:offering_id>/udgiv", methods=["POST"])
def publish(offering_id: int):
    check_csrf()
    actor = _school()
    if actor is None:
        return _to_sign_in()
    back = safe_next(request.form.get("next"), url_for("catalogue_pages.school") + f"#udbud-{offering_id}")
    if offerings.get_offering(db.session, actor, offering_id).status != "draft":
        flash("Udbuddet er ikke en kladde, så det kan ikke udgives.")
        return redirect(back, 303)
    try:
        offering = offerings.update_offering(db.session, actor, offering_id, {"status": "published"},
                                             webhook=webhooks().enabled)
    except ValidationFailed as error:  # e.g. a day that has passed while it was a draft
        rollback(db.session)
        flash(f"Udbuddet er ikke udgivet: {' '.join(problem.message for problem in error.errors) or error.detail} "
              "Ret det under »Rediger«.")
        return redirect(back, 303)
    flash(f"Udbuddet er udgivet: {offering.module.title}, {date_range(offering)}.")
    return redirect(back, 303)


# --- Copy to new dates ----------------------------------------------------------------------------

@blp.route("/skole/udbud/<int:offering_id>/kopier", methods=["GET", "POST"])
def copy(offering_id: int):
    actor = _school()
    if actor is None:
        return _to_sign_in()
    source = offerings.get_offering(db.session, actor, offering_id)
    offerings.require_editor(actor, source.provider_id)
    values = {"first_day": request.form.get("first_day", ""), "reference": request.form.get("reference", "")}
    errors = FormErrors()
    if request.method == "GET":
        return _copy_form(source, values, errors)
    check_csrf()
    try:
        typed = {"first_day": values["first_day"].strip() or None, "reference": values["reference"].strip() or None}
        data = OfferingCopySchema().load({name: value for name, value in typed.items() if value is not None})
    except ValidationError as error:
        errors.add_validation(error, COPY_FIELDS)
        return _copy_form(source, values, errors)
    if request.form.get("action") == "preview":
        return _copy_form(source, values, errors, first_day=data["first_day"])
    try:
        made = offerings.copy_offering(db.session, actor, offering_id, data["first_day"], data["reference"])
    except DomainError as error:
        rollback(db.session)
        errors.add_domain(error, COPY_FIELDS | {"/enrolment_deadline": "first_day"} |
                          {f"/sessions/{index}/starts_at": "first_day" for index in range(len(source.sessions))})
        return _copy_form(offerings.get_offering(db.session, actor, offering_id), values, errors, status=error.status)
    flash(f"Kopien er gemt som kladde: {made.module.title}, {date_range(made)}. Ret den til, og udgiv den, "
          "når den er klar.")
    return redirect(url_for(".edit_offering", offering_id=made.id), 303)


def _copy_form(source: Offering, values: dict, errors: FormErrors, *, first_day: date | None = None,
               status: int | None = None):
    """The copy form; with `first_day`, the days the copy would have, in Danish time."""
    preview = None
    if first_day is not None:
        preview = offerings.moved_sessions(source, first_day)
    return render_template("catalogue/desk_copy.html", offering=source, values=values, errors=errors,
                           preview=preview, labels=LABELS), status or (422 if errors else 200)


# --- Cancel, after confirming ---------------------------------------------------------------------

@blp.route("/skole/udbud/<int:offering_id>/aflys", methods=["GET", "POST"])
def cancel(offering_id: int):
    actor = _school()
    if actor is None:
        return _to_sign_in()
    offering = offerings.get_offering(db.session, actor, offering_id)
    offerings.require_editor(actor, offering.provider_id)
    if offering.status == "cancelled":
        raise Conflict("Udbuddet er allerede aflyst.")
    values = {"reason": request.form.get("reason", "")}
    errors = FormErrors()
    if request.method == "POST":
        check_csrf()
        reason = _reason(values["reason"], errors)
        if reason:
            cancelled = offerings.cancel_offering(db.session, actor, offering_id, reason, webhook=webhooks().enabled)
            flash(f"Udbuddet er aflyst: {cancelled.module.title}, {date_range(cancelled)}. "
                  "Deltagerne får besked med årsagen.")
            return _to_desk(offering_id)
    return render_template("catalogue/desk_cancel.html", offering=offering, values=values,
                           errors=errors, labels=LABELS), 422 if errors else 200


def _reason(typed: str, errors: FormErrors) -> str | None:
    """The reason as POST /offerings/{id}/cancel reads it; on the page it is required: the participants get it."""
    try:
        reason = OfferingCancelSchema().load({"reason": typed})["reason"]
    except ValidationError as error:
        errors.add_validation(error, CANCEL_FIELDS)
        return None
    if not reason:
        errors.add("reason", "Skriv årsagen til aflysningen; den sendes til deltagerne.")
    return reason or None


# --- Import from a CSV file -----------------------------------------------------------------------

@blp.route("/skole/import", methods=["GET", "POST"])
def import_form():
    actor = _school()
    if actor is None:
        return _to_sign_in()
    errors = FormErrors()
    if request.method == "GET":
        return _import_page(errors)
    check_csrf()
    upload = request.files.get("fil")
    if upload is None or not upload.filename:
        errors.add("fil", "Vælg en CSV-fil.")
        return _import_page(errors)
    content = upload.read()
    report = _dry_run(actor, content, errors)
    if report is None:
        return _import_page(errors)
    return _import_page(errors, report=report, content=content.decode("utf-8-sig"), filename=upload.filename)


@blp.route("/skole/import/bekraeft", methods=["POST"])
def import_confirm():
    check_csrf()
    actor = _school()
    if actor is None:
        return _to_sign_in()
    content = _carried_file(request.form.get("data", ""))
    errors = FormErrors()
    try:
        report = importing.import_offerings(db.session, actor, content.encode("utf-8"), dry_run=False)
    except DomainError:
        # Something changed since the dry run (a reference taken, say): nothing is written; show the rows again.
        rollback(db.session)
        report = _dry_run(actor, content.encode("utf-8"), errors)
        errors.add(None, "Ingen udbud er gemt: ret fejlene herunder, og prøv igen.")
        return _import_page(errors, report=report, content=content, status=422)
    made = db.session.scalars(select(Offering).where(
        Offering.id.in_([row.offering_id for row in report.rows]))).all()
    return render_template("catalogue/desk_import_done.html", report=report,
                           made=sorted(made, key=lambda offering: offering.id))


def _carried_file(data: str) -> str:
    """The file the dry run checked, carried in the confirmation form as a JSON string (newlines and all)."""
    try:
        content = json.loads(data)
    except ValueError:
        content = None
    if not isinstance(content, str) or not content.strip():
        abort(400, description="Formularen mangler filens indhold. Start forfra med »Importér CSV«.")
    return content


def _dry_run(actor: Actor, content: bytes, errors: FormErrors) -> importing.ImportReport | None:
    """Every row checked by the rules of a real import; nothing is kept. A file that cannot be read: None."""
    try:
        return importing.import_offerings(db.session, actor, content, dry_run=True)
    except DomainError as error:
        named = [f"{problem.pointer.rsplit('/', 1)[-1]}: {problem.message}" for problem in error.errors
                 if problem.pointer.startswith("/columns/")]
        errors.add("fil", " ".join([error.detail, *named]) if named else error.detail)
        return None
    finally:
        rollback(db.session)


def _import_page(errors: FormErrors, *, report=None, content: str | None = None, filename: str | None = None,
                 status: int | None = None):
    return render_template("catalogue/desk_import.html", errors=errors, report=report, labels=LABELS,
                           data=json.dumps(content, ensure_ascii=False) if content is not None else None,
                           filename=filename, columns=importing.COLUMNS), \
        status or (422 if errors or (report is not None and not report.valid) else 200)


@blp.route("/skole/import/skabelon.csv")
def import_template():
    """An example file with the school's own place in it: fill in the rows, keep the header."""
    actor = _school()
    if actor is None:
        return _to_sign_in()
    provider = providers.get_provider(db.session, actor.provider_id)
    first = copenhagen_today(now()) + timedelta(days=60)
    first -= timedelta(days=first.weekday())  # a Monday
    second = first + timedelta(days=1)
    row = {"module": "GLU-1", "location_id": provider.locations[0].id if provider.locations else "",
           "sessions": f"{first.isoformat()} 08:30-15:30 | {second.isoformat()} 08:30-15:30", "capacity": 16,
           "min_participants": 6, "price_dkk": 3250, "enrolment_deadline": (first - timedelta(days=14)).isoformat(),
           "language": "da", "contact_email": provider.email or "kursus@skole.dk", "reference": "",
           "note": "", "status": "draft"}
    columns = [name for name in importing.COLUMNS if name != "provider_id"]
    return Response(write_csv(columns, [[row[name] for name in columns]]), mimetype="text/csv",
                    headers={"Content-Disposition": 'attachment; filename="udbud-skabelon.csv"'})

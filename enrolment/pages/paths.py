"""The GLU path on the pages: at the top of "Mine kurser" (_path.html) and HR's staff × modules at /hr/forloeb."""

from __future__ import annotations

from datetime import datetime

from flask import redirect, render_template, request, url_for

from enrolment import paths
from enrolment.models import Participant, db
from enrolment.pages.common import blp, catalogue, danish_date
from enrolment.pages.hr import ENROLLING_ROLES, chosen_key, organisation_scope, scope_args
from shared.clock import COPENHAGEN, copenhagen_today, now
from shared.errors import ServiceUnavailable
from shared.geography import REGIONS
from shared.pages import redirect_to_sign_in, require_page_role
from shared.schemas.enrolment import PATH_STATES

MONTHS = ("januar", "februar", "marts", "april", "maj", "juni", "juli", "august", "september", "oktober",
          "november", "december")
STATE_CHOICES = [(state, paths.STATE_LABELS[state]) for state in PATH_STATES]


def _day(value) -> datetime | None:
    if not value:
        return None
    moment = datetime.fromisoformat(value) if isinstance(value, str) else value
    return moment.astimezone(COPENHAGEN) if moment.tzinfo else moment


def _long(day) -> str:
    return f"{day.day}. {MONTHS[day.month - 1]} {day.year}"


def _span(start, end) -> str:
    """'11.–12. januar 2027', '30. januar – 2. februar 2027', or one day."""
    if start is None:
        return ""
    if end is None or end.date() == start.date():
        return _long(start)
    if (start.year, start.month) == (end.year, end.month):
        return f"{start.day}.–{_long(end)}"
    return f"{start.day}. {MONTHS[start.month - 1]} – {_long(end)}"


@blp.app_template_global()
def path_step_text(step: paths.ModuleStep) -> str:
    """"Gennemført 3. februar 2027 hos Mercantec", "Tilmeldt 11.–12. januar 2027", "Venteliste nr. 3"."""
    if step.state == "completed":
        text = "Gennemført" + (f" {_long(step.completed_on)}" if step.completed_on else "")
        return text + (f" hos {step.provider_name}" if step.provider_name else "")
    if step.state == "enrolled":
        return f"Tilmeldt {_span(_day(step.starts_at), _day(step.ends_at))}".strip()
    if step.state == "waitlisted" and step.waitlist_position:
        return f"Venteliste nr. {step.waitlist_position}"
    return step.label


@blp.app_template_global()
def glu_path(participant: Participant) -> dict:
    """What _path.html shows on "Mine kurser": the path, the suggestion in the chosen region (?region=, else the
    organisation's). A catalogue that cannot be reached hides the path, not the leader's courses."""
    chosen = request.args.get("region") if request.args.get("region") in REGIONS else None
    try:
        path = paths.participant_path(db.session, catalogue(), participant, copenhagen_today(now()), chosen)
    except ServiceUnavailable as error:
        return {"path": None, "unavailable": error.detail, "regions": REGIONS}
    offerings = [{"offering": offering, "dates": _span(_day(offering["starts_at"]), _day(offering["ends_at"])),
                  "deadline": danish_date(offering["enrolment_deadline"])} for offering in path.offerings]
    return {"path": path, "offerings": offerings, "regions": REGIONS, "unavailable": None}


@blp.route("/hr/forloeb")
def hr_paths():
    actor = require_page_role(*ENROLLING_ROLES)
    if actor is None:
        return redirect_to_sign_in()
    organisation = organisation_scope(actor, chosen_key())
    if organisation is None:
        return redirect(url_for("enrolment_pages.hr_overview"), 303)
    module = request.args.get("modul") or None
    state = request.args.get("status") if request.args.get("status") in PATH_STATES else None
    rows = paths.organisation_overview(db.session, catalogue(), actor, organisation.key, module=module, state=state)
    modules = [module_["code"] for module_ in catalogue().programme_modules(paths.PROGRAMME)]
    scope = scope_args(actor, organisation)
    csv_args = {**scope, **({"module": module} if module else {}), **({"state": state} if state else {})}
    return render_template("enrolment/hr_paths.html", organisation=organisation, rows=rows, modules=modules,
                           states=STATE_CHOICES, chosen={"modul": module or "", "status": state or ""}, scope=scope,
                           csv_url=url_for("enrolment_pages.hr_paths_csv", **csv_args))


@blp.route("/hr/forloeb.csv")
def hr_paths_csv():
    actor = require_page_role(*ENROLLING_ROLES)
    if actor is None:
        return redirect_to_sign_in()
    organisation = organisation_scope(actor, chosen_key())
    if organisation is None:
        return redirect(url_for("enrolment_pages.hr_overview"), 303)
    state = request.args.get("state") if request.args.get("state") in PATH_STATES else None
    rows = paths.organisation_overview(db.session, catalogue(), actor, organisation.key,
                                       module=request.args.get("module") or None, state=state)
    from enrolment.views.participants import csv_response
    return csv_response(paths.overview_csv(rows), "forloeb.csv")

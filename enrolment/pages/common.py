"""What the enrolment service's pages share: the blueprint, form errors, and how offerings and statuses read.

Every form on these pages is sent as multipart/form-data: the API refuses bodies of other types
(shared.api), and multipart is plain HTML that every browser sends without JavaScript.
"""

from __future__ import annotations

from datetime import date, datetime

from flask import Blueprint, Response, current_app

from enrolment.catalogue_client import CatalogueClient
from enrolment.exports import place_status
from enrolment.models import Enrolment, db
from enrolment.notices import MONTHS, WEEKDAYS
from enrolment.organisations import list_organisations
from shared.clock import COPENHAGEN
from shared.course_events import place_text
from shared.go_no_go import decision_line
from shared.schemas import OfferingSchema

# Named …_pages so that errors on these routes render as HTML pages (shared.pages.is_page_request).
blp = Blueprint("enrolment_pages", __name__)


@blp.after_request
def _not_stored(response: Response) -> Response:
    """Pages show personal data or carry the session's CSRF token: no cache keeps them."""
    response.headers.setdefault("Cache-Control", "private, no-store")
    return response


def catalogue() -> CatalogueClient:
    return current_app.extensions["catalogue_client"]


def organisation_choices() -> list[tuple[str, str]]:
    """(key, name) of every organisation, by name: the choices of an organisation <select>."""
    return [(organisation.key, organisation.name) for organisation in list_organisations(db.session)]


def filled(form, *names: str) -> dict[str, str]:
    """The named text fields as typed (for showing them again), trimmed."""
    return {name: form.get(name, "").strip() for name in names}


def given(value: str) -> str | None:
    """An empty field counts as missing, so the schema says 'Feltet skal udfyldes.' rather than a length."""
    return value or None


def without_missing(data: dict) -> dict:
    return {key: value for key, value in data.items() if value is not None}


# --- How things read ------------------------------------------------------------------------------

def offering_from_snapshot(snapshot: dict | None) -> dict | None:
    """The offering as the enrolment service last saw it (OfferingSeats.snapshot), loaded; None if unknown."""
    return OfferingSchema().load(snapshot) if snapshot else None


def status_text(enrolment: Enrolment) -> str:
    return place_status(enrolment)


def danish_date(day: date | datetime) -> str:
    """'mandag 3. marts 2027'."""
    if isinstance(day, datetime):
        day = day.astimezone(COPENHAGEN).date()
    return f"{WEEKDAYS[day.weekday()]} {day.day}. {MONTHS[day.month - 1]} {day.year}"


def session_text(session: dict) -> str:
    """'mandag 3. marts 2027, kl. 9.00–15.00'."""
    start, end = (session[key].astimezone(COPENHAGEN) for key in ("starts_at", "ends_at"))
    return f"{danish_date(start)}, kl. {start.hour}.{start:%M}–{end.hour}.{end:%M}"


def period_text(offering: dict) -> str:
    """The first and the last day: 'mandag 3. marts 2027 – tirsdag 4. marts 2027', or the one day."""
    first, last = danish_date(offering["starts_at"]), danish_date(offering["ends_at"])
    return first if first == last else f"{first} – {last}"


@blp.app_template_filter("danish_date")
def _danish_date_filter(day) -> str:
    return danish_date(day)


blp.add_app_template_global(session_text, "session_text")
blp.add_app_template_global(period_text, "period_text")
blp.add_app_template_global(place_text, "place_text")
blp.add_app_template_global(status_text, "status_text")


def catalogue_link(path: str = "/") -> str:
    """A page of the catalogue (`/udbud/<id>`, `/soeg`), at its public address (CATALOGUE_PUBLIC_URL), else at the
    address this service reaches it on."""
    base = current_app.config.get("CATALOGUE_PUBLIC_URL") or current_app.config["CATALOGUE_URL"]
    return base.rstrip("/") + path


blp.add_app_template_global(catalogue_link, "catalogue_link")


def decision_text(offering: dict, confirmed: int) -> str | None:
    """Go or no-go in the catalogue's words (shared.go_no_go), with this service's own, current count of the
    confirmed ("4 af mindst 6 tilmeldt — afgøres 13. januar")."""
    return decision_line(status=offering["status"], decision=offering.get("decision"),
                         decision_date=offering.get("decision_date"), taken=confirmed,
                         minimum=offering.get("min_participants"))


blp.add_app_template_global(decision_text, "decision_text")

"""The catalogue's public HTML pages, in Danish: the GLU overview, search, one offering, and a school's own page.

Thin like the API views: parse the request, call the same domain functions (search.offerings_query,
offerings.get_offering / cancel_offering, calendar.calendar_links), render. Anyone may read the
public pages; a school signs in with its token (shared.pages) to see and cancel its own offerings.
"""

from __future__ import annotations

import json
from datetime import date, datetime
from urllib.parse import quote, urlencode

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from markupsafe import Markup
from marshmallow import ValidationError

from catalogue import calendar, offerings, programmes, providers
from catalogue.models import Location, Module, Offering, Session, db
from catalogue.search import OfferingFilters, offerings_query
from catalogue.themes import THEMES
from shared import rate_limits
from shared.auth import ANONYMOUS, Role
from shared.clock import COPENHAGEN, copenhagen_today
from shared.course_events import place_text
from shared.errors import Forbidden, Unauthorized, field_errors_from_messages
from shared.geography import REGIONS, region_code
from shared.links import absolute_url
from shared.pages import (
    check_csrf,
    page_actor,
    redirect_to_sign_in,
    require_page_role,
    safe_next,
    sign_in,
    sign_out,
)
from shared.pagination import paginate
from shared.schemas import LocationSchema, OfferingQuerySchema

# Named …_pages so that errors on these routes render as HTML (shared.pages.is_page_request).
blp = Blueprint("catalogue_pages", __name__, template_folder="templates")

PER_PAGE = 20
UPCOMING_PER_MODULE = 3
SEARCH_FIELDS = ("q", "module", "region", "municipality", "date_from", "date_to", "language", "has_seats", "theme")
LANGUAGES = {"da": "Dansk", "en": "Engelsk"}
# The API's messages name parameters; on the page the field itself is named by its label.
_PAGE_MESSAGES = {"date_to ligger før date_from.": "Til-datoen ligger før fra-datoen."}


# --- Danish dates, times and money ----------------------------------------------------------------

WEEKDAYS = ("mandag", "tirsdag", "onsdag", "torsdag", "fredag", "lørdag", "søndag")
MONTHS = ("januar", "februar", "marts", "april", "maj", "juni", "juli", "august", "september", "oktober",
          "november", "december")


def _local(instant: datetime) -> datetime:
    return instant.astimezone(COPENHAGEN)


def danish_day(day: date | datetime, weekday: bool = True) -> str:
    """'mandag 1. februar 2027' (a datetime is taken in Danish time)."""
    if isinstance(day, datetime):
        day = _local(day).date()
    text = f"{day.day}. {MONTHS[day.month - 1]} {day.year}"
    return f"{WEEKDAYS[day.weekday()]} {text}" if weekday else text


def session_when(session: Session) -> str:
    """'mandag 1. februar 2027, kl. 08.30–15.30' in Danish time; a session past midnight names both days."""
    start, end = _local(session.starts_at), _local(session.ends_at)
    if start.date() == end.date():
        return f"{danish_day(start)}, kl. {start:%H.%M}–{end:%H.%M}"
    return f"{danish_day(start)}, kl. {start:%H.%M} – {danish_day(end)}, kl. {end:%H.%M}"


def date_range(offering: Offering) -> str:
    """'1.–2. februar 2027', '28. januar – 2. februar 2027' or '1. februar 2027': first to last session."""
    first, last = _local(offering.starts_at).date(), _local(offering.ends_at).date()
    if first == last:
        return danish_day(first, weekday=False)
    if (first.year, first.month) == (last.year, last.month):
        return f"{first.day}.–{danish_day(last, weekday=False)}"
    if first.year == last.year:
        return f"{first.day}. {MONTHS[first.month - 1]} – {danish_day(last, weekday=False)}"
    return f"{danish_day(first, weekday=False)} – {danish_day(last, weekday=False)}"


def kroner(amount: int) -> str:
    """'3.250 kr.'"""
    return f"{amount:,} kr.".replace(",", ".")


def map_url(location: Location) -> str:
    """OpenStreetMap at the coordinates when the school gave them, else a search for the address."""
    if location.latitude is not None and location.longitude is not None:
        lat, lon = location.latitude, location.longitude
        return f"https://www.openstreetmap.org/?mlat={lat}&mlon={lon}#map=17/{lat}/{lon}"
    address = ", ".join(part for part in (location.address, f"{location.postcode} {location.city}") if part)
    return "https://www.openstreetmap.org/search?" + urlencode({"query": address}, quote_via=quote)


def place(location: Location) -> str:
    return place_text(LocationSchema().dump(location))


@blp.context_processor
def page_helpers() -> dict:
    """Danish dates, money and places for the catalogue's templates (the desk's pages use them too)."""
    return {"session_when": session_when, "danish_day": danish_day, "date_range": date_range, "kroner": kroner,
            "map_url": map_url, "place": place, "LANGUAGES": LANGUAGES}


# --- schema.org JSON-LD ---------------------------------------------------------------------------

def _iso(instant: datetime) -> str:
    return _local(instant).isoformat()


def _place_ld(location: Location) -> dict:
    place_ld = {
        "@type": "Place",
        "name": location.name,
        "address": {
            "@type": "PostalAddress",
            **({"streetAddress": location.address} if location.address else {}),
            "postalCode": location.postcode,
            "addressLocality": location.city,
            "addressRegion": location.region,
            "addressCountry": "DK",
        },
    }
    if location.latitude is not None and location.longitude is not None:
        place_ld["geo"] = {"@type": "GeoCoordinates", "latitude": location.latitude, "longitude": location.longitude}
    return place_ld


def _event_status(offering: Offering) -> str:
    return "https://schema.org/" + ("EventCancelled" if offering.status == "cancelled" else "EventScheduled")


def course_instance_ld(offering: Offering, *, with_sessions: bool) -> dict:
    instance = {
        "@type": "CourseInstance",
        "name": f"{offering.module.title} – {offering.provider.name}",
        "url": absolute_url(url_for("catalogue_pages.offering", offering_id=offering.id)),
        "courseMode": "onsite",
        "eventAttendanceMode": "https://schema.org/OfflineEventAttendanceMode",
        "eventStatus": _event_status(offering),
        "inLanguage": offering.language,
        "startDate": _iso(offering.starts_at),
        "endDate": _iso(offering.ends_at),
        "location": _place_ld(offering.location),
        "organizer": _school_ld(offering),
        "maximumAttendeeCapacity": offering.capacity,
        "remainingAttendeeCapacity": offering.seats_available,
        "offers": {
            "@type": "Offer",
            "price": offering.price_dkk,
            "priceCurrency": "DKK",
            "availability": "https://schema.org/" + ("InStock" if offering.seats_available else "SoldOut"),
            "validThrough": offering.enrolment_deadline.isoformat(),
        },
    }
    if with_sessions:
        instance["subEvent"] = [
            {"@type": "Event", "name": f"{offering.module.title}, dag {number}", "startDate": _iso(session.starts_at),
             "endDate": _iso(session.ends_at), "eventStatus": _event_status(offering),
             "eventAttendanceMode": "https://schema.org/OfflineEventAttendanceMode",
             "location": _place_ld(offering.location)}
            for number, session in enumerate(offering.sessions, start=1)
        ]
    return instance


def _school_ld(offering: Offering) -> dict:
    return {"@type": "EducationalOrganization", "name": offering.provider.name, "email": offering.contact_email,
            **({"url": offering.provider.website} if offering.provider.website else {})}


def course_ld(module: Module, instances: list[Offering], *, with_sessions: bool = False) -> dict:
    """A module as a schema.org Course; on one offering's page, the school is its provider."""
    course = {
        "@type": "Course",
        "name": module.title,
        "description": module.description,
        "courseCode": module.amu_number or module.code,
        "hasCourseInstance": [course_instance_ld(offering, with_sessions=with_sessions) for offering in instances],
    }
    if with_sessions and len(instances) == 1:
        course["provider"] = _school_ld(instances[0])
    if module.content:
        course["teaches"] = list(module.content)
    if module.target_group:
        course["audience"] = {"@type": "Audience", "audienceType": module.target_group}
    return course


def json_ld(data: dict) -> Markup:
    """JSON for a <script type="application/ld+json">: nothing in it can end the script element."""
    text = json.dumps({"@context": "https://schema.org", **data}, ensure_ascii=False, indent=1)
    return Markup(text.replace("</", "<\\/").replace("<!--", "\\u003c!--"))


# --- Public pages ---------------------------------------------------------------------------------

@blp.route("/")
def overview():
    """The programmes, their modules and each module's next offerings."""
    today = copenhagen_today()
    listed = []
    for programme in programmes.list_programmes(db.session):
        modules = []
        for module in programme.modules:
            statement = offerings_query(OfferingFilters(module=module.code, date_from=today), ANONYMOUS)
            modules.append((module, list(db.session.scalars(statement.limit(UPCOMING_PER_MODULE)))))
        listed.append((programme, modules))
    courses = [course_ld(module, upcoming) for _, modules in listed for module, upcoming in modules]
    demo = any(offering.demo for _, modules in listed for _, upcoming in modules for offering in upcoming)
    return render_template("catalogue/overview.html", programmes=listed, demo=demo,
                           json_ld=json_ld({"@graph": courses}))


@blp.route("/soeg")
@rate_limits.limit_anonymous(rate_limits.ANONYMOUS_SEARCH_PER_IP, actor=page_actor)
def search():
    """The search form and its results; invalid fields are shown next to the field, with no results.

    The query is read by OfferingQuerySchema, as GET /offerings reads it, and run by offerings_query.
    """
    values = {name: request.args.get(name, "").strip() for name in SEARCH_FIELDS}
    # Upcoming courses unless asked otherwise: the default is shown in the field, not hidden.
    values["date_from"] = values["date_from"] or copenhagen_today().isoformat()
    given = {name: value for name, value in values.items() if value}
    errors: dict[str, str] = {}
    try:
        args = OfferingQuerySchema().load({**given, "page": request.args.get("page", "1"), "per_page": PER_PAGE})
    except ValidationError as error:
        for problem in field_errors_from_messages(error.messages):
            name = problem.pointer.lstrip("/").split("/", 1)[0] or "form"
            errors.setdefault(name, _PAGE_MESSAGES.get(problem.message, problem.message))
        args = None
    if args and args.get("region") and region_code(args["region"]) is None:
        errors["region"] = "Vælg en af de fem regioner."
    result = None
    if not errors:
        page, per_page = args.pop("page"), args.pop("per_page")
        result = paginate(db.session, offerings_query(OfferingFilters(**args), ANONYMOUS), page, per_page)

    def page_url(number: int) -> str:
        return url_for(".search", **given, page=number)

    return render_template(
        "catalogue/search.html", values=values, errors=errors, result=result, page_url=page_url,
        modules=programmes.list_modules(db.session), regions=REGIONS, themes=THEMES,
        selected_region=region_code(values["region"]) if values["region"] else None,
        demo=bool(result and any(offering.demo for offering in result.items)))


@blp.route("/udbud/<int:offering_id>")
def offering(offering_id: int):
    """One offering; a school signed in on the pages also sees its own draft here."""
    item = offerings.get_offering(db.session, page_actor(), offering_id)
    ics_url = absolute_url(f"/offerings/{item.id}.ics")
    enrolment_base = current_app.config.get("ENROLMENT_PUBLIC_URL")
    # The enrolment service decides; the page only leaves out a button that could not succeed.
    open_for_enrolment = item.status == "published" and item.enrolment_deadline >= copenhagen_today()
    enrol_url = f"{enrolment_base}/anmod/{item.id}" if enrolment_base and open_for_enrolment else None
    return render_template(
        "catalogue/offering.html", offering=item, demo=item.demo,
        ics_url=ics_url, webcal_url="webcal://" + ics_url.split("://", 1)[-1],
        links=list(zip(item.sessions, calendar.calendar_links(item), strict=True)),
        enrol_url=enrol_url, json_ld=json_ld(course_ld(item.module, [item], with_sessions=True)))


# --- A school's own page --------------------------------------------------------------------------

STATUS_SECTIONS = (("draft", "Kladder"), ("published", "Udgivne"), ("cancelled", "Aflyste"))


@blp.route("/skole/log-ind", methods=["GET", "POST"])
def school_sign_in():
    """Administrators sign in with a token here; everyone else with their e-mail address (/log-ind)."""
    next_url = safe_next(request.values.get("next"), url_for(".overview"))
    error = None
    if request.method == "POST":
        check_csrf()
        token = request.form.get("token", "").strip()
        if not token:
            error = "Indsæt din adgangsnøgle."
        else:
            try:
                sign_in(token)
            except (Unauthorized, Forbidden) as problem:
                sign_out()
                error = problem.detail
            else:
                flash("Du er logget ind som administrator.")
                return redirect(next_url)
    return render_template("catalogue/school_sign_in.html", error=error, next_url=next_url)


@blp.route("/skole/log-ud", methods=["POST"])
def school_sign_out():
    check_csrf()
    sign_out()
    flash("Du er logget ud.")
    return redirect(url_for("accounts_pages.sign_in"))


@blp.route("/skole")
def school():
    """The school's desk: its offerings in every status, drafts included, each with its actions (desk_pages)."""
    actor = require_page_role(Role.SCHOOL)
    if actor is None:
        return redirect_to_sign_in()
    provider = providers.get_provider(db.session, actor.provider_id)
    sections = [
        (status, heading, list(db.session.scalars(
            offerings_query(OfferingFilters(provider=actor.provider_id, status=status), actor))))
        for status, heading in STATUS_SECTIONS
    ]
    demo = any(item.demo for _, _, items in sections for item in items)
    return render_template("catalogue/school.html", provider=provider, sections=sections, demo=demo)

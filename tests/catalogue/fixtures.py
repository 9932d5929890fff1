"""A fresh catalogue app per test on a database migrated once per run, with factories for its data.

Used by the catalogue's tests and, through the enrolment's conftest, as the catalogue the enrolment service talks to.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

import flask_migrate
import pytest
from sqlalchemy import func, select

from catalogue import create_app
from catalogue.models import Offering, Session, db
from catalogue.offerings import create_offering
from catalogue.programmes import create_module, create_programme
from catalogue.providers import create_provider
from shared.auth import Actor, Role, issue_token
from shared.clock import copenhagen_today
from shared.schemas import COPENHAGEN, OfferingSchema, ProviderSchema
from tests.conftest import TOKEN_SECRET, empty_tables

ADMIN = Actor(role=Role.ADMIN)

__all__ = ["catalogue_database", "catalogue_app", "catalogue_client", "auth", "glu", "make_school", "make_offering",
           "location", "in_days", "offering_data"]


def as_json(value):
    """offering_data() holds datetimes and dates; the API takes ISO 8601 strings."""
    if isinstance(value, dict):
        return {key: as_json(item) for key, item in value.items()}
    if isinstance(value, list):
        return [as_json(item) for item in value]
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value


@pytest.fixture(scope="session")
def catalogue_database(database_factory):
    url = database_factory("catalogue")
    app = create_app({"DATABASE_URL": url, "GLU_TOKEN_SECRET": TOKEN_SECRET})
    with app.app_context():
        flask_migrate.upgrade()
        db.engine.dispose()
    return url


@pytest.fixture
def catalogue_app(catalogue_database):
    # Jobs run at once, in the request that asked for them, once it has committed (shared.jobs).
    app = create_app({"DATABASE_URL": catalogue_database, "GLU_TOKEN_SECRET": TOKEN_SECRET, "TESTING": True,
                      "JOBS_IMMEDIATE": True})
    yield app
    with app.app_context():
        empty_tables(db)


@pytest.fixture
def catalogue_client(catalogue_app):
    return catalogue_app.test_client()


@pytest.fixture
def auth():
    """Authorization headers for a role: auth("school", provider_id=3), auth("admin")."""

    def headers(role: str, **scope) -> dict:
        token = issue_token(TOKEN_SECRET, Role(role), **scope)
        return {"Authorization": f"Bearer {token}"}

    return headers


MODULE_TEXTS = {
    "GLU-1": ("Introduktion til ledelse", "Lederrollen og de første værktøjer."),
    "GLU-2": ("Ledelse og udvikling", "Udvikling af medarbejdere og egen ledelse."),
    "GLU-3": ("Situationsbestemt ledelse", "Ledelse tilpasset medarbejder og opgave."),
    "GLU-4": ("Kommunikation og konflikthåndtering", "Samtaler, feedback og konflikter."),
    "GLU-5": ("Forandringsledelse", "At lede mennesker gennem forandringer."),
    "GLU-T": ("Tillægsmodul: Offentlig førstelinjeledelse", "Økonomistyring og politisk tæft i kommuner."),
}


@pytest.fixture
def glu(catalogue_app):
    """The GLU programme with its six modules."""
    with catalogue_app.app_context():
        create_programme(db.session, {"code": "GLU", "title": "GLU", "description": ""})
        for position, (code, (title, description)) in enumerate(MODULE_TEXTS.items(), start=1):
            create_module(db.session, {
                "code": code, "programme": "GLU", "title": title, "description": description, "content": [],
                "target_group": "", "duration_days": None, "amu_number": None, "position": position,
            })
        db.session.commit()


def location(city="Viborg", municipality_code="791", municipality="Viborg Kommune", region_code="1082",
             postcode="8800", **extra) -> dict:
    return {"name": f"Skolen i {city}", "address": None, "postcode": postcode, "city": city,
            "municipality_code": municipality_code, "municipality": municipality, "region_code": region_code,
            "latitude": None, "longitude": None, **extra}


# Factories commit in an app context of their own and return the API's JSON form of what they made,
# so no test shares an app context (and its database session) with the requests it makes.

@pytest.fixture
def make_school(catalogue_app):
    """make_school("Mercantec", location(...)) -> the provider as GET /providers/{id} shows it."""
    counter = iter(range(1, 1000))

    def make(name: str | None = None, *locations: dict) -> dict:
        with catalogue_app.app_context():
            provider = create_provider(db.session, {
                "name": name or f"Skole {next(counter)}", "website": None, "email": None,
                "locations": list(locations) or [location()],
            })
            db.session.commit()
            return ProviderSchema().dump(provider)

    return make


def in_days(days: int, hour: int = 9, minutes: int = 0) -> datetime:
    day = copenhagen_today() + timedelta(days=days)
    return datetime(day.year, day.month, day.day, hour, minutes, tzinfo=COPENHAGEN)


def offering_data(school: dict, module="GLU-1", first_day=30, days=2, **overrides) -> dict:
    """What OfferingCreateSchema().load() gives for a typical offering of `school`."""
    sessions = [{"starts_at": in_days(first_day + n, 9), "ends_at": in_days(first_day + n, 15)} for n in range(days)]
    data = {
        "module": module, "provider_id": school["id"], "location_id": school["locations"][0]["id"],
        "sessions": sessions, "capacity": 16, "min_participants": 6, "price_dkk": 1200,
        "enrolment_deadline": copenhagen_today() + timedelta(days=first_day - 14),
        "language": "da", "contact_email": "glu@skole.example", "reference": None, "note": None,
        "status": "published",
    }
    data.update(overrides)
    return data


@pytest.fixture
def make_offering(catalogue_app, glu):
    """make_offering(school, module="GLU-3", first_day=40, capacity=2) -> the offering's JSON."""

    def make(school: dict, **overrides) -> dict:
        with catalogue_app.app_context():
            offering = create_offering(db.session, ADMIN, offering_data(school, **overrides))
            db.session.commit()
            return OfferingSchema().dump(offering)

    return make


def stored_offerings(app) -> tuple[list[dict], int]:
    """Every offering as the API shows it, and the number of sessions: compare before and after a refusal."""
    with app.app_context():
        offerings = db.session.scalars(select(Offering).order_by(Offering.id)).all()
        dumped = [OfferingSchema().dump(offering) for offering in offerings]
        sessions = db.session.scalar(select(func.count()).select_from(Session))
    return dumped, sessions

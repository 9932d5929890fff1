"""Alternatives: the other offerings of a place's module that still take enrolments, nearest first.

Asked for a place that is active, or that the school's cancellation ended: those are the places
that can move (enrolment.moves). The candidates come from the catalogue's public search, live,
every time (never stored: seats and offerings change, and a cancellation's mail only links here):
published offerings of the same module whose first day is on or after the Monday of the
original's first week (or today, if that is later), excluding the original, that still take
enrolments (deadline today or later, Danish time). They are ordered by the distance between the
two locations (as the crow flies; an offering without coordinates comes last), then by start.

Free seats and the waiting list are the catalogue's, or this service's own counts for offerings it
knows: those are the counts it decides by, and they never lag behind the catalogue's copy.
"""

from __future__ import annotations

import math
from datetime import date, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session as DbSession

from enrolment.catalogue_client import CatalogueClient
from enrolment.enrolments import get_enrolment
from enrolment.models import Enrolment, OfferingSeats, Participant
from enrolment.seats import free_seats
from shared.auth import Actor
from shared.clock import COPENHAGEN
from shared.db import MAX_ID
from shared.errors import Conflict, NotFound
from shared.schemas import OfferingSchema

EARTH_RADIUS_KM = 6371.0
_OFFERING_SCHEMA = OfferingSchema()


def list_alternatives(db: DbSession, actor: Actor, catalogue: CatalogueClient, enrolment_id: int,
                      today: date) -> list[dict]:
    """HR's (or an administrator's) alternatives for a place of their organisation; 404 for another's."""
    return alternatives_for(db, catalogue, get_enrolment(db, actor, enrolment_id), today)


def own_alternatives(db: DbSession, participant: Participant, catalogue: CatalogueClient, enrolment_id: int,
                     today: date) -> tuple[Enrolment, list[dict]]:
    """A leader's alternatives for their own place ("Mine kurser"); someone else's is unknown."""
    enrolment = own_enrolment(db, participant, enrolment_id)
    return enrolment, alternatives_for(db, catalogue, enrolment, today)


def own_enrolment(db: DbSession, participant: Participant, enrolment_id: int) -> Enrolment:
    enrolment = db.get(Enrolment, enrolment_id) if 0 < enrolment_id <= MAX_ID else None
    if enrolment is None or enrolment.participant_id != participant.id:
        raise NotFound(f"Tilmelding {enrolment_id} findes ikke.")
    return enrolment


def alternatives_for(db: DbSession, catalogue: CatalogueClient, enrolment: Enrolment, today: date) -> list[dict]:
    require_movable(enrolment)
    original = original_offering(enrolment)
    found = catalogue.search_offerings(module=original["module_code"],
                                       date_from=window_start(original, today).isoformat())
    candidates = [offering for offering in found
                  if offering["id"] != original["id"] and offering["status"] == "published"
                  and offering["enrolment_deadline"] >= today and offering["module_code"] == original["module_code"]]
    _with_own_counts(db, candidates)
    for offering in candidates:
        offering["distance_km"] = distance_km(original["location"], offering["location"])
    return sorted(candidates, key=lambda offering: (
        offering["distance_km"] is None, offering["distance_km"] or 0.0, offering["starts_at"], offering["id"]))


def original_offering(enrolment: Enrolment) -> dict:
    return _OFFERING_SCHEMA.load(enrolment.seats.snapshot)


def window_start(original: dict, today: date) -> date:
    """The Monday of the week the original starts in, Danish time; today if that is later."""
    first_day = original["starts_at"].astimezone(COPENHAGEN).date()
    return max(first_day - timedelta(days=first_day.weekday()), today)


def require_movable(enrolment: Enrolment) -> None:
    """A place can move while it is active, or once the school's cancellation of its offering ended it — once.

    The move asks again under both offerings' locks (enrolment.moves); what it reads here is
    written only under the old offering's lock, by seats.set_status and the move.
    """
    if enrolment.movable:
        return
    if enrolment.moved_to_id is not None:
        raise Conflict("Pladsen er allerede flyttet til et andet hold.")
    raise Conflict("Tilmeldingen er afsluttet (afmeldt eller afvist), så den kan ikke flyttes. "
                   "Tilmeld i stedet deltageren til et andet hold.")


def distance_km(origin: dict | None, destination: dict | None) -> float | None:
    """Great-circle distance (haversine) between two locations' coordinates, in km to one decimal."""
    points = [(place or {}).get(key) for place in (origin, destination) for key in ("latitude", "longitude")]
    if any(value is None for value in points):
        return None
    lat1, lon1, lat2, lon2 = map(math.radians, points)
    step = (math.sin((lat2 - lat1) / 2) ** 2
            + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2)
    return round(2 * EARTH_RADIUS_KM * math.asin(math.sqrt(step)), 1)


def _with_own_counts(db: DbSession, offerings: list[dict]) -> None:
    """Free seats and waiting list from this service's counts where it knows the offering."""
    known = {seats.offering_id: seats for seats in db.scalars(
        select(OfferingSeats).where(OfferingSeats.offering_id.in_([offering["id"] for offering in offerings])))}
    for offering in offerings:
        seats = known.get(offering["id"])
        if seats is not None:
            offering["seats_available"] = max(free_seats(seats), 0)
            offering["waitlist_length"] = seats.waitlisted

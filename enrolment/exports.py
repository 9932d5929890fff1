"""Lists that leave the service: HR's CSV export of its enrolments, and a school's participant lists.

CSV files are written one way (shared.csv_files.write_csv): UTF-8 with a byte order mark, so Excel shows æøå
right, semicolon-separated as Danish Excel expects, and with every text cell that a spreadsheet
would take for a formula (starting with =, +, -, @, tab or carriage return) prefixed by an apostrophe.

A school sees only its own offerings' participants, and of them only name, organisation and
status — never e-mail addresses. An offering the enrolment service has not yet seen (nobody has
enrolled) is looked up in the catalogue: the school that runs it gets an empty list, another school
403, and an offering the catalogue does not know either is a 404.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session as DbSession
from sqlalchemy.orm import joinedload

from enrolment.catalogue_client import CatalogueClient
from enrolment.enrolments import EnrolmentFilters, enrolments_query
from enrolment.models import COMPLETION_LABELS, STATUS_LABELS, Enrolment, OfferingSeats
from shared.auth import Actor, Role
from shared.clock import COPENHAGEN
from shared.csv_files import write_csv
from shared.db import MAX_ID
from shared.errors import Forbidden, NotFound

# The last three: what the school reported once the course was over (enrolment.attendance), its last day and the school.
ENROLMENT_COLUMNS = ("Tilmelding", "Udbud", "Navn", "E-mail", "Status", "Plads på venteliste", "Oprettet",
                     "Gennemførelse", "Afsluttet", "Skole")
PARTICIPANT_COLUMNS = ("Navn", "Organisation", "Status", "Plads på venteliste")
# The order of a school's list: seats first, then the waiting list, requests, and those who left.
_SCHOOL_STATUSES = ("confirmed", "waitlisted", "pending_approval", "cancelled")


# --- HR's export ----------------------------------------------------------------------------------

def enrolments_csv(db: DbSession, actor: Actor, filters: EnrolmentFilters) -> bytes:
    """The enrolments the caller may see (GET /enrolments' rules), filtered, as a CSV file for Excel."""
    enrolments = list(db.scalars(enrolments_query(actor, filters)).unique())
    return write_csv(ENROLMENT_COLUMNS, (
        (enrolment.id, enrolment.offering_id, enrolment.participant.name, enrolment.participant.email,
         place_status(enrolment, with_position=False), enrolment.waitlist_position,
         enrolment.created_at.astimezone(COPENHAGEN).date().isoformat(),
         COMPLETION_LABELS.get(enrolment.completion or "", ""),
         enrolment.completed_on.isoformat() if enrolment.completed_on else "", enrolment.completion_provider_name or "")
        for enrolment in enrolments
    ))


def place_status(enrolment: Enrolment, *, with_position: bool = True) -> str:
    """How a place's status reads for people (HR's export, "Mine kurser", HR's overview): a cancellation by the
    school is "Aflyst af skolen" with the school's reason, not "Afmeldt", which is what the person or HR did.
    `with_position`: "Venteliste nr. 3" (the export has a column of its own for the position)."""
    if with_position and enrolment.status == "waitlisted" and enrolment.waitlist_position:
        return f"Venteliste nr. {enrolment.waitlist_position}"
    if enrolment.status == "cancelled" and enrolment.ended_by == "school":
        reason = (enrolment.seats.snapshot or {}).get("cancellation_reason")
        return "Aflyst af skolen" + (f": {reason}" if reason else "")
    if enrolment.status == "cancelled" and enrolment.ended_by == "handed_over":
        return "Overdraget til en kollega"
    return STATUS_LABELS[enrolment.status]


# --- A school's participant lists -----------------------------------------------------------------

@dataclass(frozen=True)
class SchoolParticipant:
    """What a school sees of one participant: no e-mail address, no enrolment id."""

    name: str
    organisation: str
    status: str
    waitlist_position: int | None


def school_participants(db: DbSession, actor: Actor, catalogue: CatalogueClient,
                        offering_id: int) -> list[SchoolParticipant]:
    """The participants of one of the school's offerings (an administrator: any offering's); rejected ones left out."""
    if actor.role not in (Role.SCHOOL, Role.ADMIN):
        raise Forbidden("Kun skolen, der afholder udbuddet, og administratorer kan se deltagerlisten.")
    if not 0 < offering_id <= MAX_ID:
        raise NotFound(f"Udbud {offering_id} findes ikke.")
    known = db.get(OfferingSeats, offering_id)
    # Unknown here means nobody has enrolled yet: the catalogue says whether it exists (404 if not) and whose it is.
    provider_id = known.provider_id if known else catalogue.get_offering(offering_id)["provider_id"]
    if actor.role is Role.SCHOOL and actor.provider_id != provider_id:
        raise Forbidden("Du kan kun se deltagerlisten for din egen skoles udbud.")
    if known is None:
        return []
    enrolments = list(db.scalars(
        select(Enrolment).where(Enrolment.offering_id == offering_id, Enrolment.status.in_(_SCHOOL_STATUSES))
        .options(joinedload(Enrolment.participant), joinedload(Enrolment.organisation))
    ))
    enrolments.sort(key=_school_order)
    return [SchoolParticipant(name=enrolment.participant.name, organisation=enrolment.organisation.name,
                              status=enrolment.status, waitlist_position=enrolment.waitlist_position)
            for enrolment in enrolments]


def _school_order(enrolment: Enrolment) -> tuple:
    """By status, then place in line (those never placed, i.e. requests, after), then enrolment id."""
    unplaced = enrolment.place is None
    return _SCHOOL_STATUSES.index(enrolment.status), unplaced, enrolment.place or 0, enrolment.id


def participants_csv(participants: Iterable[SchoolParticipant]) -> bytes:
    return write_csv(PARTICIPANT_COLUMNS, (
        (participant.name, participant.organisation, STATUS_LABELS[participant.status], participant.waitlist_position)
        for participant in participants
    ))

"""Leaders' and HR's calendars: which events a feed holds, with what status and SEQUENCE.

- A confirmed place is CONFIRMED. A place on the waiting list or waiting for HR's approval is
  TENTATIVE, titled "Foreløbig: …", so the dates are held but plainly not settled.
- A cancelled or rejected place, or a cancelled offering, stays as CANCELLED for 30 days after
  it changed, then leaves the feed; sessions a school removed likewise.
- SEQUENCE is the offering's revision in the catalogue (it grows with every change a school
  makes: moves, new places, cancellation) plus the enrolment's own calendar_sequence (it grows
  with every status change), so it only ever grows.
- DTSTAMP is the latest change of the offering or the enrolment, never the time of the request:
  the feed is byte-identical between fetches until something changes, and ETags work.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from enrolment.models import STATUS_LABELS, Enrolment, Organisation, Participant
from shared.calendar import CalendarEvent, render_calendar
from shared.course_events import offering_events
from shared.schemas import OfferingSchema

KEEP_CANCELLED = timedelta(days=30)
REFRESH_INTERVAL = timedelta(hours=1)
CALENDAR_STATUS = {"confirmed": "CONFIRMED", "waitlisted": "TENTATIVE", "pending_approval": "TENTATIVE",
                   "cancelled": "CANCELLED", "rejected": "CANCELLED"}
NOTES = {"waitlisted": "Du står på venteliste til dette kursus.",
         "pending_approval": "Din tilmelding venter på godkendelse fra HR.",
         "cancelled": "Din tilmelding er afmeldt.", "rejected": "Din anmodning om en plads er afvist."}


def participant_feed(participant: Participant, enrolments: list[Enrolment], now: datetime) -> bytes:
    events = [event for enrolment in enrolments for event in enrolment_events(enrolment, now)]
    return render_calendar(events, name=f"GLU-kurser – {participant.name}", refresh=REFRESH_INTERVAL)


def organisation_feed(organisation: Organisation, enrolments: list[Enrolment], now: datetime) -> bytes:
    """HR's view: one event per session of each offering its people attend, naming them."""
    by_offering: dict[int, list[Enrolment]] = {}
    for enrolment in enrolments:
        by_offering.setdefault(enrolment.offering_id, []).append(enrolment)
    events = [event for group in by_offering.values() for event in _group_events(group, now)]
    return render_calendar(events, name=f"GLU-kurser – {organisation.name}", refresh=REFRESH_INTERVAL)


def enrolment_events(enrolment: Enrolment, now: datetime, *, handed_over: bool = False) -> list[CalendarEvent]:
    """The events of one person's place, or none once a cancellation is older than 30 days.

    `handed_over`: the events as the person who gave the place to someone else must now see them.
    """
    offering = _offering(enrolment)
    status = "CANCELLED" if handed_over else _status(offering, enrolment.status)
    last_modified = max(enrolment.updated_at, offering["updated_at"])
    if status == "CANCELLED" and now - _cancelled_at(offering, enrolment) > KEEP_CANCELLED:
        return []
    return offering_events(offering, status=status, sequence=offering["revision"] + enrolment.calendar_sequence,
                           last_modified=last_modified, note=NOTES.get(enrolment.status),
                           removed_sessions=_recently_removed(enrolment, now))


def _group_events(enrolments: list[Enrolment], now: datetime) -> list[CalendarEvent]:
    offering = _offering(enrolments[0])
    statuses = {_status(offering, enrolment.status) for enrolment in enrolments}
    status = next(status for status in ("CONFIRMED", "TENTATIVE", "CANCELLED") if status in statuses)
    last_modified = max([offering["updated_at"], *(enrolment.updated_at for enrolment in enrolments)])
    if status == "CANCELLED" and now - max(_cancelled_at(offering, e) for e in enrolments) > KEEP_CANCELLED:
        return []
    people = "\n".join(f"- {e.participant.name} ({STATUS_LABELS[e.status].lower()})" for e in
                       sorted(enrolments, key=lambda e: e.participant.name))
    sequence = offering["revision"] + sum(e.calendar_sequence + 1 for e in enrolments)
    return offering_events(offering, status=status, sequence=sequence, last_modified=last_modified,
                           note=f"Deltagere fra jeres organisation:\n{people}",
                           removed_sessions=_recently_removed(enrolments[0], now))


def _offering(enrolment: Enrolment) -> dict:
    return OfferingSchema().load(enrolment.seats.snapshot)


def _cancelled_at(offering: dict, enrolment: Enrolment) -> datetime:
    if offering["status"] == "cancelled" and offering.get("cancelled_at"):
        return offering["cancelled_at"]
    return enrolment.updated_at


def _status(offering: dict, enrolment_status: str) -> str:
    return "CANCELLED" if offering["status"] == "cancelled" else CALENDAR_STATUS[enrolment_status]


def _recently_removed(enrolment: Enrolment, now: datetime) -> list[dict]:
    removed = [
        {"id": item["id"], "starts_at": datetime.fromisoformat(item["starts_at"]),
         "ends_at": datetime.fromisoformat(item["ends_at"]), "removed_at": datetime.fromisoformat(item["removed_at"])}
        for item in enrolment.seats.removed_sessions
    ]
    return [item for item in removed if now - item["removed_at"] <= KEEP_CANCELLED]


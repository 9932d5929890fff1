"""An offering's sessions as calendar events: the one place both services turn a course into VEVENTs.

The catalogue's public .ics download and the enrolment service's feeds and e-mails all call
`offering_events`, so the same session has the same UID, summary, place and description
everywhere, and a downloaded event merges with a subscribed one.
"""

from __future__ import annotations

from datetime import datetime

from shared.calendar import CalendarEvent, session_uid

STATUS_PREFIX = {"CONFIRMED": "", "TENTATIVE": "Foreløbig: ", "CANCELLED": "AFLYST: "}


def offering_events(offering: dict, *, status: str, sequence: int, last_modified: datetime,
                    note: str | None = None, removed_sessions: list[dict] = (),
                    prefix: str | None = None) -> list[CalendarEvent]:
    """One event per session of `offering` (OfferingSchema loaded: attribute names, datetimes).

    `prefix` replaces the status's own start of the title ("Foreløbig: ") with one that says more
    ("Venteliste nr. 3: ").

    `removed_sessions` ({id, starts_at, ends_at, removed_at}) are sessions the school took out;
    they appear as cancelled so calendars drop them visibly.
    """
    summary = f"{offering['module_title']} ({offering['module_code']})"
    events = [
        _event(offering, session, status, sequence, last_modified, summary, note, prefix)
        for session in offering["sessions"]
    ]
    events += [
        _event(offering, session, "CANCELLED", sequence, max(last_modified, session["removed_at"]), summary,
               "Denne dag er taget ud af forløbet.")
        for session in removed_sessions
    ]
    return events


def _event(offering: dict, session: dict, status: str, sequence: int, last_modified: datetime, summary: str,
           note: str | None, prefix: str | None = None) -> CalendarEvent:
    location = offering["location"]
    return CalendarEvent(
        uid=session_uid(session["id"]),
        sequence=sequence,
        status=status,
        starts_at=session["starts_at"],
        ends_at=session["ends_at"],
        summary=(STATUS_PREFIX[status] if prefix is None else prefix) + summary,
        description=_description(offering, note),
        location=place_text(location),
        latitude=location.get("latitude"),
        longitude=location.get("longitude"),
        url=offering.get("url") or None,
        last_modified=last_modified,
    )


def place_text(location: dict) -> str:
    """'Mercantec, H. C. Andersens Vej 9, 8800 Viborg' — the address a map search understands."""
    parts = [location["name"], location.get("address"), f"{location['postcode']} {location['city']}"]
    return ", ".join(part for part in parts if part)


def _description(offering: dict, note: str | None) -> str:
    lines = []
    if note:
        lines += [note, ""]
    if offering.get("module_description"):
        lines += [offering["module_description"], ""]
    if offering.get("module_content"):
        lines += ["Indhold:", *(f"- {point}" for point in offering["module_content"]), ""]
    lines.append(f"Udbyder: {offering['provider_name']} ({offering['contact_email']})")
    if offering.get("status") == "cancelled":
        reason = offering.get("cancellation_reason")
        lines.append("Udbuddet er aflyst" + (f": {reason}" if reason else "."))
    if offering.get("demo"):
        lines.append("Eksempeldata: dette udbud er opdigtet til demonstration og er ikke et rigtigt kursus.")
    if offering.get("url"):
        lines.append(offering["url"])
    return "\n".join(lines)

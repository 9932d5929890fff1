"""An offering as a calendar file anyone can download, and add-to-calendar links per session."""

from __future__ import annotations

from catalogue.models import Offering
from shared.calendar import google_calendar_link, outlook_calendar_link, render_calendar
from shared.course_events import offering_events
from shared.schemas import OfferingSchema


def offering_calendar(offering: Offering) -> bytes:
    """A download of the sessions: the same UIDs as leaders' feeds, so the two merge; no calendar name."""
    return render_calendar(_events(offering))


def calendar_links(offering: Offering) -> list[dict]:
    """One Google Calendar and one Outlook on the web link per session (each link carries one event)."""
    return [
        {"session_id": session.id, "google": google_calendar_link(event), "outlook": outlook_calendar_link(event)}
        for session, event in zip(offering.sessions, _events(offering), strict=True)
    ]


def _events(offering: Offering):
    """One event per session, in the order of offering.sessions."""
    data = OfferingSchema().load(OfferingSchema().dump(offering))
    status = "CANCELLED" if offering.status == "cancelled" else "CONFIRMED"
    return offering_events(data, status=status, sequence=offering.revision, last_modified=offering.updated_at)

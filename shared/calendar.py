"""Course sessions as iCalendar (RFC 5545, RFC 7986, iTIP RFC 5546) and as "add to calendar" links.

Every calendar the services produce — the leaders' subscribed feeds, the download of a single
session, the attachment of an enrolment e-mail — is rendered by `render_calendar`, which builds
each VEVENT the same way. So an event a leader downloaded or accepted from an e-mail and the same
event arriving through a subscription are one event to the calendar program, not two.

The choices, each made because a calendar program in use gets the alternative wrong:

- UID: derived from the session's id only (`session_uid`), never from dates, titles or the
  offering, so it is stable forever and identical in every channel. Calendar programs match
  events by UID; a changed UID is a new event and the old one lingers.
- SEQUENCE and STATUS come from the caller (who knows what changed); a cancelled session stays in
  the feed as STATUS:CANCELLED instead of vanishing, and is TRANSP:TRANSPARENT so it no longer
  shows the leader as busy.
- Times are written in UTC (`DTSTART:20261026T080000Z`) and no VTIMEZONE is written at all. The
  instant is what matters and every client shows it in the reader's own zone; VTIMEZONE blocks
  generated from the tz database (with RDATE lists) are misread by Outlook, which then moves
  sessions by an hour around the daylight-saving changes.
- Nothing depends on "now": DTSTAMP is the event's `last_modified` (also written as
  LAST-MODIFIED), events are ordered by start then UID, and properties in a fixed order. The same
  data therefore gives byte-identical output, so feed responses can carry stable ETags and
  clients polling the feed see no phantom changes.
- Feeds are published calendars (no METHOD, i.e. PUBLISH semantics): they carry no ORGANIZER or
  ATTENDEE, because with an ORGANIZER Outlook and Apple Calendar treat the entries as meeting
  invitations the subscriber could answer, and some show the subscriber as the organizer. Feeds
  name themselves with both NAME (RFC 7986) and X-WR-CALNAME (Apple, Google, Outlook) and ask to
  be polled with both REFRESH-INTERVAL (RFC 7986) and X-PUBLISHED-TTL (Outlook, Apple). A single
  download carries neither a name nor a refresh interval.
- E-mail attachments are iTIP messages: METHOD:REQUEST or METHOD:CANCEL with the ORGANIZER and
  the leader as ATTENDEE. The leader enrolled themselves, so they are PARTSTAT=ACCEPTED with
  RSVP=FALSE: no reply is expected and the programs offer no "accept/decline" that would mail the
  organizer. A TENTATIVE event (a place on the waiting list or waiting for approval) says
  PARTSTAT=TENTATIVE: the leader holds no seat yet, and the message must not say they accepted one.
  A CANCEL carries only CANCELLED events, a REQUEST no CANCELLED one. RFC 6047 allows several
  events in one message, and this module writes them, but Outlook acts on the first VEVENT only
  ([MS-STANOICAL] 2.2.175) and Thunderbird and sabre/vobject expect a single UID: for every
  session to reach every program, send one message per session. The sender must also put the
  method in the MIME type (`text/calendar; method=REQUEST`).
- Text is escaped and lines are folded at 75 octets with CRLF by icalendar (never inside a UTF-8
  character, so æøå survive).

This is a pure module: no Flask, no database, no clock.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from urllib.parse import quote, urlencode

from icalendar import Calendar, Event
from icalendar.prop import vDuration, vGeo

PRODID = "-//glu-courses//GLU kurser//DA"
STATUSES = ("CONFIRMED", "TENTATIVE", "CANCELLED")
METHODS = ("REQUEST", "CANCEL")
# What the attendee's own answer is said to be: a place on the waiting list or waiting for approval
# is not one they hold, so its invitation does not claim they accepted it.
PARTSTAT = {"CONFIRMED": "ACCEPTED", "TENTATIVE": "TENTATIVE", "CANCELLED": "ACCEPTED"}

GOOGLE_CALENDAR_URL = "https://calendar.google.com/calendar/render"
OUTLOOK_CALENDAR_URL = "https://outlook.office.com/calendar/0/deeplink/compose"

# RFC 5545 TEXT may hold no control characters but HTAB; line breaks are written as \n.
_CONTROL_CHARACTERS = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
_EMAIL = re.compile(r"[^@\s:<>\"]+@[^@\s:<>\"]+\.[^@\s:<>\"]+")


@dataclass(frozen=True)
class CalendarEvent:
    """One course session as it appears in a calendar."""

    uid: str
    sequence: int
    status: str  # "CONFIRMED" | "TENTATIVE" | "CANCELLED"
    starts_at: datetime  # aware
    ends_at: datetime  # aware
    summary: str
    description: str
    location: str | None
    latitude: float | None
    longitude: float | None
    url: str | None
    last_modified: datetime  # aware; used for DTSTAMP and LAST-MODIFIED


def session_uid(session_id: int) -> str:
    """The event UID of a course session: the same in feeds, downloads and e-mails, forever."""
    if isinstance(session_id, bool) or not isinstance(session_id, int) or session_id < 1:
        raise ValueError(f"A session id is a positive integer, not {session_id!r}.")
    return f"glu-session-{session_id}@glu-courses"


def render_calendar(
    events: Iterable[CalendarEvent],
    *,
    name: str | None = None,
    refresh: timedelta | None = None,
    method: str | None = None,
    organizer_email: str | None = None,
    attendee_email: str | None = None,
) -> bytes:
    """The iCalendar object (UTF-8, CRLF) holding one VEVENT per event.

    A feed passes `name` and `refresh`; a single download passes neither. An e-mail passes
    `method` ("REQUEST" or "CANCEL"), `organizer_email` and `attendee_email` (see the module's
    note on several events in one message).
    """
    events = sorted(events, key=lambda event: (_utc(event.starts_at), event.uid))
    for event in events:
        _check_event(event)
    uids = [event.uid for event in events]
    if len(set(uids)) != len(uids):
        raise ValueError("Two events have the same UID.")
    _check_scheduling(events, method, organizer_email, attendee_email)
    if name is not None and not _one_line(name):
        raise ValueError("A calendar name must not be empty.")
    if refresh is not None and refresh <= timedelta(0):
        raise ValueError("The refresh interval must be positive.")

    calendar = Calendar()
    calendar.add("VERSION", "2.0")
    calendar.add("PRODID", PRODID)
    calendar.add("CALSCALE", "GREGORIAN")
    if method is not None:
        calendar.add("METHOD", method)
    if name is not None:
        calendar.add("NAME", _one_line(name))
        calendar.add("X-WR-CALNAME", _one_line(name))
    if refresh is not None:
        calendar.add("REFRESH-INTERVAL", refresh, parameters={"VALUE": "DURATION"})
        # An X- property would be written as TEXT ("1:00:00"); this one is a DURATION too.
        calendar["X-PUBLISHED-TTL"] = vDuration(refresh)
    for event in events:
        calendar.add_component(_vevent(event, method, organizer_email, attendee_email))
    return calendar.to_ical(sorted=False)


def google_calendar_link(event: CalendarEvent) -> str:
    """A link that opens Google Calendar's "new event" form filled in with the session."""
    _check_event(event)
    parameters = {
        "action": "TEMPLATE",
        "text": _one_line(event.summary),
        "dates": f"{_utc(event.starts_at):%Y%m%dT%H%M%SZ}/{_utc(event.ends_at):%Y%m%dT%H%M%SZ}",
        "details": _details(event),
    }
    if event.location:
        parameters["location"] = _one_line(event.location, ", ")
    return f"{GOOGLE_CALENDAR_URL}?{_query(parameters)}"


def outlook_calendar_link(event: CalendarEvent) -> str:
    """A link that opens Outlook on the web's "new event" form filled in with the session."""
    _check_event(event)
    parameters = {
        "path": "/calendar/action/compose",
        "rru": "addevent",
        "subject": _one_line(event.summary),
        "startdt": f"{_utc(event.starts_at):%Y-%m-%dT%H:%M:%SZ}",
        "enddt": f"{_utc(event.ends_at):%Y-%m-%dT%H:%M:%SZ}",
        "body": _details(event),
    }
    if event.location:
        parameters["location"] = _one_line(event.location, ", ")
    return f"{OUTLOOK_CALENDAR_URL}?{_query(parameters)}"


# --- Building blocks ------------------------------------------------------------------------------

class _Geo(vGeo):
    """GEO with the six decimals RFC 5545 allows, never in exponent notation (1e-05)."""

    def to_ical(self) -> str:
        return f"{self.latitude:.6f};{self.longitude:.6f}"


def _vevent(event: CalendarEvent, method: str | None, organizer_email: str | None,
            attendee_email: str | None) -> Event:
    vevent = Event()
    vevent.add("UID", event.uid)
    vevent.add("SEQUENCE", event.sequence)
    vevent.add("DTSTAMP", _utc(event.last_modified))
    vevent.add("LAST-MODIFIED", _utc(event.last_modified))
    vevent.add("DTSTART", _utc(event.starts_at))
    vevent.add("DTEND", _utc(event.ends_at))
    vevent.add("STATUS", event.status)
    vevent.add("SUMMARY", _one_line(event.summary))
    if event.description.strip():
        vevent.add("DESCRIPTION", _text(event.description))
    if event.location and event.location.strip():
        vevent.add("LOCATION", _one_line(event.location, ", "))
    if event.latitude is not None and event.longitude is not None:
        vevent["GEO"] = _Geo((event.latitude, event.longitude))
    if event.url:
        vevent.add("URL", event.url)
    vevent.add("TRANSP", "TRANSPARENT" if event.status == "CANCELLED" else "OPAQUE")
    if method is not None:
        vevent.add("ORGANIZER", f"mailto:{organizer_email}")
        vevent.add("ATTENDEE", f"mailto:{attendee_email}", parameters={
            "CUTYPE": "INDIVIDUAL",
            "ROLE": "REQ-PARTICIPANT",
            "PARTSTAT": PARTSTAT[event.status],
            "RSVP": "FALSE",
        })
    return vevent


def _check_event(event: CalendarEvent) -> None:
    if not isinstance(event.uid, str) or not event.uid.strip() or re.search(r"[\x00-\x1f\x7f]", event.uid):
        raise ValueError(f"Invalid UID {event.uid!r}.")
    if isinstance(event.sequence, bool) or not isinstance(event.sequence, int) or event.sequence < 0:
        raise ValueError(f"SEQUENCE is a non-negative integer, not {event.sequence!r}.")
    if event.status not in STATUSES:
        raise ValueError(f"Unknown status {event.status!r}; expected one of {', '.join(STATUSES)}.")
    for field in ("starts_at", "ends_at", "last_modified"):
        instant = getattr(event, field)
        if not isinstance(instant, datetime) or instant.utcoffset() is None:
            raise ValueError(f"{field} must be an aware datetime, not {instant!r}.")
    if event.ends_at <= event.starts_at:
        raise ValueError(f"The event {event.uid} ends before it starts.")
    if (event.latitude is None) != (event.longitude is None):
        raise ValueError("Give both latitude and longitude, or neither.")
    if event.latitude is not None and not (-90 <= event.latitude <= 90 and -180 <= event.longitude <= 180):
        raise ValueError(f"Invalid coordinates {event.latitude}, {event.longitude}.")
    if event.url is not None and (not event.url.startswith(("https://", "http://")) or re.search(r"\s", event.url)):
        raise ValueError(f"Invalid URL {event.url!r}.")


def _check_scheduling(events: list[CalendarEvent], method: str | None, organizer_email: str | None,
                      attendee_email: str | None) -> None:
    if method is None:
        if organizer_email is not None or attendee_email is not None:
            raise ValueError("An organizer or attendee belongs in an e-mail (iTIP) message: give a method.")
        return
    if method not in METHODS:
        raise ValueError(f"Unknown method {method!r}; expected one of {', '.join(METHODS)}.")
    for role, email in (("organizer", organizer_email), ("attendee", attendee_email)):
        if email is None or not _EMAIL.fullmatch(email):
            raise ValueError(f"An iTIP message needs the {role}'s e-mail address, not {email!r}.")
    statuses = {event.status for event in events}
    if method == "CANCEL" and statuses - {"CANCELLED"}:
        raise ValueError("METHOD:CANCEL carries only events with STATUS CANCELLED (RFC 5546).")
    if method == "REQUEST" and "CANCELLED" in statuses:
        raise ValueError("A cancelled event is sent with METHOD:CANCEL, not REQUEST.")


def _utc(instant: datetime) -> datetime:
    return instant.astimezone(UTC).replace(microsecond=0)


def _text(text: str) -> str:
    """Multi-line text with CR LF and lone CR as line breaks and no other control characters."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    return _CONTROL_CHARACTERS.sub("", text).strip()


def _one_line(text: str, separator: str = " ") -> str:
    return separator.join(line.strip() for line in _text(text).split("\n") if line.strip())


def _details(event: CalendarEvent) -> str:
    """The event's text for the links, ending in the link to the offering (Google has no URL field)."""
    parts = [_text(event.description)] if event.description.strip() else []
    if event.url and event.url not in event.description:
        parts.append(event.url)
    return "\n\n".join(parts)


def _query(parameters: dict[str, str]) -> str:
    # %20 for spaces (not +) and every reserved character encoded except / and :, which are
    # allowed in a query and keep the Outlook path and the times readable.
    return urlencode(parameters, quote_via=quote, safe="/:")

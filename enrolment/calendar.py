"""Leaders' and HR's calendars: which events a feed holds, with what status and SEQUENCE.

- A confirmed place is CONFIRMED. A place on the waiting list or waiting for HR's approval is
  TENTATIVE, titled "Venteliste nr. 3: …" or "Afventer godkendelse: …", so the dates are held but
  plainly not settled. A promotion makes the same events (same UIDs) CONFIRMED with a higher SEQUENCE.
- A place handed over to a colleague (enrolments.substitute_participant) leaves its former holder an
  ended place of their own (ended_by "handed_over"), so their feed shows the events as CANCELLED
  like any other ended place, instead of letting them vanish. HR's feed shows the place once, under
  whoever holds it now.
- A cancelled or rejected place, or a cancelled offering, stays as CANCELLED for 30 days after
  it changed, then leaves the feed; sessions a school removed likewise.
- SEQUENCE is the offering's revision in the catalogue (it grows with every change a school
  makes: moves, new places, cancellation) plus the enrolment's own calendar_sequence (it grows
  with every status change), so it only ever grows.
- DTSTAMP is the latest change of the offering or the enrolment, never the time of the request:
  the feed is byte-identical between fetches until something changes, and ETags work.
- The one thing time alone changes is the 30 days, so a feed is rendered with the moment that
  next happens (`Feed.valid_until`): until then a kept copy of its bytes is still right.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from enrolment.models import ACTIVE_STATUSES, STATUS_LABELS, Enrolment, OfferingSeats
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

# One instance for every load: creating a schema deep-copies all its fields, which costs more than the load.
_OFFERING_SCHEMA = OfferingSchema()


@dataclass(frozen=True)
class Feed:
    body: bytes
    # The last moment it is right: when the first cancellation or removed session in it turns 30 days
    # old, to leave it just after. None: nothing in it ages out.
    valid_until: datetime | None


def participant_feed(name: str, enrolments: list[Enrolment], now: datetime) -> Feed:
    """A leader's feed, named after them: one place per offering, the active one or else the latest (`enrolments`
    by id). The active one need not be the latest: a place handed back to someone keeps its id, older than the
    ended place their first handing over left them."""
    offerings = _offerings(enrolments)
    events = []
    for places in _by_offering(enrolments).values():
        shown = next((place for place in places if place.status in ACTIVE_STATUSES), places[-1])
        events += _place_events(offerings[shown.offering_id], shown, now,
                                earlier=[place for place in places if place is not shown])
    return _feed(events, name, offerings, enrolments, now)


def organisation_feed(name: str, enrolments: list[Enrolment], now: datetime) -> Feed:
    """HR's view: one event per session of each offering its people attend, naming them."""
    enrolments = [enrolment for enrolment in enrolments if not is_handed_over(enrolment)]
    offerings = _offerings(enrolments)
    events = [event for offering_id, group in _by_offering(enrolments).items()
              for event in _group_events(offerings[offering_id], group, now)]
    return _feed(events, name, offerings, enrolments, now)


def enrolment_events(enrolment: Enrolment, now: datetime, *, earlier: list[Enrolment] = ()) -> list[CalendarEvent]:
    """The events of one person's place, or none once a cancellation is older than 30 days.

    `earlier`: the person's previous places in the same offering.
    """
    return _place_events(_offering(enrolment.seats), enrolment, now, earlier=earlier)


def is_handed_over(enrolment: Enrolment) -> bool:
    """The ended place a former holder keeps after handing the place over: theirs to see, not HR's to count."""
    return enrolment.status == "cancelled" and enrolment.ended_by == "handed_over"


def _by_offering(enrolments: list[Enrolment]) -> dict[int, list[Enrolment]]:
    by_offering: dict[int, list[Enrolment]] = {}
    for enrolment in enrolments:
        by_offering.setdefault(enrolment.offering_id, []).append(enrolment)
    return by_offering


def _place_events(offering: dict, enrolment: Enrolment, now: datetime, *,
                  earlier: list[Enrolment] = ()) -> list[CalendarEvent]:
    """`earlier`: the person's previous places in the same offering (cancelled, then enrolled again).
    The events are the same sessions (same UIDs), so SEQUENCE counts on from theirs."""
    status = _status(offering, enrolment.status)
    prefix = None
    if status == "TENTATIVE" and enrolment.status == "waitlisted" and enrolment.waitlist_position:
        prefix = f"Venteliste nr. {enrolment.waitlist_position}: "
    elif status == "TENTATIVE" and enrolment.status == "pending_approval":
        prefix = "Afventer godkendelse: "
    last_modified = max(enrolment.updated_at, offering["updated_at"])
    if status == "CANCELLED" and now - _cancelled_at(offering, enrolment) > KEEP_CANCELLED:
        return []
    sequence = offering["revision"] + enrolment.calendar_sequence + sum(e.calendar_sequence + 1 for e in earlier)
    return offering_events(offering, status=status, sequence=sequence, last_modified=last_modified,
                           note=_note(enrolment), removed_sessions=_recently_removed(enrolment.seats, now),
                           prefix=prefix)


def _note(enrolment: Enrolment) -> str | None:
    if is_handed_over(enrolment):
        return "Din plads er givet videre til en kollega."
    if enrolment.status == "waitlisted" and enrolment.waitlist_position:
        return f"Du står på venteliste som nr. {enrolment.waitlist_position} til dette kursus. Vi skriver, " \
               "hvis du får en plads."
    return NOTES.get(enrolment.status)


def _group_events(offering: dict, enrolments: list[Enrolment], now: datetime) -> list[CalendarEvent]:
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
                           removed_sessions=_recently_removed(enrolments[0].seats, now))


def _feed(events: list[CalendarEvent], name: str, offerings: dict[int, dict], enrolments: list[Enrolment],
          now: datetime) -> Feed:
    body = render_calendar(events, name=f"GLU-kurser – {name}", refresh=REFRESH_INTERVAL)
    return Feed(body, _valid_until(offerings, enrolments, now))


def _valid_until(offerings: dict[int, dict], enrolments: list[Enrolment], now: datetime) -> datetime | None:
    """The moment the first cancelled place or removed session shown at `now` turns 30 days old.

    Early rather than exact: every cancelled place counts, even one whose offering a colleague
    still attends (HR's feed then shows no CANCELLED event for it). Too early only means one more
    rendering; too late would mean a wrong feed.
    """
    changed = [_cancelled_at(offerings[e.offering_id], e) for e in enrolments
               if _status(offerings[e.offering_id], e.status) == "CANCELLED"]
    changed += [item["removed_at"] for e in enrolments for item in _removed_sessions(e.seats)]
    return min((moment + KEEP_CANCELLED for moment in changed if now - moment <= KEEP_CANCELLED), default=None)


def _offerings(enrolments: list[Enrolment]) -> dict[int, dict]:
    """Each offering loaded once, however many places in it the feed shows."""
    seats = {enrolment.offering_id: enrolment.seats for enrolment in enrolments}
    return {offering_id: _offering(offering_seats) for offering_id, offering_seats in seats.items()}


def _offering(seats: OfferingSeats) -> dict:
    return _OFFERING_SCHEMA.load(seats.snapshot)


def _cancelled_at(offering: dict, enrolment: Enrolment) -> datetime:
    if offering["status"] == "cancelled" and offering.get("cancelled_at"):
        return offering["cancelled_at"]
    return enrolment.updated_at


def _status(offering: dict, enrolment_status: str) -> str:
    return "CANCELLED" if offering["status"] == "cancelled" else CALENDAR_STATUS[enrolment_status]


def _recently_removed(seats: OfferingSeats, now: datetime) -> list[dict]:
    return [item for item in _removed_sessions(seats) if now - item["removed_at"] <= KEEP_CANCELLED]


def _removed_sessions(seats: OfferingSeats) -> list[dict]:
    instants = ("starts_at", "ends_at", "removed_at")
    return [{"id": item["id"], **{key: datetime.fromisoformat(item[key]) for key in instants}}
            for item in seats.removed_sessions]

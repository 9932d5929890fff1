"""Course sessions as iCalendar, read back with an independent parser (vobject) as well as icalendar."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlsplit

import icalendar
import pytest
import vobject

from shared.calendar import (
    CalendarEvent,
    google_calendar_link,
    outlook_calendar_link,
    render_calendar,
    session_uid,
)
from shared.clock import COPENHAGEN

DANISH_TITLE = "GLU modul 2: Ledelse af frivillige – Ærø, Højskolen; æøå ÆØÅ"
ORGANIZER = "kurser@glu-courses.example"
ATTENDEE = "mette.sørensen@example.dk"


def event(session_id: int = 1, *, day: tuple[int, int, int] = (2026, 10, 26), **changes) -> CalendarEvent:
    values = {
        "uid": session_uid(session_id),
        "sequence": 0,
        "status": "CONFIRMED",
        "starts_at": datetime(*day, 9, 0, tzinfo=COPENHAGEN),
        "ends_at": datetime(*day, 15, 0, tzinfo=COPENHAGEN),
        "summary": DANISH_TITLE,
        "description": "Modulets indhold: frivillighed, motivation og konflikter.\nMedbring madpakke.",
        "location": "Ærø Højskole, Vestergade 73, 5970 Ærøskøbing",
        "latitude": 54.888237,
        "longitude": 10.408792,
        "url": "https://glu-courses.example/udbud/12",
        "last_modified": datetime(2026, 5, 1, 14, 30, tzinfo=COPENHAGEN),
    }
    values.update(changes)
    return CalendarEvent(**values)


def parse(ics: bytes):
    """The calendar as vobject reads it."""
    return vobject.readOne(ics.decode("utf-8"))


def vevents(ics: bytes) -> list:
    return parse(ics).contents.get("vevent", [])


# --- UID --------------------------------------------------------------------------------------------

def test_session_uid_is_derived_from_the_id_only():
    assert session_uid(42) == "glu-session-42@glu-courses"
    assert session_uid(42) == session_uid(42)


@pytest.mark.parametrize("bad", [0, -1, True, "42", 4.2])
def test_session_uid_refuses_what_is_not_an_id(bad):
    with pytest.raises(ValueError):
        session_uid(bad)


# --- Times ------------------------------------------------------------------------------------------

@pytest.mark.parametrize(
    ("day", "start", "end"),
    [
        ((2026, 10, 24), "20261024T070000Z", "20261024T130000Z"),  # summer time, +02:00
        ((2026, 10, 26), "20261026T080000Z", "20261026T140000Z"),  # after the autumn change, +01:00
        ((2027, 3, 27), "20270327T080000Z", "20270327T140000Z"),  # before the spring change, +01:00
        ((2027, 3, 29), "20270329T070000Z", "20270329T130000Z"),  # after the spring change, +02:00
    ],
)
def test_sessions_around_daylight_saving_changes_are_written_in_utc(day, start, end):
    ics = render_calendar([event(day=day)])

    assert f"DTSTART:{start}\r\n".encode() in ics
    assert f"DTEND:{end}\r\n".encode() in ics
    (vevent,) = vevents(ics)
    local_start = datetime(*day, 9, 0, tzinfo=COPENHAGEN)
    assert vevent.dtstart.value == local_start
    assert vevent.dtstart.value.utcoffset() == timedelta(0)
    assert vevent.dtend.value == local_start + timedelta(hours=6)


def test_a_session_spanning_the_autumn_change_keeps_its_real_length():
    starts = datetime(2026, 10, 24, 22, 0, tzinfo=COPENHAGEN)  # +02:00
    ends = datetime(2026, 10, 25, 6, 0, tzinfo=COPENHAGEN)  # +01:00: nine hours later, not eight
    ics = render_calendar([event(starts_at=starts, ends_at=ends)])

    assert b"DTSTART:20261024T200000Z\r\n" in ics
    assert b"DTEND:20261025T050000Z\r\n" in ics


def test_no_vtimezone_and_no_local_times():
    ics = render_calendar([event(day=(2026, 10, 24)), event(2, day=(2027, 3, 29))], name="GLU", refresh=None)

    assert b"VTIMEZONE" not in ics
    assert b"TZID" not in ics
    parsed = parse(ics)
    assert "vtimezone" not in parsed.contents
    assert all(vevent.dtstart.value.tzinfo is not None for vevent in parsed.vevent_list)


def test_dtstamp_is_the_last_modification_not_now():
    last_modified = datetime(2026, 5, 1, 14, 30, 15, 999_999, tzinfo=COPENHAGEN)
    ics = render_calendar([event(last_modified=last_modified)])

    assert b"DTSTAMP:20260501T123015Z\r\n" in ics
    assert b"LAST-MODIFIED:20260501T123015Z\r\n" in ics
    (vevent,) = vevents(ics)
    assert vevent.dtstamp.value == datetime(2026, 5, 1, 12, 30, 15, tzinfo=UTC)
    assert vevent.last_modified.value == datetime(2026, 5, 1, 12, 30, 15, tzinfo=UTC)


# --- Determinism --------------------------------------------------------------------------------------

def test_same_input_gives_byte_identical_output_in_any_order():
    events = [
        event(3, day=(2026, 11, 2)),
        event(1, day=(2026, 10, 24)),
        event(2, day=(2026, 10, 26)),
        event(5, day=(2026, 10, 26)),  # same start as 2: ordered by UID
    ]

    first = render_calendar(events, name="GLU kurser", refresh=timedelta(hours=1))
    again = render_calendar(events, name="GLU kurser", refresh=timedelta(hours=1))
    reversed_order = render_calendar(reversed(events), name="GLU kurser", refresh=timedelta(hours=1))

    assert first == again == reversed_order
    assert [vevent.uid.value for vevent in vevents(first)] == [
        session_uid(1), session_uid(2), session_uid(5), session_uid(3),
    ]


def test_a_download_and_a_feed_carry_the_same_event():
    one = event(7)
    download = render_calendar([one])
    feed = render_calendar([event(6, day=(2026, 10, 24)), one], name="GLU", refresh=timedelta(hours=1))

    def vevent_block(ics: bytes) -> bytes:
        start = ics.index(b"BEGIN:VEVENT\r\nUID:" + one.uid.encode())
        return ics[start:ics.index(b"END:VEVENT\r\n", start)]

    assert vevent_block(download) == vevent_block(feed)


# --- Events -------------------------------------------------------------------------------------------

def test_one_vevent_per_event_with_uid_sequence_and_status():
    events = [
        event(1, day=(2026, 10, 24), sequence=0, status="CONFIRMED"),
        event(2, day=(2026, 10, 26), sequence=3, status="TENTATIVE"),
        event(3, day=(2026, 11, 2), sequence=5, status="CANCELLED"),
    ]
    ics = render_calendar(events)

    parsed = vevents(ics)
    assert ics.count(b"BEGIN:VEVENT\r\n") == 3
    assert [(v.uid.value, v.sequence.value, v.status.value) for v in parsed] == [
        (session_uid(1), "0", "CONFIRMED"),
        (session_uid(2), "3", "TENTATIVE"),
        (session_uid(3), "5", "CANCELLED"),
    ]
    assert [v.transp.value for v in parsed] == ["OPAQUE", "OPAQUE", "TRANSPARENT"]


def test_event_details_survive_the_round_trip():
    ics = render_calendar([event()])

    (vevent,) = vevents(ics)
    assert vevent.summary.value == DANISH_TITLE
    assert vevent.description.value == (
        "Modulets indhold: frivillighed, motivation og konflikter.\nMedbring madpakke."
    )
    assert vevent.location.value == "Ærø Højskole, Vestergade 73, 5970 Ærøskøbing"
    assert vevent.url.value == "https://glu-courses.example/udbud/12"
    unfolded = ics.replace(b"\r\n ", b"")
    assert "LOCATION:Ærø Højskole\\, Vestergade 73\\, 5970 Ærøskøbing\r\n".encode() in unfolded
    assert "SUMMARY:GLU modul 2: Ledelse af frivillige – Ærø\\, Højskolen\\; æøå ÆØÅ\r\n".encode() in unfolded


def test_geo_when_coordinates_are_known():
    with_geo = render_calendar([event()])
    without_geo = render_calendar([event(latitude=None, longitude=None, location=None, url=None)])

    assert b"GEO:54.888237;10.408792\r\n" in with_geo
    (vevent,) = vevents(with_geo)
    latitude, longitude = (float(part) for part in vevent.geo.value.split(";"))
    assert (latitude, longitude) == (54.888237, 10.408792)
    assert icalendar.Calendar.from_ical(with_geo).walk("VEVENT")[0]["GEO"].latitude == 54.888237

    assert b"GEO" not in without_geo
    assert b"LOCATION" not in without_geo
    assert b"URL" not in without_geo


def test_long_danish_description_survives_the_round_trip_in_folded_crlf_lines():
    paragraph = "Æbleskiver, rødgrød med fløde; øl og å-vand.\n"
    description = (paragraph * 60)[:2000].rstrip()
    assert len(description) >= 1990
    ics = render_calendar([event(description=description, summary="Å" * 120)], name="Ø" * 100)

    lines = ics.split(b"\r\n")
    assert lines[-1] == b""  # ends with CRLF
    assert all(len(line) <= 75 for line in lines)
    assert all(b"\n" not in line and b"\r" not in line for line in lines)
    assert any(line.startswith(b" ") for line in lines)  # folded
    for line in lines:
        line.decode("utf-8")  # never folded inside a UTF-8 character

    (vevent,) = vevents(ics)
    assert vevent.description.value == description
    assert vevent.summary.value == "Å" * 120
    assert str(icalendar.Calendar.from_ical(ics).walk("VEVENT")[0]["DESCRIPTION"]) == description


def test_line_breaks_and_control_characters_are_normalised():
    ics = render_calendar([event(description="Linje 1\r\nLinje 2\rLinje 3\x07", summary="To\nlinjer")])

    (vevent,) = vevents(ics)
    assert vevent.description.value == "Linje 1\nLinje 2\nLinje 3"
    assert vevent.summary.value == "To linjer"


# --- Calendar headers -----------------------------------------------------------------------------------

def test_feed_headers_when_asked():
    ics = render_calendar([event()], name="GLU kurser – Mette Sørensen", refresh=timedelta(hours=1))

    assert ics.startswith(b"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//glu-courses//GLU kurser//DA\r\n")
    assert b"CALSCALE:GREGORIAN\r\n" in ics
    assert b"REFRESH-INTERVAL;VALUE=DURATION:PT1H\r\n" in ics
    assert b"X-PUBLISHED-TTL:PT1H\r\n" in ics
    parsed = parse(ics)
    assert parsed.version.value == "2.0"
    assert parsed.prodid.value == "-//glu-courses//GLU kurser//DA"
    assert parsed.calscale.value == "GREGORIAN"
    assert parsed.contents["name"][0].value == "GLU kurser – Mette Sørensen"
    assert parsed.contents["x-wr-calname"][0].value == "GLU kurser – Mette Sørensen"
    refresh = parsed.contents["refresh-interval"][0]
    assert refresh.value == "PT1H"
    assert refresh.params["VALUE"] == ["DURATION"]
    assert parsed.contents["x-published-ttl"][0].value == "PT1H"
    assert "method" not in parsed.contents


def test_a_single_download_has_no_name_or_refresh():
    ics = render_calendar([event()], name=None, refresh=None)

    parsed = parse(ics)
    for header in ("name", "x-wr-calname", "refresh-interval", "x-published-ttl", "method"):
        assert header not in parsed.contents
    assert parsed.version.value == "2.0"
    assert parsed.calscale.value == "GREGORIAN"


def test_an_empty_feed_is_still_a_calendar():
    ics = render_calendar([], name="GLU", refresh=timedelta(days=1))

    parsed = parse(ics)
    assert "vevent" not in parsed.contents
    assert b"REFRESH-INTERVAL;VALUE=DURATION:P1D\r\n" in ics


def test_no_organizer_or_attendee_without_a_method():
    ics = render_calendar([event()], name="GLU", refresh=timedelta(hours=1))

    assert b"ORGANIZER" not in ics
    assert b"ATTENDEE" not in ics
    assert b"METHOD" not in ics
    (vevent,) = vevents(ics)
    assert "organizer" not in vevent.contents


# --- E-mail (iTIP) ---------------------------------------------------------------------------------------

def test_request_carries_method_organizer_and_attendee():
    ics = render_calendar([event(sequence=1)], method="REQUEST", organizer_email=ORGANIZER, attendee_email=ATTENDEE)

    parsed = parse(ics)
    assert parsed.method.value == "REQUEST"
    (vevent,) = parsed.vevent_list
    assert vevent.organizer.value == f"mailto:{ORGANIZER}"
    attendee = vevent.attendee
    assert attendee.value == f"mailto:{ATTENDEE}"
    assert attendee.params["PARTSTAT"] == ["ACCEPTED"]
    assert attendee.params["RSVP"] == ["FALSE"]
    assert attendee.params["ROLE"] == ["REQ-PARTICIPANT"]
    assert vevent.status.value == "CONFIRMED"
    assert vevent.sequence.value == "1"
    assert all(len(line) <= 75 for line in ics.split(b"\r\n"))


def test_cancel_carries_method_organizer_attendee_and_cancelled_status():
    ics = render_calendar([event(sequence=2, status="CANCELLED")], method="CANCEL",
                          organizer_email=ORGANIZER, attendee_email=ATTENDEE)

    parsed = parse(ics)
    assert parsed.method.value == "CANCEL"
    (vevent,) = parsed.vevent_list
    assert vevent.uid.value == session_uid(1)
    assert vevent.status.value == "CANCELLED"
    assert vevent.sequence.value == "2"
    assert vevent.organizer.value == f"mailto:{ORGANIZER}"
    assert vevent.attendee.value == f"mailto:{ATTENDEE}"


def test_every_event_of_a_message_names_the_organizer_and_the_attendee():
    events = [event(1, day=(2026, 10, 24)), event(2, day=(2026, 10, 26), status="TENTATIVE")]
    ics = render_calendar(events, method="REQUEST", organizer_email=ORGANIZER, attendee_email=ATTENDEE)

    assert ics.count(b"METHOD:REQUEST\r\n") == 1
    parsed = vevents(ics)
    assert [vevent.uid.value for vevent in parsed] == [session_uid(1), session_uid(2)]
    for vevent in parsed:
        assert [organizer.value for organizer in vevent.organizer_list] == [f"mailto:{ORGANIZER}"]
        assert [attendee.value for attendee in vevent.attendee_list] == [f"mailto:{ATTENDEE}"]


def test_the_email_event_is_the_feed_event_plus_the_people():
    feed = render_calendar([event()], name="GLU", refresh=timedelta(hours=1))
    mail = render_calendar([event()], method="REQUEST", organizer_email=ORGANIZER, attendee_email=ATTENDEE)

    (in_feed,) = vevents(feed)
    (in_mail,) = vevents(mail)
    for field in ("uid", "sequence", "dtstamp", "dtstart", "dtend", "summary", "description", "location"):
        assert in_feed.contents[field][0].value == in_mail.contents[field][0].value


# --- Arguments ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize(
    ("events", "arguments"),
    [
        ([event(status="confirmed")], {}),
        ([event(status="DONE")], {}),
        ([event(sequence=-1)], {}),
        ([event(starts_at=datetime(2026, 10, 26, 9))], {}),
        ([event(last_modified=datetime(2026, 5, 1))], {}),
        ([event(ends_at=datetime(2026, 10, 26, 8, 0, tzinfo=COPENHAGEN))], {}),
        ([event(latitude=None)], {}),
        ([event(), event()], {}),
        ([event()], {"method": "PUBLISH", "organizer_email": ORGANIZER, "attendee_email": ATTENDEE}),
        ([event()], {"method": "request", "organizer_email": ORGANIZER, "attendee_email": ATTENDEE}),
        ([event()], {"method": "REQUEST", "attendee_email": ATTENDEE}),
        ([event()], {"method": "REQUEST", "organizer_email": ORGANIZER}),
        ([event()], {"method": "REQUEST", "organizer_email": "mailto:x", "attendee_email": ATTENDEE}),
        ([event()], {"organizer_email": ORGANIZER}),
        ([event(), event(2, status="CANCELLED")],
         {"method": "CANCEL", "organizer_email": ORGANIZER, "attendee_email": ATTENDEE}),
        ([event()], {"method": "CANCEL", "organizer_email": ORGANIZER, "attendee_email": ATTENDEE}),
        ([event(status="CANCELLED")],
         {"method": "REQUEST", "organizer_email": ORGANIZER, "attendee_email": ATTENDEE}),
        ([event()], {"refresh": timedelta(0)}),
        ([event()], {"name": "  "}),
    ],
)
def test_invalid_arguments_are_refused(events, arguments):
    with pytest.raises(ValueError):
        render_calendar(events, **arguments)


# --- Links ---------------------------------------------------------------------------------------------

def query_of(link: str) -> dict[str, str]:
    parameters = parse_qs(urlsplit(link).query, keep_blank_values=True, strict_parsing=True)
    assert all(len(values) == 1 for values in parameters.values())
    return {key: values[0] for key, values in parameters.items()}


@pytest.mark.parametrize(
    ("day", "dates"),
    [
        ((2026, 10, 24), "20261024T070000Z/20261024T130000Z"),
        ((2026, 10, 26), "20261026T080000Z/20261026T140000Z"),
    ],
)
def test_google_link(day, dates):
    link = google_calendar_link(event(day=day))

    assert link.startswith("https://calendar.google.com/calendar/render?action=TEMPLATE&")
    assert f"&dates={dates}&" in link
    assert "%C3%86r%C3%B8" in link  # "Ærø", UTF-8 and percent-encoded
    assert " " not in link and "æ" not in link
    query = query_of(link)
    assert query["action"] == "TEMPLATE"
    assert query["text"] == DANISH_TITLE
    assert query["dates"] == dates
    assert query["location"] == "Ærø Højskole, Vestergade 73, 5970 Ærøskøbing"
    assert query["details"].startswith("Modulets indhold: frivillighed, motivation og konflikter.\n")
    assert query["details"].endswith("https://glu-courses.example/udbud/12")


@pytest.mark.parametrize(
    ("day", "start", "end"),
    [
        ((2026, 10, 24), "2026-10-24T07:00:00Z", "2026-10-24T13:00:00Z"),
        ((2026, 10, 26), "2026-10-26T08:00:00Z", "2026-10-26T14:00:00Z"),
    ],
)
def test_outlook_link(day, start, end):
    link = outlook_calendar_link(event(day=day))

    assert link.startswith(
        "https://outlook.office.com/calendar/0/deeplink/compose?path=/calendar/action/compose&rru=addevent&"
    )
    assert f"&startdt={start}&enddt={end}&" in link
    assert "%C3%86r%C3%B8" in link
    assert " " not in link and "æ" not in link
    query = query_of(link)
    assert query["subject"] == DANISH_TITLE
    assert query["startdt"] == start
    assert query["enddt"] == end
    assert query["location"] == "Ærø Højskole, Vestergade 73, 5970 Ærøskøbing"
    assert query["body"].endswith("https://glu-courses.example/udbud/12")


def test_links_encode_characters_that_would_break_the_query():
    tricky = event(summary="Ledelse & trivsel + 100% = #glæde?", location=None, url=None)

    for link in (google_calendar_link(tricky), outlook_calendar_link(tricky)):
        query = query_of(link)
        assert query.get("text", query.get("subject")) == "Ledelse & trivsel + 100% = #glæde?"
        assert "location" not in query
        assert "#" not in link


def test_links_refuse_an_invalid_event():
    with pytest.raises(ValueError):
        google_calendar_link(dataclasses.replace(event(), status="UNKNOWN"))
    with pytest.raises(ValueError):
        outlook_calendar_link(dataclasses.replace(event(), starts_at=datetime(2026, 10, 26, 9)))

"""Who is told what: every change of a place, and every change a school makes, becomes an e-mail.

Subscribed calendars refresh slowly (Google: every 8–24 hours), so people are also written to.
Mails about a place carry the person's "Mine kurser" link and calendar link; mails that move or
cancel events carry an iTIP attachment (METHOD:REQUEST or METHOD:CANCEL, the same UIDs and a
higher SEQUENCE) so Outlook and Google update the event at once.

Every function here is called by the domain function that made the change, with the change
(seats.StatusChange) it got back, and writes the mails to the outbox in the same transaction, so
a rolled-back change sends nothing.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session as DbSession

from enrolment import calendar
from enrolment.models import ACCOUNTS, STATUS_LABELS, Enrolment, HrUser, Participant
from enrolment.outbox import add_mail
from enrolment.seats import StatusChange
from shared.calendar import render_calendar, session_uid
from shared.clock import COPENHAGEN
from shared.course_events import place_text
from shared.db import utcnow
from shared.links import absolute_url
from shared.schemas import OfferingSchema

WEEKDAYS = ("mandag", "tirsdag", "onsdag", "torsdag", "fredag", "lørdag", "søndag")
MONTHS = ("januar", "februar", "marts", "april", "maj", "juni", "juli", "august", "september", "oktober",
          "november", "december")
# One instance for every load: creating a schema deep-copies all its fields, which costs more than the load.
_OFFERING_SCHEMA = OfferingSchema()


def status_changed(db: DbSession, changes: Iterable[StatusChange], *,
                   earlier_places: Mapping[Enrolment, list[Enrolment]] | None = None) -> None:
    """Each person whose place changed status hears of it: confirmed, waitlisted, pending, rejected or cancelled.

    `earlier_places` holds, for a place whose caller has read them already, the person's earlier
    places in the same offering; the others are read here.
    """
    now = utcnow()
    for change in changes:
        if change.before != change.after:
            earlier = (earlier_places or {}).get(change.enrolment)
            _status_mail(db, change.enrolment, change.before, now, earlier)
    _tell_hr_of_cancellation(db, [change.enrolment for change in changes if change.before != change.after
                                  and change.after == "cancelled" and change.enrolment.seats.status == "cancelled"])


def _status_mail(db: DbSession, enrolment: Enrolment, before: str | None, now: datetime,
                 earlier: list[Enrolment] | None) -> None:
    offering = _OFFERING_SCHEMA.load(enrolment.seats.snapshot)
    title = f"{offering['module_title']} hos {offering['provider_name']}"
    status = enrolment.status
    if status == "confirmed":
        subject = f"Du har fået en plads: {title}" if before == "waitlisted" else f"Du er tilmeldt: {title}"
        text = "Du har fået en plads på kurset." if before == "waitlisted" else "Din plads på kurset er bekræftet."
        send(db, enrolment, offering, subject, text, "REQUEST", now, earlier=earlier)
    elif status == "waitlisted":
        text = f"Kurset er fuldt, så du står på venteliste som nr. {enrolment.waitlist_position}. Vi skriver, " \
               f"hvis du får en plads."
        send(db, enrolment, offering, f"Du er på venteliste: {title}", text, "REQUEST", now, earlier=earlier)
    elif status == "pending_approval":
        send(db, enrolment, offering, f"Din anmodning er modtaget: {title}",
             "Din anmodning om en plads venter på godkendelse fra HR i din organisation. Du får besked, "
             "når den er behandlet.", "REQUEST", now, earlier=earlier)
    elif status == "rejected":
        send(db, enrolment, offering, f"Ingen plads: {title}", "HR har afvist din anmodning om en plads.",
             "CANCEL", now, earlier=earlier)
    elif status == "cancelled":
        if offering["status"] == "cancelled":
            reason = offering.get("cancellation_reason")
            text = "Skolen har aflyst kurset" + (f": {reason}" if reason else ".")
            text += ("\n\nSe andre hold i samme modul, og flyt din plads med ét klik: "
                     f"{absolute_url(alternatives_path(enrolment))}")
            send(db, enrolment, offering, f"Aflyst: {title}", text, "CANCEL", now, earlier=earlier)
        else:
            send(db, enrolment, offering, f"Afmeldt: {title}", "Din tilmelding er afmeldt.", "CANCEL", now,
                 earlier=earlier)


def course_held(db: DbSession, enrolments: list[Enrolment]) -> None:
    """Go or no-go: the school holds the course, so everyone with a confirmed place hears it once (the
    caller sees the decision change from undecided to held once, under the offering's lock)."""
    now = utcnow()
    for enrolment in enrolments:
        offering = _OFFERING_SCHEMA.load(enrolment.seats.snapshot)
        title = f"{offering['module_title']} hos {offering['provider_name']}"
        send(db, enrolment, offering, f"Holdet gennemføres: {title}",
             "Skolen har besluttet, at holdet bliver gennemført. Din plads er bekræftet; vi ses på kurset.", None, now)


def confirm_request(db: DbSession, enrolment: Enrolment, token: str, expires: datetime) -> None:
    """The address a request names is asked whether it was them: nothing counts until they confirm."""
    offering = _OFFERING_SCHEMA.load(enrolment.seats.snapshot)
    title = f"{offering['module_title']} hos {offering['provider_name']}"
    link = absolute_url(f"/anmod/bekraeft/{token}")
    send(db, enrolment, offering, f"Bekræft din anmodning: {title}",
         f"Der er bedt om en plads på kurset til denne e-mailadresse. Var det dig, så bekræft anmodningen "
         f"inden {_when_local(expires)}:\n\n{link}\n\nVar det ikke dig, kan du se bort fra mailen; "
         f"så sker der ingenting.", None, utcnow())


def offering_moved(db: DbSession, enrolments: list[Enrolment], sessions: set[int] | None = None) -> None:
    """A school moved sessions or changed the place: everyone holding or waiting for a place hears of it.

    `sessions`: the ids of the sessions that moved (None: all, as when the place changed); only
    those are sent again, so a calendar does not see untouched days as changed.
    """
    now = utcnow()
    for enrolment in enrolments:
        offering = _OFFERING_SCHEMA.load(enrolment.seats.snapshot)
        title = f"{offering['module_title']} hos {offering['provider_name']}"
        send(db, enrolment, offering, f"Ændret tid eller sted: {title}",
             "Skolen har ændret kursets tider eller sted. Se de nye tider herunder; din kalender opdateres.",
             "REQUEST", now, sessions=sessions)


def place_handed_over(db: DbSession, enrolment: Enrolment, ended: Enrolment) -> None:
    """HR gave a place to someone else: the newcomer is welcomed, the previous holder's events cancelled.

    `ended` is the ended place the previous holder keeps (enrolments.substitute_participant): its
    events are the ones their calendar now shows, CANCELLED with a higher SEQUENCE.
    """
    now = utcnow()
    offering = _OFFERING_SCHEMA.load(enrolment.seats.snapshot)
    title = f"{offering['module_title']} hos {offering['provider_name']}"
    send(db, enrolment, offering, f"Du har overtaget en plads: {title}",
         f"HR har givet dig pladsen ({STATUS_LABELS[enrolment.status].lower()}).", "REQUEST", now)
    send(db, ended, offering, f"Afmeldt: {title}", "HR har givet din plads til en kollega.", "CANCEL", now)


def send(db: DbSession, enrolment: Enrolment, offering: dict, subject: str, text: str, method: str | None,
         now: datetime, *, earlier: list[Enrolment] | None = None, sessions: set[int] | None = None) -> None:
    """The mail to the place's holder, and with a method one iTIP message per session (`sessions`: only
    those, by session id).

    Outlook reads only the first event of an iTIP message, so a course of three days is sent as
    the main mail with the first day's event and one short mail for each further day.
    """
    participant = enrolment.participant
    if method and earlier is None:
        earlier = _earlier_places(db, participant, enrolment)
    events = calendar.enrolment_events(enrolment, now, earlier=earlier) if method else []
    if method == "REQUEST":
        events = [day for day in events if day.status != "CANCELLED"]
    if sessions is not None:
        uids = {session_uid(session) for session in sessions}
        events = [day for day in events if day.uid in uids]
    attachments = [render_calendar([event], method=method, organizer_email=offering["contact_email"],
                                   attendee_email=participant.email) for event in events]
    body = "\n".join([
        f"Hej {participant.name}", "", text, "", f"{offering['module_title']} ({offering['module_code']})",
        f"Udbyder: {offering['provider_name']}", f"Sted: {place_text(offering['location'])}", "",
        "Dage:", *(f"- {_when(session)}" for session in offering["sessions"]), "",
        f"Mine kurser: {absolute_url(f'/mine-kurser/{participant.page_token}')}",
        f"Abonnér på din kalender: {feed_url(participant.feed_token)}",
        "Linkene er personlige; del dem ikke med andre.",
    ] + (["", "Eksempeldata: dette udbud er opdigtet til demonstration."] if offering.get("demo") else []))
    add_mail(db, participant.email, subject, body, attachments[0] if attachments else None,
                 method if attachments else None)
    for number, (day, attachment) in enumerate(zip(events[1:], attachments[1:], strict=True), start=2):
        add_mail(db, participant.email, f"{subject} (dag {number} af {len(events)})",
                     f"Hej {participant.name}\n\nKalenderopdatering for {day.summary}, dag {number} af "
                     f"{len(events)}. Se den første mail for detaljer.", attachment, method)


def feed_url(token: str) -> str:
    return absolute_url(f"/feeds/participants/{token}.ics")


def _when_local(instant: datetime) -> str:
    local = instant.astimezone(COPENHAGEN)
    return f"{WEEKDAYS[local.weekday()]} {local.day}. {MONTHS[local.month - 1]} kl. {local:%H.%M}"


def _when(session: dict) -> str:
    start, end = (session[key].astimezone(COPENHAGEN) for key in ("starts_at", "ends_at"))
    return (f"{WEEKDAYS[start.weekday()]} {start.day}. {MONTHS[start.month - 1]} {start.year}, "
            f"kl. {start:%H.%M}–{end:%H.%M}")


def _earlier_places(db: DbSession, participant: Participant, enrolment: Enrolment) -> list[Enrolment]:
    """The person's previous places in the same offering (cancelled, then enrolled again)."""
    return list(db.scalars(select(Enrolment).where(
        Enrolment.participant_id == participant.id, Enrolment.offering_id == enrolment.offering_id,
        Enrolment.id < enrolment.id)))


# --- A cancelled course's alternatives, and moving a place (enrolment.alternatives, enrolment.moves) ---

HR_ROLES = ("hr", "hr_admin")


def alternatives_path(enrolment: Enrolment) -> str:
    """The leader's alternatives page for the place, behind their "Mine kurser" link."""
    return f"/mine-kurser/{enrolment.participant.page_token}/andre-hold/{enrolment.id}"


def hr_alternatives_path(enrolment: Enrolment) -> str:
    return f"/hr/tilmeldinger/{enrolment.id}/andre-hold"


def place_moved(db: DbSession, old: Enrolment, new: Enrolment, *, cancelled_now: bool,
                earlier: list[Enrolment]) -> None:
    """The one mail that says a place was moved, with the calendar's changes.

    Its iTIP attachment is the new course's first day (METHOD:REQUEST), or the old course's first
    day (METHOD:CANCEL) while waiting for a seat. An outbox mail carries one iTIP message, and
    Outlook reads only the first event of one (see `send`), so every further day — the old
    course's days cancelled, the new course's days added — follows as a short calendar update of
    its own, as every mail here does for a course of several days.
    `cancelled_now`: the move ended the old place (the school's cancellation had told its CANCEL already).
    """
    now = utcnow()
    participant = new.participant
    before, after = (_OFFERING_SCHEMA.load(place.seats.snapshot) for place in (old, new))
    added = [event for event in calendar.enrolment_events(new, now, earlier=earlier)
             if event.status != "CANCELLED"] if new.status == "confirmed" else []
    removed = (calendar.enrolment_events(old, now, earlier=_earlier_places(db, participant, old))
               if cancelled_now else [])
    updates = [(event, "REQUEST", after) for event in added] + [(event, "CANCEL", before) for event in removed]
    attachments = [render_calendar([event], method=method, organizer_email=offering["contact_email"],
                                   attendee_email=participant.email) for event, method, offering in updates]
    if new.status == "confirmed":
        status = "Din plads på det nye hold er bekræftet."
    elif new.status == "pending_approval":
        status = "Din anmodning om en plads på det nye hold venter på godkendelse fra HR i din organisation."
    else:
        status = (f"Det nye hold er fuldt, så du står på venteliste som nr. {new.waitlist_position}. Vi skriver, "
                  "hvis du får en plads.")
    subject = f"Du er flyttet til {after['module_title']} hos {after['provider_name']}, {_when_day(after)}"
    body = "\n".join([
        f"Hej {participant.name}", "",
        f"Din plads er flyttet fra holdet hos {before['provider_name']} ({place_text(before['location'])}) til "
        f"holdet hos {after['provider_name']} ({place_text(after['location'])}). {status}", "",
        f"Det nye hold: {after['module_title']} ({after['module_code']})",
        f"Udbyder: {after['provider_name']}", f"Sted: {place_text(after['location'])}",
        "Dage:", *(f"- {_when(session)}" for session in after["sessions"]), "",
        "Det tidligere hold" + (" (dagene fjernes fra din kalender):" if cancelled_now else " (aflyst af skolen):"),
        *(f"- {_when(session)}" for session in before["sessions"]), "",
        f"Mine kurser: {absolute_url(f'/mine-kurser/{participant.page_token}')}",
        f"Abonnér på din kalender: {feed_url(participant.feed_token)}",
        "Linkene er personlige; del dem ikke med andre.",
    ] + (["", "Eksempeldata: dette udbud er opdigtet til demonstration."] if after.get("demo") else []))
    add_mail(db, participant.email, subject, body, attachments[0] if attachments else None,
             updates[0][1] if updates else None)
    for number, ((event, method, _), attachment) in enumerate(zip(updates[1:], attachments[1:], strict=True),
                                                              start=2):
        change = "tilføjet" if method == "REQUEST" else "aflyst"
        add_mail(db, participant.email, f"Kalenderopdatering {number} af {len(updates)}: {event.summary}",
                 f"Hej {participant.name}\n\nKalenderopdatering efter flytningen af din plads: {event.summary} er "
                 f"{change}. Se mailen »{subject}« for detaljer.", attachment, method)


def _tell_hr_of_cancellation(db: DbSession, cancelled: list[Enrolment]) -> None:
    """The school cancelled a course: the organisation's HR hears of it once per course, with the people it
    hits and, for each, a link to the alternatives (computed live on the page, never here)."""
    groups: dict[tuple[int, int], list[Enrolment]] = {}
    for enrolment in cancelled:
        groups.setdefault((enrolment.organisation_id, enrolment.offering_id), []).append(enrolment)
    for places in groups.values():
        organisation = places[0].organisation
        offering = _OFFERING_SCHEMA.load(places[0].seats.snapshot)
        reason = offering.get("cancellation_reason")
        people = sorted(places, key=lambda place: place.participant.name)
        body = "\n".join([
            f"Hej HR i {organisation.name}", "",
            f"Skolen har aflyst {offering['module_title']} ({offering['module_code']}) hos "
            f"{offering['provider_name']}, {place_text(offering['location'])}, {_when_day(offering)}"
            + (f": {reason}" if reason else "."), "",
            f"Det berører {len(people)} af jeres medarbejdere. Se andre hold i samme modul, og flyt pladsen "
            "med ét klik:",
            *(f"- {place.participant.name}: {absolute_url(hr_alternatives_path(place))}" for place in people), "",
            "Medarbejderne har selv fået besked med et link til de samme hold.",
        ])
        subject = f"Aflyst: {offering['module_title']} hos {offering['provider_name']} – {len(people)} medarbejdere"
        for address in hr_addresses(db, organisation.id):
            add_mail(db, address, subject, body)


def hr_addresses(db: DbSession, organisation_id: int) -> list[str]:
    """Who is HR of the organisation: its HR and HR-admin members, who can sign in and act on the link; if it
    has none yet, the HR contacts it was registered with (Organisation.hr_users)."""
    person, membership = ACCOUNTS.Person, ACCOUNTS.Membership
    members = db.scalars(select(person.email).join(membership, membership.person_id == person.id)
                         .where(membership.tenant_id == organisation_id, membership.role.in_(HR_ROLES))
                         .order_by(person.id))
    addresses = list(members) or list(db.scalars(select(HrUser.email).where(HrUser.organisation_id == organisation_id)
                                                 .order_by(HrUser.id)))
    return list({address.casefold(): address for address in addresses}.values())


def _when_day(offering: dict) -> str:
    start = offering["starts_at"].astimezone(COPENHAGEN)
    return f"{start.day}. {MONTHS[start.month - 1]} {start.year}"


# --- Reserved seats (enrolment.reservations): HR hears what it holds and what was given back ----------

def reservation_made(db: DbSession, reservation) -> None:
    offering = _OFFERING_SCHEMA.load(reservation.offering_seats.snapshot)
    _tell_hr_of_reservation(db, reservation, offering, f"Reserveret: {reservation.seats} pladser på "
                            f"{offering['module_title']}", [
        f"I har reserveret {reservation.seats} pladser på {_offering_line(offering)}.",
        f"Navngiv jeres medarbejdere i pladserne senest {_deadline(offering)}; pladser, der ikke er navngivet "
        "til den tid, frigives automatisk og går til ventelisten.",
    ])


def reservation_released(db: DbSession, reservation, count: int, because: str) -> None:
    """The deadline passed or the school cancelled ("deadline", "cancelled"): HR is told how many unnamed
    seats went back."""
    offering = _OFFERING_SCHEMA.load(reservation.offering_seats.snapshot)
    if because == "cancelled":
        _tell_hr_of_reservation(db, reservation, offering, f"Aflyst: {count} reserverede pladser på "
                                f"{offering['module_title']}", [
            f"Skolen har aflyst {_offering_line(offering)}, så de {count} unavngivne pladser af jeres "
            "reservation er frigivet.",
            *([f"De {reservation.named} navngivne deltagere er afmeldt og har fået besked."]
              if reservation.named else []),
        ])
        return
    _tell_hr_of_reservation(db, reservation, offering, f"Frigivet: {count} reserverede pladser på "
                            f"{offering['module_title']}", [
        f"Tilmeldingsfristen ({_deadline(offering)}) er overskredet, så {count} unavngivne pladser af jeres "
        f"reservation på {_offering_line(offering)} er frigivet automatisk.",
        f"{reservation.named} af de {reservation.seats} reserverede pladser blev navngivet og er bekræftet.",
    ])


def _tell_hr_of_reservation(db: DbSession, reservation, offering: dict, subject: str, lines: list[str]) -> None:
    body = "\n".join([f"Hej HR i {reservation.organisation.name}", "", *lines, "",
                      f"Se reservationerne: {absolute_url('/hr/reservationer')}"])
    for address in hr_addresses(db, reservation.organisation_id):
        add_mail(db, address, subject, body)


def _offering_line(offering: dict) -> str:
    return (f"{offering['module_title']} ({offering['module_code']}) hos {offering['provider_name']}, "
            f"{place_text(offering['location'])}, {_when_day(offering)} (udbud {offering['id']})")


def _deadline(offering: dict) -> str:
    day = offering["enrolment_deadline"]
    return f"{day.day}. {MONTHS[day.month - 1]} {day.year}"


# --- Interest lists (enrolment.interests) --------------------------------------------------------------

def interest_offered(db: DbSession, interest, offering: dict) -> None:
    """Someone on a module's interest list hears of a hold with a free seat: where and when, and how to ask."""
    person = interest.participant
    location = offering["location"]
    request_link = absolute_url(f"/anmod/{offering['id']}")
    my_courses = absolute_url(f"/mine-kurser/{person.page_token}")
    before = f" og starter inden {interest.before.day}. {MONTHS[interest.before.month - 1]}" if interest.before else ""
    body = (f"Hej {person.name}\n\n"
            f"Du står på interesselisten for {offering['module_code']}, og der er nu et hold med ledige pladser, "
            f"som passer til dine ønsker{before}:\n\n"
            f"{offering['module_title']} hos {offering['provider_name']}\n"
            f"Start: {_when_day(offering)}\nSted: {location['name']}, {location['city']} ({location['region']})\n"
            f"Tilmeldingsfrist: {offering['enrolment_deadline'].day}. "
            f"{MONTHS[offering['enrolment_deadline'].month - 1]} {offering['enrolment_deadline'].year}\n\n"
            f"Bed om en plads her:\n{request_link}\n\n"
            f"Dine kurser og interesser:\n{my_courses}\n\n"
            "Pladserne gives efter tur, så vent ikke for længe.")
    add_mail(db, person.email, f"Der er et hold i {offering['module_code']}: {offering['module_title']} hos "
             f"{offering['provider_name']}", body)


# --- "Send mine links igen" (enrolment.pages.my_links) -------------------------------------------------

def links_requested(db: DbSession, email: str) -> None:
    """A leader who lost their links asks for them: one mail to the address with the "Mine kurser" and calendar
    links of every organisation that knows it (a leader may work for two). An unknown address gets nothing,
    and the page says the same either way, so it tells no one whether an address is known."""
    people = list(db.scalars(select(Participant).where(Participant.email_key == email.strip().casefold())
                             .order_by(Participant.id)))
    if not people:
        return
    lines = [f"Hej {people[-1].name}", "", "Du har bedt om dine links til GLU-kurserne igen. Her er de:", ""]
    for person in people:
        lines += [f"{person.organisation.name}:",
                  f"- Mine kurser: {absolute_url(f'/mine-kurser/{person.page_token}')}",
                  f"- Abonnér på din kalender: {feed_url(person.feed_token)}", ""]
    lines += ["Linkene er personlige; del dem ikke med andre. Har du ikke bedt om dem, kan du se bort fra mailen."]
    add_mail(db, people[-1].email, "Dine links til GLU-kurser", "\n".join(lines))

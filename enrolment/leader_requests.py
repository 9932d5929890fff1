"""A leader's own request for a seat, which counts only once the address has confirmed it.

Anyone may send a request (`POST /requests`, "Tilmeld mig") without signing in, so a request
proves nothing about who sent it. Until the address confirms it through the link mailed to it,
it holds no seat, is in no one's queue and changes nothing stored about the person:

- `request_seat` records the request as `unconfirmed` (seats.set_status counts only confirmed and
  waitlisted places) and mails the address a link to confirm, valid `CONFIRM_WITHIN`. An existing
  person's name stays as it is; only the person (their own link) or HR changes it. Whether the
  address already holds a place is not told to whoever sent the form: the confirmation says so.
- `confirm_request` (the link, pressed by whoever reads that mailbox) locks the offering, reads
  the request again, and only then decides as a request always did: waiting for HR where the
  organisation approves requests, otherwise a seat or the waiting list. Two presses at once
  decide once: the second finds it no longer unconfirmed.

The link is the request's id and expiry, signed with GLU_TOKEN_SECRET (itsdangerous), so nothing
more is stored for it.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

from flask import current_app
from itsdangerous import BadSignature, URLSafeSerializer
from sqlalchemy.orm import Session as DbSession

from enrolment import notices, outbox, seats
from enrolment.catalogue_client import CatalogueClient
from enrolment.enrolments import audit_change, earlier_places_if_none_active, lock_open_offering, require_open
from enrolment.models import Enrolment
from enrolment.organisations import find_or_add_participant, find_organisation
from shared import audit
from shared.db import MAX_ID
from shared.errors import Conflict, DomainError, ValidationFailed
from shared.observability import count_enrolment

UNCONFIRMED = "unconfirmed"
CONFIRM_WITHIN = timedelta(hours=48)
_SALT = "glu-request-confirmation"


class ConfirmationRefused(DomainError):
    status = 400
    title = "Linket kan ikke bruges"


def request_seat(db: DbSession, catalogue: CatalogueClient, offering_id: int, participant: dict,
                 organisation_key: str, today: date, now: datetime) -> Enrolment:
    organisation = find_organisation(db, organisation_key)
    if organisation is None:
        raise ValidationFailed.field("/organisation", f"Organisationen '{organisation_key}' findes ikke.")
    offering_seats = lock_open_offering(db, catalogue, offering_id, today)
    person, _ = find_or_add_participant(db, organisation, participant["name"], participant["email"],
                                        keep_existing=True)
    enrolment = Enrolment(offering_id=offering_seats.offering_id, seats=offering_seats, participant=person,
                          organisation=organisation, source="request", status=None)
    db.add(enrolment)
    seats.set_status(db, offering_seats, enrolment, UNCONFIRMED)
    db.flush()
    audit_change(db, "enrolment.requested", enrolment, None,
                 actor=audit.AuditActor("anonymous", name="Anmodning uden log-ind"))
    notices.confirm_request(db, enrolment, confirmation_token(enrolment, now), now + CONFIRM_WITHIN)
    return enrolment


def confirmation_token(enrolment: Enrolment, now: datetime) -> str:
    expires = int((now + CONFIRM_WITHIN).timestamp())
    return _serializer().dumps([enrolment.id, expires])


def request_of(db: DbSession, token: str, now: datetime) -> Enrolment:
    """The request the link names, if the link is genuine and in time; ConfirmationRefused otherwise."""
    try:
        enrolment_id, expires = _serializer().loads(token)
    except (BadSignature, ValueError, TypeError):
        raise ConfirmationRefused("Linket er ugyldigt. Kopiér hele linket fra mailen, eller send anmodningen "
                                  "igen.") from None
    if now.timestamp() > expires:
        raise ConfirmationRefused("Linket er udløbet. Send anmodningen igen fra kursets side.")
    enrolment = db.get(Enrolment, enrolment_id) if isinstance(enrolment_id, int) and 0 < enrolment_id <= MAX_ID \
        else None
    if enrolment is None:
        raise ConfirmationRefused("Anmodningen findes ikke længere. Send den igen fra kursets side.")
    return enrolment


def confirm_request(db: DbSession, token: str, today: date, now: datetime) -> Enrolment:
    enrolment = request_of(db, token, now)
    offering_seats = seats.lock_enrolment(db, enrolment)
    if enrolment.status != UNCONFIRMED:
        raise Conflict("Anmodningen er allerede bekræftet.")
    require_open(offering_seats.status, offering_seats.enrolment_deadline, today)
    earlier = [place for place in earlier_places_if_none_active(db, enrolment.offering_id, enrolment.participant)
               if place.id != enrolment.id]
    if enrolment.organisation.requires_approval:
        change = seats.set_status(db, offering_seats, enrolment, "pending_approval")
        count_enrolment("pending_approval", db)
    else:
        change = seats.place_in_line(db, offering_seats, enrolment)
    db.flush()
    notices.status_changed(db, [change], earlier_places={enrolment: earlier})
    outbox.report_seats(db, offering_seats)
    person = enrolment.participant
    audit_change(db, "enrolment.request_confirmed", enrolment, UNCONFIRMED,
                 actor=audit.AuditActor("participant", person.id, f"Deltager {person.id} (link i mail)"))
    return enrolment


def _serializer() -> URLSafeSerializer:
    return URLSafeSerializer(current_app.config["GLU_TOKEN_SECRET"], salt=_SALT)

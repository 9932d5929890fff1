"""Finding a feed by its secret, and replacing a secret to revoke a link."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session as DbSession
from sqlalchemy.orm import joinedload

from enrolment.enrolments import get_enrolment
from enrolment.models import Enrolment, Organisation, Participant, new_secret
from enrolment.organisations import organisation_in_scope
from shared.auth import Actor
from shared.errors import NotFound


def participant_by_feed_token(db: DbSession, token: str) -> tuple[Participant, list[Enrolment]]:
    participant = db.scalar(select(Participant).where(Participant.feed_token == token)) if len(token) < 100 else None
    if participant is None:
        raise NotFound("Kalenderen findes ikke, eller linket er blevet fornyet.")
    return participant, _enrolments(db, Enrolment.participant_id == participant.id)


def organisation_by_feed_token(db: DbSession, token: str) -> tuple[Organisation, list[Enrolment]]:
    organisation = db.scalar(select(Organisation).where(Organisation.feed_token == token)) if len(token) < 100 else None
    if organisation is None:
        raise NotFound("Kalenderen findes ikke, eller linket er blevet fornyet.")
    return organisation, _enrolments(db, Enrolment.organisation_id == organisation.id)


def renew_participant_links(db: DbSession, actor: Actor, enrolment_id: int) -> Enrolment:
    """New secrets for the person's feed and page: the old links stop working at once."""
    enrolment = get_enrolment(db, actor, enrolment_id)
    enrolment.participant.feed_token = new_secret()
    enrolment.participant.page_token = new_secret()
    return enrolment


def renew_organisation_feed(db: DbSession, actor: Actor, organisation_key: str | None) -> Organisation:
    organisation = organisation_in_scope(db, actor, organisation_key)
    organisation.feed_token = new_secret()
    return organisation


def _enrolments(db: DbSession, condition) -> list[Enrolment]:
    return list(db.scalars(select(Enrolment).where(condition).order_by(Enrolment.id)
                           .options(joinedload(Enrolment.seats), joinedload(Enrolment.participant))))

"""Finding a feed by its secret and serving it, from the feed cache while it is unchanged; replacing
a secret to revoke a link."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from sqlalchemy import Select, and_, bindparam, select
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session as DbSession
from sqlalchemy.orm import contains_eager

from enrolment import calendar
from enrolment.enrolments import get_enrolment
from enrolment.feed_cache import CachedFeed, FeedCache
from enrolment.models import Enrolment, OfferingSeats, Organisation, Participant, new_secret
from enrolment.organisations import organisation_in_scope
from shared import audit
from shared.auth import Actor
from shared.db import single_read
from shared.errors import NotFound

# Every value a feed's bytes are made of, apart from the offering's JSON (snapshot, removed_sessions),
# which seats.record_offering, the only code that writes it, writes together with refreshed_at and
# catalogue_revision. With the owner's name and the time (calendar.Feed.valid_until), that is all.
# The position in line is in the title ("Venteliste nr. 3") and moves when someone ahead leaves the line.
FINGERPRINT = (Enrolment.id, Enrolment.offering_id, Enrolment.status, Enrolment.calendar_sequence,
               Enrolment.updated_at, Enrolment.waitlist_position, Participant.name, OfferingSeats.catalogue_revision,
               OfferingSeats.refreshed_at, OfferingSeats.status)

# A request nobody has confirmed yet is no one's course (enrolment.leader_requests).
SHOWN_IN_CALENDARS = Enrolment.status != "unconfirmed"
# One row per enrolment (one with NULLs if there is none; none for an unknown secret): the feed's
# owner, then FINGERPRINT.
PARTICIPANT_FEED = (select(Participant.id.label("owner_id"), Participant.name.label("owner_name"), *FINGERPRINT)
                    .outerjoin(Enrolment, and_(Enrolment.participant_id == Participant.id, SHOWN_IN_CALENDARS))
                    .outerjoin(Enrolment.seats)
                    .where(Participant.feed_token == bindparam("token")).order_by(Enrolment.id))
ORGANISATION_FEED = (select(Organisation.id.label("owner_id"), Organisation.name.label("owner_name"), *FINGERPRINT)
                     .select_from(Organisation)
                     .outerjoin(Enrolment, and_(Enrolment.organisation_id == Organisation.id, SHOWN_IN_CALENDARS))
                     .outerjoin(Enrolment.participant).outerjoin(Enrolment.seats)
                     .where(Organisation.feed_token == bindparam("token")).order_by(Enrolment.id))


def participant_calendar(db: DbSession, cache: FeedCache, token: str, now: datetime) -> CachedFeed:
    """A leader's feed: kept in `cache` while its fingerprint and the 30 days of its cancellations hold."""
    return _cached_or_rendered(db, cache, "participant", PARTICIPANT_FEED, token, calendar.participant_feed, now)


def organisation_calendar(db: DbSession, cache: FeedCache, token: str, now: datetime) -> CachedFeed:
    return _cached_or_rendered(db, cache, "organisation", ORGANISATION_FEED, token, calendar.organisation_feed, now)


def renew_participant_links(db: DbSession, actor: Actor, enrolment_id: int) -> Enrolment:
    """New secrets for the person's feed and page: the old links stop working at once."""
    enrolment = get_enrolment(db, actor, enrolment_id)
    enrolment.participant.feed_token = new_secret()
    enrolment.participant.page_token = new_secret()
    audit.record(db, "links.renewed", "participant", enrolment.participant_id, tenant_id=enrolment.organisation_id,
                 changes={"links": ["gamle", "nye"]})  # never the secrets themselves
    return enrolment


def renew_organisation_feed(db: DbSession, actor: Actor, organisation_key: str | None) -> Organisation:
    organisation = organisation_in_scope(db, actor, organisation_key)
    organisation.feed_token = new_secret()
    audit.record(db, "links.renewed", "organisation", organisation.id, tenant_id=organisation.id,
                 changes={"calendar": ["gamle", "nye"]})
    return organisation


def _cached_or_rendered(db: DbSession, cache: FeedCache, kind: str, statement: Select, token: str,
                        render: Callable[[str, list[Enrolment], datetime], calendar.Feed],
                        now: datetime) -> CachedFeed:
    with single_read(db) as connection:  # a hit needs nothing else from the database
        rows = _rows(connection, statement, token)
    key = (kind, rows[0].owner_id)
    cached = cache.get(key, _fingerprint(rows), now)
    if cached is not None:
        return cached
    # Rendered from the enrolments in the very rows its fingerprint is taken from, so what is kept
    # under a fingerprint is what that fingerprint describes, whatever changed since the first query.
    rows = _rows(db, statement.add_columns(Enrolment).options(
        contains_eager(Enrolment.participant), contains_eager(Enrolment.seats)
    ).execution_options(populate_existing=True), token)
    feed = render(rows[0].owner_name, [row.Enrolment for row in rows if row.Enrolment is not None], now)
    return cache.put(key, _fingerprint(rows), feed)


def _rows(db: DbSession | Connection, statement: Select, token: str) -> list:
    rows = db.execute(statement, {"token": token}).all() if len(token) < 100 else []
    if not rows:
        raise NotFound("Kalenderen findes ikke, eller linket er blevet fornyet.")
    return rows


def _fingerprint(rows: list) -> tuple:
    return tuple(tuple(row)[:2 + len(FINGERPRINT)] for row in rows)

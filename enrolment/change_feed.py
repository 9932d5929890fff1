"""Reading the catalogue's change feed: how a school's change to an offering reaches this service.

The catalogue numbers every change a school makes (`change_seq`) and lists the changed offerings in
that order at `GET /offerings/changes?since=N`. This service keeps the last number it has applied in
`catalogue_cursor` and reads on from there; every offering in the feed that it knows (it has seats
for it) goes to `changes.apply_offering_change`, and so does a published offering of a module someone
has registered interest in (enrolment.interests), so that its publication is offered to them. Other
unknown offerings are skipped: nobody is enrolled in them, and the first enrolment reads the
offering afresh anyway.

Two things start a read: the catalogue's signed webhook after each change (views/webhooks.py), and
`flask --app enrolment sync-changes` from cron. A webhook that was lost is therefore caught up by
the next read; a change is never lost, because the cursor only moves past what was applied.

Applying a batch at most once: the cursor is read, the catalogue is asked (no transaction is held
while it answers), and then the cursor row is locked (`SELECT … FOR UPDATE`; on SQLite every
transaction holds the write lock). If it has moved meanwhile, another delivery applied that batch,
and the read starts again from where that one got to; otherwise the batch is applied and the cursor
moved in the same transaction. Each page is committed on its own, so progress is kept.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import BigInteger, select
from sqlalchemy.orm import Mapped, mapped_column
from sqlalchemy.orm import Session as DbSession

from enrolment import changes, interests
from enrolment.models import OfferingSeats, db
from shared.db import UTCDateTime, insert_unless_present, utcnow
from shared.transaction import commit, rollback

PAGE_SIZE = 100
CURSOR_ID = 1


class CatalogueCursor(db.Model):
    """How far this service has read the catalogue's change feed (a single row, id 1)."""

    __tablename__ = "catalogue_cursor"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    last_seq: Mapped[int] = mapped_column(BigInteger, default=0)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


@dataclass(frozen=True)
class CatchUp:
    applied: int
    cursor: int


def read_cursor(db: DbSession, *, lock: bool = False) -> CatalogueCursor:
    """The cursor row, made the first time; `lock` holds it until the transaction ends."""
    cursor = _cursor(db, lock)
    if cursor is None:
        insert_unless_present(db, CatalogueCursor, {"id": CURSOR_ID, "last_seq": 0, "updated_at": utcnow()}, ["id"])
        cursor = _cursor(db, lock)
    return cursor


def _cursor(db: DbSession, lock: bool) -> CatalogueCursor | None:
    statement = select(CatalogueCursor).where(CatalogueCursor.id == CURSOR_ID).execution_options(
        populate_existing=True)
    if lock:
        statement = statement.with_for_update()
    return db.scalars(statement).one_or_none()


def catch_up(db: DbSession, catalogue, *, up_to: int | None = None, page_size: int = PAGE_SIZE) -> CatchUp:
    """Apply every change in the catalogue's feed after the cursor; commits after each page.

    With `up_to` (a webhook's change_seq) nothing is read if the cursor is already there: that change
    has been applied. A catalogue that cannot be reached raises ServiceUnavailable; the pages applied
    before it stay applied, and the cursor stands after the last of them.
    """
    applied = 0
    while True:
        since = read_cursor(db).last_seq
        db.commit()  # nothing is held while the catalogue answers
        if up_to is not None and since >= up_to:
            return CatchUp(applied, since)
        page = catalogue.get_changes(since, page_size)
        cursor = read_cursor(db, lock=True)
        if cursor.last_seq != since:
            rollback(db)  # another delivery applied this batch meanwhile; read on from where it got
            continue
        known = set(db.scalars(select(OfferingSeats.offering_id).where(
            OfferingSeats.offering_id.in_([offering["id"] for offering in page["items"]]))))
        # And an offering someone is on the interest list for, so that its publication is offered to them.
        known |= interests.wanted_offerings(db, page["items"])
        for offering in page["items"]:
            if offering["id"] in known:
                changes.apply_offering_change(db, offering)
                applied += 1
        cursor.last_seq = max(page["last_seq"], since)
        cursor.updated_at = utcnow()
        commit(db)
        if not page["more"] or cursor.last_seq == since:
            return CatchUp(applied, cursor.last_seq)
        up_to = None

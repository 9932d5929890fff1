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

A catalogue restored from a backup numbers its changes again from where the dump stood, so the
cursor would be ahead of it and skip its new changes. The cursor therefore keeps, with the number,
the token the catalogue drew for it (catalogue.models.ChangeDraw), and every page names the token of
the number it was asked from. A different token, or none where the cursor has one, means another
history: the cursor goes back to 0 and every offering is read again (`resync`), with no one resetting
anything by hand. See docs/backup-and-restore.md.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import BigInteger, String, select, update
from sqlalchemy.orm import Mapped, mapped_column
from sqlalchemy.orm import Session as DbSession

from enrolment import changes, interests
from enrolment.models import OfferingSeats, db
from shared import audit
from shared.db import UTCDateTime, insert_unless_present, utcnow
from shared.transaction import commit, rollback

PAGE_SIZE = 100
CURSOR_ID = 1


class CatalogueCursor(db.Model):
    """How far this service has read the catalogue's change feed (a single row, id 1)."""

    __tablename__ = "catalogue_cursor"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    last_seq: Mapped[int] = mapped_column(BigInteger, default=0)
    # The catalogue's token for change number last_seq: which history the number belongs to. None for
    # a cursor from before tokens (then the history is not checked until the next change moves it).
    last_token: Mapped[str | None] = mapped_column(String(32))
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

    With `up_to` (a webhook's change_seq) the cursor being already there does not end the read: after a
    restore of the catalogue the number may be one drawn again, so one page is read to compare the
    token (an empty page when nothing is new); `up_to` is kept for the callers' sake only. A catalogue
    that cannot be reached raises ServiceUnavailable; the pages applied before it stay applied, and the
    cursor stands after the last of them.
    """
    applied = 0
    while True:
        since = read_cursor(db).last_seq
        db.commit()  # nothing is held while the catalogue answers
        page = catalogue.get_changes(since, page_size)
        cursor = read_cursor(db, lock=True)
        if cursor.last_seq != since:
            rollback(db)  # another delivery applied this batch meanwhile; read on from where it got
            continue
        if another_history(cursor, page):
            resync(db, cursor, page)
            commit(db)
            continue
        known = set(db.scalars(select(OfferingSeats.offering_id).where(
            OfferingSeats.offering_id.in_([offering["id"] for offering in page["items"]]))))
        # And an offering someone is on the interest list for, so that its publication is offered to them.
        known |= interests.wanted_offerings(db, page["items"])
        for offering in page["items"]:
            if offering["id"] in known:
                changes.apply_offering_change(db, offering)
                applied += 1
        if page["last_seq"] > since:
            cursor.last_token = page.get("last_token")
        cursor.last_seq = max(page["last_seq"], since)
        cursor.updated_at = utcnow()
        commit(db)
        if not page["more"] or cursor.last_seq == since:
            return CatchUp(applied, cursor.last_seq)


def another_history(cursor: CatalogueCursor, page: dict) -> bool:
    """True if the catalogue's change `cursor.last_seq` is not the one this cursor read: it was restored."""
    if cursor.last_seq == 0 or cursor.last_token is None:
        return False  # from the start, or a cursor from before tokens: nothing to compare
    return page.get("since_token") != cursor.last_token


def resync(db: DbSession, cursor: CatalogueCursor, page: dict) -> None:
    """Read the catalogue's feed again from 0, taking every offering as the catalogue now has it.

    Safe to repeat: applying an offering's current state again changes nothing that is already so.
    The recorded revisions are forgotten too, because a restored catalogue numbers its revisions again
    from the dump's, and record_offering would otherwise ignore them as older than those of the lost
    time; the feed then brings every offering's current revision, which is the truth.
    """
    audit.record(db, "change_feed.resync", "catalogue_cursor", cursor.id, tenant_id=None, changes={
        "last_seq": [cursor.last_seq, 0], "last_token": [cursor.last_token, None],
        "catalogue_token": page.get("since_token")}, actor=audit.SYSTEM)
    db.execute(update(OfferingSeats).values(catalogue_revision=0).execution_options(synchronize_session=False))
    cursor.last_seq = 0
    cursor.last_token = None
    cursor.updated_at = utcnow()

"""Rendered calendar feeds kept in memory, so a feed that has not changed is not rendered again.

Calendar programs poll every feed about once an hour and nearly always find it unchanged, while
rendering takes tens of milliseconds for a leader and up to seconds for a large organisation. Each
process (each gunicorn worker) keeps its own copies:

- Key: the feed, e.g. ("participant", 17). One copy per feed; a new rendering replaces the old.
- Valid while: the feed's fingerprint (feeds.py: every database value the bytes are made of, read
  without the offerings' JSON) equals the one the copy was rendered from, and the clock has not
  passed the copy's `valid_until` (calendar.py: when a cancellation in it turns 30 days old and
  leaves the feed).
- Bound: MAX_BYTES of feed bodies and MAX_ENTRIES feeds per process; the least recently used go
  first. (The fingerprint kept with each, one short row per enrolment, adds about a fifth.)
"""

from __future__ import annotations

from collections.abc import Hashable
from dataclasses import dataclass
from datetime import datetime

from flask import Flask
from werkzeug.http import generate_etag

from enrolment.calendar import Feed
from shared.lru import BoundedLru

MAX_BYTES = 32 * 1024 * 1024
MAX_ENTRIES = 10_000


@dataclass(frozen=True)
class CachedFeed:
    fingerprint: tuple
    body: bytes
    # What shared.api's after_request hook would compute from the body, so the same bytes keep the same ETag.
    etag: str
    valid_until: datetime | None

    def is_current(self, fingerprint: tuple, now: datetime) -> bool:
        return self.fingerprint == fingerprint and (self.valid_until is None or now <= self.valid_until)


class FeedCache:
    """Rendered feeds, each served again only while it is current; bounded in bytes and entries."""

    def __init__(self, max_bytes: int = MAX_BYTES, max_entries: int = MAX_ENTRIES):
        self._kept: BoundedLru[CachedFeed] = BoundedLru(lambda entry: len(entry.body), max_bytes,
                                                         max_entries=max_entries)

    def get(self, key: Hashable, fingerprint: tuple, now: datetime) -> CachedFeed | None:
        """The kept copy of the feed, if it was rendered from `fingerprint` and is still valid at `now`."""
        entry = self._kept.get(key)
        return entry if entry is not None and entry.is_current(fingerprint, now) else None

    def put(self, key: Hashable, fingerprint: tuple, feed: Feed) -> CachedFeed:
        """Keep `feed`, rendered from `fingerprint`, in place of any older copy; answer it as kept."""
        entry = CachedFeed(fingerprint, feed.body, generate_etag(feed.body), feed.valid_until)
        self._kept.put(key, entry)
        return entry

    @property
    def size(self) -> tuple[int, int]:
        """(entries, bytes) kept."""
        return self._kept.size


def feed_cache(app: Flask) -> FeedCache:
    """The app's cache, made on first use; each process (gunicorn worker) has its own."""
    cache = app.extensions.get("feed_cache")
    if cache is None:
        cache = app.extensions.setdefault("feed_cache", FeedCache())
    return cache

"""A store of rendered bytes kept in memory, bounded in bytes and entries, least recently used out first.

Both services keep rendered responses per process (shared/response_cache.py, enrolment/feed_cache.py);
each decides when a kept copy may be served, and this only keeps them within bounds. Thread-safe,
since gunicorn may run several threads per worker.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

Value = TypeVar("Value")


class BoundedLru(Generic[Value]):
    def __init__(self, size_of: Callable[[Value], int], max_bytes: int, *, max_entries: int | None = None,
                 largest: int | None = None):
        """`largest`: the biggest value kept (default: all of `max_bytes`), so one value cannot push out the rest."""
        self._size_of = size_of
        self.max_bytes = max_bytes
        self.max_entries = max_entries
        self.largest = max_bytes if largest is None else largest
        self._entries: OrderedDict[Hashable, Value] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()

    def get(self, key: Hashable) -> Value | None:
        with self._lock:
            value = self._entries.get(key)
            if value is not None:
                self._entries.move_to_end(key)
            return value

    def put(self, key: Hashable, value: Value) -> None:
        """Keep `value` in place of any older one under `key`, unless it is larger than `largest`."""
        with self._lock:
            self._discard(key)
            if self._size_of(value) > self.largest:
                return
            self._entries[key] = value
            self._bytes += self._size_of(value)
            while self._bytes > self.max_bytes or (self.max_entries and len(self._entries) > self.max_entries):
                self._discard(next(iter(self._entries)))

    @property
    def size(self) -> tuple[int, int]:
        """(entries, bytes) kept."""
        with self._lock:
            return len(self._entries), self._bytes

    def _discard(self, key: Hashable) -> None:
        value = self._entries.pop(key, None)
        if value is not None:
            self._bytes -= self._size_of(value)

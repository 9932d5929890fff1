"""Rate limits on what strangers can repeat: asking for sign-in links, per address and per IP.

On the `limits` library (the one under Flask-Limiter), called where the limit applies rather than
as a route decorator, because a limit here keys on a form field (the address) and is refused
through the one error handler like every other refusal: a Danish page or problem+json, with
Retry-After. The counters live in `RATE_LIMIT_STORAGE_URL`: `memory://` by default (per process,
so with two gunicorn workers a limit is at most twice as generous), `redis://…` where several
processes must share them (docker compose).
"""

from __future__ import annotations

import math
import time

from flask import Flask, current_app
from limits import parse
from limits.storage import storage_from_string
from limits.strategies import MovingWindowRateLimiter

from shared.errors import DomainError


class TooManyRequests(DomainError):
    status = 429
    title = "For mange forsøg"

    def __init__(self, detail: str, retry_after_seconds: int):
        super().__init__(detail, headers={"Retry-After": str(retry_after_seconds)})
        self.retry_after_seconds = retry_after_seconds


def install_rate_limits(app: Flask) -> None:
    storage = storage_from_string(app.config.get("RATE_LIMIT_STORAGE_URL") or "memory://")
    app.extensions["rate_limits"] = MovingWindowRateLimiter(storage)


def check(name: str, limit: str, key: str, message: str) -> None:
    """Count one attempt at `name` for `key` against `limit` ("5/15 minutes"); TooManyRequests once it is spent."""
    limiter: MovingWindowRateLimiter = current_app.extensions["rate_limits"]
    item = parse(limit)
    if limiter.hit(item, name, key):
        return
    reset_at = limiter.get_window_stats(item, name, key).reset_time
    raise TooManyRequests(message, max(1, math.ceil(reset_at - time.time())))

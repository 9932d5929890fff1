"""Danish time: courses happen in Europe/Copenhagen, and deadlines end at midnight there.

`now()` is the request's idea of the current instant: `utcnow()`, unless the app's config holds a
`CLOCK` (a function returning an aware datetime), which tests set to move time without sleeping.
"""

from datetime import date, datetime
from zoneinfo import ZoneInfo

from flask import current_app, has_app_context

from shared.db import utcnow

COPENHAGEN = ZoneInfo("Europe/Copenhagen")


def now() -> datetime:
    clock = current_app.config.get("CLOCK") if has_app_context() else None
    return clock() if clock is not None else utcnow()


def copenhagen_today(at: datetime | None = None) -> date:
    """The Danish date at `at`, or at the request's idea of now (so an injected CLOCK moves it too)."""
    return (at or now()).astimezone(COPENHAGEN).date()

"""Danish time: courses happen in Europe/Copenhagen, and deadlines end at midnight there."""

from datetime import date, datetime
from zoneinfo import ZoneInfo

from shared.db import utcnow

COPENHAGEN = ZoneInfo("Europe/Copenhagen")


def copenhagen_today(now: datetime | None = None) -> date:
    return (now or utcnow()).astimezone(COPENHAGEN).date()

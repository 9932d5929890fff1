"""Go or no-go in Danish words: the one line the school's desk, the public offering page and HR all show.

"4 af mindst 6 tilmeldt — afgøres 13. januar" until the school (or its policy) decides, then
"Gennemføres", or for a cancelled course what happened to its people. Both services call
`decision_line` with plain values: the catalogue from its model, the enrolment service from its
copy of the offering (catalogue.decisions, enrolment.pages.common).
"""

from __future__ import annotations

from datetime import date

MONTHS = ("januar", "februar", "marts", "april", "maj", "juni", "juli", "august", "september", "oktober",
          "november", "december")


def decision_line(*, status: str, decision: str | None, decision_date: date | None, taken: int,
                  minimum: int | None, told_confirmed: int | None = None, told_waitlisted: int | None = None
                  ) -> str | None:
    """The line for an offering; None for a draft, which nobody decides on.

    `taken` is the confirmed participants now; `told_confirmed`/`told_waitlisted` the counts at the
    moment of a cancellation (unknown for courses cancelled before they were kept).
    """
    if status == "draft":
        return None
    if status == "cancelled":
        if told_confirmed is None:
            return "Aflyst"
        if not told_confirmed and not told_waitlisted:
            return "Aflyst: ingen var tilmeldt"
        told = f"{told_confirmed} {'tilmeldt' if told_confirmed == 1 else 'tilmeldte'}"
        if told_waitlisted:
            told += f" og {told_waitlisted} på venteliste"
        return f"Aflyst: {told} fik besked"
    if decision == "held":
        return "Gennemføres"
    count = f"{taken} af mindst {minimum} tilmeldt" if minimum else f"{taken} tilmeldt"
    return f"{count} — afgøres {day_and_month(decision_date)}" if decision_date else count


def day_and_month(day: date) -> str:
    """'13. januar'."""
    return f"{day.day}. {MONTHS[day.month - 1]}"

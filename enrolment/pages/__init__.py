"""The enrolment service's HTML pages, in Danish: a leader's request and "Mine kurser", and HR's pages.

- /                         what this service is, and where to go
- /anmod/<offering id>      "Tilmeld mig": a leader asks for a seat
- /mine-kurser/<token>      a leader's courses, calendar link and "Meld fra" (the link comes by e-mail)
- /mine-links               "Send mine links igen": the links by e-mail again (enrolment.pages.my_links)
- /hr/log-ind, /hr/log-ud   administrators sign in with a token (HR signs in by e-mail link: shared.accounts)
- /hr                       the organisation's enrolments: approve, reject, cancel, hand over
- /hr/tilmeld               enrol many: a dry run first, then for real
- /hr/eksport.csv           the organisation's enrolments for Excel
- …/andre-hold, …/flyt      a place's alternatives and moving it (enrolment.pages.moves)
- /hr/interesse, …/interesse interest lists: HR's and the leader's own on "Mine kurser" (enrolment.pages.interests)
- /hr/forloeb               the GLU path: staff × modules, filters, CSV (enrolment.pages.paths)
- /hr/reservationer         reserved seats: reserve, name people into them, release (enrolment.pages.reservations)
- /hr/personer/<id>/indsigt a person's data, as a page and JSON, and erasing them (enrolment.pages.privacy)
"""

from flask import render_template

import enrolment.pages.interests  # noqa: F401 (/hr/interesse and the form on "Mine kurser")
import enrolment.pages.paths  # noqa: F401 (the GLU path on "Mine kurser" and /hr/forloeb)
import enrolment.pages.privacy  # noqa: F401 (a person's data: /hr/personer/<id>/indsigt, …/mine-data)
import enrolment.pages.reservations  # noqa: F401 (/hr/reservationer: HR's reserved seats)
import enrolment.pages.settings  # noqa: F401 (/hr/indstillinger: region and completion retention)
from enrolment.pages import batch, hr, leader, moves, my_links  # noqa: F401 (their routes register on the blueprint)
from enrolment.pages.common import blp

__all__ = ["blp"]


@blp.route("/")
def home():
    return render_template("enrolment/home.html")

"""The school's desk: "Efterspørgsel", how many leaders are on the interest lists for each module in its regions.

The interest lists live in the enrolment service; the page asks it (GET /interests/demand, counts
only, no names) through catalogue.enrolment_client on behalf of the signed-in member. While it
cannot be reached the page says so in Danish (503), and the rest of the desk goes on.
"""

from __future__ import annotations

from flask import Blueprint, current_app, render_template

from catalogue.enrolment_client import SchoolMember
from catalogue.models import Provider, db
from shared.auth import Role
from shared.errors import NotFound, ServiceUnavailable
from shared.geography import REGIONS
from shared.pages import redirect_to_sign_in, require_page_role

# Named …_pages so that errors on these routes render as HTML (shared.pages.is_page_request).
blp = Blueprint("demand_pages", __name__, template_folder="templates")


@blp.route("/skole/efterspoergsel")
def demand():
    actor = require_page_role(Role.SCHOOL)
    if actor is None:
        return redirect_to_sign_in()
    provider = db.session.get(Provider, actor.provider_id)
    if provider is None:
        raise NotFound("Skolen findes ikke.")
    regions = sorted({location.region_code for location in provider.locations})
    names = ", ".join(REGIONS.get(code, code) for code in regions)
    try:
        counts = current_app.extensions["enrolment_client"].demand(SchoolMember(provider.id, provider.name))
    except ServiceUnavailable:
        return render_template("catalogue/demand.html", provider=provider, rows=None, regions=regions,
                               region_names=names), 503, {"Retry-After": "30"}
    rows = [row for row in counts if row["region_code"] in regions]
    return render_template("catalogue/demand.html", provider=provider, rows=rows, regions=regions, region_names=names)

"""HR's settings of its organisation (/hr/indstillinger): the region where the GLU path suggests courses,
and how long the staff's completions are kept (the organisation decides, GDPR art. 5(1)(e)).

The form is read by the API's own schema (OrganisationPatchSchema) and changed by the same domain
function as PATCH /organisations/{key}; a refusal comes back beside its field with the typed values
kept (shared.forms.FormErrors), and a change commits at the request's commit point.
"""

from __future__ import annotations

from flask import current_app, flash, redirect, render_template, request, url_for
from marshmallow import ValidationError

from enrolment import organisations
from enrolment.models import db
from enrolment.pages.common import blp, organisation_choices
from enrolment.pages.hr import ENROLLING_ROLES, chosen_key, organisation_scope, scope_args
from shared.errors import DomainError
from shared.forms import FormErrors
from shared.geography import REGIONS
from shared.pages import check_csrf, redirect_to_sign_in, require_page_role
from shared.retention import Retention
from shared.schemas import OrganisationPatchSchema
from shared.transaction import rollback

LABELS = {"region": "Region", "opbevaring": "Gennemførelser gemmes i (år)"}
POINTERS = {"/region_code": "region", "/completion_retention_years": "opbevaring"}


@blp.route("/hr/indstillinger", methods=["GET", "POST"])
def hr_settings():
    actor = require_page_role(*ENROLLING_ROLES)
    if actor is None:
        if request.method == "POST":
            check_csrf()
        return redirect_to_sign_in()
    organisation = organisation_scope(actor, chosen_key())
    if organisation is None:
        return render_template("enrolment/hr_choose.html", organisations=organisation_choices())
    scope = scope_args(actor, organisation)
    errors, status = FormErrors(), 200
    typed = {"region": organisation.region_code or "",
             "opbevaring": "" if organisation.completion_retention_years is None
             else str(organisation.completion_retention_years)}
    if request.method == "POST":
        check_csrf()
        typed = {name: request.form.get(name, "").strip() for name in LABELS}
        try:
            changes = OrganisationPatchSchema().load({
                "region_code": typed["region"] or None,
                "completion_retention_years": typed["opbevaring"] or None})
            organisations.update_organisation(db.session, actor, organisation.key, changes)
        except ValidationError as error:
            errors.add_validation(error, POINTERS)
            status = 422
        except DomainError as error:
            rollback(db.session)
            errors.add_domain(error, POINTERS)
            status = error.status
        else:
            flash("Indstillingerne er gemt.")
            return redirect(url_for("enrolment_pages.hr_settings", **scope), 303)
    default_years = Retention.from_config(current_app.config).completion_years
    return render_template("enrolment/hr_settings.html", organisation=organisation, scope=scope, values=typed,
                           errors=errors, labels=LABELS, regions=sorted(REGIONS.items()),
                           default_years=default_years), status

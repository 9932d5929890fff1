"""Interest lists on the pages: "Giv mig besked, når der er et hold" on a leader's "Mine kurser", and HR's list.

- /mine-kurser/<token>/interesse            a leader registers their own interest (told, never enrolled)
- /mine-kurser/<token>/interesse/<id>/fjern a leader withdraws it
- /hr/interesse                             HR's interests of its staff, and the form (with "tilmeld automatisk")
- /hr/interesse/<id>/fjern                  HR withdraws one

The same domain functions as the API (enrolment.interests). A refused form is shown again with the
typed values and each message beside its field (shared.forms.FormErrors); on "Mine kurser" the form is
a partial (_interests.html) that reads its state through the `interest_panel` template global, so the
page's own view needs nothing of it.
"""

from __future__ import annotations

from flask import flash, g, redirect, render_template, request, url_for
from marshmallow import ValidationError

from enrolment import interests
from enrolment.interests import END_LABELS, InterestFilters
from enrolment.models import Participant, db
from enrolment.pages.common import blp, catalogue
from enrolment.pages.hr import ENROLLING_ROLES, chosen_key, organisation_scope, scope_args
from enrolment.pages.leader import my_courses, participant_by_page_token
from shared.auth import Role
from shared.clock import copenhagen_today, now
from shared.errors import DomainError, NotFound, ServiceUnavailable
from shared.forms import FormErrors
from shared.geography import REGIONS
from shared.pages import check_csrf, redirect_to_sign_in, require_page_role
from shared.schemas import InterestCreateSchema
from shared.transaction import rollback

# Where InterestCreateSchema's and the domain's JSON pointers are shown on the forms.
INTEREST_FIELDS = {"/module": "modul", "/regions": "regioner", "/before": "foer", "/participant/name": "navn",
                   "/participant/email": "email", **{f"/regions/{index}": "regioner" for index in range(5)}}
_KEPT = "glu.interest_form"


def _values(form) -> dict:
    return {"modul": form.get("modul", "").strip(), "regioner": form.getlist("regioner"),
            "foer": form.get("foer", "").strip(), "navn": form.get("navn", "").strip(),
            "email": form.get("email", "").strip(), "automatisk": bool(form.get("automatisk"))}


def _data(values: dict, participant: dict | None) -> dict:
    """The form as the API's body, loaded by the same schema (so its messages are the API's)."""
    body = {"module": values["modul"], "regions": values["regioner"], "auto_enrol": values["automatisk"],
            "participant": participant or {"name": values["navn"], "email": values["email"]}}
    if values["foer"]:
        body["before"] = values["foer"]
    return InterestCreateSchema().load(body)


def _register(register, values: dict, participant: dict | None) -> FormErrors:
    errors = FormErrors()
    try:
        register(_data(values, participant))
    except ValidationError as error:
        errors.add_validation(error, INTEREST_FIELDS)
    except DomainError as error:  # refusals (422, 409) and the catalogue down (503): nothing was stored
        rollback(db.session)
        errors.add_domain(error, INTEREST_FIELDS)
    return errors


def module_choices() -> list[tuple[str, str]]:
    """The catalogue's modules; none while it cannot be reached (the form then takes a typed code)."""
    try:
        return [(code, code) for code in sorted(catalogue().module_codes())]
    except ServiceUnavailable:
        return []


REGION_CHOICES = [(code, name.removeprefix("Region ")) for code, name in REGIONS.items()]


def _shown(interest) -> dict:
    return {"interest": interest, "regions": ", ".join(REGIONS.get(code, code).removeprefix("Region ")
                                                       for code in interest.regions),
            "ended": END_LABELS.get(interest.end_reason) if interest.end_reason else None}


# --- Mine kurser -------------------------------------------------------------------------------------------

@blp.app_template_global()
def interest_panel(participant: Participant) -> dict:
    """What _interests.html shows on "Mine kurser": the leader's active interests and the form (kept if refused)."""
    kept = g.pop(_KEPT, None) or {"values": {"modul": "", "regioner": [], "foer": ""}, "errors": FormErrors()}
    return {"interests": [_shown(interest) for interest in interests.own_interests(db.session, participant)],
            "modules": module_choices(), "regions": REGION_CHOICES, "fields": INTEREST_FIELDS, **kept}


@blp.route("/mine-kurser/<token>/interesse", methods=["POST"])
def register_my_interest(token: str):
    participant = participant_by_page_token(token)
    check_csrf()
    values = _values(request.form)
    errors = _register(lambda data: interests.register_own(db.session, participant, catalogue(), data,
                                                           copenhagen_today(now())),
                       values, {"name": participant.name, "email": participant.email})
    if errors:
        g.setdefault(_KEPT, {"values": values, "errors": errors})
        body, _, headers = my_courses(token)
        return body, 422, headers
    flash(f"Du får besked, når der er et hold i {values['modul']}.")
    return redirect(url_for("enrolment_pages.my_courses", token=token, _anchor="interesse"), 303)


@blp.route("/mine-kurser/<token>/interesse/<int:interest_id>/fjern", methods=["POST"])
def withdraw_my_interest(token: str, interest_id: int):
    participant = participant_by_page_token(token)
    check_csrf()
    try:
        interest = interests.withdraw_own_interest(db.session, participant, interest_id)
    except NotFound:
        raise
    except DomainError as error:
        rollback(db.session)
        flash(f"Fejl: {error.detail}")
    else:
        flash(f"Du får ikke længere besked om {interest.module_code}.")
    return redirect(url_for("enrolment_pages.my_courses", token=token, _anchor="interesse"), 303)


# --- HR ----------------------------------------------------------------------------------------------------

@blp.route("/hr/interesse", methods=["GET", "POST"])
def hr_interests():
    actor = require_page_role(*ENROLLING_ROLES)
    if actor is None:
        return redirect_to_sign_in()
    organisation = organisation_scope(actor, chosen_key())
    if organisation is None:
        return redirect(url_for("enrolment_pages.hr_overview"), 303)
    values = {"modul": "", "regioner": [], "foer": "", "navn": "", "email": "", "automatisk": False}
    errors = FormErrors()
    if request.method == "POST":
        check_csrf()
        values = _values(request.form)
        scoped = {"organisation": organisation.key} if actor.role is Role.ADMIN else {}
        errors = _register(lambda data: interests.register_for_staff(
            db.session, actor, catalogue(), {**data, **scoped}, copenhagen_today(now())), values, None)
        if not errors:
            flash(f"{values['navn']} står nu på interesselisten for {values['modul']}.")
            return redirect(url_for("enrolment_pages.hr_interests", **scope_args(actor, organisation)), 303)
    listed = db.session.scalars(interests.interests_query(actor, InterestFilters(
        organisation=organisation.key if actor.role is Role.ADMIN else None))).all()
    return render_template("enrolment/hr_interests.html", organisation=organisation, errors=errors, values=values,
                           interests=[_shown(interest) for interest in listed], modules=module_choices(),
                           regions=REGION_CHOICES, scope=scope_args(actor, organisation), fields=INTEREST_FIELDS,
                           ), 422 if errors else 200


@blp.route("/hr/interesse/<int:interest_id>/fjern", methods=["POST"])
def hr_withdraw_interest(interest_id: int):
    check_csrf()
    actor = require_page_role(*ENROLLING_ROLES)
    if actor is None:
        return redirect_to_sign_in()
    try:
        interest = interests.withdraw_interest(db.session, actor, interest_id)
    except DomainError as error:
        rollback(db.session)
        flash(f"Fejl: {error.detail}")
    else:
        flash(f"{interest.participant.name} er fjernet fra interesselisten for {interest.module_code}.")
    return redirect(url_for("enrolment_pages.hr_interests", organisation=chosen_key()) if chosen_key()
                    else url_for("enrolment_pages.hr_interests"), 303)

"""A leader's pages: asking for a seat ("Tilmeld mig"), and "Mine kurser" behind the personal page link.

The request form's sender is not verified, so its result page never shows the personal links:
they go by e-mail to the address typed. "Mine kurser" is reached only through the secret link in
those e-mails (Participant.page_token); it can cancel, so it is kept out of caches, search engines
and Referer headers.
"""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from marshmallow import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from enrolment import enrolments, leader_requests
from enrolment.attendance import completion_text
from enrolment.leader_requests import UNCONFIRMED
from enrolment.models import ACTIVE_STATUSES, Enrolment, Participant, db
from enrolment.pages.common import (
    blp,
    catalogue,
    filled,
    given,
    offering_from_snapshot,
    organisation_choices,
    status_text,
    without_missing,
)
from shared import rate_limits
from shared.clock import copenhagen_today, now
from shared.errors import Conflict, DomainError, NotFound, ServiceUnavailable, ValidationFailed
from shared.forms import FormErrors
from shared.links import absolute_url
from shared.pages import check_csrf
from shared.schemas import LeaderRequestSchema, webcal
from shared.transaction import rollback

# Where LeaderRequestSchema's and request_seat's JSON pointers are shown on the form.
REQUEST_FIELDS = {"/participant/name": "navn", "/participant/email": "email", "/organisation": "organisation"}
MAX_TOKEN_LENGTH = 100


# --- Tilmeld mig ----------------------------------------------------------------------------------

@blp.route("/anmod/<int:offering_id>", methods=["GET", "POST"])
def request_seat(offering_id: int):
    try:
        offering = catalogue().get_offering(offering_id)
    except ServiceUnavailable as error:
        return catalogue_down(error)
    if offering["status"] == "draft":
        raise NotFound(f"Udbud {offering_id} findes ikke.")  # the public catalogue does not show drafts either
    values = filled(request.form, "navn", "email", "organisation")
    errors = FormErrors()
    if request.method == "POST":
        check_csrf()
        try:
            data = LeaderRequestSchema().load(without_missing({
                "offering_id": offering_id, "organisation": given(values["organisation"]),
                "participant": without_missing({"name": given(values["navn"]), "email": given(values["email"])}),
            }))
            rate_limits.check_ip_and_address(rate_limits.SEAT_REQUESTS_PER_IP, rate_limits.SEAT_REQUESTS_PER_ADDRESS,
                                             data["participant"]["email"])
            enrolment = leader_requests.request_seat(db.session, catalogue(), offering_id, data["participant"],
                                                     data["organisation"], copenhagen_today(), now())
        except ValidationError as error:
            errors.add_validation(error, REQUEST_FIELDS)
        except ServiceUnavailable as error:
            rollback(db.session)
            return catalogue_down(error)
        except (ValidationFailed, Conflict) as error:
            rollback(db.session)
            errors.add_domain(error, REQUEST_FIELDS)
        else:
            return render_template("enrolment/request_sent.html", offering=offering, enrolment=enrolment,
                                   email=data["participant"]["email"], demo=offering["demo"])
    return render_template("enrolment/request_form.html", offering=offering, values=values, errors=errors,
                           organisations=organisation_choices(), demo=offering["demo"],
                           ), 422 if errors else 200


@blp.route("/anmod/bekraeft/<token>", methods=["GET", "POST"])
def confirm_request(token: str):
    """The link in the mail: a button, so that a mail scanner opening links confirms nothing."""
    try:
        if request.method == "GET":
            enrolment = leader_requests.request_of(db.session, token, now())
            return render_template("enrolment/request_confirm.html", enrolment=enrolment, token=token,
                                   offering=offering_from_snapshot(enrolment.seats.snapshot), done=False)
        check_csrf()
        enrolment = leader_requests.confirm_request(db.session, token, copenhagen_today(), now())
    except DomainError as refused:
        rollback(db.session)
        return render_template("enrolment/request_confirm.html", refused=refused.detail, enrolment=None,
                               offering=None, done=False), refused.status
    return render_template("enrolment/request_confirm.html", enrolment=enrolment, done=True,
                           offering=offering_from_snapshot(enrolment.seats.snapshot), status=status_text(enrolment))


def catalogue_down(error: ServiceUnavailable):
    return (render_template("enrolment/catalogue_down.html", detail=error.detail), 503,
            {"Retry-After": error.headers.get("Retry-After", "30")})


# --- Mine kurser ----------------------------------------------------------------------------------

def participant_by_page_token(token: str) -> Participant:
    participant = (db.session.scalar(select(Participant).where(Participant.page_token == token))
                   if len(token) < MAX_TOKEN_LENGTH else None)
    if participant is None:
        raise NotFound("Siden findes ikke. Linket kan være forkert, eller det er blevet fornyet; "
                       "brug linket i den nyeste e-mail fra GLU-kurser.")
    return participant


@blp.route("/mine-kurser/<token>")
def my_courses(token: str):
    participant = participant_by_page_token(token)
    courses = list(db.session.scalars(
        select(Enrolment).where(Enrolment.participant_id == participant.id, Enrolment.status != UNCONFIRMED)
        .options(joinedload(Enrolment.seats), joinedload(Enrolment.organisation))))
    today = copenhagen_today()
    shown = [{"enrolment": enrolment, "offering": offering_from_snapshot(enrolment.seats.snapshot),
              "status": status_text(enrolment), "can_cancel": enrolments.can_cancel(enrolment, today),
              "completion": completion_text(enrolment)}
             for enrolment in courses]
    shown.sort(key=_course_order)
    feed = absolute_url(f"/feeds/participants/{participant.feed_token}.ics")
    body = render_template("enrolment/my_courses.html", participant=participant, courses=shown, token=token,
                           feed_url=feed, feed_webcal_url=webcal(feed),
                           demo=any(course["offering"] and course["offering"]["demo"] for course in shown))
    return body, 200, PRIVATE_PAGE


# A secret address that can cancel: not stored by caches, not indexed, not passed on in Referer.
PRIVATE_PAGE = {"Cache-Control": "private, no-store", "Referrer-Policy": "no-referrer", "X-Robots-Tag": "noindex"}


def _course_order(course: dict) -> tuple:
    """Active places first, then the rest; each by when the course starts."""
    offering = course["offering"]
    active = course["enrolment"].status in ACTIVE_STATUSES
    return (not active, offering["starts_at"].isoformat() if offering else "", course["enrolment"].id)


@blp.route("/mine-kurser/<token>/afmeld/<int:enrolment_id>", methods=["POST"])
def cancel_my_course(token: str, enrolment_id: int):
    participant = participant_by_page_token(token)
    check_csrf()
    try:
        enrolment = enrolments.cancel_own_enrolment(db.session, participant, enrolment_id, copenhagen_today())
    except NotFound:
        raise
    except DomainError as error:
        rollback(db.session)
        flash(f"Fejl: {error.detail}")
    else:
        offering = offering_from_snapshot(enrolment.seats.snapshot)
        title = offering["module_title"] if offering else f"udbud {enrolment.offering_id}"
        flash(f"Du er meldt fra {title}. Du får en bekræftelse på e-mail.")
    return redirect(url_for("enrolment_pages.my_courses", token=token), 303)

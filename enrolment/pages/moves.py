"""Alternatives, one click away: HR's and the leader's pages for moving a place to another offering of its module.

- /hr/tilmeldinger/<id>/andre-hold              HR (or an administrator): the place's alternatives
- /hr/tilmeldinger/<id>/flyt                    HR's "Flyt hertil" (POST)
- /mine-kurser/<token>/andre-hold/<id>          the leader's own alternatives, behind their link
- /mine-kurser/<token>/flyt/<id>                the leader's "Flyt hertil" (POST)

The alternatives are read from the catalogue live on every visit (enrolment.alternatives); a
move calls the same domain function as POST /enrolments/{id}/move and commits. The outcome is
flashed where the person lands: on success the list the new place shows in ("Tilmeldinger",
"Mine kurser"), on a refusal back on the alternatives, with the reason.
"""

from __future__ import annotations

from collections.abc import Callable

from flask import flash, redirect, render_template, request, url_for

from enrolment import alternatives, enrolments, moves
from enrolment.models import Enrolment, db
from enrolment.pages.common import blp, catalogue, offering_from_snapshot, period_text, status_text
from enrolment.pages.hr import ENROLLING_ROLES, scope_args
from enrolment.pages.leader import PRIVATE_PAGE, catalogue_down, participant_by_page_token
from shared.auth import Actor, Role
from shared.clock import copenhagen_today, now
from shared.errors import Conflict, DomainError, ServiceUnavailable
from shared.pages import check_csrf, redirect_to_sign_in, require_page_role
from shared.transaction import rollback


@blp.route("/hr/tilmeldinger/<int:enrolment_id>/andre-hold")
def hr_alternatives(enrolment_id: int):
    actor = require_page_role(*ENROLLING_ROLES)
    if actor is None:
        return redirect_to_sign_in()
    enrolment = enrolments.get_enrolment(db.session, actor, enrolment_id)  # another organisation's: 404
    scope = _scope(actor, enrolment)
    return _alternatives_page(enrolment, url_for("enrolment_pages.hr_move", enrolment_id=enrolment_id),
                              url_for("enrolment_pages.hr_overview", **scope), scope=scope)


@blp.route("/hr/tilmeldinger/<int:enrolment_id>/flyt", methods=["POST"])
def hr_move(enrolment_id: int):
    check_csrf()
    here = url_for("enrolment_pages.hr_alternatives", enrolment_id=enrolment_id)
    actor = require_page_role(*ENROLLING_ROLES)
    if actor is None:
        return redirect(url_for("accounts_pages.sign_in", next=here), 303)
    enrolments.get_enrolment(db.session, actor, enrolment_id)  # another organisation's: a 404 page, as on the API
    return _move(lambda offering_id: moves.move_enrolment(
        db.session, actor, catalogue(), enrolment_id, offering_id, copenhagen_today(now()), now()),
        here, lambda moved: url_for("enrolment_pages.hr_overview", **_scope(actor, moved)),
        lambda moved: f"{moved.participant.name} er flyttet til {_title(moved)}: {status_text(moved)}.")


@blp.route("/mine-kurser/<token>/andre-hold/<int:enrolment_id>")
def my_alternatives(token: str, enrolment_id: int):
    participant = participant_by_page_token(token)
    enrolment = alternatives.own_enrolment(db.session, participant, enrolment_id)
    body, status, headers = _alternatives_page(
        enrolment, url_for("enrolment_pages.my_move", token=token, enrolment_id=enrolment_id),
        url_for("enrolment_pages.my_courses", token=token), own=True)
    return body, status, {**headers, **PRIVATE_PAGE}


@blp.route("/mine-kurser/<token>/flyt/<int:enrolment_id>", methods=["POST"])
def my_move(token: str, enrolment_id: int):
    participant = participant_by_page_token(token)
    check_csrf()
    alternatives.own_enrolment(db.session, participant, enrolment_id)  # someone else's: a 404 page
    return _move(lambda offering_id: moves.move_own_enrolment(
        db.session, participant, catalogue(), enrolment_id, offering_id, copenhagen_today(now()), now()),
        url_for("enrolment_pages.my_alternatives", token=token, enrolment_id=enrolment_id),
        lambda moved: url_for("enrolment_pages.my_courses", token=token),
        lambda moved: f"Du er flyttet til {_title(moved)}: {status_text(moved)}. Du får en bekræftelse på e-mail.")


def _alternatives_page(enrolment: Enrolment, move_url: str, back_url: str, *, own: bool = False,
                       scope: dict | None = None):
    offering = offering_from_snapshot(enrolment.seats.snapshot)
    try:
        found = alternatives.alternatives_for(db.session, catalogue(), enrolment, copenhagen_today(now()))
    except ServiceUnavailable as error:
        return catalogue_down(error)
    except Conflict as error:  # a place that cannot move (any more): said on the page, nothing to choose
        found, refused, status = [], error.detail, 409
    else:
        refused, status = None, 200
    return render_template("enrolment/alternatives.html", enrolment=enrolment, offering=offering,
                           alternatives=found, refused=refused, move_url=move_url, back_url=back_url, own=own,
                           status=status_text(enrolment), scope=scope or {},
                           demo=bool(offering and offering["demo"])), status, {}


def _move(change: Callable[[int], Enrolment], here: str, done_url: Callable[[Enrolment], str],
          done: Callable[[Enrolment], str]):
    """Make the move through the domain and go where the new place shows, with a message; a refusal back here."""
    try:
        moved = change(_offering_id())
    except DomainError as error:
        rollback(db.session)
        flash(f"Fejl: {error.detail}")
        return redirect(here, 303)
    flash(done(moved))
    return redirect(done_url(moved), 303)


def _offering_id() -> int:
    raw = request.form.get("udbud", "").strip()
    if not raw.isdigit() or not 0 < int(raw) < 2**31:
        raise Conflict("Vælg det hold, pladsen skal flyttes til.")
    return int(raw)


def _title(enrolment: Enrolment) -> str:
    offering = offering_from_snapshot(enrolment.seats.snapshot)
    return f"{offering['module_title']} hos {offering['provider_name']}, {period_text(offering)}"


def _scope(actor: Actor, enrolment: Enrolment) -> dict:
    return scope_args(actor, enrolment.organisation) if actor.role is Role.ADMIN else {}

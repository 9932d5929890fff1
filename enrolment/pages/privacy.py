"""A person's data on the pages (GDPR art. 15, 17 and 20): HR's insight page with erasure, and the leader's own.

- /hr/personer/<id>/indsigt        everything held about one of the organisation's people, "Hent som JSON"
- /hr/personer/<id>/indsigt.json   the same as GET /participants/{id}/export
- /hr/personer/<id>/slet           "Slet personen": a confirmation page, then the erasure (POST, CSRF)
- /mine-kurser/<token>/mine-data   the leader's own insight through their link, and (.json) the export

Each calls the same domain function as the API (enrolment.insight), and commits through the request's
commit point; a refusal (another organisation's person) is an error page like the API's problem.
"""

from __future__ import annotations

from flask import flash, jsonify, redirect, render_template, request, url_for

from enrolment import insight
from enrolment.models import db
from enrolment.pages.common import blp
from enrolment.pages.leader import PRIVATE_PAGE, participant_by_page_token
from shared.auth import Role
from shared.clock import now
from shared.pages import check_csrf, redirect_to_sign_in, require_page_role
from shared.schemas import ParticipantExportSchema

# Erasing and reading a person's data is HR's (and an administrator's); an approver only decides on requests.
RIGHTS_ROLES = (Role.HR, Role.ADMIN)
_EXPORT = ParticipantExportSchema()


@blp.route("/hr/personer/<int:participant_id>/indsigt")
def hr_insight(participant_id: int):
    actor = require_page_role(*RIGHTS_ROLES)
    if actor is None:
        return redirect_to_sign_in()
    data = insight.export_participant(db.session, actor, participant_id)
    return render_template("enrolment/insight.html", data=data, hr=True)


@blp.route("/hr/personer/<int:participant_id>/indsigt.json")
def hr_insight_json(participant_id: int):
    actor = require_page_role(*RIGHTS_ROLES)
    if actor is None:
        return redirect_to_sign_in()
    return _download(insight.export_participant(db.session, actor, participant_id))


@blp.route("/hr/personer/<int:participant_id>/slet", methods=["GET", "POST"])
def hr_erase(participant_id: int):
    actor = require_page_role(*RIGHTS_ROLES)
    if actor is None:
        return redirect_to_sign_in()
    if not _posted():
        data = insight.export_participant(db.session, actor, participant_id)
        return render_template("enrolment/erase_confirm.html", data=data)
    erased = insight.erase(db.session, actor, participant_id, now())
    flash("Personen var allerede slettet." if erased.already_erased else
          "Personen er slettet: navn og e-mail er erstattet af et pseudonym"
          + (f", og {erased.cancelled_count} plads(er) er meldt fra." if erased.cancelled else "."))
    return redirect(url_for("enrolment_pages.hr_insight", participant_id=participant_id), 303)


@blp.route("/mine-kurser/<token>/mine-data")
def my_data(token: str):
    participant = participant_by_page_token(token)
    data = insight.participant_insight(db.session, participant, for_the_person=True)
    return render_template("enrolment/insight.html", data=data, hr=False, token=token), 200, PRIVATE_PAGE


@blp.route("/mine-kurser/<token>/mine-data.json")
def my_data_json(token: str):
    participant = participant_by_page_token(token)
    response = _download(insight.participant_insight(db.session, participant, for_the_person=True))
    response.headers.update(PRIVATE_PAGE)
    return response


def _posted() -> bool:
    if request.method != "POST":
        return False
    check_csrf()
    return True


def _download(data: dict):
    response = jsonify(_EXPORT.dump(data))
    response.headers["Content-Disposition"] = f'attachment; filename="mine-data-{data["person"]["id"]}.json"'
    response.headers["Cache-Control"] = "private, no-store"
    return response

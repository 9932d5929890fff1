from flask import Response
from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import RAISE

from enrolment import exports
from enrolment.enrolments import EnrolmentFilters
from enrolment.models import db
from enrolment.views import catalogue
from shared.api import BEARER
from shared.auth import Role, current_actor, requires
from shared.pagination import whole_list
from shared.schemas import EnrolmentQuerySchema, SchoolParticipantSchema, page_of

blp = Blueprint("participants", __name__,
                description="Participant lists: a school's of its own offerings, HR's export of its enrolments.")

CSV_RESPONSE = {"content": {"text/csv": {"schema": {"type": "string"}}}}


def csv_response(data: bytes, filename: str) -> Response:
    return Response(data, content_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="{filename}"'})


@blp.route("/enrolments/export")
class EnrolmentExport(MethodView):
    @requires(Role.HR, Role.ADMIN)
    @blp.arguments(EnrolmentQuerySchema(exclude=("page", "per_page")), location="query", unknown=RAISE,
                   error_status_code=400)
    @blp.doc(security=BEARER, responses={"200": {"description": "tilmeldinger.csv, for Excel", **CSV_RESPONSE}})
    def get(self, args):
        """The organisation's enrolments (an administrator's: everyone's or one organisation's) as CSV"""
        data = exports.enrolments_csv(db.session, current_actor(), EnrolmentFilters(**args))
        return csv_response(data, "tilmeldinger.csv")


@blp.route("/offerings/<int:offering_id>/participants")
class SchoolParticipants(MethodView):
    @requires(Role.SCHOOL, Role.ADMIN)
    @blp.response(200, page_of(SchoolParticipantSchema))
    @blp.doc(security=BEARER)
    def get(self, offering_id):
        """The participant list of one of the school's offerings: name, organisation and status"""
        return whole_list(exports.school_participants(db.session, current_actor(), catalogue(), offering_id))


@blp.route("/offerings/<int:offering_id>/participants.csv")
class SchoolParticipantsCsv(MethodView):
    @requires(Role.SCHOOL, Role.ADMIN)
    @blp.doc(security=BEARER, responses={"200": {"description": "The participant list, for Excel", **CSV_RESPONSE}})
    def get(self, offering_id):
        """The participant list of one of the school's offerings as CSV"""
        participants = exports.school_participants(db.session, current_actor(), catalogue(), offering_id)
        return csv_response(exports.participants_csv(participants), f"deltagere-udbud-{offering_id}.csv")

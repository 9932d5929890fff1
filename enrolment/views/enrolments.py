from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import RAISE

from enrolment import enrolments
from enrolment.enrolments import EnrolmentFilters
from enrolment.models import db
from enrolment.views import catalogue
from shared.api import BEARER
from shared.auth import Role, current_actor, requires
from shared.clock import copenhagen_today
from shared.links import absolute_url
from shared.pagination import page_response, paginate
from shared.schemas import (
    EnrolmentCreateSchema,
    EnrolmentQuerySchema,
    EnrolmentSchema,
    SubstituteSchema,
    page_of,
)

blp = Blueprint("enrolments", __name__, url_prefix="/enrolments",
                description="HR enrols its staff; seats are confirmed or waitlisted, never oversold.")

HR_OR_ADMIN = (Role.HR, Role.ADMIN)
# An approver sees the organisation's enrolments and decides on requests, nothing else.
DECIDERS = (Role.HR, Role.APPROVER, Role.ADMIN)


@blp.route("")
class Enrolments(MethodView):
    @requires(*DECIDERS)
    @blp.arguments(EnrolmentQuerySchema, location="query", unknown=RAISE, error_status_code=400)
    @blp.response(200, page_of(EnrolmentSchema))
    @blp.doc(security=BEARER)
    def get(self, args):
        """The organisation's enrolments (an administrator's: everyone's)"""
        page, per_page = args.pop("page"), args.pop("per_page")
        return page_response(paginate(
            db.session, enrolments.enrolments_query(current_actor(), EnrolmentFilters(**args)), page, per_page))

    @requires(*HR_OR_ADMIN)
    @blp.arguments(EnrolmentCreateSchema)
    @blp.response(201, EnrolmentSchema)
    @blp.doc(security=BEARER)
    def post(self, data):
        """Enrol one person: confirmed while seats are free, then waitlisted"""
        enrolment = enrolments.enrol_participant(
            db.session, current_actor(), catalogue(), data["offering_id"], data["participant"],
            data.get("organisation"), copenhagen_today())
        return enrolment, {"Location": absolute_url(f"/enrolments/{enrolment.id}")}


@blp.route("/<int:enrolment_id>")
class EnrolmentById(MethodView):
    @requires(*DECIDERS)
    @blp.response(200, EnrolmentSchema)
    @blp.doc(security=BEARER)
    def get(self, enrolment_id):
        """One enrolment"""
        return enrolments.get_enrolment(db.session, current_actor(), enrolment_id)


@blp.route("/<int:enrolment_id>/cancel")
class Cancellation(MethodView):
    @requires(*HR_OR_ADMIN)
    @blp.response(200, EnrolmentSchema)
    @blp.doc(security=BEARER)
    def post(self, enrolment_id):
        """Cancel until the deadline; the first on the waiting list gets the seat at once"""
        return enrolments.cancel_enrolment(db.session, current_actor(), enrolment_id, copenhagen_today())


@blp.route("/<int:enrolment_id>/approve")
class Approval(MethodView):
    @requires(*DECIDERS)
    @blp.response(200, EnrolmentSchema)
    @blp.doc(security=BEARER)
    def post(self, enrolment_id):
        """Approve a leader's request: a seat if one is free, otherwise the waiting list"""
        return enrolments.approve_request(db.session, current_actor(), enrolment_id, copenhagen_today())


@blp.route("/<int:enrolment_id>/reject")
class Rejection(MethodView):
    @requires(*DECIDERS)
    @blp.response(200, EnrolmentSchema)
    @blp.doc(security=BEARER)
    def post(self, enrolment_id):
        """Reject a leader's request"""
        return enrolments.reject_request(db.session, current_actor(), enrolment_id)


@blp.route("/<int:enrolment_id>/substitute")
class Substitution(MethodView):
    @requires(*HR_OR_ADMIN)
    @blp.arguments(SubstituteSchema)
    @blp.response(200, EnrolmentSchema)
    @blp.doc(security=BEARER)
    def post(self, data, enrolment_id):
        """Let another person from the organisation take the seat (or the place in line)"""
        return enrolments.substitute_participant(db.session, current_actor(), enrolment_id, data["participant"])

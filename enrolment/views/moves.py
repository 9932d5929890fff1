"""A place's alternatives and moving it there: GET /enrolments/{id}/alternatives, POST /enrolments/{id}/move."""

from flask.views import MethodView
from flask_smorest import Blueprint

from enrolment import alternatives, moves
from enrolment.models import db
from enrolment.views import catalogue
from shared.api import BEARER
from shared.auth import Role, current_actor, requires
from shared.clock import copenhagen_today, now
from shared.links import absolute_url
from shared.pagination import whole_list
from shared.schemas import AlternativeSchema, EnrolmentSchema, MoveSchema, page_of

blp = Blueprint("moves", __name__, url_prefix="/enrolments",
                description="Other offerings of a place's module, and moving the place to one of them.")

HR_OR_ADMIN = (Role.HR, Role.ADMIN)


@blp.route("/<int:enrolment_id>/alternatives")
class Alternatives(MethodView):
    @requires(*HR_OR_ADMIN)
    @blp.response(200, page_of(AlternativeSchema))
    @blp.doc(security=BEARER)
    def get(self, enrolment_id):
        """Other published offerings of the module that still take enrolments, nearest first, then soonest"""
        return whole_list(alternatives.list_alternatives(db.session, current_actor(), catalogue(), enrolment_id,
                                                         copenhagen_today(now())))


@blp.route("/<int:enrolment_id>/move")
class Move(MethodView):
    @requires(*HR_OR_ADMIN)
    @blp.arguments(MoveSchema)
    @blp.response(201, EnrolmentSchema, description="The new place (a new enrolment); the old one is cancelled")
    @blp.doc(security=BEARER)
    def post(self, data, enrolment_id):
        """Move a place to another offering of the same module: confirmed if a seat is free, else waitlisted"""
        moved = moves.move_enrolment(db.session, current_actor(), catalogue(), enrolment_id, data["offering_id"],
                                     copenhagen_today(now()), now())
        return moved, {"Location": absolute_url(f"/enrolments/{moved.id}")}

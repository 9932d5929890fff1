from flask.views import MethodView
from flask_smorest import Blueprint

from enrolment import enrolments
from enrolment.models import db
from enrolment.views import catalogue
from shared.clock import copenhagen_today
from shared.schemas import LeaderRequestResultSchema, LeaderRequestSchema

blp = Blueprint("requests", __name__, description="A leader asks for a seat; no account is needed.")


@blp.route("/requests")
class LeaderRequests(MethodView):
    @blp.arguments(LeaderRequestSchema)
    @blp.response(201, LeaderRequestResultSchema)
    def post(self, data):
        """Ask for a seat: it waits for HR where the organisation approves requests, otherwise it is placed"""
        enrolment = enrolments.request_seat(db.session, catalogue(), data["offering_id"], data["participant"],
                                            data["organisation"], copenhagen_today())
        return enrolment

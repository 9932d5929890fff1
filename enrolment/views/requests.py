from flask.views import MethodView
from flask_smorest import Blueprint

from enrolment import leader_requests
from enrolment.models import db
from enrolment.views import catalogue
from shared import rate_limits
from shared.clock import copenhagen_today, now
from shared.schemas import LeaderRequestResultSchema, LeaderRequestSchema

blp = Blueprint("requests", __name__, description="A leader asks for a seat; no account is needed, but the "
                                                  "address must confirm the request by a mailed link.")


@blp.route("/requests")
class LeaderRequests(MethodView):
    @blp.arguments(LeaderRequestSchema)
    @blp.response(201, LeaderRequestResultSchema)
    @blp.alt_response(429, description="Too many requests from this IP or for this address",
                      headers=rate_limits.RETRY_AFTER)
    def post(self, data):
        """Ask for a seat: `unconfirmed` until the address confirms by the link mailed to it

        Until then it holds no seat and is in no one's queue; confirmed, it waits for HR where the
        organisation approves requests, otherwise it gets a seat or a place on the waiting list. An
        existing person's stored name is never changed by a request.
        """
        rate_limits.check_ip_and_address(rate_limits.SEAT_REQUESTS_PER_IP, rate_limits.SEAT_REQUESTS_PER_ADDRESS,
                                         data["participant"]["email"])
        return leader_requests.request_seat(db.session, catalogue(), data["offering_id"], data["participant"],
                                            data["organisation"], copenhagen_today(), now())

"""The GLU path: a participant's (HR of their organisation, administrators) and the organisation's overview."""

from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import RAISE

from enrolment import paths
from enrolment.models import db
from enrolment.views import catalogue
from enrolment.views.participants import CSV_RESPONSE, csv_response
from shared.api import BEARER
from shared.auth import Role, current_actor, requires
from shared.clock import copenhagen_today, now
from shared.pagination import whole_list
from shared.schemas import PathOverviewQuerySchema, PathOverviewRowSchema, PathQuerySchema, PathSchema, page_of

blp = Blueprint("paths", __name__, description="The GLU path: each module's state per person, and what to take next.")


@blp.route("/participants/<int:participant_id>/path")
class ParticipantPath(MethodView):
    @requires(Role.HR, Role.ADMIN)
    @blp.arguments(PathQuerySchema, location="query", unknown=RAISE, error_status_code=400)
    @blp.response(200, PathSchema)
    @blp.doc(security=BEARER)
    def get(self, args, participant_id):
        """A participant's GLU path and the suggested next module (HR: its own organisation's; others are 404)"""
        participant = paths.participant_in_scope(db.session, current_actor(), participant_id)
        return paths.participant_path(db.session, catalogue(), participant, copenhagen_today(now()), args.get("region"))


@blp.route("/organisations/<key>/path")
class OrganisationPath(MethodView):
    @requires(Role.HR, Role.ADMIN)
    @blp.arguments(PathOverviewQuerySchema, location="query", unknown=RAISE, error_status_code=400)
    @blp.response(200, page_of(PathOverviewRowSchema))
    # The CSV is the same 200 in another type: an alt_response adds it beside the JSON (a doc would replace it).
    @blp.alt_response(200, content_type="text/csv", description="With format=csv: forloeb.csv, for Excel",
                      schema=CSV_RESPONSE["content"]["text/csv"]["schema"])
    @blp.doc(security=BEARER)
    def get(self, args, key):
        """Staff × modules: every participant of the organisation with a state per module (format=csv for Excel)"""
        rows = paths.organisation_overview(db.session, catalogue(), current_actor(), key,
                                           module=args.get("module"), state=args.get("state"))
        if args["format"] == "csv":
            return csv_response(paths.overview_csv(rows), "forloeb.csv")
        return whole_list(rows)

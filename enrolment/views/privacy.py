"""A person's rights (GDPR): insight into everything held about them, as JSON, and their erasure."""

from flask.views import MethodView
from flask_smorest import Blueprint

from enrolment import insight
from enrolment.models import db
from shared.api import BEARER
from shared.auth import Role, current_actor, requires
from shared.clock import now
from shared.schemas import ErasureSchema, ParticipantExportSchema

blp = Blueprint("privacy", __name__, url_prefix="/participants",
                description="A person's data: insight and export (GDPR art. 15 and 20), erasure (art. 17).")


@blp.route("/<int:participant_id>/export")
class ParticipantExport(MethodView):
    @requires(Role.HR, Role.ADMIN)
    @blp.response(200, ParticipantExportSchema)
    @blp.doc(security=BEARER)
    def get(self, participant_id):
        """Everything held about one person of the organisation: places and their history, attendance and
        completions, interests, reserved seats, mails and audit entries"""
        data = insight.export_participant(db.session, current_actor(), participant_id)
        return data, {"Content-Disposition": f'attachment; filename="person-{participant_id}.json"'}


@blp.route("/<int:participant_id>/erase")
class ParticipantErasure(MethodView):
    @requires(Role.HR, Role.ADMIN)
    @blp.response(200, ErasureSchema)
    @blp.doc(security=BEARER)
    def post(self, participant_id):
        """Erase a person: name and e-mail become a pseudonym everywhere, their links stop working, places still
        to come are cancelled (the waiting list moves up); a second erasure does nothing (already_erased)"""
        return insight.erase(db.session, current_actor(), participant_id, now())

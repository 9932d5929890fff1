from flask.views import MethodView
from flask_smorest import Blueprint

from enrolment import attendance
from enrolment.models import db
from enrolment.views import catalogue
from shared.api import BEARER
from shared.auth import Role, current_actor, requires
from shared.clock import now
from shared.schemas import (
    AttendanceSheetSchema,
    AttendanceUpdateSchema,
    CompletionSchema,
    CompletionUpdateSchema,
    OfferingMessageResultSchema,
    OfferingMessageSchema,
)

blp = Blueprint("attendance", __name__,
                description="A course's life: the school marks who attended each day and who completed, and "
                            "writes to everyone enrolled. The school of the offering (its member or key) and "
                            "administrators only.")

SCHOOL_OR_ADMIN = (Role.SCHOOL, Role.ADMIN)


@blp.route("/offerings/<int:offering_id>/attendance")
class OfferingAttendance(MethodView):
    @requires(*SCHOOL_OR_ADMIN)
    @blp.response(200, AttendanceSheetSchema)
    @blp.doc(security=BEARER)
    def get(self, offering_id):
        """The offering's days and its confirmed participants, with attendance and completion recorded so far"""
        return attendance.attendance_sheet(db.session, current_actor(), catalogue(), offering_id, now())


@blp.route("/offerings/<int:offering_id>/sessions/<int:session_id>/attendance")
class SessionAttendance(MethodView):
    @requires(*SCHOOL_OR_ADMIN)
    @blp.arguments(AttendanceUpdateSchema)
    @blp.response(200, AttendanceSheetSchema)
    @blp.doc(security=BEARER, responses={"404": {"description": "The day is not one of the offering's"},
                                         "409": {"description": "The day has not begun, or someone named holds "
                                                                "no confirmed place"}})
    def put(self, data, offering_id, session_id):
        """The whole list for one day that has begun: those named attended, every other confirmed participant not"""
        return attendance.record_attendance(db.session, current_actor(), offering_id, session_id,
                                            data["attended"], now())


@blp.route("/enrolments/<int:enrolment_id>/completion")
class Completion(MethodView):
    @requires(*SCHOOL_OR_ADMIN)
    @blp.arguments(CompletionUpdateSchema)
    @blp.response(200, CompletionSchema)
    @blp.doc(security=BEARER, responses={"409": {"description": "The last day has not begun, or the place is "
                                                                "not confirmed"}})
    def put(self, data, enrolment_id):
        """Completed or not (with an optional note), once the course's last day has begun"""
        return attendance.record_completion(db.session, current_actor(), enrolment_id, data["result"],
                                            data["note"], now())


@blp.route("/offerings/<int:offering_id>/messages")
class OfferingMessages(MethodView):
    @requires(*SCHOOL_OR_ADMIN)
    @blp.arguments(OfferingMessageSchema)
    @blp.response(202, OfferingMessageResultSchema)
    @blp.doc(security=BEARER)
    def post(self, data, offering_id):
        """A mail to every confirmed participant, sent through the outbox once this request has committed"""
        return {"recipients": attendance.send_message(db.session, current_actor(), offering_id, data["subject"],
                                                      data["text"], now())}

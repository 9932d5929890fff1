from flask import Response
from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import Schema, fields

from catalogue import calendar, offerings
from catalogue.models import db
from shared.api import OPTIONAL_BEARER
from shared.auth import current_actor
from shared.response_cache import cached_while_unchanged

blp = Blueprint("calendars", __name__, url_prefix="/offerings",
                description="An offering in people's calendars: a download and add-to-calendar links.")


class CalendarLinkSchema(Schema):
    session_id = fields.Integer()
    google = fields.String(metadata={"description": "Google Calendar: add this session"})
    outlook = fields.String(metadata={"description": "Outlook on the web: add this session"})


@blp.route("/<int:offering_id>.ics")
class OfferingCalendar(MethodView):
    @cached_while_unchanged
    @blp.doc(security=OPTIONAL_BEARER,
             responses={"200": {"description": "An iCalendar file (RFC 5545)", "content": {"text/calendar": {}}}})
    def get(self, offering_id):
        """The offering's sessions as a calendar file; a download does not update later, a subscription does"""
        offering = offerings.get_offering(db.session, current_actor(), offering_id)
        return Response(calendar.offering_calendar(offering), mimetype="text/calendar", headers={
            "Content-Disposition": f'attachment; filename="glu-udbud-{offering_id}.ics"'})


@blp.route("/<int:offering_id>/calendar-links")
class OfferingCalendarLinks(MethodView):
    @blp.response(200, CalendarLinkSchema(many=True))
    @blp.doc(security=OPTIONAL_BEARER)
    def get(self, offering_id):
        """Add-to-calendar links for Google Calendar and Outlook on the web, one per session"""
        return calendar.calendar_links(offerings.get_offering(db.session, current_actor(), offering_id))

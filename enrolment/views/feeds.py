from flask import Response
from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import Schema, fields

from enrolment import calendar, feeds
from enrolment.models import db
from enrolment.organisations import organisation_in_scope
from shared.api import BEARER
from shared.auth import Role, current_actor, requires
from shared.db import utcnow
from shared.links import absolute_url
from shared.schemas import EnrolmentSchema, Text, webcal

blp = Blueprint("feeds", __name__, description="Calendar subscriptions at secret, read-only, revocable addresses.")

ICS = {"200": {"description": "An iCalendar file (RFC 5545)", "content": {"text/calendar": {}}}}


def calendar_response(body: bytes) -> Response:
    # Secret URLs: shared caches must not keep them; clients revalidate with the ETag.
    return Response(body, mimetype="text/calendar", headers={"Cache-Control": "private, no-cache"})


@blp.route("/feeds/participants/<string:token>.ics")
class ParticipantFeed(MethodView):
    @blp.doc(responses=ICS)
    def get(self, token):
        """A leader's courses, for Outlook, Google, Apple Calendar or Thunderbird to subscribe to"""
        participant, enrolments = feeds.participant_by_feed_token(db.session, token)
        return calendar_response(calendar.participant_feed(participant, enrolments, utcnow()))


@blp.route("/feeds/organisations/<string:token>.ics")
class OrganisationFeed(MethodView):
    @blp.doc(responses=ICS)
    def get(self, token):
        """All courses of an organisation's people, for HR's calendar"""
        organisation, enrolments = feeds.organisation_by_feed_token(db.session, token)
        return calendar_response(calendar.organisation_feed(organisation, enrolments, utcnow()))


class OrganisationCalendarSchema(Schema):
    calendar_url = fields.String()
    calendar_webcal_url = fields.String()


class OrganisationQuerySchema(Schema):
    organisation = Text(max_length=40, metadata={"description": "Administrators name the organisation"})


def _organisation_calendar(organisation) -> dict:
    url = absolute_url(f"/feeds/organisations/{organisation.feed_token}.ics")
    return {"calendar_url": url, "calendar_webcal_url": webcal(url)}


@blp.route("/organisation-calendar")
class OrganisationCalendar(MethodView):
    @requires(Role.HR, Role.ADMIN)
    @blp.arguments(OrganisationQuerySchema, location="query")
    @blp.response(200, OrganisationCalendarSchema)
    @blp.doc(security=BEARER)
    def get(self, args):
        """The secret address of the organisation's calendar feed"""
        organisation = organisation_in_scope(db.session, current_actor(), args.get("organisation"))
        return _organisation_calendar(organisation)


@blp.route("/organisation-calendar/renew")
class OrganisationCalendarRenewal(MethodView):
    @requires(Role.HR, Role.ADMIN)
    @blp.arguments(OrganisationQuerySchema, location="query")
    @blp.response(200, OrganisationCalendarSchema)
    @blp.doc(security=BEARER)
    def post(self, args):
        """Give the organisation's feed a new secret address; the old one stops working"""
        organisation = feeds.renew_organisation_feed(db.session, current_actor(), args.get("organisation"))
        db.session.commit()
        return _organisation_calendar(organisation)


@blp.route("/enrolments/<int:enrolment_id>/renew-links")
class LinkRenewal(MethodView):
    @requires(Role.HR, Role.ADMIN)
    @blp.response(200, EnrolmentSchema)
    @blp.doc(security=BEARER)
    def post(self, enrolment_id):
        """New secret calendar and 'Mine kurser' links for the person; the old ones stop working"""
        enrolment = feeds.renew_participant_links(db.session, current_actor(), enrolment_id)
        db.session.commit()
        return enrolment

from flask import Response, current_app
from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import Schema, fields

from enrolment import feeds
from enrolment.feed_cache import CachedFeed, feed_cache
from enrolment.models import db
from enrolment.organisations import organisation_in_scope
from shared.api import BEARER
from shared.auth import Role, current_actor, requires
from shared.db import utcnow
from shared.links import absolute_url
from shared.schemas import EnrolmentSchema, Text, webcal

blp = Blueprint("feeds", __name__, description="Calendar subscriptions at secret, read-only, revocable addresses.")

ICS = {"200": {"description": "An iCalendar file (RFC 5545)", "content": {"text/calendar": {}}}}


def calendar_response(feed: CachedFeed) -> Response:
    # Secret URLs: shared caches must not keep them; clients revalidate with the ETag. The ETag is
    # the one shared.api's after_request hook would compute from the body, known without hashing it
    # again; the hook keeps it and answers a matching If-None-Match with 304.
    response = Response(feed.body, mimetype="text/calendar", headers={"Cache-Control": "private, no-cache"})
    response.set_etag(feed.etag)
    return response


@blp.route("/feeds/participants/<string:token>.ics")
class ParticipantFeed(MethodView):
    @blp.doc(responses=ICS)
    def get(self, token):
        """A leader's courses, for Outlook, Google, Apple Calendar or Thunderbird to subscribe to"""
        return calendar_response(feeds.participant_calendar(db.session, feed_cache(current_app), token, utcnow()))


@blp.route("/feeds/organisations/<string:token>.ics")
class OrganisationFeed(MethodView):
    @blp.doc(responses=ICS)
    def get(self, token):
        """All courses of an organisation's people, for HR's calendar"""
        return calendar_response(feeds.organisation_calendar(db.session, feed_cache(current_app), token, utcnow()))


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
        return _organisation_calendar(organisation)


@blp.route("/enrolments/<int:enrolment_id>/renew-links")
class LinkRenewal(MethodView):
    @requires(Role.HR, Role.ADMIN)
    @blp.response(200, EnrolmentSchema)
    @blp.doc(security=BEARER)
    def post(self, enrolment_id):
        """New secret calendar and 'Mine kurser' links for the person; the old ones stop working"""
        enrolment = feeds.renew_participant_links(db.session, current_actor(), enrolment_id)
        return enrolment

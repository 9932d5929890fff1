"""The catalogue's contract: programmes, modules, providers, offerings, sessions and CSV import reports."""

from __future__ import annotations

from marshmallow import EXCLUDE, Schema, ValidationError, fields, validate, validates_schema

from shared.db import MAX_ID
from shared.schemas.base import (
    MAX_CAPACITY,
    MAX_PRICE_DKK,
    MAX_SESSIONS,
    OFFERING_STATUSES,
    REGION_CODES,
    ContractSchema,
    Email,
    FieldErrorSchema,
    Id,
    LocalDateTime,
    Text,
)

# --- Programmes and modules -----------------------------------------------------------------------

class ProgrammeSchema(ContractSchema):
    id = fields.Integer()
    code = fields.String()
    title = fields.String()
    description = fields.String()


class ProgrammeCreateSchema(Schema):
    code = Text(required=True, min_length=1, max_length=20, validate_also=validate.Regexp(r"^[A-Z0-9-]+$"))
    title = Text(required=True, min_length=1, max_length=200)
    description = Text(load_default="", max_length=5000, multiline=True)


class ProgrammePatchSchema(Schema):
    title = Text(min_length=1, max_length=200)
    description = Text(max_length=5000, multiline=True)


# --- The points of "Kodeks for god ledelse i kommuner og regioner" (catalogue.themes) --------------
# code -> the point, as the Kodeks words it ("God ledelse er, når lederen …"), in the Kodeks' order.
KODEKS_THEMES = {
    "kodeks-1": "Påtager sig sit lederskab",
    "kodeks-2": "Er bevidst om sit ledelsesrum og den politiske kontekst",
    "kodeks-3": "Har viden om og forståelse for den faglige kontekst",
    "kodeks-4": "Skaber en organisation, der møder borgeren i øjenhøjde",
    "kodeks-5": "Kommunikerer klart om politiske og administrative beslutninger",
    "kodeks-6": "Udøver meningsfuld styring for at skabe bedre resultater",
    "kodeks-7": "Skaber fællesskab på arbejdspladsen og profilerer arbejdspladsen i omverdenen",
    "kodeks-8": "Skaber trivsel og et godt arbejdsliv for den enkelte",
    "kodeks-9": "Skaber rum for refleksion og innovation",
    "kodeks-10": "Reflekterer over og udvikler sit lederskab",
    "kodeks-11": "Ser sin organisation som en del af en mangfoldig verden",
}


class ModuleThemeSchema(ContractSchema):
    code = fields.String(metadata={"description": "kodeks-1 … kodeks-11"})
    number = fields.Integer()
    title = fields.String()


def _theme(**kwargs):
    return fields.String(validate=validate.OneOf(tuple(KODEKS_THEMES), error="Ukendt kodekspunkt."), **kwargs)


class ModuleSchema(ContractSchema):
    id = fields.Integer()
    code = fields.String()
    programme = fields.String(attribute="programme_code")
    title = fields.String()
    description = fields.String()
    content = fields.List(fields.String())
    target_group = fields.String()
    duration_days = fields.Integer(allow_none=True)
    amu_number = fields.String(allow_none=True)
    themes = fields.List(fields.Nested(ModuleThemeSchema), metadata={
        "description": "The points of Kodeks for god ledelse i kommuner og regioner the module works with"})
    themes_example = fields.Boolean(metadata={
        "description": "true: the points are an example mapping (the seed's), not an official one"})


class ModuleCreateSchema(Schema):
    code = Text(required=True, min_length=1, max_length=20, validate_also=validate.Regexp(r"^[A-Z0-9-]+$"))
    programme = Text(required=True, min_length=1, max_length=20)
    title = Text(required=True, min_length=1, max_length=200)
    description = Text(load_default="", max_length=5000, multiline=True)
    content = fields.List(Text(min_length=1, max_length=500), load_default=list, validate=validate.Length(max=50))
    target_group = Text(load_default="", max_length=2000, multiline=True)
    duration_days = fields.Integer(strict=True, allow_none=True, load_default=None,
                                   validate=validate.Range(min=1, max=60))
    amu_number = Text(allow_none=True, load_default=None, max_length=20,
                      validate_also=validate.Regexp(r"^[0-9A-Za-z-]+$"))
    position = fields.Integer(strict=True, load_default=0, validate=validate.Range(min=0, max=1000))


class ModulePatchSchema(Schema):
    title = Text(min_length=1, max_length=200)
    description = Text(max_length=5000, multiline=True)
    content = fields.List(Text(min_length=1, max_length=500), validate=validate.Length(max=50))
    target_group = Text(max_length=2000, multiline=True)
    duration_days = fields.Integer(strict=True, allow_none=True, validate=validate.Range(min=1, max=60))
    amu_number = Text(allow_none=True, max_length=20, validate_also=validate.Regexp(r"^[0-9A-Za-z-]+$"))
    position = fields.Integer(strict=True, validate=validate.Range(min=0, max=1000))
    themes = fields.List(_theme(), validate=validate.Length(max=len(KODEKS_THEMES)), metadata={
        "description": "The Kodeks points (kodeks-1 … kodeks-11) the module works with; replaces the ones it had"})


# --- Providers and their locations ----------------------------------------------------------------

class LocationSchema(ContractSchema):
    id = fields.Integer()
    name = fields.String()
    address = fields.String(allow_none=True)
    postcode = fields.String()
    city = fields.String()
    municipality_code = fields.String()
    municipality = fields.String()
    region_code = fields.String()
    region = fields.String()
    latitude = fields.Float(allow_none=True)
    longitude = fields.Float(allow_none=True)


class LocationInputSchema(Schema):
    id = Id(metadata={"description": "Give the id to change an existing location; leave it out to add one"})
    name = Text(required=True, min_length=1, max_length=200)
    address = Text(allow_none=True, load_default=None, max_length=200)
    postcode = fields.String(required=True, validate=validate.Regexp(r"^[0-9]{4}$"))
    city = Text(required=True, min_length=1, max_length=100)
    municipality_code = fields.String(required=True, validate=validate.Regexp(r"^[0-9]{3}$"))
    municipality = Text(required=True, min_length=1, max_length=100)
    region_code = fields.String(required=True, validate=validate.OneOf(REGION_CODES))
    latitude = fields.Float(allow_none=True, load_default=None, validate=validate.Range(min=54.0, max=58.0))
    longitude = fields.Float(allow_none=True, load_default=None, validate=validate.Range(min=7.5, max=15.5))


class ProviderSchema(ContractSchema):
    id = fields.Integer()
    name = fields.String()
    website = fields.String(allow_none=True)
    email = fields.String(allow_none=True)
    locations = fields.List(fields.Nested(LocationSchema))
    decision_policy = fields.String(metadata={
        "description": "Go or no-go: what happens to an offering nobody decided on within the grace after its "
                       "decision date and with too few participants: cancel, or hold anyway"})
    decision_grace_days = fields.Integer(metadata={"description": "Days after the decision date before the "
                                                                  "policy applies"})


class ProviderCreateSchema(Schema):
    name = Text(required=True, min_length=1, max_length=200)
    website = fields.URL(allow_none=True, load_default=None, schemes={"https", "http"},
                         validate=validate.Length(max=300))
    email = Email(allow_none=True, load_default=None)
    locations = fields.List(fields.Nested(LocationInputSchema), required=True,
                            validate=validate.Length(min=1, max=50))


class ProviderPatchSchema(Schema):
    name = Text(min_length=1, max_length=200)
    website = fields.URL(allow_none=True, schemes={"https", "http"}, validate=validate.Length(max=300))
    email = Email(allow_none=True)
    locations = fields.List(fields.Nested(LocationInputSchema), validate=validate.Length(min=1, max=50))
    decision_policy = fields.String(validate=validate.OneOf(("cancel", "hold")))
    decision_grace_days = fields.Integer(strict=True, validate=validate.Range(min=0, max=30))


# --- Offerings and sessions -----------------------------------------------------------------------

class SessionSchema(ContractSchema):
    id = fields.Integer()
    starts_at = LocalDateTime()
    ends_at = LocalDateTime()


class OfferingSchema(ContractSchema):
    id = fields.Integer()
    url = fields.String(metadata={"description": "The offering's own address"})
    module = fields.String(attribute="module_code")
    module_title = fields.String()
    module_description = fields.String()
    module_content = fields.List(fields.String())
    programme = fields.String(attribute="programme_code")
    provider_id = fields.Integer()
    provider_name = fields.String()
    location = fields.Nested(LocationSchema)
    sessions = fields.List(fields.Nested(SessionSchema))
    starts_at = LocalDateTime(metadata={"description": "Start of the first session"})
    ends_at = LocalDateTime(metadata={"description": "End of the last session"})
    capacity = fields.Integer()
    seats_available = fields.Integer(metadata={"description": "Free seats: capacity minus seats taken, never below 0"})
    waitlist_length = fields.Integer(metadata={"description": "Participants on the waiting list"})
    min_participants = fields.Integer(allow_none=True)
    price_dkk = fields.Integer(metadata={"description": "Participant fee in whole Danish kroner"})
    enrolment_deadline = fields.Date(
        metadata={"description": "Last day to enrol; open until midnight, Danish time"})
    language = fields.String(metadata={"description": "ISO 639-1 code of the teaching language"})
    contact_email = fields.String()
    reference = fields.String(allow_none=True, metadata={"description": "The school's own reference"})
    note = fields.String(allow_none=True)
    status = fields.String(validate=validate.OneOf(OFFERING_STATUSES))
    revision = fields.Integer(metadata={"description": "Bumped on every change the school makes"})
    change_seq = fields.Integer(metadata={"description": "The school's latest change's number in the change feed "
                                                         "(GET /offerings/changes)"})
    demo = fields.Boolean(metadata={"description": "True for example data that is not a real course"})
    cancelled_at = LocalDateTime(allow_none=True)
    cancellation_reason = fields.String(allow_none=True)
    updated_at = LocalDateTime()
    decision_date = fields.Date(allow_none=True, metadata={
        "description": "Go or no-go: the day the school decides whether the course is held or cancelled"})
    decision = fields.String(allow_none=True, validate=validate.OneOf(("held", "cancelled")),
                             metadata={"description": "null until decided, then held or cancelled"})
    decided_at = LocalDateTime(allow_none=True)


class SessionInputSchema(Schema):
    id = Id(metadata={"description": "Give the id to move an existing session; leave it out to add one"})
    starts_at = LocalDateTime(required=True)
    ends_at = LocalDateTime(required=True)

    @validates_schema
    def _ends_after_start(self, data, **kwargs):
        if "starts_at" in data and "ends_at" in data and data["ends_at"] <= data["starts_at"]:
            raise ValidationError("Sessionen skal slutte efter den starter.", "ends_at")


def _sessions(**kwargs):
    return fields.List(fields.Nested(SessionInputSchema), validate=validate.Length(min=1, max=MAX_SESSIONS),
                       **kwargs)


def _head_count(**kwargs):
    return fields.Integer(strict=True, validate=validate.Range(min=1, max=MAX_CAPACITY), **kwargs)


def _price(**kwargs):
    return fields.Integer(strict=True, validate=validate.Range(min=0, max=MAX_PRICE_DKK), **kwargs)


def _language(**kwargs):
    return fields.String(validate=validate.Regexp(r"^[a-z]{2}$", error="Brug en sprogkode som 'da' eller 'en'."),
                         **kwargs)


def _decision_date(**kwargs):
    return fields.Date(allow_none=True, metadata={
        "description": "Go or no-go: the day the school decides whether the course is held; not after the first "
                       "day, not before today. Left out: DECISION_DAYS_BEFORE_START days before the first day "
                       "(moving with the days when they move)"}, **kwargs)


class OfferingCreateSchema(Schema):
    module = Text(required=True, min_length=1, max_length=20, metadata={"description": "Module code, e.g. GLU-4"})
    provider_id = Id(metadata={"description": "Defaults to the school of the token"})
    location_id = Id(required=True)
    sessions = _sessions(required=True)
    capacity = _head_count(required=True)
    min_participants = _head_count(allow_none=True, load_default=None)
    price_dkk = _price(required=True)
    enrolment_deadline = fields.Date(required=True)
    language = _language(load_default="da")
    contact_email = Email(required=True)
    reference = Text(allow_none=True, load_default=None, max_length=60)
    note = Text(allow_none=True, load_default=None, max_length=2000, multiline=True)
    status = fields.String(load_default="published", validate=validate.OneOf(("draft", "published")))
    decision_date = _decision_date(load_default=None)


class OfferingPatchSchema(Schema):
    location_id = Id()
    sessions = _sessions()
    capacity = _head_count()
    min_participants = _head_count(allow_none=True)
    price_dkk = _price()
    enrolment_deadline = fields.Date()
    language = _language()
    contact_email = Email()
    reference = Text(allow_none=True, max_length=60)
    note = Text(allow_none=True, max_length=2000, multiline=True)
    status = fields.String(validate=validate.OneOf(("published",), error="Kun 'published' kan sættes her; "
                                                   "brug /cancel for at aflyse."))
    decision_date = _decision_date()


class OfferingCancelSchema(Schema):
    reason = Text(allow_none=True, load_default=None, max_length=500)


class OfferingCopySchema(Schema):
    """POST /offerings/{id}/copy: the same offering again as a draft, its days moved to start on `first_day`."""

    first_day = fields.Date(required=True, metadata={
        "description": "The copy's first day; every session moves by the same number of days, keeping its "
                       "Danish time of day, and so does the enrolment deadline"})
    reference = Text(allow_none=True, load_default=None, max_length=60,
                     metadata={"description": "The copy's own reference (references are unique per school)"})


class OfferingQuerySchema(Schema):
    """Query parameters of GET /offerings; unknown parameters are refused."""

    q = Text(max_length=200, metadata={
        "description": "Free text: words or word beginnings, any case; from four letters on also parts of "
                       "compound words"})
    module = Text(max_length=20, metadata={"description": "Module code, e.g. GLU-3"})
    programme = Text(max_length=20, metadata={"description": "Programme code, e.g. GLU"})
    provider = fields.Integer(validate=validate.Range(min=1, max=MAX_ID), metadata={"description": "Provider id"})
    region = Text(max_length=40, metadata={"description": "Region code (1081–1085) or name"})
    municipality = Text(max_length=60, metadata={"description": "Municipality code (e.g. 791) or name"})
    date_from = fields.Date(metadata={"description": "First session on or after this day"})
    date_to = fields.Date(metadata={"description": "First session on or before this day"})
    language = _language()
    status = fields.String(validate=validate.OneOf(OFFERING_STATUSES),
                           metadata={"description": "Default published; drafts only for their school"})
    has_seats = fields.Boolean(metadata={"description": "true: only offerings with a free seat; false: only full ones"})
    theme = _theme(metadata={"description": "Only modules working with this point of Kodeks for god ledelse "
                                            "(kodeks-1 … kodeks-11)"})
    page = fields.Integer(load_default=1, validate=validate.Range(min=1, max=100_000))
    per_page = fields.Integer(load_default=25, validate=validate.Range(min=1, max=100))

    @validates_schema
    def _dates_in_order(self, data, **kwargs):
        if data.get("date_from") and data.get("date_to") and data["date_to"] < data["date_from"]:
            raise ValidationError("date_to ligger før date_from.", "date_to")


class ImportQuerySchema(Schema):
    dry_run = fields.Boolean(load_default=False, metadata={"description": "Check every row, write nothing"})


class ImportedRowSchema(Schema):
    line = fields.Integer(metadata={"description": "Line number in the file; the header is line 1"})
    valid = fields.Boolean()
    errors = fields.List(fields.Nested(FieldErrorSchema))
    offering_id = fields.Integer(allow_none=True)


class ImportReportSchema(Schema):
    dry_run = fields.Boolean()
    valid = fields.Boolean()
    created = fields.Integer()
    rows = fields.List(fields.Nested(ImportedRowSchema))


# --- Changes: the change feed and the webhooks announcing it --------------------------------------

MAX_CHANGES_PER_READ = 500


class ChangesQuerySchema(Schema):
    """Query parameters of GET /offerings/changes."""

    since = fields.Integer(load_default=0, validate=validate.Range(min=0, max=2**62),
                           metadata={"description": "The last change_seq already read; 0 from the start"})
    limit = fields.Integer(load_default=100, validate=validate.Range(min=1, max=MAX_CHANGES_PER_READ),
                           metadata={"description": f"At most this many offerings (≤ {MAX_CHANGES_PER_READ})"})


class OfferingChangesSchema(ContractSchema):
    """A page of the change feed: offerings changed after `since`, in the order of their changes."""

    items = fields.List(fields.Nested(OfferingSchema), required=True)
    last_seq = fields.Integer(required=True,
                              metadata={"description": "Read on from here: the last change_seq in items, or since"})
    more = fields.Boolean(required=True, metadata={"description": "True if more changes follow right away"})
    # Which history the numbers belong to: a restored catalogue numbers its new changes again from an
    # earlier place, with new tokens, so a reader that kept the token of its last change sees the break.
    since_token = fields.String(load_default=None, allow_none=True, metadata={
        "description": "The token of change number `since` (\"\" for 0); null if this catalogue has no such change: "
                       "a reader whose kept token differs reads again from 0"})
    last_token = fields.String(load_default=None, allow_none=True, metadata={
        "description": "The token of change number `last_seq`: keep it with last_seq"})


class WebhookNoticeSchema(Schema):
    """The body of a webhook from the catalogue: which change to read the feed for."""

    class Meta:
        unknown = EXCLUDE

    offering_id = fields.Integer(required=True, strict=True, validate=validate.Range(min=1, max=MAX_ID))
    change_seq = fields.Integer(required=True, strict=True, validate=validate.Range(min=1, max=2**62))


class ChangesAppliedSchema(Schema):
    """What reading the change feed did: how many changes were applied, and where the reader stands."""

    applied = fields.Integer(metadata={"description": "Changes to offerings this service knows, applied now"})
    cursor = fields.Integer(metadata={"description": "The last change_seq read from the catalogue"})


class WebhookDeliverySchema(ContractSchema):
    id = fields.Integer()
    offering_id = fields.Integer()
    change_seq = fields.Integer()
    payload = fields.Dict()
    created_at = LocalDateTime()
    attempts = fields.Integer(metadata={"description": "Sends so far"})
    next_attempt_at = LocalDateTime(allow_none=True,
                                    metadata={"description": "Next send; null once delivered or given up"})
    delivered_at = LocalDateTime(allow_none=True)
    last_status = fields.Integer(allow_none=True, metadata={"description": "HTTP status of the last send"})
    last_error = fields.String(allow_none=True)


class WebhookDeliveryQuerySchema(Schema):
    page = fields.Integer(load_default=1, validate=validate.Range(min=1, max=100_000))
    per_page = fields.Integer(load_default=25, validate=validate.Range(min=1, max=100))


# --- Go or no-go (catalogue.decisions) ---------------------------------------------------------------

class OfferingDecisionSchema(Schema):
    """POST /offerings/{id}/decision: the school decides whether the course is held or cancelled."""

    decision = fields.String(required=True, validate=validate.OneOf(("held", "cancelled")))
    reason = Text(allow_none=True, load_default=None, max_length=500, metadata={
        "description": "Required for cancelled: the participants are told it"})


class DecisionPolicySchema(Schema):
    """PATCH /providers/{id}/decision-policy: what happens when the school has not decided in time."""

    decision_policy = fields.String(validate=validate.OneOf(("cancel", "hold"), error="Vælg 'cancel' eller 'hold'."),
                                    metadata={"description": "cancel: cancel automatically when too few have "
                                                             "enrolled; hold: hold the course anyway"})
    decision_grace_days = fields.Integer(strict=True, validate=validate.Range(
        min=0, max=30, error="Vælg et antal dage fra 0 til 30."), metadata={
        "description": "Days after the decision date before the policy applies"})

"""Building blocks of the contract: bounded text, ids, Danish-time instants, problems and list envelopes."""

from __future__ import annotations

import re
from datetime import datetime

from marshmallow import EXCLUDE, Schema, ValidationError, fields, validate

from shared.clock import COPENHAGEN
from shared.db import MAX_ID

OFFERING_STATUSES = ("draft", "published", "cancelled")
REGION_CODES = ("1081", "1082", "1083", "1084", "1085")
MAX_CAPACITY = 500
MAX_SESSIONS = 40
MAX_PRICE_DKK = 1_000_000

_CONTROL_CHARACTERS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_CONTROL_CHARACTERS_ONE_LINE = re.compile(r"[\x00-\x1f\x7f]")


class Text(fields.String):
    """A string trimmed of outer white space, bounded in length and free of control characters.

    Control characters are refused because PostgreSQL rejects NUL in text and nobody types them.
    """

    def __init__(self, *, max_length: int, multiline: bool = False, min_length: int = 0, validate_also=None,
                 **kwargs):
        validators = [validate.Length(min=min_length, max=max_length)]
        if validate_also is not None:
            validators.append(validate_also)
        super().__init__(validate=validators, **kwargs)
        self.forbidden = _CONTROL_CHARACTERS if multiline else _CONTROL_CHARACTERS_ONE_LINE

    def _deserialize(self, value, attr, data, **kwargs):
        text = super()._deserialize(value, attr, data, **kwargs).strip()
        if self.forbidden.search(text):
            raise ValidationError("Teksten indeholder kontroltegn, som ikke er tilladt.")
        return text


class Id(fields.Integer):
    def __init__(self, **kwargs):
        super().__init__(strict=True, validate=validate.Range(min=1, max=MAX_ID), **kwargs)


class Flag(fields.Boolean):
    """A JSON body's true or false, and nothing else: marshmallow's Boolean would take 0, 1, "yes" or "on",
    which the document (type boolean) does not offer and a client's mistake should not turn into a choice.
    Query parameters keep fields.Boolean, since a query string can only spell true as text."""

    def _deserialize(self, value, attr, data, **kwargs):
        if not isinstance(value, bool):  # not a set of allowed values: 0 == False and 1 == True in Python
            raise self.make_error("invalid", input=value)
        return value


class LocalDateTime(fields.AwareDateTime):
    """An instant written with the Danish offset (+01:00 or +02:00); any offset is accepted on input."""

    def _serialize(self, value: datetime | None, attr, obj, **kwargs):
        if value is None:
            return None
        return super()._serialize(value.astimezone(COPENHAGEN), attr, obj, **kwargs)

    def _deserialize(self, value, attr, data, **kwargs):
        instant = super()._deserialize(value, attr, data, **kwargs)
        if not 2000 <= instant.year <= 2100:
            raise ValidationError("Tidspunktet skal ligge mellem år 2000 og 2100.")
        return instant


class Email(fields.Email):
    def __init__(self, **kwargs):
        super().__init__(validate=validate.Length(max=254), **kwargs)


class ContractSchema(Schema):
    """Output schemas: clients of the contract ignore fields they do not know yet."""

    class Meta:
        unknown = EXCLUDE


# --- Problems (RFC 9457) --------------------------------------------------------------------------

class FieldErrorSchema(Schema):
    pointer = fields.String(metadata={"description": "JSON pointer to the field, e.g. /sessions/0/ends_at"})
    parameter = fields.String(metadata={"description": "The query parameter, for errors in the query"})
    message = fields.String()


class ProblemSchema(Schema):
    type = fields.String()
    title = fields.String()
    status = fields.Integer()
    detail = fields.String()
    errors = fields.List(fields.Nested(FieldErrorSchema))


def page_of(item_schema: type[Schema]) -> type[Schema]:
    """The list envelope: {"items": [...], "total": n, "page": p, "per_page": k}."""
    return Schema.from_dict(
        {
            "items": fields.List(fields.Nested(item_schema)),
            "total": fields.Integer(),
            "page": fields.Integer(),
            "per_page": fields.Integer(),
        },
        name=f"{item_schema.__name__.removesuffix('Schema')}Page",
    )

"""Token introspection (RFC 7662) between the services: is this API key active, and as whom does it act?"""

from __future__ import annotations

from marshmallow import EXCLUDE, Schema, fields, validate

from shared.schemas.base import ContractSchema, Id


class IntrospectionRequestSchema(Schema):
    """The form RFC 7662 §2.1 describes; `token_type_hint` is accepted and not needed (only API keys are asked)."""

    class Meta:
        unknown = EXCLUDE

    token = fields.String(required=True, validate=validate.Length(min=1, max=200),
                          metadata={"description": "The API key, glu_c_… or glu_e_…"})
    token_type_hint = fields.String(validate=validate.Length(max=40), metadata={"description": "Ignored"})


class IntrospectionSchema(ContractSchema):
    """RFC 7662 §2.2: `active` alone when the key is unknown, revoked or expired (never why)."""

    active = fields.Boolean(required=True)
    role = fields.String(metadata={"description": "The API role the key acts with: school, hr or approver"})
    member_role = fields.String(metadata={"description": "The membership role it was given, e.g. course_admin"})
    provider_id = Id(metadata={"description": "A school's key: the school (catalogue provider id)"})
    organisation = fields.String(metadata={"description": "An organisation's key: the organisation's key"})
    key_id = Id(metadata={"description": "The key's id at the issuing service, for audit entries"})
    exp = fields.Integer(metadata={"description": "When the key expires, in seconds since the epoch"})

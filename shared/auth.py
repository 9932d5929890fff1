"""Bearer tokens both services accept: who is calling, in which role, for which school or organisation.

Tokens are JWTs (RFC 7519, HS256) signed with GLU_TOKEN_SECRET. They carry the role, the scope
(a provider id for schools, an organisation key for HR) and an expiry, so either service can
verify a token the other issued without a database lookup.

A bearer may also be an API key (`glu_c_…`, `glu_e_…`, shared.accounts.api_keys): a school's or
organisation's integration. Keys are checked by the service that issued them, which is what the
service installed as `app.extensions["api_keys"]` does; operators and the services' calls to each
other go on using JWTs.
"""

from __future__ import annotations

import functools
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum

import jwt
from flask import current_app, request

from shared.errors import Forbidden, Unauthorized

ALGORITHM = "HS256"
AUDIENCE = "glu-courses"


class Role(StrEnum):
    ADMIN = "admin"
    SCHOOL = "school"
    HR = "hr"
    # HR who may only see, approve and reject requests (an organisation's "godkender").
    APPROVER = "approver"
    SERVICE = "service"


@dataclass(frozen=True)
class Actor:
    """The caller of a request. Anonymous callers have no role.

    A person signed in on the pages also carries who they are (`person_id`, in the service's own
    accounts) and their membership's role there (`member_role`, e.g. "school_admin"); a token
    from `issue-token` carries neither. An API key carries its role as `member_role` and its id
    (`key_id`, in the issuing service's `api_key` table), so what it does can be told apart from a
    person's.
    """

    role: Role | None = None
    provider_id: int | None = None
    organisation: str | None = None
    person_id: int | None = None
    member_role: str | None = None
    key_id: int | None = None
    # Who a short-lived token was issued for by the other service's pages (the `name` claim), for audit entries.
    acting_person: str | None = None

    @property
    def is_anonymous(self) -> bool:
        return self.role is None

    def is_school_of(self, provider_id: int) -> bool:
        return self.role is Role.SCHOOL and self.provider_id == provider_id


ANONYMOUS = Actor()
# What every API key begins with; a JWT never does (its first part is base64 of '{"').
API_KEY_PREFIX = "glu_"
# Kept with the request (not in flask.g, which lives as long as the app context) once read.
_ACTOR_KEY = "glu.actor"


def issue_token(
    secret: str, role: Role, *, provider_id: int | None = None, organisation: str | None = None,
    days: int = 30, now: datetime | None = None, lifetime: timedelta | None = None, acting_person: str | None = None,
) -> str:
    """A signed token; `lifetime` (shorter than a day) instead of `days` for a token made for one call, and
    `acting_person` to name the person on whose behalf it is made (the catalogue's pages calling the
    enrolment API for a signed-in school member), so the other service's audit log can name them."""
    if role is Role.SCHOOL and provider_id is None:
        raise ValueError("a school token needs a provider id")
    if role in (Role.HR, Role.APPROVER) and not organisation:
        raise ValueError(f"an {role.value} token needs an organisation key")
    if lifetime is None and days < 1:
        raise ValueError("a token must be valid for at least one day")
    if lifetime is not None and not timedelta(0) < lifetime <= timedelta(days=1):
        raise ValueError("a token's lifetime is more than nothing and at most a day")
    issued = now or datetime.now(UTC)
    claims = {
        "aud": AUDIENCE,
        "role": role.value,
        "iat": issued,
        "exp": issued + (lifetime if lifetime is not None else timedelta(days=days)),
        "jti": uuid.uuid4().hex,
    }
    if acting_person:
        claims["name"] = acting_person[:300]
    if provider_id is not None:
        claims["provider"] = provider_id
    if organisation:
        claims["organisation"] = organisation
    return jwt.encode(claims, secret, algorithm=ALGORITHM)


def read_token(secret: str, token: str) -> Actor:
    try:
        claims = jwt.decode(token, secret, algorithms=[ALGORITHM], audience=AUDIENCE)
        role = Role(claims["role"])
    except jwt.ExpiredSignatureError as error:
        raise Unauthorized("Adgangsnøglen er udløbet.") from error
    except (jwt.InvalidTokenError, KeyError, ValueError) as error:
        raise Unauthorized("Adgangsnøglen er ugyldig.") from error
    provider_id = claims.get("provider")
    organisation = claims.get("organisation")
    if role is Role.SCHOOL and not isinstance(provider_id, int):
        raise Unauthorized("Adgangsnøglen mangler skolens id.")
    if role in (Role.HR, Role.APPROVER) and not isinstance(organisation, str):
        raise Unauthorized("Adgangsnøglen mangler organisationen.")
    acting_person = claims.get("name")
    return Actor(role=role, provider_id=provider_id, organisation=organisation,
                 acting_person=acting_person if isinstance(acting_person, str) and acting_person else None)


def current_actor() -> Actor:
    """The caller of the current request; an invalid token is a 401, no token is anonymous."""
    if _ACTOR_KEY not in request.environ:
        header = request.headers.get("Authorization", "")
        if not header:
            request.environ[_ACTOR_KEY] = ANONYMOUS
        else:
            scheme, _, token = header.partition(" ")
            if scheme.lower() != "bearer" or not token.strip():
                raise Unauthorized("Brug 'Authorization: Bearer <adgangsnøgle>'.")
            request.environ[_ACTOR_KEY] = _read_bearer(token.strip())
    return request.environ[_ACTOR_KEY]


def _read_bearer(token: str) -> Actor:
    if token.startswith(API_KEY_PREFIX):
        api_keys = current_app.extensions.get("api_keys")
        if api_keys is None:
            raise Unauthorized("Denne tjeneste tager ikke imod API-nøgler.")
        return api_keys.actor_for_bearer(token)
    return read_token(current_app.config["GLU_TOKEN_SECRET"], token)


def require_role(*roles: Role) -> Actor:
    """The caller, if it holds one of `roles`: 401 without a token, 403 with a token of another role."""
    actor = current_actor()
    if actor.is_anonymous:
        raise Unauthorized("Denne handling kræver en adgangsnøgle.")
    if actor.role not in roles:
        raise Forbidden("Din rolle giver ikke adgang til denne handling.")
    return actor


def requires(*roles: Role):
    """View decorator: check the token before anything else, so a stranger's bad body is still a 401."""

    def decorator(view):
        @functools.wraps(view)
        def wrapper(*args, **kwargs):
            require_role(*roles)
            return view(*args, **kwargs)

        return wrapper

    return decorator

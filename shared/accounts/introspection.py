"""A key of the other service: asked there by RFC 7662 token introspection, the answer kept a few seconds.

Each service checks its own API keys in its own `api_key` table; a key of the other service it
cannot check itself, since neither service reads the other's database. So it asks the issuer:

    POST {other service}/oauth/introspect    token=glu_…    (Authorization: Bearer <service JWT>)
    → {"active": true, "role": "school", "provider_id": 3, "key_id": 7, "exp": …}  or  {"active": false}

The answer, active or not, is kept in the process for `KEY_CACHE_SECONDS` (never past the key's
expiry), so an integration's burst of calls costs one question, not one per call. Hence a revoked
key stops working on the service that issued it at once, and on the other within
`KEY_CACHE_SECONDS` (5 s). The cache's clock is the request's (shared.clock.now), which tests move.

If the other service cannot be reached or answers oddly, the request is a 503 with Retry-After,
never a 500 and never a guess: the key is neither let in nor called invalid.
"""

from __future__ import annotations

import logging
import time
from datetime import UTC, datetime, timedelta

import httpx
from flask import Flask, current_app
from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import ValidationError

from shared import clock
from shared.accounts import api_keys
from shared.accounts.sign_in import secret_hash
from shared.api import BEARER
from shared.auth import Actor, Role, issue_token, requires
from shared.errors import ServiceUnavailable, Unauthorized
from shared.lru import BoundedLru
from shared.observability import forwarded_headers
from shared.schemas.api_keys import IntrospectionRequestSchema, IntrospectionSchema

log = logging.getLogger(__name__)

INTROSPECTION_PATH = "/oauth/introspect"
KEY_CACHE_SECONDS = 5
# Answers kept per process at most: unknown keys are kept too, so a flood of made-up ones stays bounded.
MAX_CACHED_KEYS = 10_000
RETRY_AFTER_SECONDS = 10
TOKEN_LIFETIME_SECONDS = 12 * 3600
# Only the roles a membership can have: the other service's answer can never make a key an administrator.
KEY_ROLES = (Role.SCHOOL, Role.HR, Role.APPROVER)
OTHER_SERVICE = {"catalogue": "tilmeldingstjenesten", "enrolment": "kataloget"}
_ANSWER = IntrospectionSchema()

blp = Blueprint("introspection", __name__, url_prefix="/oauth",
                description="Token introspection (RFC 7662): the other service asks whether an API key is active.")


@blp.route("/introspect")
class Introspection(MethodView):
    @requires(Role.SERVICE)
    @blp.arguments(IntrospectionRequestSchema, location="form")
    @blp.response(200, IntrospectionSchema)
    @blp.doc(security=BEARER)
    def post(self, data):
        """Whether one of this service's API keys is active, and as whom it acts (for the other service only)"""
        keys = _keys()
        answer = api_keys.introspect(keys.accounts.db.session, keys, data["token"], clock.now())
        return answer, {"Cache-Control": "no-store"}


class KeyIntrospection:
    """One per app (so per worker): asks the other service about its keys and keeps the answers briefly."""

    def __init__(self, base_url: str, token_secret: str, other_service: str, *, timeout: float = 3.0,
                 transport: httpx.BaseTransport | None = None, cache_seconds: int = KEY_CACHE_SECONDS):
        self._http = httpx.Client(base_url=base_url.rstrip("/"), transport=transport,
                                  timeout=httpx.Timeout(timeout, connect=min(timeout, 2.0)))
        self._token_secret = token_secret
        self._token: tuple[str, float] | None = None
        self.other_service = other_service
        self.cache_for = timedelta(seconds=cache_seconds)
        # secret's hash -> (the answer, until when it holds)
        self._answers: BoundedLru[tuple[dict, datetime]] = BoundedLru(
            lambda _: 1, MAX_CACHED_KEYS, max_entries=MAX_CACHED_KEYS)

    def actor_for(self, secret: str, now: datetime) -> Actor:
        """The caller with the other service's key `secret`; Unauthorized if it is not active there."""
        answer = self.introspect(secret, now)
        if not answer["active"]:
            raise Unauthorized("API-nøglen er ugyldig, udløbet eller tilbagekaldt.")
        return Actor(role=Role(answer["role"]), provider_id=answer.get("provider_id"),
                     organisation=answer.get("organisation"), member_role=answer.get("member_role"),
                     key_id=answer["key_id"])

    def introspect(self, secret: str, now: datetime) -> dict:
        cache_key = secret_hash(secret)
        kept = self._answers.get(cache_key)
        if kept is not None and now < kept[1]:
            return kept[0]
        answer = self._ask(secret)
        until = now + self.cache_for
        if answer["active"]:
            until = min(until, datetime.fromtimestamp(answer["exp"], UTC))
        self._answers.put(cache_key, (answer, until))
        return answer

    def _ask(self, secret: str) -> dict:
        headers = {"Authorization": f"Bearer {self._service_token()}", **forwarded_headers()}
        try:
            response = self._http.post(INTROSPECTION_PATH, data={"token": secret}, headers=headers)
        except httpx.HTTPError as error:
            raise self._unavailable(repr(error)) from error
        if response.status_code != 200:
            raise self._unavailable(f"status {response.status_code}")
        try:
            answer = _ANSWER.load(response.json())
        except (ValueError, ValidationError) as error:
            raise self._unavailable(f"unreadable answer: {error}") from error
        if answer["active"] and not _acts_as_a_key(answer):
            raise self._unavailable(f"an active key without a key's role and scope: {sorted(answer)}")
        return answer

    def _service_token(self) -> str:
        if self._token is None or time.monotonic() - self._token[1] > TOKEN_LIFETIME_SECONDS:
            self._token = (issue_token(self._token_secret, Role.SERVICE, days=1), time.monotonic())
        return self._token[0]

    def _unavailable(self, reason: str) -> ServiceUnavailable:
        log.warning("Key introspection at %s failed: %s", self.other_service, reason)
        return ServiceUnavailable(f"API-nøglen kan ikke kontrolleres lige nu, fordi {self.other_service} ikke kan "
                                  "nås. Prøv igen om lidt.", retry_after_seconds=RETRY_AFTER_SECONDS)


def _acts_as_a_key(answer: dict) -> bool:
    if answer.get("role") not in {role.value for role in KEY_ROLES} or "key_id" not in answer or "exp" not in answer:
        return False
    if answer["role"] == Role.SCHOOL:
        return answer.get("provider_id") is not None
    return bool(answer.get("organisation"))


def install_api_keys(app: Flask, api, model: type, *, other_url: str | None,
                     other_transport: httpx.BaseTransport | None = None) -> None:
    """Accept API keys on `app`: its own in `model`'s table, the other service's asked at `other_url`.

    Without `other_url` the other service's keys are refused here (401) rather than guessed at.
    """
    service_accounts = app.extensions["accounts"]
    app.extensions["api_keys"] = api_keys.ApiKeys(service_accounts, model)
    if other_url:
        app.extensions["key_introspection"] = KeyIntrospection(
            other_url, app.config["GLU_TOKEN_SECRET"], OTHER_SERVICE[service_accounts.service],
            transport=other_transport)
    api.register_blueprint(blp)


def _keys() -> api_keys.ApiKeys:
    return current_app.extensions["api_keys"]

"""The only code in the catalogue that calls the enrolment service's API: the school's desk pages' way to it.

The school's people sign in here, but their participants live in the enrolment service, so the
desk calls its API on the signed-in member's behalf: with a school token for their school that
lives one minute and names the person (shared.auth.issue_token's `acting_person`), so the
enrolment service decides by its own rules (its school-only endpoints) and its audit log says who
acted. Every call has a timeout; a service that is down, unconfigured or broken becomes a 503
with Retry-After (shared.errors.ServiceUnavailable, shown as a Danish page). The enrolment
service's refusals come back as the same domain errors (404, 403, 409, 422 with its field errors),
so a page shows them as it shows its own.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta

import httpx

from shared.auth import Role, issue_token
from shared.errors import Conflict, FieldError, Forbidden, NotFound, ServiceUnavailable, ValidationFailed
from shared.observability import forwarded_headers

log = logging.getLogger(__name__)
RETRY_AFTER_SECONDS = 30
TOKEN_LIFETIME = timedelta(minutes=1)
# A 401 would mean the services do not share GLU_TOKEN_SECRET: for the person, the service is unavailable.
_REFUSALS = {403: Forbidden, 404: NotFound, 409: Conflict, 422: ValidationFailed}


@dataclass(frozen=True)
class SchoolMember:
    """The signed-in person the call is made for: their school, and how the audit log names them."""

    provider_id: int
    name: str


class EnrolmentClient:
    """One per app, so one per gunicorn worker: its connection pool is reused by every request."""

    def __init__(self, base_url: str | None, token_secret: str, *, timeout: float = 5.0,
                 transport: httpx.BaseTransport | None = None):
        self._configured = bool(base_url)
        self._http = httpx.Client(base_url=(base_url or "http://enrolment.invalid").rstrip("/"), transport=transport,
                                  timeout=httpx.Timeout(timeout, connect=min(timeout, 2.0)))
        self._token_secret = token_secret

    def participants(self, member: SchoolMember, offering_id: int) -> list[dict]:
        return self._json(member, "GET", f"/offerings/{offering_id}/participants")["items"]

    def participants_csv(self, member: SchoolMember, offering_id: int) -> bytes:
        return self._call(member, "GET", f"/offerings/{offering_id}/participants.csv").content

    def attendance(self, member: SchoolMember, offering_id: int) -> dict:
        return self._json(member, "GET", f"/offerings/{offering_id}/attendance")

    def record_attendance(self, member: SchoolMember, offering_id: int, session_id: int, attended: list[int]) -> dict:
        return self._json(member, "PUT", f"/offerings/{offering_id}/sessions/{session_id}/attendance",
                          json={"attended": attended})

    def record_completion(self, member: SchoolMember, enrolment_id: int, result: str, note: str | None) -> dict:
        return self._json(member, "PUT", f"/enrolments/{enrolment_id}/completion",
                          json={"result": result, "note": note})

    def send_message(self, member: SchoolMember, offering_id: int, subject: str, text: str) -> int:
        return self._json(member, "POST", f"/offerings/{offering_id}/messages",
                          json={"subject": subject, "text": text})["recipients"]

    def demand(self, member: SchoolMember, module: str | None = None, region: str | None = None) -> list[dict]:
        """How many are interested in each module and region (GET /interests/demand): counts, no names."""
        query = {name: value for name, value in (("module", module), ("region", region)) if value}
        return self._json(member, "GET", "/interests/demand", params=query)["items"]

    def _json(self, member: SchoolMember, method: str, path: str, **kwargs) -> dict:
        response = self._call(member, method, path, **kwargs)
        try:
            return response.json()
        except ValueError as error:
            raise self._unavailable(f"unreadable answer to {method} {path}") from error

    def _call(self, member: SchoolMember, method: str, path: str, **kwargs) -> httpx.Response:
        if not self._configured:
            raise self._unavailable("ENROLMENT_URL is not set")
        token = issue_token(self._token_secret, Role.SCHOOL, provider_id=member.provider_id,
                            lifetime=TOKEN_LIFETIME, acting_person=member.name)
        # The current request's X-Request-ID goes along, so one id follows the request into the enrolment service.
        headers = {"Authorization": f"Bearer {token}", **forwarded_headers()}
        try:
            response = self._http.request(method, path, headers=headers, **kwargs)
        except httpx.HTTPError as error:
            raise self._unavailable(repr(error)) from error
        if response.status_code < 300:
            return response
        refusal = _REFUSALS.get(response.status_code)
        if refusal is None:
            raise self._unavailable(f"{method} {path}: status {response.status_code}")
        raise _refusal(refusal, response)

    @staticmethod
    def _unavailable(reason: str) -> ServiceUnavailable:
        log.warning("Enrolment service unavailable: %s", reason)
        return ServiceUnavailable("Tilmeldingstjenesten kan ikke nås lige nu, så deltagerlisten kan ikke vises eller "
                                  "ændres. Prøv igen om lidt.", retry_after_seconds=RETRY_AFTER_SECONDS)


def _refusal(kind: type, response: httpx.Response) -> Exception:
    """The enrolment service's problem+json as the same domain error, its field errors kept."""
    try:
        problem = response.json()
    except ValueError:
        problem = {}
    detail = problem.get("detail") or problem.get("title") or "Tilmeldingstjenesten afviste handlingen."
    errors = [FieldError(item.get("pointer", ""), item.get("message", "")) for item in problem.get("errors") or []
              if isinstance(item, dict)]
    return kind(detail, errors)

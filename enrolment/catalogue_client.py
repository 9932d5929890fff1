"""The only code that knows where the catalogue is: reads offerings, tells it about seats.

Responses are read with the shared schemas, every call has a timeout, and a catalogue that is
down or broken becomes a 503 problem with Retry-After for the one request that needed it.
"""

from __future__ import annotations

import logging
import time
from dataclasses import asdict, dataclass

import httpx
from marshmallow import ValidationError

from shared.auth import Role, issue_token
from shared.errors import NotFound, ServiceUnavailable
from shared.observability import forwarded_headers
from shared.schemas import OfferingChangesSchema, OfferingSchema, SeatCountsBatchSchema, page_of

log = logging.getLogger(__name__)
RETRY_AFTER_SECONDS = 30
TOKEN_LIFETIME_SECONDS = 12 * 3600
# The modules change a few times a year (an administrator's edit); "Mine kurser" shows them on every view.
MODULES_KEPT_SECONDS = 600
# One instance of each for every call: building a schema costs more than loading with it.
_OFFERING_SCHEMA = OfferingSchema()
_SEAT_COUNTS_BATCH_SCHEMA = SeatCountsBatchSchema()
_OFFERING_PAGE_SCHEMA = page_of(OfferingSchema)()
# Searching reads at most this many pages of SEARCH_PAGE offerings: one module's offerings from a
# given week on are a few dozen, so the bound only stops a runaway loop.
SEARCH_PAGE = 100
MAX_SEARCH_PAGES = 10


@dataclass(frozen=True)
class SeatCounts:
    """An offering's seat counts as the catalogue takes them (PUT /offerings/seats)."""

    taken: int
    waitlisted: int
    version: int


class CatalogueClient:
    """One per app, so one per gunicorn worker: its connection pool is reused by every request."""

    def __init__(self, base_url: str, token_secret: str, *, timeout: float = 5.0,
                 transport: httpx.BaseTransport | None = None):
        self._http = httpx.Client(base_url=base_url.rstrip("/"), transport=transport,
                                  timeout=httpx.Timeout(timeout, connect=min(timeout, 2.0)))
        self._token_secret = token_secret
        self._token: tuple[str, float] | None = None
        self._modules: tuple[set[str], float] | None = None
        self._programme_modules: dict[str, tuple[list[dict], float]] = {}

    def get_offering(self, offering_id: int) -> dict:
        """The offering as the catalogue shows it now (drafts included: the service role sees them)."""
        response = self._request("GET", f"/offerings/{offering_id}")
        if response.status_code == 404:
            raise NotFound(f"Udbud {offering_id} findes ikke i kataloget.")
        if response.status_code != 200:
            raise self._unavailable(f"status {response.status_code}")
        try:
            return _OFFERING_SCHEMA.load(response.json())
        except (ValueError, ValidationError) as error:
            raise self._unavailable(f"unreadable offering: {error}") from error

    def get_changes(self, since: int, limit: int = 100) -> dict:
        """A page of the change feed: {"items": [offering, …], "last_seq", "more"}, each offering as in get_offering."""
        response = self._request("GET", "/offerings/changes", params={"since": since, "limit": limit})
        if response.status_code != 200:
            raise self._unavailable(f"change feed: status {response.status_code}")
        try:
            return OfferingChangesSchema().load(response.json())
        except (ValueError, ValidationError) as error:
            raise self._unavailable(f"unreadable change feed: {error}") from error

    def search_offerings(self, **query) -> list[dict]:
        """Every offering the public search finds (GET /offerings with OfferingQuerySchema's parameters), soonest
        first, read page by page; each as in get_offering."""
        found: list[dict] = []
        for page in range(1, MAX_SEARCH_PAGES + 1):
            response = self._request("GET", "/offerings", params={**query, "page": page, "per_page": SEARCH_PAGE})
            if response.status_code != 200:
                raise self._unavailable(f"search: status {response.status_code}")
            try:
                body = _OFFERING_PAGE_SCHEMA.load(response.json())
            except (ValueError, ValidationError) as error:
                raise self._unavailable(f"unreadable search: {error}") from error
            found += body["items"]
            if not body["items"] or page * SEARCH_PAGE >= body["total"]:
                break
        return found

    def put_seat_counts(self, counts: dict[int, SeatCounts]) -> set[int] | None:
        """Tell the catalogue these offerings' seat counts in one request (PUT /offerings/seats).

        The ids of the offerings it took them for (unknown ones are left out), or None, with a log
        line, if it could not be told.
        """
        body = _SEAT_COUNTS_BATCH_SCHEMA.dump({"offerings": [{"offering_id": offering_id, **asdict(offering_counts)}
                                                             for offering_id, offering_counts in counts.items()]})
        try:
            response = self._request("PUT", "/offerings/seats", json=body)
        except ServiceUnavailable:
            return None
        if response.status_code != 200:
            log.warning("Catalogue refused seat counts for %s offerings: %s", len(counts), response.status_code)
            return None
        unknown = set(response.json().get("unknown", []))
        if unknown:
            log.warning("Catalogue does not know offerings %s", sorted(unknown))
        return set(counts) - unknown

    def module_codes(self) -> set[str]:
        """The codes of every module in the catalogue (GET /modules, public): what an interest may name.

        Kept for MODULES_KEPT_SECONDS, so the pages that offer them do not ask the catalogue on every view.
        """
        if self._modules is not None and time.monotonic() - self._modules[1] < MODULES_KEPT_SECONDS:
            return self._modules[0]
        response = self._request("GET", "/modules")
        if response.status_code != 200:
            raise self._unavailable(f"modules: status {response.status_code}")
        try:
            codes = {item["code"] for item in response.json()["items"]}
        except (ValueError, KeyError, TypeError) as error:
            raise self._unavailable(f"unreadable modules: {error}") from error
        self._modules = (codes, time.monotonic())
        return codes

    def programme_modules(self, programme: str) -> list[dict]:
        """The programme's modules ({"code", "title"}) in programme order (GET /modules, public): the GLU path.

        Kept for MODULES_KEPT_SECONDS like module_codes: "Mine kurser" shows the path on every view.
        """
        kept = self._programme_modules.get(programme)
        if kept is not None and time.monotonic() - kept[1] < MODULES_KEPT_SECONDS:
            return kept[0]
        response = self._request("GET", "/modules")
        if response.status_code != 200:
            raise self._unavailable(f"modules: status {response.status_code}")
        try:
            modules = [{"code": item["code"], "title": item["title"]} for item in response.json()["items"]
                       if item.get("programme") == programme]
        except (ValueError, KeyError, TypeError) as error:
            raise self._unavailable(f"unreadable modules: {error}") from error
        self._programme_modules[programme] = (modules, time.monotonic())
        return modules

    def is_reachable(self, timeout: float = 2.0) -> bool:
        """Whether the catalogue answers its /healthz with 200 within `timeout` seconds (for /readyz)."""
        try:
            response = self._http.get("/healthz", headers=forwarded_headers(), timeout=timeout)
        except httpx.HTTPError:
            return False
        return response.status_code == 200

    def _request(self, method: str, path: str, **kwargs) -> httpx.Response:
        # The current request's X-Request-ID goes along, so one id follows the request into the catalogue.
        headers = {"Authorization": f"Bearer {self._service_token()}", **forwarded_headers()}
        try:
            return self._http.request(method, path, headers=headers, **kwargs)
        except httpx.HTTPError as error:
            raise self._unavailable(repr(error)) from error

    def _service_token(self) -> str:
        if self._token is None or time.monotonic() - self._token[1] > TOKEN_LIFETIME_SECONDS:
            self._token = (issue_token(self._token_secret, Role.SERVICE, days=1), time.monotonic())
        return self._token[0]

    @staticmethod
    def _unavailable(reason: str) -> ServiceUnavailable:
        log.warning("Catalogue unavailable: %s", reason)
        return ServiceUnavailable("Kataloget kan ikke nås lige nu, så nye tilmeldinger venter. Prøv igen om lidt.",
                                  retry_after_seconds=RETRY_AFTER_SECONDS)

"""Rate limits on what strangers can repeat, every limit's numbers in this one place (and the README).

On the `limits` library (the one under Flask-Limiter), called where the limit applies rather than
as a route decorator, because several limits key on a form field or a body's address, and a refusal
goes through the one error handler like every other: a Danish page or problem+json, with
Retry-After. A refused request has done nothing yet: each check comes before the domain function.

The counters live in `RATE_LIMIT_STORAGE_URL`: `memory://` by default (per process, so with two
gunicorn workers a limit is at most twice as generous; fine for `make run`), `redis://…` where
several workers and machines must share them (docker compose). Each service counts in its own
namespace, so one Redis can serve both.

When the counters cannot be reached (Redis restarting, say) the request goes on, with a warning in
the log: a limit is a brake on abuse, not part of what makes an answer right, and refusing every
sign-in and search of a public service while Redis is away would do strangers' work for them.

Per IP is the direct peer, `request.remote_addr`, unless RATE_LIMIT_TRUSTED_PROXIES says how many
reverse proxies in front append the client's address to X-Forwarded-For: then it is the entry that
many from the right, the one the outermost of our proxies wrote (what werkzeug's ProxyFix(x_for=n)
would take, without changing remote_addr for the rest of the app). Left at 0 behind a proxy, every
stranger would share the proxy's address and its limits; set without such a proxy, a client could
name any address it liked.
"""

from __future__ import annotations

import functools
import logging
import math
import time
from collections.abc import Callable
from dataclasses import dataclass

from flask import Flask, current_app, request
from limits import parse
from limits.errors import StorageError
from limits.storage import storage_from_string
from limits.strategies import MovingWindowRateLimiter

from shared.auth import Actor, current_actor
from shared.errors import DomainError

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Limit:
    """`rate` in the limits library's notation ("5/15 minutes"), counted per key in namespace `name`."""

    name: str
    rate: str
    message: str


_LINKS = "Du har bedt om mange links på kort tid. Vent lidt, og prøv igen."
_MY_LINKS = "Du har bedt om dine links mange gange på kort tid. Vent lidt, og prøv igen."
_SIGN_IN = "Der er forsøgt at logge ind mange gange på kort tid herfra. Vent lidt, og prøv igen."
_SEAT_REQUESTS = "Der er anmodet om mange pladser på kort tid. Vent lidt, og prøv igen."
_SEARCH = "Der er søgt mange gange på kort tid herfra. Vent lidt, og prøv igen."

# Asking for a sign-in link (shared.accounts.pages), which also starts single sign-on: each link is a
# mail to the address, so per address it is few; per IP more, since a municipality's staff share one.
SIGN_IN_LINK_PER_ADDRESS = Limit("sign-in-link:address", "5/15 minutes", _LINKS)
SIGN_IN_LINK_PER_IP = Limit("sign-in-link:ip", "30/15 minutes", _LINKS)
# Using a link (its page and its button: two requests a sign-in) and the identity provider's answer.
# Secrets cannot be guessed anyway; this only keeps one address from hammering the lookups.
SIGN_IN_PER_IP = Limit("sign-in:ip", "60/15 minutes", _SIGN_IN)
# 'Send mine links igen' (enrolment.pages.my_links): a mail with a leader's links to the address.
MY_LINKS_PER_ADDRESS = Limit("my-links:address", "3/15 minutes", _MY_LINKS)
MY_LINKS_PER_IP = Limit("my-links:ip", "20/15 minutes", _MY_LINKS)
# A leader's seat request (POST /requests, /anmod/<offering_id>): each one mails a confirmation link
# to the address, so per address a few an hour (a leader asks for one or two holds at a time).
SEAT_REQUESTS_PER_ADDRESS = Limit("seat-request:address", "5/hour", _SEAT_REQUESTS)
SEAT_REQUESTS_PER_IP = Limit("seat-request:ip", "30/hour", _SEAT_REQUESTS)
# Anonymous search (GET /offerings, /soeg), API and page counted together. A person clicking through
# filters and pages does well under one search a second; 60 a minute leaves room for a school's
# class at one NAT and stops only a scraper, which can use the change feed or a token instead.
ANONYMOUS_SEARCH_PER_IP = Limit("search:ip", "60/minute", _SEARCH)

ALL_LIMITS = (SIGN_IN_LINK_PER_ADDRESS, SIGN_IN_LINK_PER_IP, SIGN_IN_PER_IP, MY_LINKS_PER_ADDRESS, MY_LINKS_PER_IP,
              SEAT_REQUESTS_PER_ADDRESS, SEAT_REQUESTS_PER_IP, ANONYMOUS_SEARCH_PER_IP)

# The 429's Retry-After, as a view that is limited documents it (@blp.alt_response(429, …, headers=…)).
RETRY_AFTER = {"Retry-After": {"description": "Seconds until the limit allows another attempt",
                               "schema": {"type": "integer", "minimum": 1}}}

# A Redis that does not answer must not hold a request up for long: it fails open after this.
REDIS_TIMEOUT_SECONDS = 0.5


class TooManyRequests(DomainError):
    status = 429
    title = "For mange forsøg"

    def __init__(self, detail: str, retry_after_seconds: int):
        super().__init__(detail, headers={"Retry-After": str(retry_after_seconds)})
        self.retry_after_seconds = retry_after_seconds


def install_rate_limits(app: Flask) -> None:
    url = app.config.get("RATE_LIMIT_STORAGE_URL") or "memory://"
    options = ({"socket_timeout": REDIS_TIMEOUT_SECONDS, "socket_connect_timeout": REDIS_TIMEOUT_SECONDS}
               if url.startswith(("redis://", "rediss://")) else {})
    # wrap_exceptions: the storage's own errors (redis', say) arrive as one StorageError to fail open on.
    storage = storage_from_string(url, wrap_exceptions=True, **options)
    app.extensions["rate_limits"] = MovingWindowRateLimiter(storage)


def client_ip() -> str:
    proxies = current_app.config.get("RATE_LIMIT_TRUSTED_PROXIES", 0)
    if proxies:
        forwarded = [part.strip() for part in request.headers.get("X-Forwarded-For", "").split(",") if part.strip()]
        if len(forwarded) >= proxies:
            return forwarded[-proxies]
    return request.remote_addr or "unknown"


def check(limit: Limit, key: str) -> None:
    """Count one attempt at `limit` for `key`; TooManyRequests, with Retry-After, once it is spent."""
    limiter: MovingWindowRateLimiter = current_app.extensions["rate_limits"]
    item = parse(limit.rate)
    namespace = (current_app.name, limit.name)
    try:
        if limiter.hit(item, *namespace, key):
            return
        reset_at = limiter.get_window_stats(item, *namespace, key).reset_time
    except StorageError as error:
        log.warning("Rate limit %s not applied: its counters cannot be reached (%s)", limit.name, error.storage_error)
        return
    raise TooManyRequests(limit.message, max(1, math.ceil(reset_at - time.time())))


def check_ip_and_address(per_ip: Limit, per_address: Limit, address: str) -> None:
    """Both limits of something that mails an address: the caller's IP first, then the address."""
    check(per_ip, client_ip())
    check(per_address, address.strip().casefold())


def limit_anonymous(limit: Limit, actor: Callable[[], Actor] = current_actor):
    """Decorate a view: `limit` per IP for callers without credentials; anyone with a valid token or
    session is not counted (an invalid token is still the 401 it always was).

    Put it outermost, above a response cache, so that a cached answer is counted too."""

    def decorator(view):
        @functools.wraps(view)
        def wrapper(*args, **kwargs):
            if actor().is_anonymous:
                check(limit, client_ip())
            return view(*args, **kwargs)

        return wrapper

    return decorator

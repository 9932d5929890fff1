"""Telling the enrolment service that a school changed an offering, so it can act at once.

After a school's change is committed, the enrolment service is asked to read the offering again
(`POST {ENROLMENT_URL}/offerings/{id}/refresh`): a raised capacity then promotes from the waiting
list without waiting for any periodic job. The call runs on a background thread, so the school's
response never waits for it and two services calling each other cannot tie up each other's
workers. A notice that is lost (the enrolment service down, the process restarted) is caught up
by `flask --app enrolment sync-seats`.
"""

from __future__ import annotations

import logging
import threading

import httpx

from shared.auth import Role, issue_token

log = logging.getLogger(__name__)


class EnrolmentNotifier:
    def __init__(self, enrolment_url: str | None, token_secret: str, *, transport: httpx.BaseTransport | None = None,
                 in_background: bool = True):
        self._url = enrolment_url.rstrip("/") if enrolment_url else None
        self._secret = token_secret
        self._transport = transport
        self._in_background = in_background

    def offering_changed(self, offering_id: int) -> None:
        if self._url is None:
            return
        if self._in_background:
            threading.Thread(target=self._send, args=(offering_id,), daemon=True).start()
        else:
            self._send(offering_id)

    def _send(self, offering_id: int) -> None:
        token = issue_token(self._secret, Role.SERVICE, days=1)
        try:
            with httpx.Client(transport=self._transport, timeout=10.0) as client:
                response = client.post(f"{self._url}/offerings/{offering_id}/refresh",
                                       headers={"Authorization": f"Bearer {token}"})
            if response.status_code != 200:
                log.warning("Enrolment service answered %s to the change of offering %s",
                            response.status_code, offering_id)
        except httpx.HTTPError as error:
            log.warning("Enrolment service not told of the change of offering %s: %r", offering_id, error)

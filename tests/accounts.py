"""Helpers for tests of people signed in on the pages (shared.accounts), for either service's app."""

from __future__ import annotations

import re
from datetime import timedelta

from shared.accounts import SESSION_KEY
from shared.accounts.members import add_membership, add_person
from shared.accounts.sign_in import start_session
from shared.db import utcnow
from shared.transaction import commit

LINK = re.compile(r"https?://[^\s]+/log-ind/([A-Za-z0-9_-]+)")


def add_member(app, email: str, tenant_id: int | None, role: str | None, name: str = "Karen Holm", *,
               is_admin: bool = False) -> int:
    """A person with a membership (or none, for an administrator); returns the person's id."""
    accounts = app.extensions["accounts"]
    with app.app_context():
        person = add_person(accounts.db.session, accounts, name, email, is_admin=is_admin)
        if tenant_id is not None:
            add_membership(accounts.db.session, accounts, person, tenant_id, role)
        commit(accounts.db.session)
        return person.id


def sign_in_directly(app, client, email: str, now=None) -> None:
    """The browser `client` signed in as the person with `email`, as a used sign-in link leaves it
    (at `now`, for an app whose injected clock has moved on)."""
    accounts = app.extensions["accounts"]
    with app.app_context():
        person = accounts.db.session.query(accounts.models.Person).filter_by(email_key=email.casefold()).one()
        secret = start_session(accounts.db.session, accounts.models, person, via="link", user_agent="test",
                               now=now or utcnow())
        commit(accounts.db.session)
    with client.session_transaction() as cookie:
        cookie.clear()
        cookie[SESSION_KEY] = secret


def secrets_in(messages) -> list[str]:
    """The sign-in link secrets in these mails, in order."""
    return [match for message in messages for match in LINK.findall(message.get_body().get_content())]


class Clock:
    """An injectable clock for app.config["CLOCK"]: now, or later after advance()."""

    def __init__(self):
        self.at = utcnow()

    def __call__(self):
        return self.at

    def advance(self, **delta) -> None:
        self.at += timedelta(**delta)

"""Signing in without a password: a one-time link by e-mail, then a session that ends.

- `request_link`: someone gives an address. If a person with a membership (or an administrator)
  has it, a link valid `LINK_VALID` is made and its mail returned for sending after the commit;
  otherwise nothing is made. The page answers the same either way, so it tells no one who has an
  account.
- `redeem_link`: the link's row is locked, then read, then checked (unused, not expired) and
  marked used, so two clicks at once sign in once: the second waits for the first's lock and then
  finds it used.
- `start_session` / `current_session` / `end_session`: a new random session id at every sign-in
  (a session id known before signing in is worth nothing after), kept only as a hash; a session
  ends at sign-out, or after `IDLE_LIMIT` without a request.

Secrets are 32 random bytes (URL-safe base64) and stored as SHA-256: a copy of the database lets
no one in.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session as DbSession

from shared.accounts.models import AccountModels
from shared.errors import DomainError

LINK_VALID = timedelta(minutes=15)
INVITATION_VALID = timedelta(days=7)
IDLE_LIMIT = timedelta(hours=8)  # a working day
# last_seen_at is written at most this often: a page view is not a write each time.
TOUCH_EVERY = timedelta(minutes=1)


class LinkRefused(DomainError):
    """A sign-in or invitation link that does not let anyone in (shown as a page, with a way to ask again)."""

    status = 400
    title = "Linket kan ikke bruges"


def new_secret() -> str:
    return secrets.token_urlsafe(32)


def secret_hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def email_key(email: str) -> str:
    return email.strip().casefold()


@dataclass(frozen=True)
class LinkMail:
    """What to mail once the link is committed: the secret appears only here and in the mail."""

    recipient: str
    name: str
    secret: str
    purpose: str


def find_person(db: DbSession, models: AccountModels, email: str):
    return db.scalar(select(models.Person).where(models.Person.email_key == email_key(email)))


def may_sign_in(person) -> bool:
    return person is not None and (person.is_admin or bool(person.memberships))


def request_link(db: DbSession, models: AccountModels, email: str, next_path: str | None,
                 now: datetime) -> LinkMail | None:
    """A sign-in link for the person with this address, or None if no one here may sign in with it."""
    person = find_person(db, models, email)
    if not may_sign_in(person):
        return None
    return _add_link(db, models, person, "sign_in", next_path, now + LINK_VALID, now)


def invitation_link(db: DbSession, models: AccountModels, person, now: datetime) -> LinkMail:
    """The link in an invitation: like a sign-in link, valid a week."""
    return _add_link(db, models, person, "invitation", None, now + INVITATION_VALID, now)


def _add_link(db: DbSession, models: AccountModels, person, purpose: str, next_path: str | None,
              expires_at: datetime, now: datetime) -> LinkMail:
    secret = new_secret()
    db.add(models.SignInLink(token_hash=secret_hash(secret), purpose=purpose, person=person, next_path=next_path,
                             created_at=now, expires_at=expires_at))
    return LinkMail(recipient=person.email, name=person.name, secret=secret, purpose=purpose)


def peek_link(db: DbSession, models: AccountModels, secret: str, now: datetime):
    """The link's row if it could be used now (for the page that asks to confirm), else LinkRefused."""
    link = db.scalar(select(models.SignInLink).where(models.SignInLink.token_hash == secret_hash(secret)))
    _check_link(link, now)
    return link


def redeem_link(db: DbSession, models: AccountModels, secret: str, now: datetime):
    """Use the link once: the link's row, locked and marked used; LinkRefused if it cannot be used."""
    # Lock, then read: of two redemptions at once, the second reads the first's used_at.
    link = db.scalar(select(models.SignInLink).where(models.SignInLink.token_hash == secret_hash(secret))
                     .with_for_update().execution_options(populate_existing=True))
    _check_link(link, now)
    if not may_sign_in(link.person):
        raise LinkRefused("Du har ikke længere adgang her. Kontakt den, der inviterede dig.")
    link.used_at = now
    return link


def _check_link(link, now: datetime) -> None:
    if link is None:
        raise LinkRefused("Linket er ugyldigt. Bed om et nyt link herunder.")
    if link.used_at is not None:
        raise LinkRefused("Linket er allerede brugt. Et link virker kun én gang; bed om et nyt herunder.")
    if link.expires_at <= now:
        raise LinkRefused("Linket er udløbet. Bed om et nyt link herunder.")


def start_session(db: DbSession, models: AccountModels, person, *, via: str, user_agent: str,
                  now: datetime, membership=None) -> str:
    """A new session for `person`, acting in `membership` (default: their first); returns the cookie's secret."""
    secret = new_secret()
    if membership is None and not person.is_admin and person.memberships:
        membership = person.memberships[0]
    db.add(models.WebSession(token_hash=secret_hash(secret), person=person, membership=membership, created_at=now,
                             last_seen_at=now, via=via, user_agent=user_agent[:200]))
    return secret


def current_session(db: DbSession, models: AccountModels, secret: str | None, now: datetime):
    """The live session the cookie names, its last_seen_at kept current; None if ended, idle too long or unknown."""
    if not secret:
        return None
    web_session = db.scalar(select(models.WebSession).where(models.WebSession.token_hash == secret_hash(secret)))
    if web_session is None or web_session.ended_at is not None:
        return None
    if now - web_session.last_seen_at > IDLE_LIMIT:
        return None
    if web_session.membership is not None and web_session.membership.person_id != web_session.person_id:
        return None
    if web_session.membership is None and not web_session.person.is_admin:
        return None  # removed from the school or organisation it acted in
    if now - web_session.last_seen_at > TOUCH_EVERY:
        web_session.last_seen_at = now
    return web_session


def end_session(web_session, now: datetime) -> None:
    if web_session.ended_at is None:
        web_session.ended_at = now


def sessions_of(db: DbSession, models: AccountModels, person, now: datetime) -> list:
    """The person's live sessions, newest first (for "Min profil")."""
    live = db.scalars(select(models.WebSession).where(models.WebSession.person_id == person.id,
                                                       models.WebSession.ended_at.is_(None),
                                                       models.WebSession.last_seen_at > now - IDLE_LIMIT)
                      .order_by(models.WebSession.id.desc()))
    return list(live)


def switch_membership(web_session, membership_id: int | None) -> None:
    """Act in another of the person's memberships (None: as administrator); Forbidden-like refusal otherwise."""
    person = web_session.person
    if membership_id is None and person.is_admin:
        web_session.membership = None
        return
    chosen = next((membership for membership in person.memberships if membership.id == membership_id), None)
    if chosen is None:
        raise LinkRefused("Du er ikke medlem af den skole eller organisation.")
    web_session.membership = chosen

"""The local mailbox page, /postkasse: the mails `make run`'s mail server received, newest first.

Only where MAILBOX_DIR names a Maildir (make run sets it to instance/mailbox), so a newcomer can
follow a sign-in link without an SMTP server of their own. It shows every mail to anyone who can
reach the service, which is why nothing but a local development setup sets MAILBOX_DIR.
"""

from __future__ import annotations

import mailbox
from datetime import UTC, datetime
from email.parser import BytesParser
from email.policy import default as default_policy
from email.utils import parsedate_to_datetime
from pathlib import Path

from flask import Blueprint, Flask, abort, current_app, render_template

# Named …_pages so that errors on these routes render as HTML pages (shared.pages.is_page_request).
blp = Blueprint("mailbox_pages", __name__)
SHOWN = 50
_NEVER = datetime.min.replace(tzinfo=UTC)


def install_mailbox(app: Flask) -> None:
    if app.config.get("MAILBOX_DIR"):
        app.register_blueprint(blp)


@blp.route("/postkasse")
def inbox():
    folder = Path(current_app.config["MAILBOX_DIR"])
    if not (folder / "new").is_dir():
        abort(404)
    parse = BytesParser(policy=default_policy).parse
    received = [message for message in mailbox.Maildir(folder, factory=parse, create=False)]
    received.sort(key=_sent_at, reverse=True)
    shown = [{"when": _sent_at(message), "to": message["To"], "subject": message["Subject"],
              "text": _text(message)} for message in received[:SHOWN]]
    return render_template("shared/mailbox.html", messages=shown, total=len(received))


def _sent_at(message) -> datetime:
    try:
        return parsedate_to_datetime(message["Date"])
    except (TypeError, ValueError):
        return _NEVER


def _text(message) -> str:
    body = message.get_body(preferencelist=("plain",))
    return body.get_content() if body is not None else ""

"""The privacy notice (GDPR art. 13–14), `/privatliv` on both services, linked from every page's footer.

Its facts that can change with the configuration — how long each purpose keeps its data — are
rendered from the same `Retention` the purge jobs use (shared.retention), so the notice cannot say
one period while the job applies another. The rest (who is responsible, purposes, legal bases,
rights, complaints) is the template's text, shared/templates/shared/privacy_notice.html; the record of
processing activities (docs/record-of-processing.md) says the same for the supervisory authority.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask import Blueprint, Flask, current_app, render_template

from shared.retention import Retention

# Named …_pages, so its errors are HTML pages (shared.pages.is_page_request).
blp = Blueprint("privacy_notice_pages", __name__, template_folder="templates")


@dataclass(frozen=True)
class Kept:
    """One line of the notice's retention table: what, how long, counted from when."""

    what: str
    period: str
    counted_from: str


def install_privacy_notice(app: Flask) -> None:
    app.register_blueprint(blp)


@blp.route("/privatliv")
def privacy_notice():
    layout = current_app.extensions["accounts"].layout
    return render_template("shared/privacy_notice.html", layout=layout,
                           kept=retention_table(Retention.from_config(current_app.config)))


def retention_table(retention: Retention) -> list[Kept]:
    """What the notice says is kept how long, in Danish, from the configured periods."""
    return [
        Kept("Navn, e-mailadresse og tilmeldinger (deltagere)", _months(retention.enrolment_months),
             "efter kursets sidste dag; derefter erstattes navn og adresse af et pseudonym"),
        Kept("Gennemførte moduler (GLU-forløbet)",
             f"{_years(retention.completion_years)}, medmindre din organisation har valgt en anden periode",
             "efter kursets sidste dag"),
        Kept("Fakturagrundlag (EAN-nummer, ordrereference og sporet af, hvad der er købt)",
             _years(retention.invoice_years), "efter udgangen af regnskabsåret (bogføringsloven § 10)"),
        Kept("Log-ind-links og sessioner", _days(retention.sign_in_days),
             "efter at linket udløb eller sessionen sluttede"),
        Kept("Indholdet af sendte e-mails", _weeks(retention.mail_body_weeks),
             "efter afsendelsen (modtager, emne og tidspunkt bevares som dokumentation)"),
        Kept("Beskeder mellem de to tjenester (pladstal, ændringer)", _days(retention.delivery_days),
             "efter levering"),
        Kept("Revisionslog (hvem gjorde hvad)", _years(retention.audit_years),
             f"efter handlingen, og mindst {_years(retention.invoice_years)} efter udgangen af regnskabsåret, "
             "fordi loggen også viser, hvad der er købt"),
    ]


def _years(count: int) -> str:
    return f"{count} år"


def _months(count: int) -> str:
    return f"{count} måned" if count == 1 else f"{count} måneder"


def _weeks(count: int) -> str:
    return f"{count} uge" if count == 1 else f"{count} uger"


def _days(count: int) -> str:
    return f"{count} dag" if count == 1 else f"{count} dage"

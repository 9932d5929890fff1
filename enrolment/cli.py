"""Commands: `flask --app enrolment seed`, `issue-token`, `sync-seats`, `sync-changes` and `send-mail`."""

import click
from flask import Flask, current_app
from flask.cli import with_appcontext
from sqlalchemy import select

from enrolment.change_feed import catch_up
from enrolment.changes import refresh_offering
from enrolment.mail import SmtpSettings, send_pending
from enrolment.models import OfferingSeats, db
from enrolment.seed import seed_organisations
from shared.commands import issue_token_command
from shared.errors import DomainError


@click.command("seed")
@with_appcontext
def seed_command() -> None:
    """Create the demo organisations (Viborg, Randers, Norddjurs, Syddjurs, …); safe to run again."""
    report = seed_organisations(db.session)
    db.session.commit()
    click.echo(report)


@click.command("sync-seats")
@with_appcontext
def sync_seats_command() -> None:
    """Reconcile: read every known offering from the catalogue, promote where capacity rose, send the counts.

    A safety net for changes the catalogue could not be told about at the time; run it from cron.
    """
    client = current_app.extensions["catalogue_client"]
    offering_ids = list(db.session.scalars(select(OfferingSeats.offering_id).order_by(OfferingSeats.offering_id)))
    failed = 0
    for offering_id in offering_ids:
        try:
            refresh_offering(db.session, client, offering_id)
            db.session.commit()
        except DomainError as error:
            db.session.rollback()
            failed += 1
            click.echo(f"udbud {offering_id}: {error.detail}", err=True)
    click.echo(f"{len(offering_ids) - failed} udbud afstemt, {failed} fejlede")


@click.command("send-mail")
@with_appcontext
def send_mail_command() -> None:
    """Send what waits in the outbox (a retry for mail that could not be sent); run it from cron."""
    settings = SmtpSettings.from_config(current_app.config)
    if settings is None:
        raise click.UsageError("SMTP_HOST is not set: mail stays in the outbox.")
    sent, failed = send_pending(db.session, settings)
    click.echo(f"{sent} sendt, {failed} fejlede")


@click.command("sync-changes")
@with_appcontext
def sync_changes_command() -> None:
    """Read the catalogue's change feed from the stored cursor and apply every change; run it from cron.

    The safety net for webhooks: a change whose webhook was lost is applied here, never lost.
    """
    try:
        result = catch_up(db.session, current_app.extensions["catalogue_client"])
    except DomainError as error:
        db.session.rollback()
        raise click.ClickException(error.detail) from error
    click.echo(f"{result.applied} ændringer anvendt, læst til ændring {result.cursor}")


def register_commands(app: Flask) -> None:
    app.cli.add_command(sync_changes_command)
    app.cli.add_command(send_mail_command)
    app.cli.add_command(seed_command)
    app.cli.add_command(issue_token_command)
    app.cli.add_command(sync_seats_command)

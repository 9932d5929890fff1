"""Commands: `flask --app enrolment seed`, `issue-token`, `sync-seats`, `sync-changes`, `deliver-outbox` and `purge`.

The job engine (enrolment.jobs) runs the same work on its own; these are for an operator's hand.
"""

import click
from flask import Flask
from flask.cli import with_appcontext

from enrolment import jobs
from enrolment.models import db
from enrolment.seed import seed_organisations
from shared.commands import create_admin_command, issue_token_command, purge_command
from shared.errors import DomainError
from shared.transaction import rollback


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
    """Reconcile: read every known offering from the catalogue, promote where capacity rose, send the counts."""
    reconciled, failed = jobs.sync_seats()
    click.echo(f"{reconciled} udbud afstemt, {failed} fejlede")


@click.command("deliver-outbox")
@with_appcontext
def deliver_outbox_command() -> None:
    """Deliver what is due in the outbox: the catalogue's seat counts, and mail when SMTP_HOST is set."""
    report = jobs.deliver_outbox()
    click.echo(f"{report.delivered} leveret, {report.failed} fejlede")


@click.command("sync-changes")
@with_appcontext
def sync_changes_command() -> None:
    """Read the catalogue's change feed from the stored cursor and apply every change.

    The safety net for webhooks: a change whose webhook was lost is applied here, never lost.
    """
    try:
        result = jobs.sync_changes()
    except DomainError as error:
        rollback(db.session)
        raise click.ClickException(error.detail) from error
    click.echo(f"{result.applied} ændringer anvendt, læst til ændring {result.cursor}")


def register_commands(app: Flask) -> None:
    app.cli.add_command(purge_command(jobs.purge_due))
    app.cli.add_command(sync_changes_command)
    app.cli.add_command(deliver_outbox_command)
    app.cli.add_command(seed_command)
    app.cli.add_command(issue_token_command)
    app.cli.add_command(create_admin_command)
    app.cli.add_command(sync_seats_command)

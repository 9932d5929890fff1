"""Commands: `flask --app catalogue seed`, `issue-token`, `deliver-webhooks` and `purge`."""


import click
from flask import Flask, current_app
from flask.cli import with_appcontext

from catalogue import jobs
from catalogue.models import db
from catalogue.seed import seed_catalogue
from shared.clock import copenhagen_today
from shared.commands import create_admin_command, issue_token_command, purge_command


@click.command("seed")
@with_appcontext
@click.option("--today", type=click.DateTime(formats=["%Y-%m-%d"]), default=None,
              help="Plan the demo offerings as if today were this day (default: today).")
def seed_command(today) -> None:
    """Load the GLU programme, the schools and demo offerings; safe to run again."""
    report = seed_catalogue(db.session, today.date() if today else copenhagen_today())
    db.session.commit()
    click.echo(report)


@click.command("deliver-webhooks")
@with_appcontext
def deliver_webhooks_command() -> None:
    """Send every due webhook to the enrolment service (new ones, and failed ones whose retry is due); run from cron."""
    sender = current_app.extensions["webhook_sender"]
    if not sender.enabled:
        raise click.ClickException("ENROLMENT_URL er ikke sat: der er ingen at sende til.")
    report = sender.deliver_due(db.session)
    click.echo(f"{report.delivered} leveret, {report.failed} fejlede")


def register_commands(app: Flask) -> None:
    app.cli.add_command(purge_command(jobs.purge_due))
    app.cli.add_command(seed_command)
    app.cli.add_command(issue_token_command)
    app.cli.add_command(create_admin_command)
    app.cli.add_command(deliver_webhooks_command)

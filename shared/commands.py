"""CLI commands both services offer."""

import click
from flask import current_app
from flask.cli import with_appcontext

from shared.auth import Role, issue_token
from shared.transaction import commit


@click.command("issue-token")
@with_appcontext
@click.option("--role", type=click.Choice([role.value for role in Role]), required=True)
@click.option("--provider", "provider_id", type=click.IntRange(min=1), help="The school's provider id (role school).")
@click.option("--organisation", help="The organisation's key, e.g. a municipality code (role hr).")
@click.option("--days", type=click.IntRange(min=1, max=3650), default=30, show_default=True)
def issue_token_command(role: str, provider_id: int | None, organisation: str | None, days: int) -> None:
    """Print one signed bearer token and nothing else."""
    try:
        token = issue_token(current_app.config["GLU_TOKEN_SECRET"], Role(role), provider_id=provider_id,
                            organisation=organisation, days=days)
    except ValueError as error:
        raise click.UsageError(str(error)) from error
    click.echo(token)


def purge_command(purge_due) -> click.Command:
    """`flask --app <service> purge [--dry-run]`: the service's retention purge (its jobs.purge_due) by hand."""
    @click.command("purge")
    @click.option("--dry-run", is_flag=True, help="Count what is due, remove nothing.")
    @with_appcontext
    def command(dry_run: bool) -> None:
        """Remove what each purpose keeps past its retention (RETENTION_*); print the count per purpose."""
        counts = purge_due(dry_run=dry_run)
        click.echo(("Prøvekørsel, intet slettet: " if dry_run else "Slettet: ")
                   + ", ".join(f"{purpose} {count}" for purpose, count in counts.items()))
    return command


@click.command("create-admin")
@with_appcontext
@click.argument("email")
@click.option("--name", default="Administrator", show_default=True)
def create_admin_command(email: str, name: str) -> None:
    """Make the person with EMAIL a system administrator of this service (added if new); they sign in by link."""
    from shared.accounts import accounts
    from shared.accounts.members import add_person

    service_accounts = accounts()
    if "@" not in email:
        raise click.UsageError(f"{email!r} is not an e-mail address")
    person = add_person(service_accounts.db.session, service_accounts, name, email, is_admin=True)
    commit(service_accounts.db.session)
    click.echo(f"{person.email} is an administrator; sign in at /log-ind")

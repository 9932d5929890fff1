"""The Alembic environment both services' migrations run in (each migrations/env.py calls `run`).

It takes the engine and metadata from the Flask app's Flask-Migrate extension, so
`flask --app catalogue db …` and `flask --app enrolment db …` each migrate their own database.
"""

from __future__ import annotations

import logging
from logging.config import fileConfig

from alembic import context
from flask import current_app

log = logging.getLogger("alembic.env")


def run() -> None:
    config = context.config
    fileConfig(config.config_file_name, disable_existing_loggers=False)
    extension = current_app.extensions["migrate"]
    engine = extension.db.engine
    config.set_main_option("sqlalchemy.url", engine.url.render_as_string(hide_password=False).replace("%", "%%"))
    metadata = extension.db.metadata
    if context.is_offline_mode():
        context.configure(url=config.get_main_option("sqlalchemy.url"), target_metadata=metadata, literal_binds=True)
        with context.begin_transaction():
            context.run_migrations()
        return

    def skip_empty_revisions(context, revision, directives):
        if getattr(config.cmd_opts, "autogenerate", False) and directives[0].upgrade_ops.is_empty():
            directives[:] = []
            log.info("No changes in schema detected.")

    arguments = dict(extension.configure_args)
    arguments.setdefault("process_revision_directives", skip_empty_revisions)
    with engine.connect() as connection:
        sqlite = connection.dialect.name == "sqlite"
        if sqlite:
            # Batch migrations copy a table and drop the old one; with foreign keys enforced, SQLite
            # refuses to drop a table others point at. Set outside any transaction, where it takes effect.
            connection.connection.driver_connection.execute("PRAGMA foreign_keys=OFF")
        context.configure(connection=connection, target_metadata=metadata, **arguments)
        with context.begin_transaction():
            context.run_migrations()
        if sqlite:
            connection.connection.driver_connection.execute("PRAGMA foreign_keys=ON")

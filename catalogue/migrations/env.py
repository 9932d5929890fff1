"""Alembic runs this for `flask --app catalogue db …`; the environment is shared by both services."""

from shared.alembic_env import run

run()

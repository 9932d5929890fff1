"""go or no-go: decision dates and decisions on offerings, each school's policy (catalogue.decisions)

Revision ID: 0010
Revises: 0009

"""
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None

# The default of DECISION_DAYS_BEFORE_START, fixed here: a migration must give the same result wherever it runs.
DAYS_BEFORE_START = 14
COPENHAGEN = ZoneInfo("Europe/Copenhagen")


def upgrade():
    with op.batch_alter_table('offering', schema=None) as batch_op:
        batch_op.add_column(sa.Column('decision_date', sa.Date(), nullable=True))
        batch_op.add_column(sa.Column('decision', sa.String(length=10), nullable=True))
        batch_op.add_column(sa.Column('decided_at', sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column('decision_reminded_at', sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column('participants_at_cancellation', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('waitlisted_at_cancellation', sa.Integer(), nullable=True))
        batch_op.create_index('ix_offering_decision_due', ['status', 'decision', 'decision_date'], unique=False)

    with op.batch_alter_table('provider', schema=None) as batch_op:
        batch_op.add_column(sa.Column('decision_policy', sa.String(length=8), server_default='hold', nullable=False))
        batch_op.add_column(sa.Column('decision_grace_days', sa.Integer(), server_default='2', nullable=False))

    _backfill()

    with op.batch_alter_table('offering', schema=None) as batch_op:
        batch_op.alter_column('decision_date', existing_type=sa.Date(), nullable=False)


def _backfill():
    """Existing offerings get the default decision date as if made today (catalogue.decisions.default_decision_date):
    14 days before the first day, today if that has passed, never after the first day. A cancelled one is
    decided already: cancelled when it was cancelled. Offerings that have begun keep a date in the past,
    and the job leaves them alone."""
    bind = op.get_bind()
    offering = sa.table('offering', sa.column('id', sa.Integer()), sa.column('starts_at', sa.DateTime()),
                        sa.column('status', sa.String()), sa.column('cancelled_at', sa.DateTime()),
                        sa.column('decision_date', sa.Date()), sa.column('decision', sa.String()),
                        sa.column('decided_at', sa.DateTime()))
    today = datetime.now(UTC).astimezone(COPENHAGEN).date()
    rows = bind.execute(sa.select(offering.c.id, offering.c.starts_at, offering.c.status, offering.c.cancelled_at))
    updates = []
    for row in rows:
        # Stored as naive UTC (shared.db.UTCDateTime).
        first_day = row.starts_at.replace(tzinfo=UTC).astimezone(COPENHAGEN).date()
        cancelled = row.status == 'cancelled'
        updates.append({'key': row.id, 'day': min(max(first_day - timedelta(days=DAYS_BEFORE_START), today), first_day),
                        'decision': 'cancelled' if cancelled else None,
                        'decided': row.cancelled_at if cancelled else None})
    if updates:
        bind.execute(offering.update().where(offering.c.id == sa.bindparam('key'))
                     .values(decision_date=sa.bindparam('day'), decision=sa.bindparam('decision'),
                             decided_at=sa.bindparam('decided')), updates)


def downgrade():
    with op.batch_alter_table('provider', schema=None) as batch_op:
        batch_op.drop_column('decision_grace_days')
        batch_op.drop_column('decision_policy')

    with op.batch_alter_table('offering', schema=None) as batch_op:
        batch_op.drop_index('ix_offering_decision_due')
        batch_op.drop_column('waitlisted_at_cancellation')
        batch_op.drop_column('participants_at_cancellation')
        batch_op.drop_column('decision_reminded_at')
        batch_op.drop_column('decided_at')
        batch_op.drop_column('decision')
        batch_op.drop_column('decision_date')

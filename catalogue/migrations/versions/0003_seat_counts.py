"""seat counts

Revision ID: 0003
Revises: 0002

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade():
    # Existing offerings start with no seats taken and an empty waiting list (server default 0);
    # the enrolment service's next count for an offering, version 1 or later, replaces them.
    with op.batch_alter_table('offering', schema=None) as batch_op:
        batch_op.add_column(sa.Column('seats_taken', sa.Integer(), server_default='0', nullable=False))
        batch_op.add_column(sa.Column('waitlist_length', sa.Integer(), server_default='0', nullable=False))
        batch_op.add_column(sa.Column('seats_version', sa.BigInteger(), server_default='0', nullable=False))


def downgrade():
    # Plain ALTER TABLE … DROP COLUMN (SQLite 3.35+), not a batch: a batch would copy and drop the
    # offering table, which SQLite's enforced foreign keys from session refuse while sessions exist.
    op.drop_column('offering', 'seats_version')
    op.drop_column('offering', 'waitlist_length')
    op.drop_column('offering', 'seats_taken')

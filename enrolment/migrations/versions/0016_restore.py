"""restore from backup: the change-feed cursor keeps its change's token; seat versions from the clock

Revision ID: 0016
Revises: 0015

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0016'
down_revision = '0015'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('catalogue_cursor') as batch_op:
        batch_op.add_column(sa.Column('last_token', sa.String(length=32), nullable=True))
    # Seat-count versions are now microseconds of the clock (enrolment.seats.next_seats_version), so
    # that they keep rising after a restore; that needs 64 bits.
    with op.batch_alter_table('offering_seats') as batch_op:
        batch_op.alter_column('seats_version', existing_type=sa.Integer(), type_=sa.BigInteger(),
                              existing_nullable=False)


def downgrade():
    with op.batch_alter_table('offering_seats') as batch_op:
        batch_op.alter_column('seats_version', existing_type=sa.BigInteger(), type_=sa.Integer(),
                              existing_nullable=False)
    with op.batch_alter_table('catalogue_cursor') as batch_op:
        batch_op.drop_column('last_token')

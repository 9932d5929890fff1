"""who ended a cancelled place, and the place a move made in its stead

Revision ID: 0010
Revises: 0009

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('enrolment', schema=None) as batch_op:
        batch_op.add_column(sa.Column('ended_by', sa.String(length=12), nullable=True))
        batch_op.add_column(sa.Column('moved_to_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_enrolment_moved_to_id_enrolment'), 'enrolment', ['moved_to_id'],
                                    ['id'])
    # Places cancelled before this was recorded: with their offering, by the school; otherwise by HR
    # or the person, which the audit log tells apart where it matters.
    op.execute("UPDATE enrolment SET ended_by = CASE WHEN offering_id IN "
               "(SELECT offering_id FROM offering_seats WHERE status = 'cancelled') "
               "THEN 'school' ELSE 'organisation' END WHERE status = 'cancelled'")


def downgrade():
    with op.batch_alter_table('enrolment', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_enrolment_moved_to_id_enrolment'), type_='foreignkey')
        batch_op.drop_column('moved_to_id')
        batch_op.drop_column('ended_by')

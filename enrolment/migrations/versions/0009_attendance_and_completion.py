"""attendance and completion: the days each confirmed participant attended, and whether they completed

Revision ID: 0009
Revises: 0008

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('attendance',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('enrolment_id', sa.Integer(), nullable=False),
    sa.Column('session_id', sa.Integer(), nullable=False),
    sa.Column('attended', sa.Boolean(), nullable=False),
    sa.Column('recorded_at', sa.DateTime(), nullable=False),
    sa.Column('recorded_by', sa.String(length=300), nullable=False),
    sa.ForeignKeyConstraint(['enrolment_id'], ['enrolment.id'], name=op.f('fk_attendance_enrolment_id_enrolment')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_attendance')),
    sa.UniqueConstraint('enrolment_id', 'session_id', name=op.f('uq_attendance_enrolment_id'))
    )
    with op.batch_alter_table('enrolment', schema=None) as batch_op:
        batch_op.add_column(sa.Column('completion', sa.String(length=20), nullable=True))
        batch_op.add_column(sa.Column('completion_note', sa.String(length=500), nullable=True))
        batch_op.add_column(sa.Column('completion_recorded_at', sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column('completed_on', sa.Date(), nullable=True))
        batch_op.add_column(sa.Column('completion_provider_name', sa.String(length=200), nullable=True))



def downgrade():
    with op.batch_alter_table('enrolment', schema=None) as batch_op:
        batch_op.drop_column('completion_provider_name')
        batch_op.drop_column('completed_on')
        batch_op.drop_column('completion_recorded_at')
        batch_op.drop_column('completion_note')
        batch_op.drop_column('completion')

    op.drop_table('attendance')

"""interest lists across runs

Revision ID: 0012
Revises: 0011

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('interest',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('participant_id', sa.Integer(), nullable=False),
    sa.Column('organisation_id', sa.Integer(), nullable=False),
    sa.Column('module_code', sa.String(length=20), nullable=False),
    sa.Column('regions', sa.JSON(), nullable=False),
    sa.Column('before', sa.Date(), nullable=True),
    sa.Column('auto_enrol', sa.Boolean(), nullable=False),
    sa.Column('registered_by', sa.String(length=12), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('ended_at', sa.DateTime(), nullable=True),
    sa.Column('end_reason', sa.String(length=12), nullable=True),
    sa.Column('enrolment_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['enrolment_id'], ['enrolment.id'], name=op.f('fk_interest_enrolment_id_enrolment')),
    sa.ForeignKeyConstraint(['organisation_id'], ['organisation.id'], name=op.f('fk_interest_organisation_id_organisation')),
    sa.ForeignKeyConstraint(['participant_id'], ['participant.id'], name=op.f('fk_interest_participant_id_participant')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_interest'))
    )
    with op.batch_alter_table('interest', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_interest_organisation_id'), ['organisation_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_interest_participant_id'), ['participant_id'], unique=False)
        batch_op.create_index('uq_interest_active_participant_module', ['participant_id', 'module_code'], unique=True, sqlite_where=sa.text('ended_at IS NULL'), postgresql_where=sa.text('ended_at IS NULL'))

    op.create_table('interest_notice',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('interest_id', sa.Integer(), nullable=False),
    sa.Column('offering_id', sa.Integer(), nullable=False),
    sa.Column('told_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['interest_id'], ['interest.id'], name=op.f('fk_interest_notice_interest_id_interest')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_interest_notice')),
    sa.UniqueConstraint('interest_id', 'offering_id', name=op.f('uq_interest_notice_interest_id'))
    )


def downgrade():
    op.drop_table('interest_notice')
    with op.batch_alter_table('interest', schema=None) as batch_op:
        batch_op.drop_index('uq_interest_active_participant_module', sqlite_where=sa.text('ended_at IS NULL'), postgresql_where=sa.text('ended_at IS NULL'))
        batch_op.drop_index(batch_op.f('ix_interest_participant_id'))
        batch_op.drop_index(batch_op.f('ix_interest_organisation_id'))

    op.drop_table('interest')

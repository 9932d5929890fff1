"""reserved seats

Revision ID: 0013
Revises: 0012

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('offering_seats', schema=None) as batch_op:
        batch_op.add_column(sa.Column('reserved', sa.Integer(), server_default='0', nullable=False))
    op.create_table(
        'reservation',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('offering_id', sa.Integer(), nullable=False),
        sa.Column('organisation_id', sa.Integer(), nullable=False),
        sa.Column('seats', sa.Integer(), nullable=False),
        sa.Column('named', sa.Integer(), nullable=False),
        sa.Column('released', sa.Integer(), nullable=False),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.Column('created_by', sa.String(length=300), nullable=False),
        sa.Column('released_at', sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(['offering_id'], ['offering_seats.offering_id'],
                                name=op.f('fk_reservation_offering_id_offering_seats')),
        sa.ForeignKeyConstraint(['organisation_id'], ['organisation.id'],
                                name=op.f('fk_reservation_organisation_id_organisation')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_reservation')),
    )
    with op.batch_alter_table('reservation', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_reservation_offering_id'), ['offering_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_reservation_organisation_id'), ['organisation_id'], unique=False)


def downgrade():
    with op.batch_alter_table('reservation', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_reservation_organisation_id'))
        batch_op.drop_index(batch_op.f('ix_reservation_offering_id'))
    op.drop_table('reservation')
    with op.batch_alter_table('offering_seats', schema=None) as batch_op:
        batch_op.drop_column('reserved')

"""change feed and webhook deliveries

Revision ID: 0004
Revises: 0003

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('change_sequence',
    sa.Column('id', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('value', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_change_sequence'))
    )
    # The one counter row; notifications.next_change_seq also makes it if it is ever missing.
    op.execute("INSERT INTO change_sequence (id, value) VALUES (1, 0)")
    op.create_table('webhook_delivery',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('offering_id', sa.Integer(), nullable=False),
    sa.Column('change_seq', sa.BigInteger(), nullable=False),
    sa.Column('payload', sa.JSON(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('next_attempt_at', sa.DateTime(), nullable=True),
    sa.Column('delivered_at', sa.DateTime(), nullable=True),
    sa.Column('last_status', sa.Integer(), nullable=True),
    sa.Column('last_error', sa.String(length=500), nullable=True),
    sa.ForeignKeyConstraint(['offering_id'], ['offering.id'], name=op.f('fk_webhook_delivery_offering_id_offering')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_webhook_delivery'))
    )
    with op.batch_alter_table('webhook_delivery', schema=None) as batch_op:
        batch_op.create_index('ix_webhook_delivery_due', ['delivered_at', 'next_attempt_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_webhook_delivery_offering_id'), ['offering_id'], unique=False)

    # Offerings that exist already are not in the feed (change_seq 0) until their next change.
    with op.batch_alter_table('offering', schema=None) as batch_op:
        batch_op.add_column(sa.Column('change_seq', sa.BigInteger(), server_default='0', nullable=False))
        batch_op.create_index(batch_op.f('ix_offering_change_seq'), ['change_seq'], unique=False)


def downgrade():
    # Plain DROP INDEX and ALTER TABLE … DROP COLUMN (SQLite 3.35+), not a batch: a batch would copy and
    # drop the offering table, which SQLite's enforced foreign keys from session refuse while sessions exist.
    op.drop_index(op.f('ix_offering_change_seq'), table_name='offering')
    op.drop_column('offering', 'change_seq')

    op.drop_index(op.f('ix_webhook_delivery_offering_id'), table_name='webhook_delivery')
    op.drop_index('ix_webhook_delivery_due', table_name='webhook_delivery')
    op.drop_table('webhook_delivery')
    op.drop_table('change_sequence')

"""calendars and outbox

Revision ID: 0002
Revises: 0001
"""
import secrets

import sqlalchemy as sa
from alembic import op

revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def _give_secrets(table: str, columns: list[str]) -> None:
    """Existing rows get their own random secrets before the columns become required."""
    connection = op.get_bind()
    rows = connection.execute(sa.text(f"SELECT id FROM {table}")).scalars().all()
    for row_id in rows:
        values = {column: secrets.token_urlsafe(32) for column in columns}
        assignments = ", ".join(f"{column} = :{column}" for column in columns)
        connection.execute(sa.text(f"UPDATE {table} SET {assignments} WHERE id = :id"), {**values, "id": row_id})


def upgrade():
    op.create_table('outbox_mail',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('recipient', sa.String(length=254), nullable=False),
    sa.Column('subject', sa.String(length=300), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('calendar', sa.LargeBinary(), nullable=True),
    sa.Column('calendar_method', sa.String(length=10), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('sent_at', sa.DateTime(), nullable=True),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('last_error', sa.String(length=500), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_outbox_mail'))
    )
    with op.batch_alter_table('outbox_mail', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_outbox_mail_sent_at'), ['sent_at'], unique=False)

    with op.batch_alter_table('enrolment', schema=None) as batch_op:
        batch_op.add_column(sa.Column('calendar_sequence', sa.Integer(), nullable=False, server_default='0'))

    with op.batch_alter_table('offering_seats', schema=None) as batch_op:
        batch_op.add_column(sa.Column('snapshot', sa.JSON(), nullable=False, server_default=sa.text("'{}'")))
        batch_op.add_column(sa.Column('removed_sessions', sa.JSON(), nullable=False, server_default=sa.text("'[]'")))

    op.add_column('organisation', sa.Column('feed_token', sa.String(length=64), nullable=True))
    op.add_column('participant', sa.Column('feed_token', sa.String(length=64), nullable=True))
    op.add_column('participant', sa.Column('page_token', sa.String(length=64), nullable=True))
    _give_secrets('organisation', ['feed_token'])
    _give_secrets('participant', ['feed_token', 'page_token'])
    with op.batch_alter_table('organisation', schema=None) as batch_op:
        batch_op.alter_column('feed_token', existing_type=sa.String(length=64), nullable=False)
        batch_op.create_unique_constraint(batch_op.f('uq_organisation_feed_token'), ['feed_token'])
    with op.batch_alter_table('participant', schema=None) as batch_op:
        batch_op.alter_column('feed_token', existing_type=sa.String(length=64), nullable=False)
        batch_op.alter_column('page_token', existing_type=sa.String(length=64), nullable=False)
        batch_op.create_unique_constraint(batch_op.f('uq_participant_feed_token'), ['feed_token'])
        batch_op.create_unique_constraint(batch_op.f('uq_participant_page_token'), ['page_token'])


def downgrade():
    with op.batch_alter_table('participant', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('uq_participant_page_token'), type_='unique')
        batch_op.drop_constraint(batch_op.f('uq_participant_feed_token'), type_='unique')
        batch_op.drop_column('page_token')
        batch_op.drop_column('feed_token')
    with op.batch_alter_table('organisation', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('uq_organisation_feed_token'), type_='unique')
        batch_op.drop_column('feed_token')
    with op.batch_alter_table('offering_seats', schema=None) as batch_op:
        batch_op.drop_column('removed_sessions')
        batch_op.drop_column('snapshot')
    with op.batch_alter_table('enrolment', schema=None) as batch_op:
        batch_op.drop_column('calendar_sequence')
    with op.batch_alter_table('outbox_mail', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_outbox_mail_sent_at'))
    op.drop_table('outbox_mail')

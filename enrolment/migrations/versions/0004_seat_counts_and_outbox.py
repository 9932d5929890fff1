"""seat counts on the locked row, and one outbox for mails and seat counts

Revision ID: 0004
Revises: 0003
"""
import sqlalchemy as sa
from alembic import op

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('offering_seats', schema=None) as batch_op:
        batch_op.add_column(sa.Column('confirmed', sa.Integer(), server_default='0', nullable=False))
        batch_op.add_column(sa.Column('waitlisted', sa.Integer(), server_default='0', nullable=False))
    # The counts of the seats already taken, once; from here on seats.set_status keeps them.
    for status in ('confirmed', 'waitlisted'):
        op.execute(f"UPDATE offering_seats SET {status} = (SELECT count(*) FROM enrolment "
                   f"WHERE enrolment.offering_id = offering_seats.offering_id AND enrolment.status = '{status}')")

    with op.batch_alter_table('outbox_mail', schema=None) as batch_op:
        batch_op.drop_index('ix_outbox_mail_sent_at')
    op.rename_table('outbox_mail', 'outbox')
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.add_column(sa.Column('kind', sa.String(length=20), server_default='mail', nullable=False))
        batch_op.add_column(sa.Column('offering_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('due_at', sa.DateTime(), nullable=True))
        batch_op.alter_column('sent_at', new_column_name='delivered_at', existing_type=sa.DateTime())
        batch_op.alter_column('recipient', existing_type=sa.String(length=254), nullable=True)
        batch_op.alter_column('subject', existing_type=sa.String(length=300), nullable=True)
        batch_op.alter_column('body', existing_type=sa.Text(), nullable=True)
        batch_op.drop_constraint('pk_outbox_mail', type_='primary')
        batch_op.create_primary_key('pk_outbox', ['id'])
    # Unsent mail is due now; the job engine sends it.
    op.execute("UPDATE outbox SET due_at = created_at WHERE delivered_at IS NULL")
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.alter_column('kind', server_default=None, existing_type=sa.String(length=20))
        batch_op.create_index('ix_outbox_due', ['kind', 'due_at'], unique=False,
                              sqlite_where=sa.text('delivered_at IS NULL'),
                              postgresql_where=sa.text('delivered_at IS NULL'))


def downgrade():
    op.execute("DELETE FROM outbox WHERE kind <> 'mail'")
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.drop_index('ix_outbox_due', sqlite_where=sa.text('delivered_at IS NULL'),
                            postgresql_where=sa.text('delivered_at IS NULL'))
        batch_op.drop_constraint('pk_outbox', type_='primary')
        batch_op.create_primary_key('pk_outbox_mail', ['id'])
        batch_op.alter_column('body', existing_type=sa.Text(), nullable=False)
        batch_op.alter_column('subject', existing_type=sa.String(length=300), nullable=False)
        batch_op.alter_column('recipient', existing_type=sa.String(length=254), nullable=False)
        batch_op.alter_column('delivered_at', new_column_name='sent_at', existing_type=sa.DateTime())
        batch_op.drop_column('due_at')
        batch_op.drop_column('offering_id')
        batch_op.drop_column('kind')
    op.rename_table('outbox', 'outbox_mail')
    with op.batch_alter_table('outbox_mail', schema=None) as batch_op:
        batch_op.create_index('ix_outbox_mail_sent_at', ['sent_at'], unique=False)
    with op.batch_alter_table('offering_seats', schema=None) as batch_op:
        batch_op.drop_column('waitlisted')
        batch_op.drop_column('confirmed')

"""catalogue change feed cursor

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
    op.create_table('catalogue_cursor',
    sa.Column('id', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('last_seq', sa.BigInteger(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_catalogue_cursor'))
    )
    # The one cursor row, at the start of the feed; change_feed.read_cursor also makes it if it is missing.
    op.execute("INSERT INTO catalogue_cursor (id, last_seq, updated_at) VALUES (1, 0, CURRENT_TIMESTAMP)")


def downgrade():
    op.drop_table('catalogue_cursor')

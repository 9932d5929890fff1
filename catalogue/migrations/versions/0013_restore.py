"""restore from backup: a token for every change number, so a restored change feed is recognised

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
    # Numbers drawn before this migration have no token; readers whose cursor has none skip the check
    # for them (enrolment.change_feed), and the first change after it gives them one.
    op.create_table(
        'change_draw',
        sa.Column('seq', sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column('token', sa.String(length=32), nullable=False),
        sa.PrimaryKeyConstraint('seq'),
    )


def downgrade():
    op.drop_table('change_draw')

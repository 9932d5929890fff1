"""an index for search by place and its count

Revision ID: 0005
Revises: 0004

"""
from alembic import op


# revision identifiers, used by Alembic.
revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('offering', schema=None) as batch_op:
        batch_op.create_index('ix_offering_search', ['status', 'location_id', 'starts_at'], unique=False,
                              postgresql_include=['module_id', 'provider_id'])


def downgrade():
    with op.batch_alter_table('offering', schema=None) as batch_op:
        batch_op.drop_index('ix_offering_search')

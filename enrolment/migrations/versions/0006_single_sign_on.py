"""a school's or organisation's own OpenID provider (shared.accounts.sso)

Revision ID: 0006
Revises: 0005

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('sign_in_provider',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.Column('issuer', sa.String(length=300), nullable=False),
    sa.Column('client_id', sa.String(length=200), nullable=False),
    sa.Column('client_secret', sa.String(length=500), nullable=False),
    sa.Column('email_domains', sa.JSON(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id'], ['organisation.id'], name=op.f('fk_sign_in_provider_tenant_id_organisation'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sign_in_provider')),
    sa.UniqueConstraint('tenant_id', name=op.f('uq_sign_in_provider_tenant_id'))
    )


def downgrade():
    op.drop_table('sign_in_provider')

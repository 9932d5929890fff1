"""the points of "Kodeks for god ledelse" each module works with

Revision ID: 0011
Revises: 0010

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('module_theme',
    sa.Column('module_id', sa.Integer(), nullable=False),
    sa.Column('theme', sa.String(length=20), nullable=False),
    sa.Column('example', sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(['module_id'], ['module.id'], name=op.f('fk_module_theme_module_id_module')),
    sa.PrimaryKeyConstraint('module_id', 'theme', name=op.f('pk_module_theme'))
    )
    with op.batch_alter_table('module_theme', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_module_theme_theme'), ['theme'], unique=False)


def downgrade():
    with op.batch_alter_table('module_theme', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_module_theme_theme'))

    op.drop_table('module_theme')

"""retention per purpose: each organisation's completion retention; old audit entries may be deleted

Revision ID: 0015
Revises: 0014

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0015'
down_revision = '0014'
branch_labels = None
depends_on = None

# The audit log stays append-only, except that the purge (enrolment.purge) deletes entries past their
# retention. The database keeps a floor of its own, below any setting the service accepts
# (shared.retention.AUDIT_MINIMUM_YEARS), so no bug or hand-typed DELETE removes a young entry.
# UPDATE keeps the trigger and function it had (audit_entry_is_append_only, as 0008 and 0014 left it);
# DELETE gets a trigger of its own, so this migration does not need to know how UPDATE is handled.
AUDIT_DELETE_FLOOR = "1 year"


def upgrade():
    with op.batch_alter_table('organisation', schema=None) as batch_op:
        # Years a completion is kept after the course's last day; NULL: the service's default
        # (RETENTION_COMPLETION_YEARS). The organisation decides, as its leaders' GLU paths need.
        batch_op.add_column(sa.Column('completion_retention_years', sa.Integer(), nullable=True))
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS audit_entry_append_only ON audit_entry")
        op.execute("""
            CREATE TRIGGER audit_entry_append_only BEFORE UPDATE ON audit_entry
            FOR EACH ROW EXECUTE FUNCTION audit_entry_is_append_only()""")
        op.execute(f"""
            CREATE FUNCTION audit_entry_deleted_only_when_old() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                IF OLD.at >= (now() AT TIME ZONE 'UTC') - interval '{AUDIT_DELETE_FLOOR}' THEN
                    RAISE EXCEPTION 'audit entries younger than {AUDIT_DELETE_FLOOR} cannot be deleted'
                        USING ERRCODE = 'insufficient_privilege';
                END IF;
                RETURN OLD;
            END $$""")
        op.execute("""
            CREATE TRIGGER audit_entry_deleted_only_when_old BEFORE DELETE ON audit_entry
            FOR EACH ROW EXECUTE FUNCTION audit_entry_deleted_only_when_old()""")


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER audit_entry_deleted_only_when_old ON audit_entry")
        op.execute("DROP FUNCTION audit_entry_deleted_only_when_old()")
        op.execute("DROP TRIGGER audit_entry_append_only ON audit_entry")
        op.execute("""
            CREATE TRIGGER audit_entry_append_only BEFORE UPDATE OR DELETE ON audit_entry
            FOR EACH ROW EXECUTE FUNCTION audit_entry_is_append_only()""")
    with op.batch_alter_table('organisation', schema=None) as batch_op:
        batch_op.drop_column('completion_retention_years')

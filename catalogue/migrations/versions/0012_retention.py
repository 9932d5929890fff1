"""retention per purpose: audit entries past their retention may be deleted, younger ones never

Revision ID: 0012
Revises: 0011

"""
from alembic import op
import sqlalchemy as sa  # noqa: F401


# revision identifiers, used by Alembic.
revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None

# The audit log stays append-only, except that the purge (catalogue.purge) deletes entries past their
# retention. The database keeps a floor of its own, below any setting the service accepts
# (shared.retention.AUDIT_MINIMUM_YEARS), so no bug or hand-typed DELETE removes a young entry.
# UPDATE keeps its trigger and function (audit_entry_is_append_only, 0009); DELETE gets its own.
AUDIT_DELETE_FLOOR = "1 year"


def upgrade():
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

"""erasure of a person (GDPR art. 17): when a participant was erased, and the one way to rewrite audit entries

Revision ID: 0014
Revises: 0013

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None

# Audit rows stay append-only for every role, with one exception: erasing a person (enrolment.erasure)
# must replace their name and address in the entries about them, or the audit log would keep what the
# law says to erase. The trigger lets an UPDATE through only inside a transaction that has set
# `glu.pseudonymising` (set_config(…, true): it ends with the transaction, so it cannot leak into the
# next request on a pooled connection), and even then only one that leaves everything but `changes` and
# `actor_name` as it was: who acted, when, on what, stay fixed. DELETE is refused as before. A session
# setting rather than a SECURITY DEFINER function: the service's role owns the table either way, so a
# second role would only move the same trust elsewhere, while this keeps every other write refused and
# the one allowed write visible in a single place in the code.
PSEUDONYMISING_ALLOWED = """
    CREATE OR REPLACE FUNCTION audit_entry_is_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        IF TG_OP = 'UPDATE' AND coalesce(current_setting('glu.pseudonymising', true), '') = 'on'
           AND (NEW.id, NEW.at, NEW.actor_type, NEW.actor_id, NEW.actor_role, NEW.action, NEW.object_type,
                NEW.object_id, NEW.tenant_id, NEW.request_id)
               IS NOT DISTINCT FROM
               (OLD.id, OLD.at, OLD.actor_type, OLD.actor_id, OLD.actor_role, OLD.action, OLD.object_type,
                OLD.object_id, OLD.tenant_id, OLD.request_id) THEN
            RETURN NEW;
        END IF;
        RAISE EXCEPTION 'audit entries cannot be changed or deleted' USING ERRCODE = 'insufficient_privilege';
    END $$"""

APPEND_ONLY = """
    CREATE OR REPLACE FUNCTION audit_entry_is_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        RAISE EXCEPTION 'audit entries cannot be changed or deleted' USING ERRCODE = 'insufficient_privilege';
    END $$"""


def upgrade():
    with op.batch_alter_table('participant', schema=None) as batch_op:
        batch_op.add_column(sa.Column('erased_at', sa.DateTime(), nullable=True))
    if op.get_bind().dialect.name == "postgresql":
        op.execute(PSEUDONYMISING_ALLOWED)


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.execute(APPEND_ONLY)
    with op.batch_alter_table('participant', schema=None) as batch_op:
        batch_op.drop_column('erased_at')

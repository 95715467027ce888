"""the worker's claim: jobs by status in id order, and a partial index of each lock's waiting jobs

Replaces ix_job_status_scheduled (status, scheduled_at), which made the claim read and sort
every due job, and ix_job_lock_key_id (lock_key, id), which made "an earlier job of my lock
is waiting" read every earlier job of the lock, done or failed.

Revision ID: 0009_job_claim
Revises: 0008_templates
"""
from alembic import op
import sqlalchemy as sa

revision = "0009_job_claim"
down_revision = "0008_templates"
branch_labels = None
depends_on = None

WAITING = sa.text("status IN ('todo', 'doing')")


def upgrade() -> None:
    op.create_index("ix_job_status_id", "job", ["status", "id"], unique=False)
    op.create_index("ix_job_waiting_lock", "job", ["lock_key", "id"], unique=False,
                    sqlite_where=WAITING, postgresql_where=WAITING)
    op.drop_index("ix_job_status_scheduled", table_name="job")
    op.drop_index("ix_job_lock_key_id", table_name="job")


def downgrade() -> None:
    op.create_index("ix_job_lock_key_id", "job", ["lock_key", "id"], unique=False)
    op.create_index("ix_job_status_scheduled", "job", ["status", "scheduled_at"], unique=False)
    op.drop_index("ix_job_waiting_lock", table_name="job")
    op.drop_index("ix_job_status_id", table_name="job")

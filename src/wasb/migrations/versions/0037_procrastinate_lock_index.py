"""An index procrastinate's fetch needs under a backlog: a due job waits while a job of its
lock runs or waits ahead of it, and that check looked a job's lock up through
procrastinate's (id, lock) index, reading the whole index for every candidate. With ten
thousand status webhooks waiting (a campaign's statuses), one fetch took seconds and the
workers fell further behind the more there was to do (bench/campaign.py, PostgreSQL: a fetch
3.2 s -> 32 ms at 7,500 waiting jobs).

Revision ID: 0037_procrastinate_lock_index
Revises: 0036_campaigns
"""
from alembic import op

revision = "0037_procrastinate_lock_index"
down_revision = "0036_campaigns"
branch_labels = None
depends_on = None


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return  # SQLite keeps the embedded engine's `job` table
    op.execute("CREATE INDEX wasb_procrastinate_jobs_lock_waiting ON procrastinate_jobs (lock, priority, id) "
               "WHERE status IN ('todo', 'doing')")


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("DROP INDEX IF EXISTS wasb_procrastinate_jobs_lock_waiting")

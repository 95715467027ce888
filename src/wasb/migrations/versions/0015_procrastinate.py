"""procrastinate's schema (the job queue engine on PostgreSQL), and wasb_job_note beside it

On PostgreSQL only (SQLite keeps the embedded engine's `job` table): procrastinate's own
schema, as the installed procrastinate ships it (SchemaManager.get_schema()), unless a
`procrastinate_jobs` table is there already (a database an operator set up with
`procrastinate schema --apply`). Then what procrastinate keeps no column for
(wasb.jobs.procrastinate_queue): per job, the tries that did not count (Defer, a CRM
outage) and the last error's text, deleted with the job; and an index to find a ref's jobs.

A procrastinate upgrade that changes its schema (a new minor: pyproject pins <3.11) needs a
migration of ours applying its delta files (procrastinate/sql/migrations/*.sql) in order.

Revision ID: 0015_procrastinate
Revises: 0014_intake_journal
"""
from alembic import op

revision = "0015_procrastinate"
down_revision = "0014_intake_journal"
branch_labels = None
depends_on = None


def _postgres() -> bool:
    return op.get_bind().dialect.name == "postgresql"


def upgrade() -> None:
    if not _postgres():
        return
    from procrastinate.schema import SchemaManager

    bind = op.get_bind()
    present = bind.exec_driver_sql("SELECT to_regclass('procrastinate_jobs') IS NOT NULL").scalar()
    if not present:
        # Several statements and DO blocks: through the driver, no parameters, as procrastinate applies it.
        bind.connection.dbapi_connection.execute(SchemaManager.get_schema())
    op.execute("""
        CREATE TABLE wasb_job_note (
            job_id bigint PRIMARY KEY REFERENCES procrastinate_jobs (id) ON DELETE CASCADE,
            waits integer NOT NULL DEFAULT 0,
            last_error text
        )""")
    op.execute("CREATE INDEX wasb_procrastinate_jobs_ref ON procrastinate_jobs ((args->>'ref'))")
    op.execute("CREATE INDEX wasb_procrastinate_jobs_task ON procrastinate_jobs (task_name, status)")


def downgrade() -> None:
    if not _postgres():
        return
    op.execute("DROP TABLE IF EXISTS wasb_job_note")
    for table in ("procrastinate_events", "procrastinate_periodic_defers", "procrastinate_jobs",
                  "procrastinate_workers"):
        op.execute(f"DROP TABLE IF EXISTS {table} CASCADE")
    op.execute("""
        DO $$ DECLARE f record; BEGIN
            FOR f IN SELECT p.oid::regprocedure AS sig FROM pg_proc p
                     JOIN pg_namespace n ON n.oid = p.pronamespace
                     WHERE n.nspname = current_schema() AND p.proname LIKE 'procrastinate%' LOOP
                EXECUTE 'DROP FUNCTION IF EXISTS ' || f.sig || ' CASCADE';
            END LOOP;
        END $$""")
    for kind in ("procrastinate_job_status", "procrastinate_job_event_type", "procrastinate_job_to_defer_v1"):
        op.execute(f"DROP TYPE IF EXISTS {kind} CASCADE")

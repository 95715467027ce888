"""intake_cursor: how far the worker has moved each SQLite intake journal (wasb.inbound.journal)

Revision ID: 0013_intake_journal
Revises: 0012_drop_opted_out
"""
from alembic import op
import sqlalchemy as sa

revision = "0013_intake_journal"
down_revision = "0012_drop_opted_out"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "intake_cursor",
        sa.Column("journal", sa.String(32), primary_key=True),
        sa.Column("moved_id", sa.BigInteger(), nullable=False, server_default="0"),
    )


def downgrade() -> None:
    op.drop_table("intake_cursor")

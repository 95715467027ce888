"""A conversation's last message status is read from its messages, no longer kept on the
conversation row: the senders and the status webhooks of one customer wrote that row for
every send and every status, and with several workers they queued on its lock.

Revision ID: 0035_last_status_read
Revises: 0034_presence
"""
import sqlalchemy as sa
from alembic import op

revision = "0035_last_status_read"
down_revision = "0034_presence"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # ALTER TABLE … DROP COLUMN on both databases (SQLite 3.35+): a batch copy of the table
    # would drop it while messages point at it.
    op.drop_column("conversation", "last_message_status")


def downgrade() -> None:
    with op.batch_alter_table("conversation") as batch:
        batch.add_column(sa.Column("last_message_status", sa.String(16), nullable=True))

"""Users' presence (when their pages last listened to the live stream) and their turn in
auto-assignment's round robin.

Revision ID: 0034_presence
Revises: 0033_status_detail
"""
import sqlalchemy as sa
from alembic import op

from wasb.store.base import UTCDateTime

revision = "0034_presence"
down_revision = "0033_status_detail"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("app_user") as batch:
        batch.add_column(sa.Column("seen_at", UTCDateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("auto_assigned_at", UTCDateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("app_user") as batch:
        batch.drop_column("auto_assigned_at")
        batch.drop_column("seen_at")

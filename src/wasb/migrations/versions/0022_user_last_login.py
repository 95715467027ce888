"""user management: when each user last logged in

Revision ID: 0022_user_last_login
Revises: 0021_inbound_types
"""
from alembic import op
import sqlalchemy as sa

from wasb.store.base import UTCDateTime

revision = "0022_user_last_login"
down_revision = "0021_inbound_types"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("app_user", sa.Column("last_login_at", UTCDateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("app_user") as batch:
        batch.drop_column("last_login_at")

"""login security: revocable sessions, deactivated users, a per-client login throttle

Revision ID: 0011_login_security
Revises: 0010_message_search
"""
from alembic import op
import sqlalchemy as sa

from wasb.store.base import UTCDateTime

revision = "0011_login_security"
down_revision = "0010_message_search"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("app_user", sa.Column("active", sa.Boolean(), nullable=False, server_default=sa.true()))
    op.add_column("app_user", sa.Column("session_generation", sa.Integer(), nullable=False, server_default="0"))
    op.create_table(
        "login_throttle",
        sa.Column("client", sa.String(length=100), nullable=False),
        sa.Column("window_started_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("client", name=op.f("pk_login_throttle")),
    )


def downgrade() -> None:
    op.drop_table("login_throttle")
    with op.batch_alter_table("app_user") as batch:
        batch.drop_column("session_generation")
        batch.drop_column("active")

"""live change feed for the web UI's server-sent events

Revision ID: 0008_live
Revises: 0003_scheduler
"""
from alembic import op
import sqlalchemy as sa

import wasb.store.base

revision = "0008_live"
down_revision = "0003_scheduler"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "live_change",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("topic", sa.String(length=32), nullable=False),
        sa.Column("ref", sa.String(length=64), nullable=False),
        sa.Column("origin", sa.String(length=40), nullable=False),
        sa.Column("created_at", wasb.store.base.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_live_change")),
    )
    op.create_index(op.f("ix_live_change_created_at"), "live_change", ["created_at"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_live_change_created_at"), table_name="live_change")
    op.drop_table("live_change")

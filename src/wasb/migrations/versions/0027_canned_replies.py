"""canned replies: shared by the team or personal, typed with /shortcut in the composer

Revision ID: 0027_canned_replies
Revises: 0023_private_notes
"""
from alembic import op
import sqlalchemy as sa

from wasb.store.base import UTCDateTime

revision = "0027_canned_replies"
down_revision = "0023_private_notes"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "canned_reply",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("shortcut", sa.String(32), nullable=False),
        sa.Column("title", sa.String(100), nullable=False),
        sa.Column("body", sa.Text, nullable=False),
        sa.Column("owner_id", sa.Integer, sa.ForeignKey("app_user.id"), nullable=True),
        sa.Column("created_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", UTCDateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_canned_reply_owner_id", "canned_reply", ["owner_id"])
    # A shared reply's owner counts as 0 here: NULLs never collide in a unique index.
    op.create_index("uq_canned_reply_owner_shortcut", "canned_reply",
                    [sa.text("coalesce(owner_id, 0)"), "shortcut"], unique=True)


def downgrade() -> None:
    op.drop_index("uq_canned_reply_owner_shortcut", table_name="canned_reply")
    op.drop_index("ix_canned_reply_owner_id", table_name="canned_reply")
    op.drop_table("canned_reply")

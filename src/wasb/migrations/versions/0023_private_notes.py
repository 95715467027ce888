"""private notes in a conversation (never sent)

Revision ID: 0023_private_notes
Revises: 0022_user_last_login
"""
from alembic import op
import sqlalchemy as sa

from wasb.store.base import BigId, UTCDateTime

revision = "0023_private_notes"
down_revision = "0022_user_last_login"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "conversation_note",
        sa.Column("id", BigId, primary_key=True, autoincrement=True),
        sa.Column("conversation_id", sa.Integer, sa.ForeignKey("conversation.id"), nullable=False),
        sa.Column("author", sa.String(100), nullable=False),
        sa.Column("body", sa.Text, nullable=False),
        sa.Column("created_at", UTCDateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_conversation_note_conversation_id", "conversation_note", ["conversation_id"])


def downgrade() -> None:
    op.drop_index("ix_conversation_note_conversation_id", table_name="conversation_note")
    op.drop_table("conversation_note")

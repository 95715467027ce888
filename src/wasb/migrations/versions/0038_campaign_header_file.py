"""A campaign's media-header file, and an index to find a file already uploaded to Meta.

A template with an image, video or document header needs the file in every message. The
campaign keeps it once (in the media store, by its digest); each message names the same
digest, and the sender uploads it to Meta once and reuses that media id (Meta keeps an
upload 30 days) instead of uploading it again for each of ten thousand recipients. When an
upload happened is kept on the message that made it: a reuse counts from the upload, never
from a later message that reused it.

Revision ID: 0038_campaign_header_file
Revises: 0037_procrastinate_lock_index
"""
import sqlalchemy as sa
from alembic import op

from wasb.store.base import UTCDateTime

revision = "0038_campaign_header_file"
down_revision = "0037_procrastinate_lock_index"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("campaign") as batch:
        batch.add_column(sa.Column("header_sha256", sa.String(100)))
        batch.add_column(sa.Column("header_filename", sa.String(300)))
        batch.add_column(sa.Column("header_mime", sa.String(100)))
        batch.add_column(sa.Column("header_size", sa.BigInteger))
    op.add_column("message", sa.Column("media_uploaded_at", UTCDateTime(timezone=True), nullable=True))
    op.create_index("ix_message_uploaded_file", "message", ["media_sha256", "media_uploaded_at"],
                    sqlite_where=sa.text("media_uploaded_at IS NOT NULL"),
                    postgresql_where=sa.text("media_uploaded_at IS NOT NULL"))


def downgrade() -> None:
    op.drop_index("ix_message_uploaded_file", table_name="message")
    with op.batch_alter_table("message") as batch:
        batch.drop_column("media_uploaded_at")
    with op.batch_alter_table("campaign") as batch:
        for column in ("header_size", "header_mime", "header_filename", "header_sha256"):
            batch.drop_column(column)

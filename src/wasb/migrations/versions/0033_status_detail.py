"""A message keeps every error of its failed status (Meta may send several), and the
conversation object its statuses carry (id, expiry, origin type).

Revision ID: 0033_status_detail
Revises: 0032_outgoing_webhooks
"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0033_status_detail"
down_revision = "0032_outgoing_webhooks"
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    with op.batch_alter_table("message") as batch:
        batch.add_column(sa.Column("errors", JSON, nullable=True))
        batch.add_column(sa.Column("meta_conversation", JSON, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("message") as batch:
        batch.drop_column("meta_conversation")
        batch.drop_column("errors")

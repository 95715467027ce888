"""business hours: the closed period a conversation's away message went out for

Revision ID: 0020_business_hours
Revises: 0019_consent
"""
from alembic import op
import sqlalchemy as sa

import wasb.store.base

revision = "0020_business_hours"
down_revision = "0019_consent"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("conversation") as batch:
        batch.add_column(sa.Column("away_sent_for", wasb.store.base.UTCDateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("conversation") as batch:
        batch.drop_column("away_sent_for")

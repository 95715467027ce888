"""The embedded CRM keeps a person's lead source (vtenext's `leadsource`): a lead created
from a click-to-WhatsApp ad records the ad it came from.

Revision ID: 0021_inbound_types
Revises: 0020_business_hours
"""
import sqlalchemy as sa
from alembic import op

revision = "0021_inbound_types"
down_revision = "0020_business_hours"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("crm_person") as batch:
        batch.add_column(sa.Column("source", sa.String(200), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("crm_person") as batch:
        batch.drop_column("source")

"""templates and ticket processes: where an outbound message came from

Revision ID: 0008_templates
Revises: 0001
"""
from alembic import op
import sqlalchemy as sa

revision = "0008_templates"
down_revision = "0003_outbound"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("message") as batch:
        batch.add_column(sa.Column("origin", sa.String(length=32), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("message") as batch:
        batch.drop_column("origin")

"""crm wiring: CRM poll cursors, resumable CRM steps of inbound messages

Revision ID: 0004_crm_wiring
Revises: 0001
"""
from alembic import op
import sqlalchemy as sa
import wasb.store.base
from sqlalchemy.dialects import postgresql

revision = "0004_crm_wiring"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "crm_state",
        sa.Column("key", sa.String(length=100), nullable=False),
        sa.Column("value", sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"), nullable=False),
        sa.Column("updated_at", wasb.store.base.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_crm_state")),
    )
    with op.batch_alter_table("message", schema=None) as batch_op:
        batch_op.add_column(sa.Column("crm_pending", sa.Boolean(), server_default=sa.false(), nullable=False))
        batch_op.create_unique_constraint(batch_op.f("uq_message_crm_comment_id"), ["crm_comment_id"])


def downgrade() -> None:
    with op.batch_alter_table("message", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("uq_message_crm_comment_id"), type_="unique")
        batch_op.drop_column("crm_pending")
    op.drop_table("crm_state")

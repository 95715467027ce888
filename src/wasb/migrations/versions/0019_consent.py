"""Consent: a customer's opt-out of marketing on their address-book entry (set by a keyword,
an agent, Meta's 131050 or the CRM), and the embedded CRM's custom fields (where an admin's
opt-out checkbox, like vtenext's, is kept).

Revision ID: 0019_consent
Revises: 0018_sent_files_stored
"""
from alembic import op
import sqlalchemy as sa

import wasb.store.base

revision = "0019_consent"
down_revision = "0018_sent_files_stored"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Columns added in place (never the copy-and-rename of the table: conversations'
    # foreign keys point at wa_contact).
    with op.batch_alter_table("wa_contact", recreate="never") as batch:
        batch.add_column(sa.Column("marketing_opted_out", sa.Boolean(), nullable=False, server_default=sa.false()))
        batch.add_column(sa.Column("opt_changed_at", wasb.store.base.UTCDateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("opt_source", sa.String(16), nullable=True))
    with op.batch_alter_table("crm_person", recreate="never") as batch:
        batch.add_column(sa.Column("custom_fields", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("crm_person", recreate="never") as batch:
        batch.drop_column("custom_fields")
    with op.batch_alter_table("wa_contact", recreate="never") as batch:
        batch.drop_column("opt_source")
        batch.drop_column("opt_changed_at")
        batch.drop_column("marketing_opted_out")

"""wa_contact.opted_out goes: nothing ever set or read it (an opt-out would have to be
honoured by the sender, and is not a feature of this service)

Revision ID: 0012_drop_opted_out
Revises: 0011_login_security
"""
from alembic import op
import sqlalchemy as sa

revision = "0012_drop_opted_out"
down_revision = "0011_login_security"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Batch mode, but never the copy-and-rename of the table: dropping the old table would
    # trip the foreign keys of conversations (SQLite >= 3.35 drops a plain column in place).
    with op.batch_alter_table("wa_contact", recreate="never") as batch:
        batch.drop_column("opted_out")


def downgrade() -> None:
    with op.batch_alter_table("wa_contact", recreate="never") as batch:
        batch.add_column(sa.Column("opted_out", sa.Boolean(), nullable=False, server_default=sa.false()))

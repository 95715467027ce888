"""Files agents sent before 0018 showed "downloading…" for ever: an upload is kept in the
media store under outbound/<sha256> from the moment it is queued, so those messages are
marked stored with that path (as new ones are). A CRM document sent before kept no copy and
stays as it was.

Revision ID: 0018_sent_files_stored
Revises: 0017_template_parameter_sources
"""
from alembic import op

revision = "0018_sent_files_stored"
down_revision = "0017_template_parameter_sources"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("UPDATE message SET media_state = 'stored', media_path = 'outbound/' || media_sha256 "
               "WHERE direction = 'out' AND media_sha256 IS NOT NULL AND media_state IS NULL "
               "AND media_path IS NULL")


def downgrade() -> None:
    pass  # the state describes a file that is there either way

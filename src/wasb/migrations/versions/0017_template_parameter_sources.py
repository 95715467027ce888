"""template.parameter_sources: where each parameter of a template takes its value from, set
by an admin (before, the pickers guessed the customer's name for any {{1}}). The fallback
template's mapping, a setting until now, moves to its template's row.

Revision ID: 0017_template_parameter_sources
Revises: 0016_shared_state
"""
import json

from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

revision = "0017_template_parameter_sources"
down_revision = "0016_shared_state"
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
setting = sa.table("setting", sa.column("key", sa.String), sa.column("value", JSON))
template = sa.table("template", sa.column("id", sa.Integer), sa.column("name", sa.String),
                    sa.column("language", sa.String), sa.column("parameter_sources", JSON))
# The parameters the settings' mapping could fill that a customer may read (not the
# machine-written ticket title).
KEPT = {"person.name", "person.company", "person.email", "ticket.number"}


def _setting(connection, key):
    value = connection.execute(sa.select(setting.c.value).where(setting.c.key == key)).scalar()
    return json.loads(value) if isinstance(value, str) else value


def upgrade() -> None:
    with op.batch_alter_table("template", recreate="never") as batch:
        batch.add_column(sa.Column("parameter_sources", JSON, nullable=True))
    connection = op.get_bind()
    fallback = _setting(connection, "fallback_template")
    mapping = _setting(connection, "fallback_template_mapping")
    if isinstance(fallback, dict) and isinstance(mapping, dict):
        kept = {str(k): v for k, v in mapping.items() if v in KEPT}
        if kept:
            connection.execute(template.update().where(
                template.c.name == fallback.get("name"), template.c.language == fallback.get("language"))
                .values(parameter_sources=kept))
    connection.execute(setting.delete().where(setting.c.key == "fallback_template_mapping"))


def downgrade() -> None:
    with op.batch_alter_table("template", recreate="never") as batch:
        batch.drop_column("parameter_sources")

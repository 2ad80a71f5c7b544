"""Who moved an alias and when; a description for each version.

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("aliases") as batch:
        batch.add_column(sa.Column("set_at", sa.DateTime(timezone=True)))
        batch.add_column(sa.Column("set_by", sa.String(200)))
    with op.batch_alter_table("versions") as batch:
        batch.add_column(sa.Column("description", sa.Text))


def downgrade() -> None:
    with op.batch_alter_table("versions") as batch:
        batch.drop_column("description")
    with op.batch_alter_table("aliases") as batch:
        batch.drop_column("set_by")
        batch.drop_column("set_at")

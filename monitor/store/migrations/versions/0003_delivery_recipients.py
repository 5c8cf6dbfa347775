"""Follow-up deliveries to the email recipients a server refused for now.

Revision ID: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # A file from before migrations that lacked the table got today's from the baseline step.
    if "recipients" in {c["name"] for c in sa.inspect(op.get_bind()).get_columns("deliveries")}:
        return
    with op.batch_alter_table("deliveries") as batch:
        batch.add_column(sa.Column("recipients", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("deliveries") as batch:
        batch.drop_column("recipients")

"""Incidents: items grouped into one event each (monitor/incidents/), their reports, lookup keys
and timeline, and what each alert was told about each incident (incident_sends). Items and
classifications are untouched.

Revision ID: 0005
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

_TIME = sa.DateTime(timezone=True)


def upgrade() -> None:
    if "incidents" in sa.inspect(op.get_bind()).get_table_names():
        return
    op.create_table(
        "incidents",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("title_item", sa.String(length=64), nullable=False),
        sa.Column("severity", sa.String(length=16), nullable=False),
        sa.Column("countries", sa.JSON(), nullable=False),
        sa.Column("regions", sa.JSON(), nullable=False),
        sa.Column("threats", sa.JSON(), nullable=False),
        sa.Column("first_seen", _TIME, nullable=False),
        sa.Column("last_seen", _TIME, nullable=False),
        sa.Column("source_count", sa.Integer(), nullable=False),
        sa.Column("casualties", sa.Integer(), nullable=True),
        sa.Column("breaking", sa.Boolean(), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("merged_into", sa.String(length=32), nullable=True),
        sa.Column("muted_until", _TIME, nullable=True),
        sa.Column("muted_alert", sa.String(length=200), nullable=True),
        sa.Column("muted_revision", sa.Integer(), nullable=True),
        sa.Column("acknowledged", sa.Boolean(), nullable=False),
        sa.Column("changed_by", sa.Text(), nullable=True),
        sa.Column("changed_at", _TIME, nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_incidents_state_last", "incidents", ["state", "last_seen"], unique=False)
    op.create_table(
        "incident_reports",
        sa.Column("item_id", sa.String(length=64), nullable=False),
        sa.Column("incident_id", sa.String(length=32), nullable=False),
        sa.Column("source", sa.String(length=200), nullable=False),
        sa.Column("at", _TIME, nullable=False),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(["item_id"], ["items.id"]),
        sa.PrimaryKeyConstraint("item_id"),
    )
    op.create_index("ix_incident_reports_incident", "incident_reports", ["incident_id"], unique=False)
    op.create_table(
        "incident_keys",
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("at", _TIME, nullable=False),
        sa.Column("item_id", sa.String(length=64), nullable=False),
    )
    op.create_index("ix_incident_keys_key_at", "incident_keys", ["key", "at"], unique=False)
    op.create_index("ix_incident_keys_item", "incident_keys", ["item_id"], unique=False)
    op.create_table(
        "incident_events",
        sa.Column("seq", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("incident_id", sa.String(length=32), nullable=False),
        sa.Column("at", _TIME, nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("actor", sa.Text(), nullable=False),
        sa.Column("detail", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("seq"),
    )
    op.create_index("ix_incident_events_incident", "incident_events", ["incident_id", "seq"], unique=False)
    op.create_table(
        "incident_sends",
        sa.Column("alert", sa.String(length=200), nullable=False),
        sa.Column("incident_id", sa.String(length=32), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("digest_id", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("alert", "incident_id", "revision"),
    )


def downgrade() -> None:
    op.drop_table("incident_sends")
    op.drop_index("ix_incident_events_incident", table_name="incident_events")
    op.drop_table("incident_events")
    op.drop_index("ix_incident_keys_item", table_name="incident_keys")
    op.drop_index("ix_incident_keys_key_at", table_name="incident_keys")
    op.drop_table("incident_keys")
    op.drop_index("ix_incident_reports_incident", table_name="incident_reports")
    op.drop_table("incident_reports")
    op.drop_index("ix_incidents_state_last", table_name="incidents")
    op.drop_table("incidents")

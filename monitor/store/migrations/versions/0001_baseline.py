"""Baseline: the schema of the releases before migrations (schema version 1, with the columns the
guarded ALTERs added: items.classified_version, classifications.seq).

Revision ID: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('advisory_history',
    sa.Column('seq', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('issuer', sa.String(length=200), nullable=False),
    sa.Column('country', sa.String(length=8), nullable=False),
    sa.Column('observed_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('change', sa.String(length=16), nullable=False),
    sa.Column('old_level', sa.Integer(), nullable=True),
    sa.Column('new_level', sa.Integer(), nullable=False),
    sa.Column('old_parts', sa.Boolean(), nullable=True),
    sa.Column('new_parts', sa.Boolean(), nullable=False),
    sa.Column('label', sa.Text(), nullable=False),
    sa.Column('item_id', sa.String(length=64), nullable=True),
    sa.PrimaryKeyConstraint('seq')
    )
    op.create_index('ix_advisory_history_issuer_country', 'advisory_history', ['issuer', 'country', 'observed_at'],
                    unique=False)
    op.create_table('advisory_levels',
    sa.Column('issuer', sa.String(length=200), nullable=False),
    sa.Column('country', sa.String(length=8), nullable=False),
    sa.Column('level', sa.Integer(), nullable=False),
    sa.Column('parts', sa.Boolean(), nullable=False),
    sa.Column('label', sa.Text(), nullable=False),
    sa.Column('since', sa.DateTime(timezone=True), nullable=False),
    sa.Column('last_seen', sa.DateTime(timezone=True), nullable=False),
    sa.Column('published', sa.DateTime(timezone=True), nullable=True),
    sa.Column('item_id', sa.String(length=64), nullable=True),
    sa.PrimaryKeyConstraint('issuer', 'country')
    )
    op.create_table('dedup_keys',
    sa.Column('key', sa.BigInteger(), nullable=False),
    sa.Column('item_id', sa.String(length=64), nullable=False),
    sa.Column('first_seen', sa.DateTime(timezone=True), nullable=False)
    )
    op.create_index('ix_dedup_keys_key', 'dedup_keys', ['key'], unique=False)
    op.create_table('digests',
    sa.Column('id', sa.String(length=64), nullable=False),
    sa.Column('alert', sa.String(length=200), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('item_count', sa.Integer(), nullable=False),
    sa.Column('carried', sa.Integer(), nullable=False),
    sa.Column('subject', sa.Text(), nullable=False),
    sa.Column('rendered', sa.JSON(), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('ix_digests_alert_created', 'digests', ['alert', 'created_at'], unique=False)
    op.create_table('items',
    sa.Column('seq', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('id', sa.String(length=64), nullable=False),
    sa.Column('source', sa.String(length=200), nullable=False),
    sa.Column('guid', sa.Text(), nullable=True),
    sa.Column('url', sa.Text(), nullable=True),
    sa.Column('title', sa.Text(), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('published', sa.DateTime(timezone=True), nullable=True),
    sa.Column('first_seen', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('author', sa.Text(), nullable=True),
    sa.Column('categories', sa.JSON(), nullable=False),
    sa.Column('category_domains', sa.JSON(), nullable=False),
    sa.Column('points', sa.JSON(), nullable=False),
    sa.Column('extra', sa.JSON(), nullable=False),
    sa.Column('content_hash', sa.String(length=64), nullable=False),
    sa.Column('fingerprint', sa.JSON(), nullable=True),
    sa.Column('distinct_guid', sa.Boolean(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('classified_version', sa.String(length=64), nullable=True),
    sa.PrimaryKeyConstraint('seq'),
    sa.UniqueConstraint('id')
    )
    op.create_index('ix_items_classified_version', 'items', ['classified_version'], unique=False)
    op.create_index('ix_items_content_hash', 'items', ['content_hash'], unique=False)
    op.create_index('ix_items_first_seen', 'items', ['first_seen'], unique=False)
    op.create_index('ix_items_source_first_seen', 'items', ['source', 'first_seen'], unique=False)
    op.create_table('meta',
    sa.Column('key', sa.String(length=64), nullable=False),
    sa.Column('value', sa.Text(), nullable=False),
    sa.PrimaryKeyConstraint('key')
    )
    op.create_table('source_state',
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('last_attempt', sa.DateTime(timezone=True), nullable=True),
    sa.Column('last_success', sa.DateTime(timezone=True), nullable=True),
    sa.Column('consecutive_failures', sa.Integer(), nullable=False),
    sa.Column('next_due', sa.DateTime(timezone=True), nullable=True),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.Column('etag', sa.Text(), nullable=True),
    sa.Column('last_modified', sa.Text(), nullable=True),
    sa.Column('permanent_url', sa.Text(), nullable=True),
    sa.Column('gone', sa.Boolean(), nullable=False),
    sa.Column('items_total', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('name')
    )
    op.create_table('classifications',
    sa.Column('item_id', sa.String(length=64), nullable=False),
    sa.Column('rules_version', sa.String(length=64), nullable=False),
    sa.Column('severity', sa.String(length=16), nullable=False),
    sa.Column('countries', sa.JSON(), nullable=False),
    sa.Column('data', sa.JSON(), nullable=False),
    sa.Column('classified_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('seq', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['item_id'], ['items.id'], ),
    sa.PrimaryKeyConstraint('item_id')
    )
    op.create_index('ix_classifications_seq', 'classifications', ['seq'], unique=False)
    op.create_table('deliveries',
    sa.Column('digest_id', sa.String(length=64), nullable=False),
    sa.Column('target', sa.String(length=64), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('label', sa.Text(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('next_attempt', sa.DateTime(timezone=True), nullable=True),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.Column('sent_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['digest_id'], ['digests.id'], ),
    sa.PrimaryKeyConstraint('digest_id', 'target')
    )
    op.create_index('ix_deliveries_status_next', 'deliveries', ['status', 'next_attempt'], unique=False)
    op.create_table('digest_items',
    sa.Column('digest_id', sa.String(length=64), nullable=False),
    sa.Column('alert', sa.String(length=200), nullable=False),
    sa.Column('item_id', sa.String(length=64), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['digest_id'], ['digests.id'], ),
    sa.UniqueConstraint('alert', 'item_id', name='uq_digest_items_alert_item')
    )
    op.create_index('ix_digest_items_digest', 'digest_items', ['digest_id'], unique=False)
    op.create_table('duplicates',
    sa.Column('id', sa.String(length=64), nullable=False),
    sa.Column('original_id', sa.String(length=64), nullable=False),
    sa.Column('source', sa.String(length=200), nullable=False),
    sa.Column('url', sa.Text(), nullable=True),
    sa.Column('title', sa.Text(), nullable=True),
    sa.Column('similarity', sa.Float(), nullable=False),
    sa.Column('content_hash', sa.String(length=64), nullable=False),
    sa.Column('seen_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['original_id'], ['items.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('ix_duplicates_original', 'duplicates', ['original_id'], unique=False)
    op.create_table('item_regions',
    sa.Column('item_id', sa.String(length=64), nullable=False),
    sa.Column('region_id', sa.String(length=120), nullable=False),
    sa.Column('role', sa.String(length=16), nullable=False),
    sa.ForeignKeyConstraint(['item_id'], ['items.id'], ),
    sa.UniqueConstraint('item_id', 'region_id')
    )
    op.create_index('ix_item_regions_region', 'item_regions', ['region_id'], unique=False)
    op.create_table('item_threats',
    sa.Column('item_id', sa.String(length=64), nullable=False),
    sa.Column('threat', sa.String(length=64), nullable=False),
    sa.ForeignKeyConstraint(['item_id'], ['items.id'], ),
    sa.UniqueConstraint('item_id', 'threat')
    )
    op.create_index('ix_item_threats_threat', 'item_threats', ['threat'], unique=False)


def downgrade() -> None:
    raise NotImplementedError("the baseline cannot be downgraded")

"""Table definitions (SQLAlchemy Core). Only ``store.py`` runs SQL against them."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    TypeDecorator,
    UniqueConstraint,
)

SCHEMA_VERSION = 1


class UTCDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes in, aware UTC datetimes out, whatever the dialect stores."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the store; all times must be UTC-aware")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


metadata = MetaData()

meta = Table(
    "meta", metadata,
    Column("key", String(64), primary_key=True),
    Column("value", Text, nullable=False),
)

items = Table(
    "items", metadata,
    Column("seq", Integer, primary_key=True, autoincrement=True),
    Column("id", String(64), nullable=False, unique=True),
    Column("source", String(200), nullable=False),
    Column("guid", Text),
    Column("url", Text),
    Column("title", Text, nullable=False),
    Column("text", Text, nullable=False),
    Column("published", UTCDateTime),
    Column("first_seen", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime),
    Column("author", Text),
    Column("categories", JSON, nullable=False, default=list),
    Column("category_domains", JSON, nullable=False, default=dict),
    Column("points", JSON, nullable=False, default=list),
    Column("extra", JSON, nullable=False, default=dict),
    Column("content_hash", String(64), nullable=False),
    Column("fingerprint", JSON),
    Column("distinct_guid", Boolean, nullable=False, default=False),
    Column("version", Integer, nullable=False, default=1),
    Index("ix_items_source_first_seen", "source", "first_seen"),
    Index("ix_items_first_seen", "first_seen"),
    Index("ix_items_content_hash", "content_hash"),
)

duplicates = Table(
    "duplicates", metadata,
    Column("id", String(64), primary_key=True),
    Column("original_id", String(64), ForeignKey("items.id"), nullable=False),
    Column("source", String(200), nullable=False),
    Column("url", Text),
    Column("title", Text),
    Column("similarity", Float, nullable=False),
    Column("content_hash", String(64), nullable=False),
    Column("seen_at", UTCDateTime, nullable=False),
    Index("ix_duplicates_original", "original_id"),
)

source_state = Table(
    "source_state", metadata,
    Column("name", String(200), primary_key=True),
    Column("last_attempt", UTCDateTime),
    Column("last_success", UTCDateTime),
    Column("consecutive_failures", Integer, nullable=False, default=0),
    Column("next_due", UTCDateTime),
    Column("last_error", Text),
    Column("etag", Text),
    Column("last_modified", Text),
    Column("permanent_url", Text),
    Column("gone", Boolean, nullable=False, default=False),
    Column("items_total", Integer, nullable=False, default=0),
)

classifications = Table(
    "classifications", metadata,
    Column("item_id", String(64), ForeignKey("items.id"), primary_key=True),
    Column("rules_version", String(64), nullable=False),
    Column("severity", String(16), nullable=False),
    Column("countries", JSON, nullable=False),
    Column("data", JSON, nullable=False),
    Column("classified_at", UTCDateTime, nullable=False),
)

# One row per region id an item is about, ancestors included, so `--region western-asia` and alert
# matching are a plain indexed lookup on every dialect.
item_regions = Table(
    "item_regions", metadata,
    Column("item_id", String(64), ForeignKey("items.id"), nullable=False),
    Column("region_id", String(120), nullable=False),
    Column("role", String(16), nullable=False),
    UniqueConstraint("item_id", "region_id"),
    Index("ix_item_regions_region", "region_id"),
)

item_threats = Table(
    "item_threats", metadata,
    Column("item_id", String(64), ForeignKey("items.id"), nullable=False),
    Column("threat", String(64), nullable=False),
    UniqueConstraint("item_id", "threat"),
    Index("ix_item_threats_threat", "threat"),
)

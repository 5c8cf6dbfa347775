"""Table definitions (SQLAlchemy Core). Only ``store.py`` runs SQL against them."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
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

# The pre-migration schema's number, kept in `meta` for older releases; the schema's version is now
# its Alembic revision (monitor/migrations/versions/).
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
    # The rules version of the item's current classification (NULL: none), kept beside the
    # classification so that finding the items to classify is an index lookup, not an anti-join
    # over every item.
    Column("classified_version", String(64)),
    Index("ix_items_source_first_seen", "source", "first_seen"),
    Index("ix_items_first_seen", "first_seen"),
    Index("ix_items_content_hash", "content_hash"),
    Index("ix_items_classified_version", "classified_version"),
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

# The near-duplicate index's LSH buckets (monitor/sources/ingest.py StoredIndex): a few keys per item, each
# a band of its sketch combined with the figures it names. Kept here rather than in memory, a
# month of fingerprints costs the daemon nothing; written in the poll's own transaction.
dedup_keys = Table(
    "dedup_keys", metadata,
    Column("key", BigInteger, nullable=False),
    Column("item_id", String(64), nullable=False),
    Column("first_seen", UTCDateTime, nullable=False),
    Index("ix_dedup_keys_key", "key"),
)

classifications = Table(
    "classifications", metadata,
    Column("item_id", String(64), ForeignKey("items.id"), primary_key=True),
    Column("rules_version", String(64), nullable=False),
    Column("severity", String(16), nullable=False),
    Column("countries", JSON, nullable=False),
    Column("data", JSON, nullable=False),
    Column("classified_at", UTCDateTime, nullable=False),
    # Classification order (a counter in `meta`, never reused): the dispatcher reads only what was
    # classified after its last look. NULL on rows written before the column existed.
    Column("seq", Integer),
    Index("ix_classifications_seq", "seq"),
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

# ---------------------------------------------------------------------------------------------
# Outbox: what each alert sent, and to whom. A digest row, its (alert, item) claims and one
# pending delivery per target are written in one transaction; UNIQUE(alert, item_id) is what makes
# "no item reaches the same alert in two digests" hold even against a second writer.

digests = Table(
    "digests", metadata,
    Column("id", String(64), primary_key=True),
    Column("alert", String(200), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("item_count", Integer, nullable=False),
    Column("carried", Integer, nullable=False, default=0),
    Column("subject", Text, nullable=False),
    # The RenderedDigest as first built: a retry or a resend after a crash sends exactly this.
    Column("rendered", JSON, nullable=False),
    Index("ix_digests_alert_created", "alert", "created_at"),
)

digest_items = Table(
    "digest_items", metadata,
    Column("digest_id", String(64), ForeignKey("digests.id"), nullable=False),
    Column("alert", String(200), nullable=False),
    Column("item_id", String(64), nullable=False),
    Column("position", Integer, nullable=False),
    UniqueConstraint("alert", "item_id", name="uq_digest_items_alert_item"),
    Index("ix_digest_items_digest", "digest_id"),
)

deliveries = Table(
    "deliveries", metadata,
    Column("digest_id", String(64), ForeignKey("digests.id"), primary_key=True),
    # A stable key of the target within its alert (kind + hash of its address), so a webhook URL
    # carrying a token is never stored or shown in the clear; `label` is what people see.
    Column("target", String(64), primary_key=True),
    Column("kind", String(16), nullable=False),
    Column("label", Text, nullable=False),
    # pending | sent | failed | replaced (by `digests retry`, when its target had left the config)
    Column("status", String(16), nullable=False),
    Column("attempts", Integer, nullable=False, default=0),
    Column("next_attempt", UTCDateTime),
    Column("last_error", Text),
    Column("sent_at", UTCDateTime),
    # A follow-up delivery to the recipients an SMTP server refused for now (4xx: greylisting, a
    # full mailbox) while it accepted the others: their addresses as a JSON list. NULL for a
    # delivery to a target of the config.
    Column("recipients", Text),
    Index("ix_deliveries_status_next", "status", "next_attempt"),
)

# ---------------------------------------------------------------------------------------------
# Official advisory levels (monitor/official/changes.py): each issuer's current level per country, and
# every change of it. The first level seen for a country is recorded as a "baseline", not a change.

advisory_levels = Table(
    "advisory_levels", metadata,
    Column("issuer", String(200), primary_key=True),  # the source's name
    Column("country", String(8), primary_key=True),  # ISO 3166-1 alpha-2
    Column("level", Integer, nullable=False),  # 1-4
    Column("parts", Boolean, nullable=False, default=False),
    Column("label", Text, nullable=False),
    Column("since", UTCDateTime, nullable=False),  # when this level began, as far as we know
    Column("last_seen", UTCDateTime, nullable=False),
    Column("published", UTCDateTime),  # the issuer's own date of its latest publication
    Column("item_id", String(64)),  # the advisory item that stated it last
)

advisory_history = Table(
    "advisory_history", metadata,
    Column("seq", Integer, primary_key=True, autoincrement=True),
    Column("issuer", String(200), nullable=False),
    Column("country", String(8), nullable=False),
    Column("observed_at", UTCDateTime, nullable=False),
    Column("change", String(16), nullable=False),  # baseline | raised | lowered | parts
    Column("old_level", Integer),
    Column("new_level", Integer, nullable=False),
    Column("old_parts", Boolean),
    Column("new_parts", Boolean, nullable=False),
    Column("label", Text, nullable=False),
    Column("item_id", String(64)),  # the change item, for raised/lowered/parts
    Index("ix_advisory_history_issuer_country", "issuer", "country", "observed_at"),
)

# ---------------------------------------------------------------------------------------------
# Several workers on one PostgreSQL (monitor/store/leases.py): who is alive, and who holds what.
# Times in both come from the database's clock (now()), so skew between hosts cannot make two
# workers believe they hold one claim.

workers = Table(
    "workers", metadata,
    Column("id", String(120), primary_key=True),  # host:pid:start
    Column("host", String(200), nullable=False),
    Column("pid", Integer, nullable=False),
    Column("started_at", UTCDateTime, nullable=False),
    Column("heartbeat", UTCDateTime, nullable=False),
)

leases = Table(
    "leases", metadata,
    Column("kind", String(16), primary_key=True),  # source | digest
    Column("name", String(200), primary_key=True),  # the source's name, the digest's id
    Column("owner", String(120), nullable=False),
    Column("expires", UTCDateTime, nullable=False),
    Column("taken_at", UTCDateTime, nullable=False),
    Index("ix_leases_owner", "owner"),
)

# ---------------------------------------------------------------------------------------------
# Incidents (monitor/incidents/): items grouped into one event each. Items keep their ids and
# classifications; these tables only say which incident each grouped item belongs to, and what
# happened to the incident (its timeline, and who muted, acknowledged, closed, merged or split it).

incidents = Table(
    "incidents", metadata,
    Column("id", String(32), primary_key=True),
    Column("state", String(16), nullable=False),  # open | muted | closed | merged
    Column("title", Text, nullable=False),
    Column("title_item", String(64), nullable=False),
    Column("severity", String(16), nullable=False),
    Column("countries", JSON, nullable=False),
    Column("regions", JSON, nullable=False),
    Column("threats", JSON, nullable=False),
    Column("first_seen", UTCDateTime, nullable=False),
    Column("last_seen", UTCDateTime, nullable=False),
    Column("source_count", Integer, nullable=False),
    Column("casualties", Integer),
    Column("breaking", Boolean, nullable=False, default=False),
    # Escalations so far (0: as first reported); digests send one update per revision.
    Column("revision", Integer, nullable=False, default=0),
    Column("merged_into", String(32)),
    Column("muted_until", UTCDateTime),
    Column("muted_alert", String(200)),
    # A mute "unless escalated": the revision it was muted at; a later escalation passes (NULL: none does).
    Column("muted_revision", Integer),
    Column("acknowledged", Boolean, nullable=False, default=False),
    Column("changed_by", Text),
    Column("changed_at", UTCDateTime),
    Index("ix_incidents_state_last", "state", "last_seen"),
)

incident_reports = Table(
    "incident_reports", metadata,
    Column("item_id", String(64), ForeignKey("items.id"), primary_key=True),
    Column("incident_id", String(32), nullable=False),
    Column("source", String(200), nullable=False),
    Column("at", UTCDateTime, nullable=False),
    # The report's grouping signature (places, threats, features, figures: monitor/incidents/).
    Column("data", JSON, nullable=False),
    Index("ix_incident_reports_incident", "incident_id"),
)

# A grouped report's lookup keys (country|threat), so candidates are an index range on (key, at)
# whatever the number of stored incidents.
incident_keys = Table(
    "incident_keys", metadata,
    Column("key", String(200), nullable=False),
    Column("at", UTCDateTime, nullable=False),
    Column("item_id", String(64), nullable=False),
    Index("ix_incident_keys_key_at", "key", "at"),
    Index("ix_incident_keys_item", "item_id"),
)

incident_events = Table(
    "incident_events", metadata,
    Column("seq", Integer, primary_key=True, autoincrement=True),
    Column("incident_id", String(32), nullable=False),
    Column("at", UTCDateTime, nullable=False),
    # created | joined | escalated | breaking | mute | unmute | ack | close | merge | split
    Column("kind", String(32), nullable=False),
    Column("actor", Text, nullable=False),
    Column("detail", JSON, nullable=False),
    Index("ix_incident_events_incident", "incident_id", "seq"),
)

# What each alert has told about each incident: one row per (alert, incident, revision), written
# with the digest that told it, so an incident's first report and each of its updates reach an alert
# once (revision 0: the incident as first sent; n: its n-th escalation).
incident_sends = Table(
    "incident_sends", metadata,
    Column("alert", String(200), primary_key=True),
    Column("incident_id", String(32), primary_key=True),
    Column("revision", Integer, primary_key=True),
    Column("digest_id", String(64), nullable=False),
)

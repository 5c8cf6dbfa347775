"""Digest stage: a sample digest that every alert's own templates are rendered against at load.

A template is code, and code that raises on every digest (``{{ 1/0 }}``, ``{{ count + " items" }}``,
a misspelt name) should be found when the config is read, not when the first digest is due. The
sample holds two entries with every field set (an official level change with its advisory, a CAP
instruction, a feed's categories, points, links, dates and evidence), so a template that renders
it handles what a real digest usually holds. It cannot prove more: a template that fails only on
some real data (an entry without a date, say) still fails at send time, as that alert's error.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from monitor.config import AlertRule
from monitor.digest.render import render
from monitor.models import (
    Classification,
    Digest,
    DigestEntry,
    Evidence,
    GeoPoint,
    Item,
    ItemExtra,
    RegionHit,
    RenderedDigest,
    Severity,
    ThreatHit,
)

SAMPLE_ID = "00000000-000000-sample"
_CREATED = datetime(2024, 5, 2, 9, 30, tzinfo=UTC)


def _span(full: str, word: str) -> Evidence:
    start = full.index(word, full.index("\n\n"))
    return Evidence(text=word, start=start, end=start + len(word))


def _official_entry(alert: str) -> DigestEntry:
    title = "Azerbaijan - Level 3: Reconsider Travel"
    text = ("Reconsider travel to Azerbaijan due to terrorism. Terrorist groups continue plotting attacks in "
            "Baku, Azerbaijan, targeting hotels and places frequented by foreigners.")
    full = f"{title}\n\n{text}"
    extra = ItemExtra.from_json({
        "advisory": {"issuer": "US State Department", "country": "AZ", "level": 3, "parts": False,
                     "label": "Reconsider Travel", "scope": "country"},
        "advisory_change": {"change": "raised", "old": 2, "new": 3, "old_parts": False, "parts": False,
                            "old_label": "Exercise Increased Caution", "label": "Reconsider Travel",
                            "issuer": "US State Department", "country": "AZ",
                            "observed_at": "2024-05-02T08:00:00+00:00", "advisory_item": "sample-advisory"},
    })
    item = Item(id="sample-1", source="us-state", guid="sample-guid-1", url="https://travel.example.org/az",
                title=title, text=text, published=datetime(2024, 5, 1, 18, 5, tzinfo=UTC),
                first_seen=datetime(2024, 5, 1, 18, 20, tzinfo=UTC),
                updated_at=datetime(2024, 5, 1, 18, 20, tzinfo=UTC),
                author="Bureau of Consular Affairs", categories=["Travel Advisory", "AZ"],
                category_domains={"AZ": "country-tag"}, points=[GeoPoint(lat=40.41, lon=49.87)],
                content_hash="sample-1", extra=extra)
    cls = Classification(
        item_id=item.id, title=title, source=item.source, countries=["AZ"], severity=Severity.high,
        regions=[RegionHit(id="AZ", name="Azerbaijan", kind="country", country="AZ", role="primary", score=0.9,
                           evidence=[_span(full, "Azerbaijan")]),
                 RegionHit(id="baku-az", name="Baku", kind="city", country="AZ", role="primary", score=0.6,
                           evidence=[_span(full, "Baku")])],
        threats=[ThreatHit(type="terrorism", score=0.8, evidence=[_span(full, "Terrorist")], regions=["baku-az"])],
        severity_evidence=[Evidence(text="Level 3", start=full.index("Level 3"), end=full.index("Level 3") + 7)])
    return DigestEntry(item=item, classification=cls, matched_regions=["AZ"], matched_threats=["terrorism"],
                       matched_keywords=["hotels"], why=f"Matched rule '{alert}': region Azerbaijan; threat terrorism")


def _news_entry(alert: str) -> DigestEntry:
    title = "Shelling reported near the border at Sotk, Armenia"
    text = ("Officials reported heavy shelling overnight near Sotk in Armenia's Gegharkunik province. "
            "Travellers should avoid the border areas until further notice.")
    full = f"{title}\n\n{text}"
    extra = ItemExtra.from_json({
        "cap": {"identifier": "sample-cap-1", "sender": "alerts@example.org", "msgType": "Alert",
                "instruction": "Avoid the border areas.", "areas": [{"desc": "Gegharkunik province"}]},
        "source_name": "Loopback news",
    })
    item = Item(id="sample-2", source="news", guid="sample-guid-2", url="https://news.example.org/sotk",
                title=title, text=text, published=datetime(2024, 5, 2, 4, 40, tzinfo=UTC),
                first_seen=datetime(2024, 5, 2, 5, 0, tzinfo=UTC), author="Newsroom", categories=["World"],
                points=[GeoPoint(lat=40.2, lon=45.9)], content_hash="sample-2", version=2, extra=extra)
    cls = Classification(
        item_id=item.id, title=title, source=item.source, countries=["AM"], severity=Severity.critical,
        regions=[RegionHit(id="AM", name="Armenia", kind="country", country="AM", role="primary", score=0.9,
                           evidence=[_span(full, "Armenia")]),
                 RegionHit(id="AZ", name="Azerbaijan", kind="country", country="AZ", role="mentioned", score=0.1)],
        threats=[ThreatHit(type="armed_conflict", score=0.9, evidence=[_span(full, "shelling")], regions=["AM"])])
    return DigestEntry(item=item, classification=cls, matched_regions=["AM"], matched_threats=["armed_conflict"],
                       why=f"Matched rule '{alert}': region Armenia; threat armed conflict")


def sample_digest(alert: AlertRule) -> Digest:
    """Two entries with every field set, dated in the past, in the alert's timezone."""
    return Digest(id=SAMPLE_ID, alert=alert.name, created_at=_CREATED, timezone=alert.timezone,
                  entries=[_official_entry(alert.name), _news_entry(alert.name)])


def render_sample(alert: AlertRule, templates: Path | None = None) -> RenderedDigest:
    """The alert's templates rendered on the sample digest; raises the alert's TemplateError."""
    return render(sample_digest(alert), alert, templates=templates)

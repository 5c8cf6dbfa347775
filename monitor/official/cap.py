"""Official sources: CAP 1.x alerts (Common Alerting Protocol), single or behind an Atom/RSS index.

Accepted documents: one ``<alert>``; a container holding alerts (EDXL-DE, an Atom feed with the
alert embedded in its entries); an Atom or RSS index whose entries carry the CAP fields inline
(``cap:severity``... as the US NWS does) or link to the alert (followed when ``follow_links``).

An alert missing a required element (identifier, sender, sent, status, msgType, scope), or in a
namespace that is not CAP's, is rejected with a message saying what is wrong: a single document
fails the poll, an index entry is dropped with a warning. Alerts whose ``status`` is not
``Actual`` (Exercise, System, Test, Draft) are not news and are skipped.

Identity: an Alert is its own item (``sender,identifier``); an Update or a Cancel with
``references`` is a new version of the alert it refers to (the first reference, the original), so
it updates that story instead of starting a new one. ``severity`` Minor..Extreme is level 1-4.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime
from typing import Any

import httpx
from lxml import etree

from monitor.config import CapSource
from monitor.errors import SourceError
from monitor.models import CapAlert, CapArea, GeoPoint, ItemExtra, PollResult, RawEntry
from monitor.official.fetch import Document, as_feed_source, fetch_document, parse_in_thread
from monitor.official.scale import CAP_LEVELS, advisory
from monitor.sources.charset import repair_charset
from monitor.sources.xmlguard import screen_doctype

log = logging.getLogger(__name__)

CAP_NAMESPACES = frozenset({
    "urn:oasis:names:tc:emergency:cap:1.0", "urn:oasis:names:tc:emergency:cap:1.1",
    "urn:oasis:names:tc:emergency:cap:1.2", "http://www.incident.com/cap/1.0",
})
ATOM = "http://www.w3.org/2005/Atom"
REQUIRED = ("identifier", "sender", "sent", "status", "msgType", "scope")
_PARSER_OPTIONS = {"resolve_entities": False, "no_network": True, "load_dtd": False, "huge_tree": False,
                   "remove_comments": True, "remove_pis": True}


class CapError(ValueError):
    """A document or alert that is not valid CAP; the message says why."""


def _local(el: Any) -> str:
    return etree.QName(el).localname if isinstance(el.tag, str) else ""


def _ns(el: Any) -> str:
    return etree.QName(el).namespace or "" if isinstance(el.tag, str) else ""


def _child(el: Any, name: str) -> Any:
    for c in el:
        if _local(c) == name:
            return c
    return None


def _children(el: Any, name: str) -> list[Any]:
    return [c for c in el if _local(c) == name]


def _text(el: Any, name: str) -> str:
    c = _child(el, name)
    return " ".join((c.text or "").split()) if c is not None else ""


def _date(text: str) -> datetime | None:
    if not text:
        return None
    try:
        parsed = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        try:
            import email.utils

            parsed = email.utils.parsedate_to_datetime(text)
        except (TypeError, ValueError):
            return None
    return parsed.astimezone(UTC) if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def parse_xml(data: bytes) -> Any:
    """The root element of a screened, entity-safe parse; CapError if it is not XML."""
    # The same screening as feeds: no DOCTYPE that could fetch or explode, a wrong charset repaired.
    screened = repair_charset(screen_doctype(data).data, None).data
    try:
        return etree.fromstring(screened, etree.XMLParser(**_PARSER_OPTIONS))
    except etree.XMLSyntaxError as exc:
        raise CapError(f"not well-formed XML: {exc}") from exc


def _points(area: Any) -> tuple[list[GeoPoint], dict[str, Any]]:
    points: list[GeoPoint] = []
    desc: dict[str, Any] = {"desc": _text(area, "areaDesc")}
    polygons, circles = [], []
    for poly in _children(area, "polygon"):
        pairs = []
        for pair in (poly.text or "").split():
            try:
                lat, lon = (float(v) for v in pair.split(",")[:2])
            except ValueError:
                continue
            if -90 <= lat <= 90 and -180 <= lon <= 180:
                pairs.append((lat, lon))
        if pairs:
            polygons.append([list(p) for p in pairs])
            lat_c, lon_c = sum(p[0] for p in pairs) / len(pairs), sum(p[1] for p in pairs) / len(pairs)
            points.append(GeoPoint(lat=lat_c, lon=lon_c))  # the vertices' mean stands for the area
    for circle in _children(area, "circle"):
        try:
            centre, radius = (circle.text or "").split()
            lat, lon = (float(v) for v in centre.split(",")[:2])
            km = float(radius)
        except ValueError:
            continue
        if -90 <= lat <= 90 and -180 <= lon <= 180:
            circles.append({"lat": lat, "lon": lon, "radius_km": km})
            points.append(GeoPoint(lat=lat, lon=lon))
    geocodes = {_text(g, "valueName"): _text(g, "value") for g in _children(area, "geocode")}
    if polygons:
        desc["polygons"] = polygons
    if circles:
        desc["circles"] = circles
    if geocodes:
        desc["geocodes"] = geocodes
    return points, desc


def alert_entry(issuer: str, alert: Any, *, link: str | None = None) -> RawEntry | None:
    """One CAP ``<alert>`` as an entry; None when it is not news (not Actual); CapError if invalid."""
    if _ns(alert) not in CAP_NAMESPACES:
        raise CapError(f"an <alert> in namespace {_ns(alert) or '(none)'!r}, which is not a CAP namespace")
    missing = [name for name in REQUIRED if not _text(alert, name)]
    if missing:
        raise CapError(f"alert {_text(alert, 'identifier') or '(no identifier)'} lacks required "
                       f"{', '.join(missing)}")
    if _text(alert, "status").lower() != "actual":
        return None
    sender, identifier, msg_type = _text(alert, "sender"), _text(alert, "identifier"), _text(alert, "msgType")
    references = _text(alert, "references").split()
    original = f"{sender},{identifier}"
    if msg_type.lower() in ("update", "cancel") and references:
        original = ",".join(references[0].split(",")[:2])
    infos = _children(alert, "info")
    english = [i for i in infos if _text(i, "language").lower().startswith("en")]
    info = (english or infos or [None])[0]
    points: list[GeoPoint] = []
    areas: list[dict[str, Any]] = []
    level = None
    label = msg_type
    title = f"{msg_type}: {identifier}"
    body = ""
    if info is not None:
        for area in _children(info, "area"):
            pts, desc = _points(area)
            points.extend(pts)
            areas.append(desc)
        severity = _text(info, "severity")
        level = CAP_LEVELS.get(severity.lower())
        event = _text(info, "event")
        label = f"{severity or 'Unknown'} {event}".strip() + f" ({_text(info, 'urgency') or 'Unknown'} urgency, " \
                f"{_text(info, 'certainty') or 'Unknown'} certainty)"
        title = _text(info, "headline") or event or title
        area_text = "; ".join(a["desc"] for a in areas if a.get("desc"))
        body = "\n\n".join(p for p in (_text(info, "description"), _text(info, "instruction"),
                                       f"Areas: {area_text}" if area_text else "") if p)
        link = link or _text(info, "web") or None
    if msg_type.lower() == "cancel":
        title = f"Cancelled: {title}"
    instruction = _text(info, "instruction") if info is not None else ""
    cap = CapAlert(identifier=identifier, sender=sender, msgType=msg_type, references=references,
                   areas=[CapArea.model_validate(a) for a in areas], instruction=instruction or None)
    # CAP areas are never a whole country's standing level: scope "event", parts true.
    adv = advisory(issuer, None, level, True, label, "event") if level is not None else None
    extra = ItemExtra(cap=cap, advisory=adv)
    return RawEntry(source=issuer, guid=f"cap:{original}", link=link, title=title, body=body,
                    published=_date(_text(alert, "sent")), points=points[:50], categories=[label], extra=extra)


def _alerts_in(root: Any) -> list[Any]:
    return [el for el in root.iter() if _local(el) == "alert" and _ns(el) in CAP_NAMESPACES]


def _entry_link(entry: Any) -> str | None:
    links = _children(entry, "link")
    for rel in ("related", "alternate", None):
        for lk in links:
            href = lk.get("href") or (lk.text or "").strip()
            if href and (rel is None or lk.get("rel", "alternate") == rel):
                if rel == "related" and "cap" not in (lk.get("type") or ""):
                    continue
                return href
    return None


def _inline_entry(issuer: str, entry: Any) -> RawEntry | None:
    """An index entry carrying CAP fields itself (cap:severity, cap:event... as the NWS does)."""
    cap = {(_local(c)): " ".join((c.text or "").split()) for c in entry if _ns(c) in CAP_NAMESPACES}
    if "severity" not in cap and "event" not in cap:
        return None
    if cap.get("status", "Actual").lower() != "actual":
        return None
    level = CAP_LEVELS.get(cap.get("severity", "").lower())
    label = f"{cap.get('severity') or 'Unknown'} {cap.get('event', '')}".strip()
    guid = _text(entry, "id") or _text(entry, "guid") or _entry_link(entry)
    body = " ".join(filter(None, (_text(entry, "summary") or _text(entry, "description"),
                                  f"Areas: {cap['areaDesc']}" if cap.get("areaDesc") else "")))
    fields = CapAlert(msgType=cap.get("msgType", ""), areas=[CapArea(desc=cap.get("areaDesc", ""))])
    adv = advisory(issuer, None, level, True, label, "event") if level is not None else None
    extra = ItemExtra(cap=fields, advisory=adv)
    return RawEntry(source=issuer, guid=f"cap:{guid}" if guid else None, link=_entry_link(entry),
                    title=_text(entry, "title") or label, body=body,
                    published=_date(cap.get("sent") or cap.get("effective") or _text(entry, "published")
                                    or _text(entry, "updated") or _text(entry, "pubDate")),
                    categories=[label], extra=extra)


def parse_document(issuer: str, data: bytes) -> tuple[list[RawEntry], list[str], list[str]]:
    """(entries, links still to fetch, warnings) of one CAP document or index.

    Raises CapError when the document is neither CAP nor a CAP index.
    """
    root = parse_xml(data)
    warnings: list[str] = []
    entries: list[RawEntry] = []
    if _local(root) == "alert":
        entry = alert_entry(issuer, root)  # a single alert that is invalid fails the poll
        return ([entry] if entry else []), [], warnings
    items = [el for el in root.iter() if _local(el) in ("entry", "item")]
    embedded = _alerts_in(root)
    if embedded and not items:
        for alert in embedded:
            try:
                entry = alert_entry(issuer, alert)
            except CapError as exc:
                warnings.append(f"alert dropped: {exc}")
                continue
            if entry:
                entries.append(entry)
        return entries, [], warnings
    if _local(root) not in ("feed", "rss", "RDF"):
        raise CapError(f"not a CAP alert or a CAP Atom/RSS index: the root element is <{_local(root)}>")
    links: list[str] = []
    for item in items:
        inside = _alerts_in(item)
        try:
            if inside:
                found = alert_entry(issuer, inside[0], link=_entry_link(item))
                if found:
                    entries.append(found)
                continue
        except CapError as exc:
            warnings.append(f"entry {_text(item, 'id') or _text(item, 'title')!r} dropped: {exc}")
            continue
        inline = _inline_entry(issuer, item)
        if inline is not None:
            entries.append(inline)
            continue
        link = _entry_link(item)
        if link:
            links.append(link)
        else:
            warnings.append(f"entry {_text(item, 'id') or _text(item, 'title')!r} has neither CAP fields nor a link")
    return entries, links, warnings


async def fetch(source: CapSource, client: httpx.AsyncClient, *, etag: str | None,
                last_modified: str | None) -> PollResult:
    plain = as_feed_source(source)
    doc = await fetch_document(plain, client, etag=etag, last_modified=last_modified)
    if not isinstance(doc, Document):
        return doc
    try:
        entries, links, warnings = await parse_in_thread(plain, parse_document, source.name, doc.data)
    except CapError as exc:
        raise SourceError(source.name, f"invalid CAP from {doc.url}: {exc}") from exc
    if links and source.follow_links:
        base = httpx.URL(doc.url) if doc.url.startswith(("http://", "https://")) else None
        wanted = links[: source.max_alerts]
        if len(links) > len(wanted):
            warnings.append(f"{len(links) - len(wanted)} linked alerts not fetched (max_alerts)")
        semaphore = asyncio.Semaphore(4)

        async def one(link: str) -> tuple[list[RawEntry], list[str]]:
            url = str(base.join(link)) if base is not None else link
            async with semaphore:
                try:
                    got = await fetch_document(as_feed_source(source, url=url), client, etag=None, last_modified=None)
                    if not isinstance(got, Document):
                        return [], []
                    found, _, more = await parse_in_thread(plain, parse_document, source.name, got.data)
                    return found, more
                except (SourceError, CapError) as exc:
                    return [], [f"linked alert {url} skipped: {exc}"]

        for found, more in await asyncio.gather(*(one(lk) for lk in wanted)):
            entries.extend(found)
            warnings.extend(more)
    elif links:
        warnings.append(f"{len(links)} index entries link to alerts that were not fetched (follow_links: false)")
    return PollResult(entries, etag=doc.etag, last_modified=doc.last_modified, warnings=warnings,
                       permanent_url=doc.permanent_url)

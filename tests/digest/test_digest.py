"""Digest rendering: grouping, subject, highlighting, hostile article text, sandboxed user templates.

Golden files live in tests/golden/; after an intended change to the shipped templates regenerate
them with ``UPDATE_GOLDEN=1 .venv/bin/python -m pytest tests/test_digest.py`` and review the diff.
"""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime
from pathlib import Path

import pytest

from monitor.config import AlertRule, FileTarget
from monitor.digest import render, safe_url, sanitize_html, snippet
from monitor.errors import ConfigError
from monitor.models import (
    Classification,
    Digest,
    DigestEntry,
    Evidence,
    Item,
    ItemExtra,
    RegionHit,
    Severity,
    ThreatHit,
)

GOLDEN = Path(__file__).resolve().parents[1] / "golden"
UPDATE = os.environ.get("UPDATE_GOLDEN") == "1"


def evidence(full: str, word: str, after: int = 0) -> Evidence:
    start = full.index(word, after)
    return Evidence(text=word, start=start, end=start + len(word))


def entry(n: int, title: str, text: str, *, country: tuple[str, str], threat: str, severity: str,
          url: str | None = "https://news.example.org/{n}", published: datetime | None = None,
          city: tuple[str, str] | None = None, keywords: tuple[str, ...] = ()) -> DigestEntry:
    full = title + "\n\n" + text
    body = len(title) + 2
    code, name = country
    regions = [RegionHit(id=code, name=name, kind="country", country=code, role="primary", score=0.9,
                         evidence=[evidence(full, name, body)] if name in text else [])]
    if city:
        regions.append(RegionHit(id=city[0], name=city[1], kind="city", country=code, role="primary", score=0.6,
                                 evidence=[evidence(full, city[1], body)]))
    word = {"terrorism": "terrorist", "armed_conflict": "shelling", "kidnapping": "kidnapped"}[threat]
    threats = [ThreatHit(type=threat, score=0.8, evidence=[evidence(full, word, body)] if word in text else [])]
    item = Item(id=f"item-{n}", source="wire", url=url.format(n=n) if url else None, title=title, text=text,
                published=published, first_seen=datetime(2024, 5, 2, 8, 0, tzinfo=UTC), content_hash=f"h{n}")
    cls = Classification(countries=[code], regions=regions, threats=threats, severity=Severity(severity))
    return DigestEntry(item=item, classification=cls, matched_regions=[code], matched_threats=[threat],
                       matched_keywords=list(keywords),
                       why=f"alert 'caucasus-security' matched {name} and {threat.replace('_', ' ')}")


def sample_digest() -> Digest:
    return Digest(
        id="dg-20240502-0001", alert="caucasus-security", created_at=datetime(2024, 5, 2, 9, 30, tzinfo=UTC),
        timezone="Asia/Baku",
        entries=[
            entry(1, "Embassy warns of terrorist threat in Baku",
                  "The US embassy said on Thursday it had credible reports of a terrorist plot against hotels in "
                  "Baku, Azerbaijan. Citizens should keep a low profile and avoid crowds.",
                  country=("AZ", "Azerbaijan"), threat="terrorism", severity="high", city=("baku-az", "Baku"),
                  published=datetime(2024, 5, 1, 18, 5, tzinfo=UTC)),
            entry(2, "Shelling on the border near Sotk",
                  "Officials reported heavy shelling overnight near Sotk in Armenia's Gegharkunik province; "
                  "two soldiers were killed. Travellers should avoid the border areas until further notice.",
                  country=("AM", "Armenia"), threat="armed_conflict", severity="critical",
                  published=datetime(2024, 5, 2, 4, 40, tzinfo=UTC)),
            entry(3, "Two engineers kidnapped near Astara",
                  "Police in Azerbaijan said two foreign engineers were kidnapped near Astara on Tuesday; kidnappers "
                  "demanded a ransom.",
                  country=("AZ", "Azerbaijan"), threat="kidnapping", severity="medium", url=None,
                  keywords=("ransom",)),
        ],
    )


def alert(**kwargs: object) -> AlertRule:
    return AlertRule(name="caucasus-security", deliver=[FileTarget(kind="file", path=Path("/tmp/unused"))],
                     **kwargs)  # type: ignore[arg-type]


def check_golden(name: str, text: str) -> None:
    path = GOLDEN / name
    if UPDATE:
        path.write_text(text, encoding="utf-8")
    assert path.exists(), f"missing golden file {path}; run with UPDATE_GOLDEN=1"
    assert text == path.read_text(encoding="utf-8"), f"{name} differs from its golden file (UPDATE_GOLDEN=1 to accept)"


def test_rendered_digest_matches_golden_files() -> None:
    rendered = render(sample_digest(), alert())
    check_golden("digest.subject.txt", rendered.subject + "\n")
    check_golden("digest.txt", rendered.text)
    check_golden("digest.html", rendered.html)
    check_golden("digest.json", json.dumps(rendered.payload, ensure_ascii=False, indent=2) + "\n")


def test_groups_by_country_then_threat_most_severe_first() -> None:
    rendered = render(sample_digest(), alert())
    assert rendered.subject == ("[caucasus-security] 3 new: armed conflict in Armenia, terrorism in Azerbaijan, "
                                "kidnapping in Azerbaijan")
    text = rendered.text
    assert text.index("== Armenia ==") < text.index("== Azerbaijan ==")
    assert text.index("-- Terrorism --") < text.index("-- Kidnapping --")
    assert [i["id"] for i in rendered.payload["items"]] == ["item-2", "item-1", "item-3"]


def test_payload_has_exactly_the_documented_keys() -> None:
    payload = render(sample_digest(), alert()).payload
    assert set(payload) == {"digest_id", "alert", "created_at", "items"}
    for item in payload["items"]:
        assert set(item) == {"id", "title", "url", "source", "published", "countries", "regions", "threats",
                             "severity", "summary"}
    assert payload["created_at"] == "2024-05-02T09:30:00+00:00"
    json.dumps(payload)  # serialisable as is


def test_times_are_shown_in_the_alert_timezone() -> None:
    digest = sample_digest().model_copy(update={"timezone": "UTC"})
    rendered = render(digest, alert(timezone="America/New_York"))
    assert "2024-05-01 14:05 EDT" in rendered.text  # 18:05 UTC
    assert "2024-05-01 22:05 +04" in render(sample_digest(), alert()).text  # the digest's Asia/Baku


def test_rendering_is_deterministic_whatever_the_entry_order() -> None:
    digest = sample_digest()
    shuffled = digest.model_copy(update={"entries": list(reversed(digest.entries))})
    first, again, other = render(digest, alert()), render(digest, alert()), render(shuffled, alert())
    assert first == again == other


def test_evidence_is_highlighted_in_both_parts() -> None:
    rendered = render(sample_digest(), alert())
    assert "»terrorist«" in rendered.text and "»ransom«" in rendered.text
    assert '<mark style="background:#fff1a8;color:#1c2833;padding:0 1px;">shelling</mark>' in rendered.html


def test_titles_stay_literal_in_the_text_part() -> None:
    # Nothing is inserted into a title: readers (and the acceptance check) search for its words.
    rendered = render(sample_digest(), alert())
    assert "Embassy warns of terrorist threat in Baku" in rendered.text


HOSTILE_TITLE = 'Attack <script>alert("t")</script> {{ 7*7 }} {% if true %}x{% endif %}'
HOSTILE_TEXT = ("Officials in Azerbaijan said a terrorist cell was broken up. <img src=x onerror=alert(1)> "
                "<a href=\"javascript:alert(2)\">click</a> {{ config.__class__ }} {%raw%} \u202egnp.exe\u202c "
                "\x1b[31m red \x07 bell ${HOME} `id`.")


def hostile_digest() -> Digest:
    bad = entry(9, HOSTILE_TITLE, HOSTILE_TEXT, country=("AZ", "Azerbaijan"), threat="terrorism", severity="high",
                url="javascript:alert(document.cookie)", published=datetime(2024, 5, 1, tzinfo=UTC))
    return sample_digest().model_copy(update={"entries": [bad]})


def test_hostile_article_text_is_rendered_harmless() -> None:
    rendered = render(hostile_digest(), alert())
    html, text = rendered.html, rendered.text
    # HTML: no markup from the article survives as markup, nothing is evaluated, no javascript: link.
    assert "<script" not in html and "<img" not in html and "<a href=\"javascript" not in html
    assert "&lt;script&gt;" in html and "&lt;img src=x onerror=alert(1)&gt;" in html
    assert "javascript:" not in html.replace("&lt;a href=&#34;javascript:alert(2)&#34;&gt;", "")
    assert "{{ 7*7 }}" in html and "49" not in html and "{{ config.__class__ }}" in html
    assert 'href="' not in html.split("<body", 1)[1]  # the only link would have been the article's
    # Text: literal, never evaluated; invisible controls removed.
    assert HOSTILE_TITLE in text and "config.__class__ }}" in text and "49" not in text
    assert "\u202e" not in text and "\x1b" not in text and "\x07" not in text
    assert "javascript:alert(document.cookie)" not in text
    assert rendered.payload["items"][0]["url"] is None
    assert rendered.payload["items"][0]["title"] == HOSTILE_TITLE  # JSON carries the data, escaped by json


def test_highlight_inside_markup_is_still_escaped() -> None:
    title = "Alert"
    text = "Terror <b>in Azerbaijan</b> today"
    full = title + "\n\n" + text
    start = full.index("<b>")
    e = entry(5, title, text, country=("AZ", "Azerbaijan"), threat="terrorism", severity="low")
    cls = e.classification.model_copy(update={"threats": [ThreatHit(
        type="terrorism", score=1, evidence=[Evidence(text="<b>in Azerbaijan</b>", start=start, end=start + 20)])]})
    e = e.model_copy(update={"classification": cls})
    html = render(sample_digest().model_copy(update={"entries": [e]}), alert()).html
    assert "padding:0 1px;\">&lt;b&gt;in <mark" not in html
    assert "&lt;b&gt;in Azerbaijan&lt;/b&gt;" in html.replace('<mark style="background:#fff1a8;color:#1c2833;'
                                                            'padding:0 1px;">', "").replace("</mark>", "")
    assert "<b>" not in html


def test_evidence_with_wrong_offsets_is_not_highlighted() -> None:
    e = sample_digest().entries[0]
    cls = e.classification.model_copy(update={"threats": [ThreatHit(
        type="terrorism", score=1, evidence=[Evidence(text="terrorist", start=3, end=12), Evidence(
            text="x", start=10_000, end=10_001)])], "regions": []})
    snip = snippet(e.model_copy(update={"classification": cls}))
    assert not any(hit for _, hit in snip.segments)
    assert snip.plain.startswith("The US embassy said")


def test_snippet_is_a_window_around_the_evidence() -> None:
    title = "Long read"
    text = "Filler sentence about nothing. " * 40 + "Then a terrorist attack was reported in Azerbaijan. " + \
        "More filler follows here. " * 40
    e = entry(6, title, text, country=("AZ", "Azerbaijan"), threat="terrorism", severity="low")
    snip = snippet(e)
    assert snip.plain.startswith("…") and snip.plain.endswith("…")
    assert "»terrorist«" in snip.marked() and len(snip.plain) < 360


def test_subject_with_many_groups_ends_with_ellipsis() -> None:
    digest = sample_digest()
    extra = entry(7, "Kidnapping in Yerevan", "Armenia police said a man was kidnapped in Yerevan.",
                  country=("AM", "Armenia"), threat="kidnapping", severity="low")
    rendered = render(digest.model_copy(update={"entries": [*digest.entries, extra]}), alert())
    assert rendered.subject.startswith("[caucasus-security] 4 new: armed conflict in Armenia, ")
    assert rendered.subject.endswith(", ...")


def test_safe_url_links_only_http() -> None:
    assert safe_url("https://example.org/a?b=1") == "https://example.org/a?b=1"
    for bad in ("javascript:alert(1)", "JAVASCRIPT:alert(1)", " data:text/html,x", "vbscript:x", "//evil", None, ""):
        assert safe_url(bad) is None


def test_sanitize_html_keeps_text_drops_active_content() -> None:
    out = str(sanitize_html('<p onclick="x()">Hi <script>steal()</script><img src="http://t/p.gif">'
                            '<a href="javascript:x()">j</a> <a href="https://ok.example/">ok</a></p>'))
    assert "<script" not in out and "steal" not in out and "<img" not in out and "onclick" not in out
    assert "javascript" not in out and 'href="https://ok.example/"' in out and "<p>" in out


def test_user_template_folder_overrides_and_runs_sandboxed(tmp_path: Path) -> None:
    (tmp_path / "digest.txt").write_text("{{ subject }}|{% for c in groups %}{{ c.name }};{% endfor %}\n")
    (tmp_path / "digest.html").write_text(
        "<p>{% for c in groups %}{% for t in c.threats %}{% for e in t.entries %}{{ e.title }}"
        "{{ e.item.extra.get('html', '')|sanitize_html }}{% endfor %}{% endfor %}{% endfor %}</p>\n")
    digest = hostile_digest()
    bad = digest.entries[0]
    item = bad.item.model_copy(update={"extra": ItemExtra.from_json({"html": "<b>kept</b><script>x()</script>"})})
    digest = digest.model_copy(update={"entries": [bad.model_copy(update={"item": item})]})
    rendered = render(digest, alert(), templates=tmp_path)
    assert rendered.text == f"{rendered.subject}|Azerbaijan;"  # trim_blocks ate the last newline
    assert "&lt;script&gt;" in rendered.html and "<b>kept</b>" in rendered.html and "x()" not in rendered.html


def test_alert_template_file_overrides_one_part_and_falls_back(tmp_path: Path) -> None:
    custom = tmp_path / "mine.html"
    custom.write_text("<h1>{{ alert }}</h1>\n")
    rendered = render(sample_digest(), alert(template=custom))
    assert rendered.html == "<h1>caucasus-security</h1>\n"
    assert rendered.text == render(sample_digest(), alert()).text


@pytest.mark.parametrize("body", [
    "{{ digest.__class__.__mro__ }}",
    "{{ groups.append(1) }}",
    "{{ ''.__class__.__subclasses__() }}",
    "{% for x in %}",
])
def test_unsafe_or_broken_user_templates_are_config_errors(tmp_path: Path, body: str) -> None:
    (tmp_path / "digest.html").write_text(body)
    with pytest.raises(ConfigError) as info:
        render(sample_digest(), alert(), templates=tmp_path)
    assert "digest.html" in str(info.value)


def test_missing_template_folder_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError):
        render(sample_digest(), alert(), templates=tmp_path / "nope")

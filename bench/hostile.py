"""Issue 7: time for the daemon to deliver 20 normal feeds' items, without and with hostile feeds
(30 entries with 8 KB crafted <author> fields, and a billion-laughs document) polled beside them.
The ratio must stay <= 1.5. Also prints the worst /healthz latency seen in each run."""

from __future__ import annotations

import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from loopback import Peers, free_port, rss

EXE = Path(sys.executable).with_name("advisory-monitor")
TOWNS = ["Mopti", "Gao", "Bamako", "Timbuktu", "Kayes", "Menaka", "Segou", "Sevare", "Sikasso", "Kidal",
         "Koutiala", "Kati", "Nioro", "Bougouni", "Douentza", "Ansongo", "Bourem", "Djenne", "Tessalit", "Niono"]


def hostile_feeds() -> dict[str, bytes]:
    author = "a@" + "a." * 4000 + "!"
    redos = rss([(f"Weather note {k}", f"r{k}", "Calm weather.") for k in range(30)], f"<author>{author}</author>")
    lol = '<!DOCTYPE lolz [<!ENTITY lol "lol">' + "".join(
        f'<!ENTITY lol{i} "{("&lol" + (str(i - 1) if i > 1 else "") + ";") * 10}">' for i in range(1, 10)) + "]>"
    laughs = ('<?xml version="1.0"?>' + lol + '<rss version="2.0"><channel><title>&lol9;</title></channel></rss>')
    return {"/redos.xml": redos, "/laughs.xml": laughs.encode()}


def run(with_hostile: bool) -> tuple[float, float]:
    peers = Peers()
    for i, town in enumerate(TOWNS):
        title = f"Gunmen attack police post in {town}, Mali"
        peers.feeds[f"/n{i}.xml"] = rss([(title, f"n{i}", f"{title}. Two officers were killed in the attack.")])
    if with_hostile:
        peers.feeds.update(hostile_feeds())
    ops = free_port()
    with tempfile.TemporaryDirectory() as work:
        sources = "\n".join(f'  - {{name: s{i}, kind: feed, url: "{peers.url(p)}", every: 2s}}'
                            for i, p in enumerate(sorted(peers.feeds)))
        config = Path(work) / "config.yaml"
        config.write_text(f"""
database: sqlite:///{work}/monitor.db
server: {{host: 127.0.0.1, port: {ops}}}
sources:
{sources}
alerts:
  - name: mali
    match: {{regions: [ML], threats: [terrorism, armed_conflict, crime]}}
    schedule: immediate
    deliver:
      - {{kind: webhook, url: "{peers.url('/hook')}"}}
""", encoding="utf-8")
        started = time.time()
        proc = subprocess.Popen([str(EXE), "run", "--config", str(config)], stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL)
        worst = 0.0
        done = None
        while time.time() - started < 60:
            t0 = time.time()
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{ops}/healthz", timeout=5).read()
                worst = max(worst, time.time() - t0)
            except OSError:
                pass
            if len(peers.delivered()) >= len(TOWNS):
                done = max(peers.delivered().values()) - started
                break
            time.sleep(0.1)
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=15)
    peers.close()
    return (done if done is not None else float("inf")), worst


def main() -> None:
    plain, plain_health = run(False)
    hostile, hostile_health = run(True)
    ratio = hostile / plain
    print(f"hostile feeds: 20 normal items delivered in {plain:.2f}s alone, {hostile:.2f}s beside the hostile "
          f"feeds: ratio {ratio:.2f} (target <= 1.5: {'OK' if ratio <= 1.5 else 'SHORT'}); worst /healthz "
          f"{plain_health * 1000:.0f} ms alone, {hostile_health * 1000:.0f} ms with hostile feeds")


if __name__ == "__main__":
    main()

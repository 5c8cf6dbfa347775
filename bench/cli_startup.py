"""How long the commands take to answer: `--help`, and each command with a config on a store of the
seeds, with the compiled-rules cache warm and cold.

Only the commands that classify or match (rules, classify, alerts test, digest preview, trips, once)
load the rules engine; the others (status, items, digests) must not pay for it, so their cold and
warm figures should be alike and well under the engine's load time.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

EXE = Path(sys.executable).with_name("advisory-monitor")
ROOT = Path(__file__).resolve().parents[1]
COMMANDS = [["status"], ["items", "--limit", "5"], ["digests"], ["ingest"], ["alerts", "test", "az"],
            ["digest", "preview", "az"], ["rules", "check"], ["once"]]


def _best(args: list[str], cwd: Path, env: dict[str, str], runs: int = 3, cold: bool = False) -> float:
    times = []
    for _ in range(runs):
        if cold:
            shutil.rmtree(env["XDG_CACHE_HOME"], ignore_errors=True)
        t0 = time.perf_counter()
        subprocess.run([str(EXE), *args], cwd=cwd, env=env, check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        times.append(time.perf_counter() - t0)
    return min(times)


def main() -> None:
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-c", "pass"], check=True)
    bare = time.perf_counter() - t0
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        shutil.copytree(ROOT / "seeds", work / "seeds")
        (work / "config.yaml").write_text(
            "database: sqlite:///monitor.db\nsources: [{name: seeds, kind: files, path: seeds/}]\n"
            "alerts: [{name: az, match: {regions: [AZ]}, max_age: null, deliver: [{kind: file, path: out}]}]\n",
            encoding="utf-8")
        env = {**os.environ, "XDG_CACHE_HOME": str(work / "cache")}
        help_ = _best(["--help"], work, env, runs=5)
        print(f"advisory-monitor --help: best {help_:.3f} s of 5 (bare python start {bare:.3f} s); "
              f"target < 0.3 s: {'OK' if help_ < 0.3 else 'SHORT'}")
        subprocess.run([str(EXE), "once"], cwd=work, env=env, check=True, capture_output=True)
        print(f"{'command (with --config)':<26}{'warm cache':>12}{'cold cache':>12}")
        for args in COMMANDS:
            warm = _best(args, work, env)
            cold = _best(args, work, env, runs=1, cold=True)
            print(f"{' '.join(args):<26}{warm:>10.2f} s{cold:>10.2f} s")


if __name__ == "__main__":
    main()

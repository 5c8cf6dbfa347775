"""`advisory-monitor --help` must answer in < 0.3 s: heavy modules are imported lazily."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

EXE = Path(sys.executable).with_name("advisory-monitor")


def main() -> None:
    runs = []
    for _ in range(5):
        t0 = time.perf_counter()
        subprocess.run([str(EXE), "--help"], check=True, stdout=subprocess.DEVNULL)
        runs.append(time.perf_counter() - t0)
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-c", "pass"], check=True)
    bare = time.perf_counter() - t0
    best = min(runs)
    print(f"advisory-monitor --help: best {best:.3f}s of 5 (bare python start {bare:.3f}s); "
          f"target < 0.3 s: {'OK' if best < 0.3 else 'SHORT'}")


if __name__ == "__main__":
    main()

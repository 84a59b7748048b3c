"""Benchmark: `seamline stack up` with everything already running (target ≤ 15 s),
and `seamline stack status --json`, medians over N runs, written to bench/RESULTS.md.

    .venv/bin/python bench/stack_up.py [--runs 5]
"""

from __future__ import annotations

import argparse
import platform
import statistics
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

from results_file import write_section

ROOT = Path(__file__).resolve().parents[1]
SEAMLINE = Path(sys.executable).with_name("seamline")
MARK = "<!-- stack-up -->"


def timed(*args: str) -> float:
    started = time.perf_counter()
    subprocess.run([str(SEAMLINE), *args], check=True, capture_output=True)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=5)
    runs = parser.parse_args().runs
    timed("stack", "up")  # make sure everything runs before measuring
    up = [timed("stack", "up") for _ in range(runs)]
    status = [timed("stack", "status", "--json") for _ in range(runs)]
    lines = [
        "## Warm `seamline stack up` (everything already running)",
        "",
        f"Command: `.venv/bin/python bench/stack_up.py --runs {runs}` "
        f"({datetime.now(UTC):%Y-%m-%d}, {platform.machine()}, {_cores()} cores)",
        "",
        "| command | median s | min s | max s | target |",
        "|---|---|---|---|---|",
        f"| `stack up` (warm) | {statistics.median(up):.2f} | {min(up):.2f} | "
        f"{max(up):.2f} | ≤ 15 s |",
        f"| `stack status --json` | {statistics.median(status):.2f} | {min(status):.2f} | "
        f"{max(status):.2f} | |",
    ]
    print(write_section(MARK, lines))


def _cores() -> int:
    import os

    return os.cpu_count() or 0


if __name__ == "__main__":
    main()

"""Load test: one CI run over a repository of N services (copies of the Bookstore's
catalog under new names), cold; reports whether it completed, its wall time and every
error. Writes bench/RESULTS.md.

    .venv/bin/python bench/many_services.py [--services 32]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from results_file import write_section  # noqa: E402

from seamline.adapters.git_repo import seed_bare_remote  # noqa: E402
from tests.integration.conftest import add_service  # noqa: E402

SEAMLINE = Path(sys.executable).with_name("seamline")
MARK = "<!-- many-services -->"


def many_service_repo(work: Path, count: int) -> Path:
    source = work / "src"
    shutil.copytree(ROOT / "examples" / "bookstore", source)
    nonce = uuid.uuid4().hex[:8]
    catalog = source / "app" / "catalog"
    for index in range(count - 4):
        copy = work / f"catalog-{index}"
        shutil.copytree(catalog, copy)
        (copy / "bench_nonce.go").write_text(f"package main\n\n// {nonce}-{index}\n")
        add_service(source, f"copy-{index}", copy, f"stress-{nonce}/copy-{index}")
    remote = work / "many.git"
    seed_bare_remote(source, remote, branch="main", message="many services")
    return remote


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--services", type=int, default=32)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="seamline-many-") as tmp:
        remote = many_service_repo(Path(tmp), args.services)
        env = dict(os.environ, SEAMLINE_GITOPS_REMOTE=str(remote))
        started = time.perf_counter()
        result = subprocess.run(
            [str(SEAMLINE), "run", "--repo", str(remote), "--json"],
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )
        seconds = time.perf_counter() - started
    report = json.loads(result.stdout) if result.stdout.strip() else {}
    errors = report.get("errors") or (
        [{"message": result.stderr[-2000:]}] if result.returncode else []
    )
    lines = [
        f"## One CI run over {args.services} services (cold)",
        "",
        f"Command: `.venv/bin/python bench/many_services.py --services {args.services}` "
        f"({datetime.now(UTC).date()}, {os.cpu_count()} cores)",
        "",
        f"- exit code {result.returncode}, {seconds:.0f} s, "
        f"{sum(1 for s in report.get('services', []) if s.get('signed'))} of "
        f"{args.services} services signed, commit {(report.get('commit') or 'none')[:12]}",
    ]
    lines += [
        f"- error: {e.get('service') or ''} {e.get('stage') or ''}: {e['message'][:300]}"
        for e in errors
    ]
    print(write_section(MARK, lines))
    if result.returncode != 0:
        raise SystemExit(result.returncode)


if __name__ == "__main__":
    main()

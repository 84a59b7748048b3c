"""Benchmark: the third-party-shaped repository (tests/fixtures/wild-repo) through seamline,
as a team adopting it runs it: `seamline init`, the reviewer's edits, then a cold run, a
warm rerun of the same commit and a run after one service changed. Medians over N rounds;
writes bench/RESULTS.md.

    .venv/bin/python bench/wild_repo.py [--rounds 3]

Each round copies the fixture with a new nonce source file per service, so nothing of
earlier rounds is cached; runs are `--local` with the BuildKit builder, as
tests/integration/test_wild_repo.py runs them. Needs the local stack (`seamline stack up`).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from pipeline import machine_cpu  # noqa: E402
from results_file import write_section  # noqa: E402

from seamline.adapters.git_repo import seed_bare_remote  # noqa: E402
from tests.integration.test_trust_boundaries import commit_change  # noqa: E402
from tests.integration.test_wild_repo import SERVICES, WILD, reviewed  # noqa: E402

SEAMLINE = Path(sys.executable).with_name("seamline")
MARK = "<!-- wild-repo -->"
# Where each service's Go package lives in the fixture.
FOLDERS = {
    "cart": "services/cart",
    "checkout": "services/checkout",
    "inventory": "services/inventory",
    "email-sender": "workers/email_sender",
}
CHANGED = "checkout"


def nonce_file(service: str) -> tuple[str, str]:
    """A new Go file in ``service``'s package: its path in the tree, and its text."""
    return f"{FOLDERS[service]}/bench_nonce.go", f"package main\n\n// bench nonce {uuid.uuid4()}\n"


def add_nonce(tree: Path, service: str) -> None:
    path, text = nonce_file(service)
    (tree / path).write_text(text)


def adopted_remote(work: Path) -> Path:
    source = work / "source"
    shutil.copytree(WILD, source)
    for service in SERVICES:
        add_nonce(source, service)
    init = subprocess.run(
        [str(SEAMLINE), "init", str(source), "--json"], capture_output=True, text=True
    )
    if init.returncode != 0:
        raise SystemExit(f"seamline init failed:\n{init.stderr[-3000:]}")
    toml = source / "seamline.toml"
    toml.write_text(reviewed(toml.read_text(), f"bench-wild-{uuid.uuid4().hex[:10]}"))
    remote = work / "wild.git"
    seed_bare_remote(source, remote, branch="main", message="Adopt seamline")
    return remote


def run(remote: Path, *, releases: bool = True) -> tuple[float, float]:
    """Wall and machine CPU seconds of one `seamline run --local` on ``remote``; a run of
    a commit already released moves nothing (``releases=False``)."""
    env = dict(os.environ, SEAMLINE_GITOPS_REMOTE=str(remote), SEAMLINE_IMAGE_BUILDER="buildkit")
    argv = [str(SEAMLINE), "run", "--repo", str(remote), "--json", "--local"]
    cpu = machine_cpu()
    started = time.perf_counter()
    result = subprocess.run(argv, env=env, capture_output=True, text=True, check=False)
    seconds = time.perf_counter() - started
    cpu = machine_cpu() - cpu
    if result.returncode != 0:
        raise SystemExit(f"seamline run failed ({result.returncode}):\n{result.stderr[-3000:]}")
    report = json.loads(result.stdout)
    if report.get("errors") or bool(report.get("commit")) != releases:
        raise SystemExit(f"unexpected run: commit {report.get('commit')}, {report.get('errors')}")
    return seconds, cpu


def one_round() -> dict[str, float]:
    with tempfile.TemporaryDirectory(prefix="seamline-bench-wild-") as tmp:
        work = Path(tmp)
        remote = adopted_remote(work)
        measured: dict[str, float] = {}
        measured["cold"], measured["cold_cpu"] = run(remote)
        measured["warm"], _ = run(remote, releases=False)
        commit_change(remote, work, *nonce_file(CHANGED))
        measured["one_changed"], _ = run(remote)
        return measured


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    rounds = []
    for index in range(args.rounds):
        rounds.append(one_round())
        print(f"round {index + 1}: {json.dumps(rounds[-1])}", file=sys.stderr)

    def median(key: str) -> float:
        return statistics.median(r[key] for r in rounds)

    def each(key: str) -> str:
        return ", ".join(f"{r[key]:.1f}" for r in rounds)

    lines = [
        "## The third-party-shaped repository (tests/fixtures/wild-repo)",
        "",
        f"`.venv/bin/python bench/wild_repo.py --rounds {args.rounds}`; "
        f"{time.strftime('%Y-%m-%d')}, `--local` runs with BuildKit, medians "
        "(each round's figure in brackets).",
        "",
        "| run | seconds |",
        "|---|---|",
        f"| cold (fresh nonces, init + review, four services) | {median('cold'):.1f} "
        f"({each('cold')}) |",
        f"| machine CPU during the cold run | {median('cold_cpu'):.1f} ({each('cold_cpu')}) |",
        f"| warm rerun of the same commit | {median('warm'):.1f} ({each('warm')}) |",
        f"| one service ({CHANGED}) changed | {median('one_changed'):.1f} "
        f"({each('one_changed')}) |",
    ]
    print(write_section(MARK, lines))


if __name__ == "__main__":
    main()

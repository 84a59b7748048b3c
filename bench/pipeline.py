"""Benchmark: seamline's CI flow against bench/baseline.sh (the same tool commands run one
after another), side by side in one run, medians over N rounds; writes bench/RESULTS.md.

    .venv/bin/python bench/pipeline.py [--rounds 3]

Each round makes a fresh copy of the Bookstore whose services carry a new nonce source
file, so nothing of earlier rounds is cached (Go, golangci-lint, the image builder or
seamline), then: the sequential baseline (building with seamline's image builder, see
``baseline.sh --builder``), the parallel baseline (`baseline.sh --parallel`) and a cold
seamline run (each first in turn), a warm seamline rerun, and a seamline run after one
service changed. Machine CPU seconds are read from /proc/stat around each cold command.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections import defaultdict
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from results_file import write_section  # noqa: E402
from tool_timings import busy_seconds  # noqa: E402

from seamline.adapters.git_repo import AUTHOR, seed_bare_remote  # noqa: E402
from seamline.adapters.toolbox import builder_tag  # noqa: E402
from seamline.config.settings import Settings  # noqa: E402

BUILDER = Settings().go_builder(builder_tag(Settings()))
SEAMLINE = Path(sys.executable).with_name("seamline")
STATE = Settings().state_dir
MARK = "<!-- pipeline -->"
SERVICES = ["catalog", "orders", "payments-worker", "storefront"]
CHANGED = "storefront"


def add_nonce(tree: Path, service: str) -> None:
    (tree / "app" / service / "bench_nonce.go").write_text(
        f"package main\n\n// bench nonce {uuid.uuid4()}\n"
    )


def fresh_remote(work: Path, name: str, nonces: Path) -> Path:
    remote = work / f"{name}.git"
    seed_bare_remote(nonces, remote, branch="main", message="bench seed")
    return remote


def machine_cpu() -> float:
    """CPU seconds the whole machine has spent busy (every process: the tools, Docker,
    the registry, the Prefect server, seamline), from /proc/stat."""
    fields = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = fields[3] + fields[4]  # idle, iowait
    return (sum(fields[:8]) - idle) / os.sysconf("SC_CLK_TCK")


CPU: dict[str, float] = {}  # machine CPU seconds of the last timed command, by label


def timed(
    argv: list[str], env: dict[str, str], label: str = ""
) -> tuple[float, subprocess.CompletedProcess[str]]:
    cpu = machine_cpu()
    started = time.perf_counter()
    result = subprocess.run(argv, env=env, capture_output=True, text=True, check=False)
    seconds = time.perf_counter() - started
    CPU[label] = machine_cpu() - cpu
    return seconds, result


def seamline_run(remote: Path, timings: Path | None = None) -> tuple[float, dict[str, object]]:
    """The whole `seamline run` command, through the stack's deployment and executor as a
    user runs it; its tool timings come from the run's evidence folder."""
    env = dict(os.environ, SEAMLINE_GITOPS_REMOTE=str(remote))
    argv = [str(SEAMLINE), "run", "--repo", str(remote), "--json"]
    started = time.time()
    seconds, result = timed(argv, env, "seamline")
    if result.returncode != 0:
        raise SystemExit(f"seamline run failed ({result.returncode}):\n{result.stderr[-3000:]}")
    report = json.loads(result.stdout)
    if "on seamline-ci/ci" not in result.stderr:
        raise SystemExit("the run did not go through the deployment: is the stack up?")
    if timings is not None:
        evidence = STATE / "evidence" / str(report["flow_run_id"]) / "tool-timings.jsonl"
        shutil.copyfile(evidence, timings)
        (timings.parent / "window").write_text(f"{started} {started + seconds}")
    return seconds, report


def baseline_run(
    tree: Path, remote: Path, prefix: str, *, parallel: bool = False
) -> tuple[float, dict[str, float]]:
    clone = tree.parent / f"{prefix.replace('/', '-')}-work"
    subprocess.run(["git", "clone", "-q", str(remote), str(clone)], check=True)
    flags = ["--builder", Settings().image_builder, *(["--parallel"] if parallel else [])]
    seconds, result = timed(
        [str(ROOT / "bench" / "baseline.sh"), *flags, str(clone), str(remote), prefix, BUILDER],
        dict(os.environ),
        "parallel" if parallel else "baseline",
    )
    if result.returncode != 0:
        raise SystemExit(f"baseline failed:\n{result.stdout[-2000:]}\n{result.stderr[-3000:]}")
    lines = {
        parts[1]: float(parts[2])
        for parts in (line.split() for line in result.stdout.splitlines())
        if parts and parts[0] == "line"
    }
    return seconds, lines


def no_tool_running(timings: Path) -> float:
    """Seconds of the command's wall time during which no tool at all was running: time
    spent in seamline and Prefect alone."""
    started, ended = map(float, (timings.parent / "window").read_text().split())
    intervals = []
    for line in timings.read_text().splitlines():
        entry = json.loads(line)
        begin = max(entry["ended"] - entry["seconds"], started)
        intervals.append((begin, min(entry["ended"], ended)))
    return (ended - started) - busy_seconds(intervals)


def critical_path(timings: Path) -> float:
    """The longest chain of tool time through the flow's graph. A task's tool time is the
    time at least one of its tool calls was running (its calls may run side by side). Per
    service: image → push → scan and SBOM, beside build-test; sign-attest after build-test
    and scan; attest-sbom after sign-attest and SBOM. Plus the run's checkout and bump."""
    calls: dict[tuple[str | None, str | None], list[tuple[float, float]]] = defaultdict(list)
    for line in timings.read_text().splitlines():
        entry = json.loads(line)
        calls[(entry["service"], entry["task"])].append(
            (entry["ended"] - entry["seconds"], entry["ended"])
        )
    shared = sum(busy_seconds(v) for (service, _), v in calls.items() if service is None)
    lines = []
    for service in {service for service, _ in calls if service is not None}:

        def busy(task: str, service: str | None = service) -> float:
            return busy_seconds(calls.get((service, task), []))

        pushed = busy("image") + busy("push")
        signed = max(busy("build-test"), pushed + busy("scan")) + busy("sign-attest")
        lines.append(max(signed, pushed + busy("sbom")) + busy("attest-sbom"))
    return shared + max(lines, default=0.0)


def change_one(remote: Path, work: Path) -> None:
    import git

    clone = git.Repo.clone_from(str(remote), work / "change")
    add_nonce(work / "change", CHANGED)
    clone.git.add(A=True)
    clone.index.commit(f"{CHANGED}: bench change", author=AUTHOR, committer=AUTHOR)
    clone.remote("origin").push("HEAD:refs/heads/main").raise_if_error()


def one_round(index: int) -> dict[str, float]:
    with tempfile.TemporaryDirectory(prefix="seamline-bench-") as tmp:
        work = Path(tmp)
        # Each side gets its own nonces: neither may reuse the other's Go, lint or Docker
        # layer caches.
        trees = {}
        for side in ("seamline", "baseline", "parallel"):
            trees[side] = work / f"{side}-tree"
            shutil.copytree(ROOT / "examples" / "bookstore", trees[side])
            for service in SERVICES:
                add_nonce(trees[side], service)
        remotes = {side: fresh_remote(work, side, trees[side]) for side in trees}
        timings = work / "timings.jsonl"
        measured: dict[str, float] = {}
        lines: dict[str, float] = {}
        cold: dict[str, object] = {}

        def run_side(side: str) -> None:
            nonlocal lines, cold
            if side == "seamline":
                measured["cold"], cold = seamline_run(remotes[side], timings)
                measured["cold_cpu"] = CPU["seamline"]
                return
            parallel = side == "parallel"
            seconds, side_lines = baseline_run(
                trees[side], remotes[side], f"bench-{side}-{index}", parallel=parallel
            )
            measured[side] = seconds
            measured[f"{side}_cpu"] = CPU[side]
            if not parallel:
                lines = side_lines

        order = ["baseline", "parallel", "seamline"]
        for side in order[index % 3 :] + order[: index % 3]:  # each side first in turn
            run_side(side)
        seamline_remote = remotes["seamline"]
        cold_s, base_s = measured["cold"], measured["baseline"]
        if cold["commit"] is None or any(s["cached"] for s in cold["services"]):  # type: ignore[attr-defined]
            raise SystemExit("the cold run reused cached results: the nonces did not work")
        warm_s, warm = seamline_run(seamline_remote)
        if warm["commit"] is not None:
            raise SystemExit("warm rerun committed: caching is broken")
        change_one(seamline_remote, work)
        changed_s, changed = seamline_run(seamline_remote)
        rebuilt = [s["name"] for s in changed["services"] if not s["cached"]]  # type: ignore[attr-defined]
        if rebuilt != [CHANGED]:
            raise SystemExit(f"after changing {CHANGED}, seamline rebuilt {rebuilt}")
        path = critical_path(timings)
        return {
            "baseline": base_s,
            "parallel": measured["parallel"],
            "cold": cold_s,
            "cold_cpu": measured["cold_cpu"],
            "parallel_cpu": measured["parallel_cpu"],
            "warm": warm_s,
            "changed": changed_s,
            "single_line": lines[CHANGED],
            "critical_path": path,
            "overhead": cold_s - path,
            "no_tool": no_tool_running(timings),
        }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=3)
    rounds = parser.parse_args().rounds
    subprocess.run([str(SEAMLINE), "stack", "up"], check=True, capture_output=True)
    results = []
    for index in range(rounds):
        results.append(one_round(index))
        print(json.dumps(results[-1]), file=sys.stderr)
    med = {key: statistics.median(r[key] for r in results) for key in results[0]}
    ratio = statistics.median(r["cold"] / r["baseline"] for r in results)
    parallel_ratio = statistics.median(r["cold"] / r["parallel"] for r in results)
    cpu_ratio = statistics.median(r["cold_cpu"] / r["parallel_cpu"] for r in results)
    changed_ratio = statistics.median(r["changed"] / r["single_line"] for r in results)
    overhead = statistics.median(r["overhead"] / r["cold"] for r in results)
    no_tool = statistics.median(r["no_tool"] / r["cold"] for r in results)
    rows = [
        (
            "cold full run, seamline / baseline script",
            f"{med['cold']:.1f} s / {med['baseline']:.1f} s = {ratio:.2f}",
            "≤ 0.8",
        ),
        (
            "cold full run, seamline / parallel script (each service's line in the background)",
            f"{med['cold']:.1f} s / {med['parallel']:.1f} s = {parallel_ratio:.2f}",
            "≤ 0.9",
        ),
        (
            "machine CPU seconds of a cold run, seamline / parallel script",
            f"{med['cold_cpu']:.1f} s / {med['parallel_cpu']:.1f} s = {cpu_ratio:.2f}",
            "≤ 1.1",
        ),
        ("warm rerun, nothing changed (whole command)", f"{med['warm']:.1f} s", "≤ 5 s"),
        (
            f"one service changed ({CHANGED}) / its single-service cold line",
            f"{med['changed']:.1f} s / {med['single_line']:.1f} s = {changed_ratio:.2f}",
            "≤ 1.2",
        ),
        (
            "orchestration overhead: (wall - tool critical path) / wall",
            f"({med['cold']:.1f} - {med['critical_path']:.1f}) / {med['cold']:.1f} = "
            f"{overhead:.0%}",
            "≤ 10 %",
        ),
        (
            "cold run time with no tool running at all (seamline and Prefect alone) / wall",
            f"{med['no_tool']:.1f} s / {med['cold']:.1f} s = {no_tool:.0%}",
            "",
        ),
    ]
    lines = [
        "## CI flow against a sequential script of the same tool commands",
        "",
        f"Command: `.venv/bin/python bench/pipeline.py --rounds {rounds}` "
        f"({datetime.now(UTC):%Y-%m-%d}, {platform.machine()}, {os.cpu_count()} cores); "
        "medians over the rounds, each round side by side.",
        "",
        "| measure | result | target |",
        "|---|---|---|",
        *[f"| {a} | {b} | {c} |" for a, b, c in rows],
        "",
        "Per round (seconds):",
        "",
        "| round | baseline | parallel | cold | warm | changed | single line "
        "| tool critical path | no tool running |",
        "|---|---|---|---|---|---|---|---|---|",
        *[
            f"| {i + 1} | {r['baseline']:.1f} | {r['parallel']:.1f} | {r['cold']:.1f} "
            f"| {r['warm']:.1f} | "
            f"{r['changed']:.1f} | {r['single_line']:.1f} | {r['critical_path']:.1f} "
            f"| {r['no_tool']:.1f} |"
            for i, r in enumerate(results)
        ],
        "",
        "Tools running side by side on two cores slow each other down, so the tool critical",
        "path (summed from each tool's own wall time) can exceed the run's wall time; the",
        "overhead is then negative. The last row counts what only seamline and Prefect did.",
    ]
    print(write_section(MARK, lines))


if __name__ == "__main__":
    main()

"""Benchmark: seamline's continuous delivery, promotion and re-scan, against their own tool
calls, medians over N rounds, side by side in one run; writes bench/RESULTS.md.

    .venv/bin/python bench/cd.py [--rounds 3] [--local]

Each round releases a fresh copy of the Bookstore whose services carry a new nonce source
file (a `seamline run` CI release through the stack's deployment, as bench/pipeline.py
does) into dev of a fresh GitOps remote, then:

- promotion: `seamline promote --from dev --to staging --json`, the whole command as users
  run it (through the ``seamline-promote/promote`` deployment and an executor; with
  ``--local``, in the command's own process), against the critical path of its own tool
  calls, read from the run's evidence folder: the plan's clone, then per digest its five
  checks as they are scheduled (side by side, so a digest costs the time any of its
  cosign/trivy calls ran), the longest digest, then the commit's clone, kustomize build
  and push;
- re-scan: the same four digests are pinned in prod as well (12 pins, 4 distinct), then
  `seamline rescan --json`, the whole command (through ``seamline-rescan/nightly``, or
  in-process with ``--local``), and the four `trivy image` scans alone, each first in
  turn. The scans alone run side by side, through seamline's own Trivy adapter (the same
  arguments, DB cache and GOMAXPROCS): the re-scan maps one task per digest onto
  Prefect's thread pool, so its scans run side by side too, and a baseline that ran them
  one after another would measure the machine, not seamline. Each re-scan task then signs
  its scan (`cosign attest --type vuln`); those calls are reported apart.
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
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from pipeline import (  # noqa: E402
    CPU,
    SEAMLINE,
    SERVICES,
    STATE,
    add_nonce,
    fresh_remote,
    machine_cpu,
    seamline_run,
    timed,
)
from results_file import write_section  # noqa: E402
from tool_timings import (  # noqa: E402
    ToolCall,
    busy_seconds,
    read_calls,
    seconds_by_task_run,
    staged_critical_path,
)

from seamline.adapters.git_repo import AUTHOR  # noqa: E402
from seamline.adapters.toolbox import Toolbox  # noqa: E402
from seamline.config.pipeline import load_pipeline_config  # noqa: E402
from seamline.config.settings import Settings  # noqa: E402
from seamline.overlay.edit import set_and_render  # noqa: E402
from seamline.overlay.files import current_images  # noqa: E402
from seamline.policy.promotion import CHECKS  # noqa: E402
from seamline.run.results import SEVERITIES  # noqa: E402
from seamline.tools.process import set_base_environment  # noqa: E402
from seamline.validate.image_ref import ImageRef  # noqa: E402
from tasks.preflight import trivy_db_digest  # noqa: E402

MARK = "<!-- cd -->"
OVERLAYS = ["dev", "prod", "staging"]
# The flows' graphs: the task names of one stage run side by side, stages one after another
# (flows/promote.py, flows/rescan.py).
PROMOTE_STAGES = [
    frozenset({"promotion-plan"}),
    frozenset({"trivy-db"}),
    frozenset({"promotion-checks"}),
    frozenset({"promote"}),
    frozenset({"promotion-pull-request"}),
]
RESCAN_STAGES = [
    frozenset({"pinned-digests", "trivy-db"}),
    frozenset({"rescan"}),
    frozenset({"rescan-blocks"}),
]


DEPLOYMENTS = {"promote": "seamline-promote/promote", "rescan": "seamline-rescan/nightly"}


def cd_command(remote: Path, label: str, *args: str, local: bool) -> tuple[float, dict[str, Any]]:
    """The whole `seamline <args> --json` command against ``remote``, as a user runs it:
    through its deployment, or with ``--local`` in its own process."""
    env = dict(os.environ, SEAMLINE_GITOPS_REMOTE=str(remote), SEAMLINE_FORGE_REPOSITORY="")
    where = ["--local"] if local else []
    seconds, result = timed([str(SEAMLINE), *args, "--json", *where], env, label)
    if result.returncode != 0:
        raise SystemExit(
            f"seamline {' '.join(args)} failed ({result.returncode}):\n{result.stderr[-3000:]}"
        )
    if not local and f"on {DEPLOYMENTS[args[0]]}" not in result.stderr:
        raise SystemExit(f"seamline {args[0]} did not go through its deployment: is the stack up?")
    report: dict[str, Any] = json.loads(result.stdout)
    return seconds, report


def evidence_calls(report: dict[str, Any], work: Path, name: str) -> list[ToolCall]:
    """The tool calls of the run ``report`` names, kept in ``work`` for a look after."""
    source = STATE / "evidence" / str(report["flow_run_id"]) / "tool-timings.jsonl"
    kept = work / f"{name}-tool-timings.jsonl"
    shutil.copyfile(source, kept)
    return read_calls(kept)


def no_tool_running(calls: list[ToolCall], started: float, seconds: float) -> float:
    """Seconds of a command's wall time during which none of its run's tools ran."""
    ended = started + seconds
    spans = [(max(c.started, started), min(c.ended, ended)) for c in calls]
    return seconds - busy_seconds((a, b) for a, b in spans if b > a)


def pin_in_prod(remote: Path, work: Path, settings: Settings) -> None:
    """Pin dev's digests in prod too, by a commit as a promotion writes it (the digests are
    already in staging): 12 pins of 4 distinct digests for the re-scan."""
    import git

    folder = work / "pin-prod"
    clone = git.Repo.clone_from(str(remote), folder)
    config = load_pipeline_config(folder)
    dev = current_images(config.overlay_in(folder, "dev"))
    moves = {image: ref for image, ref in dev.items() if ImageRef.parse(ref).digest}
    set_and_render(Toolbox(settings).manifest_editor(), config.overlay_in(folder, "prod"), moves)
    clone.git.add(A=True)
    clone.index.commit("bench: pin dev's digests in prod", author=AUTHOR, committer=AUTHOR)
    clone.remote("origin").push("HEAD:refs/heads/main").raise_if_error()


def trivy_scans_alone(references: list[str], settings: Settings) -> tuple[float, float]:
    """Wall and machine CPU seconds of the four scans, side by side as the re-scan runs
    them, through seamline's Trivy adapter; the DB is resolved before the clock starts."""
    set_base_environment({"GOMAXPROCS": str(settings.go_max_procs())})  # as a flow process
    tools = Toolbox(settings)
    registry = tools.registry()
    try:
        scanner = tools.scanner(trivy_db_digest(registry, settings))
    finally:
        registry.close()
    cpu = machine_cpu()
    started = time.perf_counter()
    with ThreadPoolExecutor(len(references)) as pool:
        list(pool.map(lambda r: scanner.scan_image(r, severities=SEVERITIES), references))
    return time.perf_counter() - started, machine_cpu() - cpu


def _require(condition: bool, what: str) -> None:
    if not condition:
        raise SystemExit(f"benchmark invalid: {what}")


def promotion(remote: Path, work: Path, local: bool) -> tuple[dict[str, float], list[str]]:
    started = time.time()
    seconds, report = cd_command(
        remote, "promote", "promote", "--from", "dev", "--to", "staging", local=local
    )
    images = report["images"]
    _require(report["commit"] is not None and len(images) == len(SERVICES), "4 digests moved")
    _require(all(i["checks"] == list(CHECKS) for i in images), "each passed all five checks")
    calls = evidence_calls(report, work, "promote")
    checks = [c for c in calls if c.task == "promotion-checks"]
    chains = {
        run: busy_seconds((c.started, c.ended) for c in checks if c.task_run == run)
        for run in {c.task_run for c in checks}
    }
    one_after_another = {run: sum(c.seconds for c in checks if c.task_run == run) for run in chains}
    path = staged_critical_path(calls, PROMOTE_STAGES)
    measured = {
        "promote": seconds,
        "promote_path": path,
        "longest_digest": max(chains.values()),
        "longest_digest_summed": max(one_after_another.values()),
        "promote_no_tool": no_tool_running(calls, started, seconds),
    }
    return measured, [str(i["reference"]) for i in images]


def rescan(
    remote: Path, work: Path, references: list[str], index: int, local: bool
) -> dict[str, float]:
    settings = Settings()
    measured: dict[str, float] = {}
    report: dict[str, Any] = {}
    started = 0.0

    def run_side(side: str) -> None:
        nonlocal report, started
        if side == "rescan":
            started = time.time()
            measured["rescan"], report = cd_command(remote, "rescan", "rescan", local=local)
            measured["rescan_cpu"] = CPU["rescan"]
        else:
            measured["scans"], measured["scans_cpu"] = trivy_scans_alone(references, settings)

    order = ["rescan", "scans"]
    for side in order[index % 2 :] + order[: index % 2]:  # each side first in turn
        run_side(side)
    digests = report["digests"]
    _require(len(digests) == len(references), "the re-scan found the 4 distinct digests")
    _require(all(d["overlays"] == OVERLAYS for d in digests), "each digest pinned in 3 overlays")
    _require(not any(d["blocked"] for d in digests), "the released Bookstore passes the gate")
    calls = evidence_calls(report, work, "rescan")
    scans = seconds_by_task_run(calls, "trivy image")
    attests = seconds_by_task_run(calls, "cosign attest")
    _require(len(scans) == len(references), "one re-scan task per distinct digest")
    return {
        **measured,
        "rescan_trivy_calls": sum(1 for c in calls if c.tool == "trivy image"),
        "rescan_longest_scan": max(scans.values()),
        "attest_median": statistics.median(attests.values()),
        "attest_longest": max(attests.values()),
        "rescan_path": staged_critical_path(calls, RESCAN_STAGES),
        "rescan_no_tool": no_tool_running(calls, started, measured["rescan"]),
    }


def one_round(index: int, local: bool) -> dict[str, float]:
    with tempfile.TemporaryDirectory(prefix="seamline-bench-cd-") as tmp:
        work = Path(tmp)
        tree = work / "tree"
        shutil.copytree(ROOT / "examples" / "bookstore", tree)
        for service in SERVICES:
            add_nonce(tree, service)
        remote = fresh_remote(work, "cd", tree)
        seamline_run(remote)  # the CI release into dev, through the deployment
        promoted, references = promotion(remote, work, local)
        pin_in_prod(remote, work, Settings())
        return {**promoted, **rescan(remote, work, references, index, local)}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument(
        "--local", action="store_true", help="measure the commands run in-process (--local)"
    )
    options = parser.parse_args()
    rounds, local = options.rounds, options.local
    subprocess.run([str(SEAMLINE), "stack", "up"], check=True, capture_output=True)
    results = []
    for index in range(rounds):
        results.append(one_round(index, local))
        print(json.dumps(results[-1]), file=sys.stderr)
    med = {key: statistics.median(r[key] for r in results) for key in results[0]}
    promote_ratio = statistics.median(r["promote"] / r["promote_path"] for r in results)
    rescan_ratio = statistics.median(r["rescan"] / r["scans"] for r in results)
    net_ratio = statistics.median((r["rescan"] - r["attest_longest"]) / r["scans"] for r in results)
    cpu_ratio = statistics.median(r["rescan_cpu"] / r["scans_cpu"] for r in results)
    rows = [
        (
            "promotion dev → staging of the four Bookstore digests, five checks each: "
            "whole command / critical path of its tool calls",
            f"{med['promote']:.1f} s / {med['promote_path']:.1f} s = {promote_ratio:.2f}",
            "≤ 1.3",
        ),
        (
            "promotion: the longest digest's checks as scheduled (side by side) / "
            "one after another",
            f"{med['longest_digest']:.1f} s / {med['longest_digest_summed']:.1f} s",
            "",
        ),
        (
            "promotion: time with no tool running (seamline, Prefect, Python start) / wall",
            f"{med['promote_no_tool']:.1f} s / {med['promote']:.1f} s",
            "",
        ),
        (
            "re-scan of all overlays (12 pins, 4 distinct digests): whole command / "
            "the four trivy scans alone, side by side",
            f"{med['rescan']:.1f} s / {med['scans']:.1f} s = {rescan_ratio:.2f}",
            "≤ 1.2",
        ),
        (
            "re-scan: `trivy image` calls (distinct digests scanned once)",
            f"{max(r['rescan_trivy_calls'] for r in results):.0f}",
            "4",
        ),
        (
            "re-scan: `cosign attest --type vuln` per digest, median / longest",
            f"{med['attest_median']:.1f} s / {med['attest_longest']:.1f} s",
            "",
        ),
        (
            "re-scan less the longest attestation / the scans alone",
            f"{net_ratio:.2f}",
            "",
        ),
        (
            "machine CPU seconds, re-scan / the scans alone",
            f"{med['rescan_cpu']:.1f} s / {med['scans_cpu']:.1f} s = {cpu_ratio:.2f}",
            "",
        ),
    ]
    lines = [
        "## Continuous delivery: promotion and re-scan against their own tool calls",
        "",
        f"Command: `.venv/bin/python bench/cd.py --rounds {rounds}{' --local' if local else ''}` "
        f"({datetime.now(UTC):%Y-%m-%d}, {platform.machine()}, {os.cpu_count()} cores); "
        "medians over the rounds, each round side by side.",
        "",
        "| measure | result | target |",
        "|---|---|---|",
        *[f"| {a} | {b} | {c} |" for a, b, c in rows],
        "",
        "Per round (seconds):",
        "",
        "| round | promote | its tool critical path | longest digest | no tool running "
        "| re-scan | scans alone | re-scan tool critical path | longest attest "
        "| no tool running |",
        "|---|---|---|---|---|---|---|---|---|---|",
        *[
            f"| {i + 1} | {r['promote']:.1f} | {r['promote_path']:.1f} "
            f"| {r['longest_digest']:.1f} | {r['promote_no_tool']:.1f} | {r['rescan']:.1f} "
            f"| {r['scans']:.1f} | {r['rescan_path']:.1f} | {r['attest_longest']:.1f} "
            f"| {r['rescan_no_tool']:.1f} |"
            for i, r in enumerate(results)
        ],
        "",
        "The promotion's critical path: the plan's clone, the longest digest's five checks",
        "(cosign and trivy, side by side), the commit's clone, kustomize build and push. The",
        "re-scan's scans and the scans alone run side by side (four at once), as the re-scan's",
        "mapped tasks do; each re-scan task then attests its scan, which the scans alone do not.",
        *(
            [
                "Both commands ran with --local, in their own process: the wall time includes",
                "Python's start, Prefect's import and the preflight.",
            ]
            if local
            else [
                "Both commands ran through their deployments, on the stack's executors: the",
                "wall time includes creating the flow run, its claim, and reading its logs and",
                "outcome back.",
            ]
        ),
    ]
    print(write_section(MARK, lines))


if __name__ == "__main__":
    main()

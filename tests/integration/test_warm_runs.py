"""Real CI runs through the stack's warm runner: the same results as an in-process run, and a
client that dies takes its run down with it."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import time
import uuid
from pathlib import Path
from typing import Any

import git

from seamline.adapters.git_repo import seed_bare_remote
from seamline.config.settings import PROJECT_ROOT, Settings
from seamline.orchestration.api_access import api_client
from seamline.stack.daemon import pid_alive
from tests.integration.conftest import SEAMLINE, seamline

BOOKSTORE = PROJECT_ROOT / "examples" / "bookstore"


def _runner_log(settings: Settings) -> str:
    return (settings.state_dir / "logs" / "warm-runner.log").read_text()


def _children(settings: Settings) -> list[int]:
    return [int(pid) for pid in re.findall(r"started as pid (\d+)", _runner_log(settings))]


def _descendants(pid: int) -> list[int]:
    """Processes started under ``pid`` (the tools its run spawned), from /proc."""
    parents: dict[int, int] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rpartition(")")[2].split()
        except OSError:
            continue  # ended while we looked
        parents[int(stat.parent.name)] = int(fields[1])
    found, frontier = [], [pid]
    while frontier:
        children = [p for p, parent in parents.items() if parent in frontier]
        found += children
        frontier = children
    return found


def _fresh_remote(tmp_path: Path) -> Path:
    tree = tmp_path / "tree"
    shutil.copytree(BOOKSTORE, tree)
    # A new source file: nothing of this tree is cached, so the run takes a while.
    (tree / "app" / "catalog" / "nonce.go").write_text(f"package main\n\n// {uuid.uuid4()}\n")
    remote = tmp_path / "bookstore.git"
    seed_bare_remote(tree, remote, branch="main", message="Seed Bookstore")
    return remote


def test_stack_reports_the_warm_runner(stack_up: dict[str, Any]) -> None:
    runner = next(c for c in stack_up["components"] if c["name"] == "warm-runner")
    assert runner["healthy"], runner


def test_a_run_goes_through_the_warm_runner(
    stack_up: dict[str, Any], settings: Settings, tmp_path: Path
) -> None:
    remote = tmp_path / "bookstore.git"
    seed_bare_remote(BOOKSTORE, remote, branch="main", message="Seed Bookstore")
    before = _children(settings)
    env = dict(os.environ, SEAMLINE_GITOPS_REMOTE=str(remote))
    result = seamline("run", "--repo", str(remote), "--event", "pull_request", "--json", env=env)
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["state"] == "Completed" and report["commit"] is None
    assert len(_children(settings)) == len(before) + 1
    flow_run = api_client(settings).get(f"/flow_runs/{report['flow_run_id']}").json()
    assert flow_run["state"]["type"] == "COMPLETED"


def test_a_killed_client_stops_its_run(
    stack_up: dict[str, Any], settings: Settings, tmp_path: Path
) -> None:
    remote = _fresh_remote(tmp_path)
    seeded = git.Repo(remote).commit("main").hexsha
    before = len(_children(settings))
    env = dict(os.environ, SEAMLINE_GITOPS_REMOTE=str(remote))
    client = subprocess.Popen(
        [str(SEAMLINE), "run", "--repo", str(remote), "--json"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 60
    while len(_children(settings)) == before and time.monotonic() < deadline:
        time.sleep(0.2)
    child = _children(settings)[-1]
    assert len(_children(settings)) == before + 1
    deadline = time.monotonic() + 120
    while not _descendants(child) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert _descendants(child), "the run started no tool"  # under way, not just forked
    client.send_signal(signal.SIGKILL)
    client.wait(timeout=30)
    deadline = time.monotonic() + 120
    while pid_alive(child) and time.monotonic() < deadline:
        time.sleep(0.5)
    assert not pid_alive(child), "the run went on without its client"
    assert git.Repo(remote).commit("main").hexsha == seeded  # nothing committed

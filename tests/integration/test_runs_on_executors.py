"""Runs of seamline's deployments, executed by the stack's executors on the real server:
started by `seamline run`, by `prefect deployment run`, by two executors sharing a pool."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from seamline.config.settings import Settings
from seamline.orchestration.api_access import api_client, prefect_environment
from seamline.orchestration.executors import executor_identities, nudge
from seamline.orchestration.rest import PrefectRest
from tests.integration.conftest import (
    deployment_id,
    ended_run,
    flow_run,
    published_outcome,
    run_logs,
    seamline,
    wait_for,
)

SERVICES = ["catalog", "orders", "payments-worker", "storefront"]


def _deployment_id(settings: Settings) -> str:
    return deployment_id(settings, "seamline-ci", "ci")


def _task_run_names(settings: Settings, run_id: str) -> set[str]:
    with api_client(settings) as client:
        return {t["name"] for t in PrefectRest(client).task_runs(run_id)}


def _claimed_by(settings: Settings, run_id: str) -> list[str]:
    """The executors that claimed the run, from its state history."""
    with api_client(settings) as api:
        states = api.get("/flow_run_states/", params={"flow_run_id": run_id}).json()
    return [
        s["message"].removeprefix("claimed by executor ")
        for s in states
        if s["type"] == "PENDING" and (s.get("message") or "").startswith("claimed by executor")
    ]


def test_stack_status_shows_the_executors(stack_up: dict[str, Any]) -> None:
    executors = {c["name"]: c for c in stack_up["components"]}["executors"]
    assert executors["healthy"], executors
    assert "executor-1" in executors["detail"] and "work pool seamline" in executors["detail"]


def test_seamline_run_goes_through_the_deployment_and_prints_its_outcome(
    stack_up: dict[str, Any], settings: Settings
) -> None:
    result = seamline("run", "--event", "pull_request", "--json")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    run = flow_run(settings, report["flow_run_id"])
    assert run["deployment_id"] == _deployment_id(settings)
    assert "seamline-run" in run["tags"]
    assert run["parameters"]["event"] == "pull_request"
    assert "on seamline-ci/ci" in result.stderr
    # the same document an in-process run prints, read back from the run
    assert published_outcome(settings, run["id"]).payload == report
    assert [s["name"] for s in report["services"]] == SERVICES
    assert all(s["gate"] == "passed" for s in report["services"])
    wanted = {f"{stage}[{s}]" for s in SERVICES for stage in ("build-test", "image", "scan")}
    wanted |= {"checkout", "preflight", "evidence"}
    # the server records task runs from their events, a moment after the run ends
    names = wait_for(
        "the task runs, named by stage and service",
        lambda: (found := _task_run_names(settings, run["id"])) >= wanted and found,
        30,
    )
    assert {"checkout", "preflight", "evidence"} <= names, names
    assert "started because: `seamline run` by" in run_logs(
        settings, run["id"], expect="started because"
    )


def test_local_and_deployment_runs_report_alike(
    stack_up: dict[str, Any], settings: Settings
) -> None:
    remote = seamline("run", "--event", "pull_request", "--json")
    local = seamline("run", "--event", "pull_request", "--json", "--local")
    assert remote.returncode == local.returncode == 0, remote.stderr + local.stderr
    a, b = json.loads(remote.stdout), json.loads(local.stdout)
    assert flow_run(settings, b["flow_run_id"])["deployment_id"] is None
    assert a.keys() == b.keys()
    for x, y in zip(a["services"], b["services"], strict=True):
        assert (x["name"], x["gate"], x["findings"]) == (y["name"], y["gate"], y["findings"])


def test_a_bad_ref_through_the_deployment_exits_2_with_the_flows_own_message(
    stack_up: dict[str, Any],
) -> None:
    result = seamline("run", "--ref", "no-such-branch", "--event", "pull_request", "--json")
    assert result.returncode == 2, result.stderr
    payload = json.loads(result.stdout)
    assert "no-such-branch" in payload["error"] and payload["exit_code"] == 2


def test_prefect_cli_starts_a_run_that_an_executor_executes(
    stack_up: dict[str, Any], settings: Settings
) -> None:
    env = {**os.environ, **prefect_environment(settings)}
    result = subprocess.run(
        [
            str(Path(sys.executable).with_name("prefect")),
            "deployment",
            "run",
            "seamline-ci/ci",
            "--param",
            f"repo={settings.default_source_repo()}",
            "--param",
            "event=pull_request",
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr + result.stdout
    run_id = next(
        line.split("UUID:")[1].strip() for line in result.stdout.splitlines() if "UUID:" in line
    )
    run = wait_for("the run ends", lambda: ended_run(settings, run_id), 300)
    assert run["state"]["type"] == "COMPLETED", run["state"]
    assert _claimed_by(settings, run_id), "an executor claimed it"
    outcome = published_outcome(settings, run_id)
    assert outcome.exit_code == 0
    assert [s["name"] for s in outcome.payload["services"]] == SERVICES


@pytest.fixture
def second_executor(stack_up: dict[str, Any], settings: Settings) -> Iterator[str]:
    name = "test-second"
    env = {**os.environ, **prefect_environment(settings)}
    log = (settings.state_dir / "logs" / f"{name}.log").open("w")
    process = subprocess.Popen(
        [sys.executable, "-m", "deployments.executor", name],
        stdout=log,
        stderr=subprocess.STDOUT,
        env=env,
        start_new_session=True,
    )

    def registered() -> bool:
        with api_client(settings) as client:
            return f"seamline-executor-{name}" in PrefectRest(client).variables(
                "seamline-executor-"
            )

    try:
        wait_for("the second executor registers", registered, 60)
        yield name
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=60)
        log.close()


def test_two_executors_share_concurrent_runs_and_each_run_executes_once(
    second_executor: str, settings: Settings
) -> None:
    deployment = _deployment_id(settings)
    parameters = {"repo": settings.default_source_repo(), "event": "pull_request"}
    with api_client(settings) as client:
        rest = PrefectRest(client)
        runs = [rest.create_run(deployment, parameters=parameters, tags=["test"]) for _ in range(4)]
        # wake both at once: each claims up to its capacity (2), so each gets two
        nudge(settings, executor_identities(rest).values())
    ended = [wait_for("a run ends", lambda r=r: ended_run(settings, r.id), 600) for r in runs]
    assert [r["state"]["type"] for r in ended] == ["COMPLETED"] * 4
    claims = {r.id: _claimed_by(settings, r.id) for r in runs}
    assert all(len(c) == 1 for c in claims.values()), claims
    assert {c[0] for c in claims.values()} == {"executor-1", second_executor}, claims

"""A run that releases nothing pushes nothing, on the real stack. A pull request built by
BuildKit (the default builder) goes to OCI layout folders of its run, is scanned there and
leaves neither a tag in the registry nor a folder behind; a vulnerable one fails the gate
on its layout; one built by the Docker Engine is scanned inside the engine, pushed nowhere."""

from __future__ import annotations

import json
import os
import signal
import subprocess
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from seamline.adapters.docker_engine import DockerEngine
from seamline.adapters.go_sandbox import OWNER_LABEL
from seamline.config.settings import Settings
from seamline.orchestration.api_access import api_client
from seamline.orchestration.executors import executor_identities, nudge
from seamline.orchestration.rest import PrefectRest
from tests.integration.conftest import (
    SEAMLINE,
    VULNERABLE,
    add_service,
    deployment_id,
    ended_run,
    seamline,
    wait_for,
)
from tests.integration.test_trust_boundaries import (
    commit_change,
    go_comment,
    repo_copy,
    seed,
    tags_of,
)

SERVICES = ("catalog", "orders", "payments-worker", "storefront")


def pull_request(remote: Path, *, builder: str | None = None) -> tuple[int, dict[str, Any], str]:
    """`seamline run --event pull_request` of the branch ``feature``; in process when a
    ``builder`` is named (the stack's executor builds with the default one)."""
    env = dict(os.environ, SEAMLINE_GITOPS_REMOTE=str(remote))
    args = ["--ref", "feature", "--event", "pull_request"]
    if builder is not None:
        env["SEAMLINE_IMAGE_BUILDER"] = builder
        args.append("--local")
    result = seamline("run", "--repo", str(remote), "--json", *args, env=env)
    payload = json.loads(result.stdout) if result.stdout.strip() else {}
    return result.returncode, payload, result.stderr


def _layouts_gone(settings: Settings, payload: dict[str, Any]) -> bool:
    return not settings.run_layouts_dir(payload["flow_run_id"]).exists()


def test_a_buildkit_pull_request_leaves_no_tag_and_no_layout(
    stack_up: dict[str, Any], settings: Settings, tmp_path: Path
) -> None:
    source, prefix = repo_copy(tmp_path)
    remote = seed(source, tmp_path)
    commit_change(remote, tmp_path, *go_comment("catalog"), branch="feature")
    code, payload, stderr = pull_request(remote)
    assert code == 0, stderr
    assert payload["commit"] is None and payload["errors"] == []
    for service in payload["services"]:
        assert service["gate"] == "passed" and service["findings"] is not None, service
        assert service["digest"] is None and not service["signed"]
    for name in SERVICES:
        assert tags_of(settings, f"{prefix}/{name}") == [], name
    assert _layouts_gone(settings, payload)


def test_a_vulnerable_buildkit_pull_request_fails_the_gate_on_its_layout(
    stack_up: dict[str, Any], settings: Settings, tmp_path: Path
) -> None:
    source, prefix = repo_copy(tmp_path)
    add_service(source, "vulnerable", VULNERABLE, f"{prefix}/vulnerable")
    remote = seed(source, tmp_path)
    commit_change(remote, tmp_path, *go_comment("catalog"), branch="feature")
    code, payload, stderr = pull_request(remote, builder="buildkit")
    assert code == 1, stderr
    by_name = {s["name"]: s for s in payload["services"]}
    vulnerable = by_name["vulnerable"]
    assert vulnerable["gate"] == "failed" and vulnerable["findings"]["HIGH"] >= 2
    assert vulnerable["digest"] is None and not vulnerable["signed"]
    messages = " ".join(e["message"] for e in payload["errors"] if e["stage"] == "scan")
    assert "CVE-2021-38561" in messages
    assert all(by_name[name]["gate"] == "passed" for name in SERVICES)
    for name in (*SERVICES, "vulnerable"):
        assert tags_of(settings, f"{prefix}/{name}") == [], name
    assert _layouts_gone(settings, payload)


def test_a_docker_pull_request_is_scanned_in_the_engine_and_pushed_nowhere(
    stack_up: dict[str, Any], engine: DockerEngine, settings: Settings, tmp_path: Path
) -> None:
    source, prefix = repo_copy(tmp_path)
    remote = seed(source, tmp_path)
    commit = commit_change(remote, tmp_path, *go_comment("catalog"), branch="feature")
    code, payload, stderr = pull_request(remote, builder="docker")
    assert code == 0, stderr
    for service in payload["services"]:
        assert service["gate"] == "passed" and service["digest"] is None, service
    for name in SERVICES:
        assert tags_of(settings, f"{prefix}/{name}") == [], name
        # the image the scan read: the engine's, tagged with the commit
        assert engine.has_image(f"{settings.registry}/{prefix}/{name}:{commit[:12]}"), name
    assert _layouts_gone(settings, payload)


def test_a_cancelled_pull_request_leaves_no_layout(
    stack_up: dict[str, Any], settings: Settings
) -> None:
    """Cancelling kills the run's process before its own clean-up: the executor removes
    the run's layout folders when it reaps that process."""
    deployment = deployment_id(settings, "seamline-ci", "ci")
    parameters = {"repo": settings.default_source_repo(), "event": "pull_request"}
    with api_client(settings) as client:
        rest = PrefectRest(client)
        run = rest.create_run(deployment, parameters=parameters, tags=["test"])
        nudge(settings, executor_identities(rest).values())
        layouts = settings.run_layouts_dir(run.id)
        wait_for("a layout being built", lambda: layouts.is_dir() and any(layouts.iterdir()), 300)
        assert rest.set_state(run.id, "CANCELLING", "cancelled by the test", force=True)
    # Prefect's engine calls a run stopped by a signal crashed; the executor that stopped
    # it sets it cancelled when it reaps its process
    wait_for(
        "the run cancelled",
        lambda: (ended_run(settings, run.id) or {}).get("state", {}).get("type") == "CANCELLED",
        120,
    )
    wait_for("the layouts removed", lambda: not layouts.exists(), 30)


def test_a_killed_local_pull_requests_layout_is_removed_by_the_next_run(
    stack_up: dict[str, Any], settings: Settings, tmp_path: Path
) -> None:
    """A `--local` run killed outright removes nothing and has no executor to reap it: the
    next run removes the layout folder its gone process owned."""
    source, _ = repo_copy(tmp_path)
    remote = seed(source, tmp_path)
    commit_change(remote, tmp_path, *go_comment("catalog"), branch="feature")
    root = settings.state_dir / "layouts"
    before = set(root.iterdir()) if root.is_dir() else set()
    env = dict(os.environ, SEAMLINE_GITOPS_REMOTE=str(remote))
    argv = [str(SEAMLINE), "run", "--repo", str(remote), "--ref", "feature"]
    killed = subprocess.Popen(
        [*argv, "--event", "pull_request", "--local"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:

        def building() -> list[Path]:
            found = set(root.iterdir()) - before if root.is_dir() else set()
            return [f for f in found if f.is_dir() and any(f.glob("*/index.json"))]

        wait_for("a layout written by the local run", lambda: bool(building()), 300)
        (orphan,) = building()
    finally:
        os.killpg(killed.pid, signal.SIGKILL)
        killed.wait()
    assert orphan.is_dir()  # nothing of the killed run cleaned up after it
    with api_client(settings) as client:  # nor ended its flow run
        PrefectRest(client).set_state(orphan.name, "CRASHED", "killed by the test", force=True)
    code, payload, stderr = pull_request(remote)
    assert code == 0, stderr
    assert not orphan.exists()
    assert _layouts_gone(settings, payload)


def _asleep(running: list[Any]) -> bool:
    """Catalog's sandbox alone still running, for over 20 s: its checks take a few."""
    if len(running) != 1:
        return False
    (sandbox,) = running
    sandbox.reload()
    mounts = {m.get("Destination") for m in sandbox.attrs.get("Mounts", [])}
    started = sandbox.attrs["State"]["StartedAt"][:26].rstrip("Z")
    since = datetime.now(UTC) - datetime.fromisoformat(started).replace(tzinfo=UTC)
    return "/src/app/catalog" in mounts and since.total_seconds() > 20


SLEEPING_TEST = """package main

import (
\t"testing"
\t"time"
)

func TestSleepsForAnHour(t *testing.T) { time.Sleep(time.Hour) }
"""


def test_cancelling_a_pull_request_stops_its_sandbox(
    stack_up: dict[str, Any], settings: Settings, tmp_path: Path
) -> None:
    """A pull request's test that never ends: cancelling the run kills its process, and
    the executor that reaps it stops the sandbox, which Docker, not the process, ran."""
    source, _ = repo_copy(tmp_path)
    remote = seed(source, tmp_path)
    commit_change(remote, tmp_path, "app/catalog/sleep_test.go", SLEEPING_TEST, branch="feature")
    deployment = deployment_id(settings, "seamline-ci", "ci")
    parameters = {
        "repo": str(remote),
        "ref": "feature",
        "event": "pull_request",
        "gitops": str(remote),
    }
    engine = DockerEngine.connect(settings.docker_host)
    try:

        def sandboxes() -> list[Any]:
            found = engine.client.containers.list(filters={"label": OWNER_LABEL})
            return [c for c in found if c.status == "running"]

        with api_client(settings) as client:
            rest = PrefectRest(client)
            run = rest.create_run(deployment, parameters=parameters, tags=["test"])
            nudge(settings, executor_identities(rest).values())
            # the other services' checks end; catalog's test sleeps on
            wait_for("catalog's test asleep in its sandbox", lambda: _asleep(sandboxes()), 300)
            assert rest.set_state(run.id, "CANCELLING", "cancelled by the test", force=True)
        wait_for(
            "the run cancelled",
            lambda: (ended_run(settings, run.id) or {}).get("state", {}).get("type") == "CANCELLED",
            120,
        )
        wait_for("the sandbox stopped and removed", lambda: not sandboxes(), 30)
    finally:
        engine.close()

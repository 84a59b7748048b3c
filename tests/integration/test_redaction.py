"""A known secret never reaches the Prefect server: not in logs, states or parameters."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import httpx

from seamline.adapters.git_repo import seed_bare_remote
from seamline.config.settings import PROJECT_ROOT, Settings
from seamline.orchestration.api_access import (
    api_client,
    prefect_api_auth,
    prefect_environment,
    undelivered_logs,
)
from tests.integration.conftest import seamline, wait_for

SECRET = "known-test-secret-5f1c9a"
SCRIPT = Path(__file__).parent / "scripts" / "leaky_flow.py"


def test_secret_is_redacted_everywhere_prefect_keeps_it(
    stack_up: dict[str, Any], settings: Settings
) -> None:
    env = {**os.environ, **prefect_environment(settings), "PREFECT_LOGGING_LEVEL": "INFO"}
    result = subprocess.run(
        [sys.executable, str(SCRIPT), SECRET],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
        check=False,
    )
    run_id = result.stdout.strip().splitlines()[-1]
    assert SECRET not in result.stdout + result.stderr
    assert "***" in result.stderr

    api = api_client(settings)
    logs = api.post("/logs/filter", json={"logs": {"flow_run_id": {"any_": [run_id]}}}).json()
    messages = " ".join(entry["message"] for entry in logs)
    assert "about to use password ***" in messages
    assert SECRET not in messages

    flow_run = api.get(f"/flow_runs/{run_id}").json()
    tasks = api.post("/task_runs/filter", json={"flow_runs": {"id": {"any_": [run_id]}}}).json()
    stored = json.dumps(flow_run) + json.dumps(tasks)
    assert flow_run["state"]["type"] == "FAILED"
    assert "stderr says ***" in stored or "exited with 3" in stored
    assert SECRET not in stored
    auth = prefect_api_auth(settings)
    assert auth is not None and auth.get_secret_value() not in stored + messages


def test_the_prefect_api_refuses_calls_without_its_auth_string(
    stack_up: dict[str, Any], settings: Settings
) -> None:
    refused = httpx.post(f"{settings.prefect_api_url}/flow_runs/filter", json={}, timeout=30)
    assert refused.status_code == 401
    assert api_client(settings).post("/flow_runs/filter", json={"limit": 1}).status_code == 200


def test_logs_kept_while_the_api_was_away_reach_it_with_the_next_run(
    stack_up: dict[str, Any], settings: Settings, tmp_path: Path
) -> None:
    marker = f"kept while the API was away {uuid.uuid4()}"
    flow_run = api_client(settings).post("/flow_runs/filter", json={"limit": 1}).json()[0]
    batch = [
        {
            "name": "seamline.test",
            "level": 20,
            "message": marker,
            "timestamp": "2026-11-28T00:00:00Z",
            "flow_run_id": flow_run["id"],
            "task_run_id": None,
        }
    ]
    spool = undelivered_logs(settings)
    spool.mkdir(parents=True, exist_ok=True)
    (spool / "0-test.json").write_text(json.dumps(batch))
    remote = tmp_path / "bookstore.git"
    seed_bare_remote(PROJECT_ROOT / "examples" / "bookstore", remote, branch="main", message="s")
    env = dict(os.environ, SEAMLINE_GITOPS_REMOTE=str(remote))
    result = seamline("run", "--repo", str(remote), "--event", "pull_request", env=env)
    assert result.returncode == 0, result.stderr
    # the executor that ran it sends the spool when its run's process ends, a moment after
    # the run is final (and at every heartbeat)
    wait_for("the spooled batch delivered", lambda: not (spool / "0-test.json").exists(), 30)
    logs = api_client(settings).post(
        "/logs/filter", json={"logs": {"flow_run_id": {"any_": [flow_run["id"]]}}}
    )
    assert marker in " ".join(entry["message"] for entry in logs.json())

"""A known secret never reaches the Prefect server: not in logs, states or parameters."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx

from seamline.prefect_env import prefect_environment
from seamline.settings import Settings

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

    api = settings.prefect_api_url
    logs = httpx.post(
        f"{api}/logs/filter", json={"logs": {"flow_run_id": {"any_": [run_id]}}}, timeout=30
    ).json()
    messages = " ".join(entry["message"] for entry in logs)
    assert "about to use password ***" in messages
    assert SECRET not in messages

    flow_run = httpx.get(f"{api}/flow_runs/{run_id}", timeout=30).json()
    tasks = httpx.post(
        f"{api}/task_runs/filter",
        json={"flow_runs": {"id": {"any_": [run_id]}}},
        timeout=30,
    ).json()
    stored = json.dumps(flow_run) + json.dumps(tasks)
    assert flow_run["state"]["type"] == "FAILED"
    assert "stderr says ***" in stored or "exited with 3" in stored
    assert SECRET not in stored

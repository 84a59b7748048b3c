"""The nightly re-scan's schedule on the real server: its next runs computed at 02:00, and a
run started by a schedule, executed by an executor."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any

import pytest

from seamline.config.settings import Settings
from seamline.orchestration.api_access import api_client
from tests.integration.conftest import ended_run, run_logs, wait_for


def _nightly(settings: Settings) -> dict[str, Any]:
    with api_client(settings) as api:
        found: dict[str, Any] = api.get("/deployments/name/seamline-rescan/nightly").json()
    return found


def _scheduled_runs(settings: Settings, deployment_id: str) -> list[dict[str, Any]]:
    with api_client(settings) as api:
        runs: list[dict[str, Any]] = api.post(
            "/flow_runs/filter",
            json={
                "deployments": {"id": {"any_": [deployment_id]}},
                "flow_runs": {"tags": {"all_": ["auto-scheduled"]}},
                "sort": "EXPECTED_START_TIME_ASC",
                "limit": 50,
            },
        ).json()
    return runs


def test_the_nightly_rescan_has_its_next_runs_at_two(
    stack_up: dict[str, Any], settings: Settings
) -> None:
    nightly = _nightly(settings)
    [schedule] = nightly["schedules"]
    assert schedule["schedule"]["cron"] == settings.rescan_cron == "0 2 * * *"
    assert schedule["active"] and schedule["schedule"]["timezone"] == "UTC"

    def nightly_runs() -> list[dict[str, Any]] | None:
        runs = [
            r
            for r in _scheduled_runs(settings, nightly["id"])
            if r["state"]["type"] == "SCHEDULED"
            and datetime.fromisoformat(r["expected_start_time"]).strftime("%H:%M") == "02:00"
        ]
        return runs or None

    runs = wait_for("the scheduler computes the next nightly runs", nightly_runs, 120)
    assert datetime.fromisoformat(runs[0]["expected_start_time"]) > datetime.now().astimezone()


@pytest.fixture
def every_half_minute(stack_up: dict[str, Any], settings: Settings) -> Iterator[dict[str, Any]]:
    """One more schedule on the nightly deployment, so a scheduled run comes within a
    minute; removed afterwards (with the runs it scheduled)."""
    nightly = _nightly(settings)
    with api_client(settings) as api:
        created = api.post(
            f"/deployments/{nightly['id']}/schedules",
            json=[
                {
                    "schedule": {"interval": 30, "anchor_date": "2026-01-01T00:00:00Z"},
                    "active": True,
                }
            ],
        )
        assert created.status_code == 201, created.text
        [schedule] = created.json()
    try:
        yield schedule
    finally:
        with api_client(settings) as api:
            api.delete(f"/deployments/{nightly['id']}/schedules/{schedule['id']}")


def test_a_schedule_starts_a_rescan_that_an_executor_runs(
    every_half_minute: dict[str, Any], settings: Settings
) -> None:
    deployment_id = every_half_minute["deployment_id"]

    def started() -> dict[str, Any] | None:
        runs = [
            r
            for r in _scheduled_runs(settings, deployment_id)
            if r["state"]["type"] not in ("SCHEDULED", "PENDING")
        ]
        return runs[0] if runs else None

    first = wait_for("a scheduled run starts", started, 180)
    run = wait_for("the scheduled run ends", lambda: ended_run(settings, first["id"]), 300)
    assert run["state"]["type"] == "COMPLETED", run["state"]
    assert run["name"] == "rescan-schedule"
    logs = run_logs(settings, run["id"], expect="pinned digests in the GitOps repository")
    assert "pinned digests in the GitOps repository" in logs

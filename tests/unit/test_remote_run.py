"""What `seamline run` does with a run on an executor: the parameters it sends, and the
log records it prints and stops at."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from deployments.remote_run import LogPrinter, run_parameters
from seamline.config.settings import Settings


class RecordedLogs:
    def __init__(self, records: list[dict[str, Any]]) -> None:
        self.records = records

    def logs(self, run_id: str, offset: int, limit: int = 200) -> list[dict[str, Any]]:
        return self.records[offset : offset + limit]


def _record(message: str, task_run_id: str | None = None) -> dict[str, Any]:
    return {
        "timestamp": "2026-11-29T07:10:09.417501+00:00",
        "level": 20,
        "message": message,
        "task_run_id": task_run_id,
    }


def test_records_print_once_in_order_and_the_flows_closing_record_ends_the_tail() -> None:
    printed: list[str] = []
    printer = LogPrinter(printed.append)
    rest = RecordedLogs([_record("Beginning flow run"), _record("Finished in state X()", "t1")])
    printer.drain(rest, "run")  # type: ignore[arg-type]
    assert not printer.closed  # a task's closing record is not the flow's
    rest.records += [_record("orders: pushed"), _record("Finished in state Completed()")]
    printer.drain(rest, "run")  # type: ignore[arg-type]
    printer.drain(rest, "run")  # type: ignore[arg-type]
    assert printer.closed
    assert [line.split("INFO", 1)[1].strip() for line in printed] == [
        "Beginning flow run",
        "orders: pushed",
    ]


def test_the_run_names_its_gitops_remote_and_why_it_ran(tmp_path: Path) -> None:
    settings = Settings(state_dir=tmp_path, gitops_remote="/srv/gitops.git")
    args = argparse.Namespace(ref="main", event="push", overlay="", branch="", force=False)
    parameters = run_parameters(settings, "/srv/app.git", args)
    assert parameters["gitops"] == "/srv/gitops.git" and parameters["repo"] == "/srv/app.git"
    assert parameters["reason"].startswith("`seamline run` by ")
    assert set(parameters) == {
        "repo",
        "ref",
        "event",
        "overlay",
        "branch",
        "force",
        "reason",
        "gitops",
    }

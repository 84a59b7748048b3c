"""Where a run's tool time went, read from its evidence folder's ``tool-timings.jsonl``
(one JSON line per tool call: tool, task, task_run, service, seconds, ended; written by
``deployments.flow_process.timings_writer``). Pure: the benchmarks' arithmetic, unit-tested
over recorded lines."""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class ToolCall:
    tool: str  # the binary and its subcommand, e.g. "cosign verify-attestation"
    task: str
    task_run: str  # e.g. "promotion-checks[127.0.0.1:5000/bookstore/catalog]"
    service: str | None
    started: float
    ended: float

    @property
    def seconds(self) -> float:
        return self.ended - self.started


def read_calls(path: Path) -> list[ToolCall]:
    """The calls of one ``tool-timings.jsonl``; a line written before task runs were
    recorded counts its task as its task run."""
    calls = []
    for line in path.read_text().splitlines():
        if not line.strip():
            continue
        entry = json.loads(line)
        calls.append(
            ToolCall(
                tool=entry["tool"],
                task=entry["task"],
                task_run=entry.get("task_run") or entry["task"],
                service=entry.get("service"),
                started=entry["ended"] - entry["seconds"],
                ended=entry["ended"],
            )
        )
    return calls


def busy_seconds(intervals: Iterable[tuple[float, float]]) -> float:
    """Seconds during which at least one of the intervals was running."""
    total, reach = 0.0, float("-inf")
    for start, end in sorted(intervals):
        if end > reach:
            total += end - max(start, reach)
            reach = end
    return total


def busy_by_task_run(calls: Iterable[ToolCall]) -> dict[str, float]:
    """Each task run's tool time: the time at least one of its calls ran (calls of one
    task run side by side count once, calls one after another add up)."""
    intervals: dict[str, list[tuple[float, float]]] = defaultdict(list)
    for call in calls:
        intervals[call.task_run].append((call.started, call.ended))
    return {run: busy_seconds(spans) for run, spans in intervals.items()}


def staged_critical_path(calls: Sequence[ToolCall], stages: Sequence[frozenset[str]]) -> float:
    """The longest chain of tool time through a flow run in ``stages``: the task names of
    each stage run side by side (a mapped task's runs, or tasks submitted together), the
    stages one after another. A stage costs its longest task run; the path is their sum.
    A call of a task in no stage is an error: the model would leave it out."""
    staged = set().union(*stages) if stages else set()
    stray = sorted({c.task for c in calls} - staged)
    if stray:
        raise ValueError(f"tool calls of tasks outside the flow's stages: {', '.join(stray)}")
    busy = busy_by_task_run(calls)
    runs_of = {c.task_run: c.task for c in calls}
    return sum(
        max((busy[run] for run, task in runs_of.items() if task in stage), default=0.0)
        for stage in stages
    )


def seconds_by_task_run(calls: Iterable[ToolCall], tool: str) -> dict[str, float]:
    """Each task run's summed seconds in ``tool`` (e.g. "cosign attest")."""
    found: dict[str, float] = defaultdict(float)
    for call in calls:
        if call.tool == tool:
            found[call.task_run] += call.seconds
    return dict(found)

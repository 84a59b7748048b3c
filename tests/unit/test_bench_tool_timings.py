"""The benchmarks' arithmetic over a run's ``tool-timings.jsonl`` (bench/tool_timings.py),
on lines in the format ``deployments.flow_process.timings_writer`` writes."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path
from types import ModuleType

import pytest

from seamline.config.settings import PROJECT_ROOT

pytestmark = pytest.mark.unit

CATALOG = "promotion-checks[127.0.0.1:5000/bookstore/catalog]"
ORDERS = "promotion-checks[127.0.0.1:5000/bookstore/orders]"
STAGES = [
    frozenset({"promotion-plan"}),
    frozenset({"trivy-db"}),
    frozenset({"promotion-checks"}),
    frozenset({"promote"}),
]


def _module() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "tool_timings", PROJECT_ROOT / "bench" / "tool_timings.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("tool_timings", module)
    spec.loader.exec_module(module)
    return module


timings = _module()


def _line(tool: str, task: str, task_run: str | None, start: float, end: float) -> str:
    entry = {"tool": tool, "task": task, "service": None, "seconds": end - start, "ended": end}
    if task_run is not None:
        entry = {"tool": tool, "task": task, "task_run": task_run, **entry}
    return json.dumps(entry)


def _promotion(tmp_path: Path) -> Path:
    """A promotion of two digests: the plan's clone, each digest's five checks side by
    side (catalog's scan the longest), then the commit."""
    t0 = 1_780_000_000.0
    lines = [
        _line("git clone", "promotion-plan", "promotion-plan", t0, t0 + 0.5),
        _line("cosign verify", "promotion-checks", CATALOG, t0 + 1, t0 + 2),
        _line("cosign verify-attestation", "promotion-checks", CATALOG, t0 + 1, t0 + 2.5),
        _line("cosign verify-attestation", "promotion-checks", CATALOG, t0 + 1, t0 + 2.2),
        _line("trivy image", "promotion-checks", CATALOG, t0 + 1, t0 + 4),
        _line("cosign verify-attestation", "promotion-checks", CATALOG, t0 + 1.1, t0 + 2),
        _line("cosign verify", "promotion-checks", ORDERS, t0 + 1, t0 + 1.8),
        _line("trivy image", "promotion-checks", ORDERS, t0 + 1, t0 + 3),
        _line("git clone", "promote", "promote", t0 + 4.2, t0 + 4.6),
        _line("kustomize build", "promote", "promote", t0 + 4.7, t0 + 5.0),
        _line("git push", "promote", "promote", t0 + 5.0, t0 + 5.3),
    ]
    path = tmp_path / "tool-timings.jsonl"
    path.write_text("\n".join(lines) + "\n")
    return path


def test_the_critical_path_takes_the_longest_digest_and_adds_the_stages(tmp_path: Path) -> None:
    calls = timings.read_calls(_promotion(tmp_path))
    path = timings.staged_critical_path(calls, STAGES)
    # clone 0.5 + catalog's checks (1 -> 4: 3.0) + commit (0.4 + 0.3 + 0.3)
    assert path == pytest.approx(0.5 + 3.0 + 1.0)


def test_calls_one_after_another_add_up_and_side_by_side_count_once(tmp_path: Path) -> None:
    busy = timings.busy_by_task_run(timings.read_calls(_promotion(tmp_path)))
    assert busy[CATALOG] == pytest.approx(3.0)
    assert busy[ORDERS] == pytest.approx(2.0)
    assert busy["promote"] == pytest.approx(1.0)  # 0.4 + 0.3 + 0.3, gaps left out


def test_seconds_by_task_run_sums_one_tool(tmp_path: Path) -> None:
    calls = timings.read_calls(_promotion(tmp_path))
    verified = timings.seconds_by_task_run(calls, "cosign verify-attestation")
    assert verified == {CATALOG: pytest.approx(1.5 + 1.2 + 0.9)}


def test_a_call_outside_the_stages_is_refused(tmp_path: Path) -> None:
    calls = timings.read_calls(_promotion(tmp_path))
    with pytest.raises(ValueError, match="promote"):
        timings.staged_critical_path(calls, STAGES[:3])


def test_lines_without_a_task_run_count_their_task_as_one(tmp_path: Path) -> None:
    path = tmp_path / "old.jsonl"
    path.write_text(
        _line("trivy image", "rescan", None, 10.0, 12.0)
        + "\n"
        + _line("cosign attest", "rescan", None, 12.0, 13.0)
        + "\n"
    )
    (call, _) = timings.read_calls(path)
    assert (call.task_run, call.started, call.seconds) == ("rescan", 10.0, 2.0)
    assert timings.staged_critical_path(
        timings.read_calls(path), [frozenset({"rescan"})]
    ) == pytest.approx(3.0)

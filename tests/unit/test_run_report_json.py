"""Pins the `seamline run --json` document: keys, order and values, byte for byte.

Each case drives the flow's report from the states a run's tasks end in and compares the
printed document with a recorded one under ``tests/data/run_report/``.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from prefect.client.schemas.objects import State
from prefect.states import Completed, Failed, Pending

from flows.run_report import RunReporter
from seamline.config.pipeline import PipelineConfig, ServiceSpec, load_pipeline_config
from seamline.config.settings import PROJECT_ROOT
from seamline.errors import GateFailure, ToolFailed
from seamline.run.report import RunReport
from seamline.run.results import (
    BuildTestResult,
    BumpResult,
    PushedImage,
    SbomResult,
    ScanResult,
    SignResult,
)

RECORDED = PROJECT_ROOT / "tests" / "data" / "run_report"
CONFIG = load_pipeline_config(PROJECT_ROOT / "examples" / "bookstore")
REPO = "127.0.0.1:5000/bookstore"
DIGEST = "sha256:" + "ab" * 32
ZERO = {"CRITICAL": 0, "HIGH": 0, "MEDIUM": 0, "LOW": 0, "UNKNOWN": 0}


class Settled:
    """A task future that has ended in ``state``: what the report reads of a future."""

    def __init__(self, state: State[Any]) -> None:
        self.state = state

    def wait(self) -> None:
        return None


@dataclass(frozen=True)
class Run:
    config: PipelineConfig
    event: str
    overlay: str | None
    flow_run_id: str = "0b7c3c7e-2f0a-4c39-9d1e-5d0c1f2e3a4b"
    flow_run_url: str = "http://127.0.0.1:4200/runs/flow-run/0b7c3c7e-2f0a-4c39-9d1e-5d0c1f2e3a4b"

    @dataclass(frozen=True)
    class _Workspace:
        repo: str = "file:///srv/bookstore.git"
        commit: str = "c0ffee" * 6 + "beef"

    workspace: _Workspace = _Workspace()

    def service(self, name: str) -> ServiceSpec:
        return next(s for s in self.config.services if s.name == name)


def _done(value: object, *, cached: bool = False) -> Settled:
    return Settled(Completed(data=value, name="Cached" if cached else "Completed"))


def _failed(error: BaseException) -> Settled:
    return Settled(Failed(data=error))


def _not_ready() -> Settled:
    return Settled(Pending(name="NotReady"))


def _released(service: str, *, cached: bool = False) -> dict[str, Settled]:
    ref = f"{REPO}/{service}@{DIGEST}"
    signed = SignResult(service, ref, f"{REPO}/{service}:sha256-{'ab' * 32}.sig", ("slsa",))
    return {
        "build-test": _done(BuildTestResult(service, 12, 0, 1), cached=cached),
        "image": _done(object(), cached=cached),
        "push": _done(PushedImage(service, f"{REPO}/{service}", DIGEST), cached=cached),
        "scan": _done(
            ScanResult(service, ref, {**ZERO, "LOW": 3}, True, "ok", "sha256:db"), cached=cached
        ),
        "sbom": _done(SbomResult(service, f"/state/{service}.spdx.json", 41), cached=cached),
        "sign": _done(signed, cached=cached),
        "attest-sbom": _done(
            SignResult(service, ref, signed.signature, ("slsa", "spdx")), cached=cached
        ),
    }


def _scan_refused(service: str) -> dict[str, Settled]:
    counts = {**ZERO, "CRITICAL": 1, "HIGH": 2}
    refused = GateFailure(
        f"{service}: 1 CRITICAL, 2 HIGH at or above HIGH", details={"counts": counts}
    )
    return {
        "build-test": _done(BuildTestResult(service, 4, 0, 0)),
        "image": _done(object()),
        "push": _done(PushedImage(service, f"{REPO}/{service}", DIGEST)),
        "scan": _failed(refused),
        "sbom": _done(SbomResult(service, f"/state/{service}.spdx.json", 7)),
        "sign": _not_ready(),
        "attest-sbom": _not_ready(),
    }


def _columns(rows: dict[str, dict[str, Settled]]) -> dict[str, list[Any]]:
    stages = next(iter(rows.values()))
    return {stage: [rows[s.name][stage] for s in CONFIG.services] for stage in stages}


def _release_with_a_refused_scan() -> tuple[Run, dict[str, list[Any]], Settled | None]:
    names = [s.name for s in CONFIG.services]
    rows = {n: _released(n) for n in names}
    rows["orders"] = _scan_refused("orders")
    refused = GateFailure("refusing to bump the overlay: orders: no verified digest (failed)")
    return Run(CONFIG, "push", "dev"), _columns(rows), _failed(refused)


def _cached_release() -> tuple[Run, dict[str, list[Any]], Settled | None]:
    rows = {s.name: _released(s.name, cached=True) for s in CONFIG.services}
    bumped = BumpResult("dev", "d1" * 20, {})
    return Run(CONFIG, "push", "dev"), _columns(rows), _done(bumped)


def _pull_request_failures() -> tuple[Run, dict[str, list[Any]], Settled | None]:
    tests_failed = GateFailure("catalog: 2 tests failed")
    no_docker = ToolFailed("docker build failed for orders", hint="is docker running?")
    ok = ScanResult("x", "local", dict(ZERO), True, "ok", "sha256:db")
    rows = {
        "catalog": {
            "build-test": _failed(tests_failed),
            "image": _done(object()),
            "scan": _done(ok),
        },
        "orders": {
            "build-test": _done(BuildTestResult("orders", 3, 0, 0)),
            "image": _failed(no_docker),
            "scan": _not_ready(),
        },
        "payments-worker": {
            "build-test": _done(BuildTestResult("payments-worker", 1, 0, 0), cached=True),
            "image": _done(object(), cached=True),
            "scan": _failed(KeyError("layers")),
        },
        "storefront": {
            "build-test": _done(BuildTestResult("storefront", 0, 0, 0)),
            "image": _done(object()),
            "scan": _done(ScanResult("x", "local", {**ZERO, "MEDIUM": 4}, True, "ok", "db")),
        },
    }
    return Run(CONFIG, "pull_request", None), _columns(rows), None


CASES: dict[str, Callable[[], tuple[Run, dict[str, list[Any]], Settled | None]]] = {
    "release-refused-scan": _release_with_a_refused_scan,
    "release-cached": _cached_release,
    "pull-request-failures": _pull_request_failures,
}


def _printed(case: str) -> str:
    run, stages, bump = CASES[case]()
    published: list[RunReport] = []
    RunReporter(run).finish(stages, bump=bump, publish=published.append)  # type: ignore[arg-type]
    return json.dumps(published[0].to_json(), indent=2) + "\n"


@pytest.mark.parametrize("case", sorted(CASES))
def test_the_json_document_is_unchanged(case: str) -> None:
    assert _printed(case) == (RECORDED / f"{case}.json").read_text()


def record() -> None:
    """Writes the recorded documents afresh (only when the contract changes on purpose)."""
    for case in CASES:
        Path(RECORDED / f"{case}.json").write_text(_printed(case))

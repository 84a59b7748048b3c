"""Reads the states of a run's task futures into the run's report and final state."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from prefect.client.schemas.objects import State
from prefect.futures import PrefectFuture
from prefect.states import Completed, Failed

from seamline.errors import EnvironmentProblem, GateFailure, SeamlineError, UsageError
from seamline.policy.bump_precondition import ServiceOutcome
from seamline.run.results import (
    SEVERITIES,
    BuildTestResult,
    BumpResult,
    PushedImage,
    SbomResult,
    ScanResult,
    SignResult,
)
from tasks.context import RunContext

# The last stage of a service's line: its result carries every signature and attestation.
FINAL_STAGE = "attest-sbom"


@dataclass(frozen=True)
class StageState:
    name: str  # Completed, Cached, Failed, NotReady, ...
    value: Any
    error: BaseException | None

    @property
    def ok(self) -> bool:
        return self.error is None and self.name in ("Completed", "Cached")


def inspect(future: PrefectFuture[Any]) -> StageState:
    future.wait()
    state = future.state
    name = state.name or state.type.value
    if state.is_completed():
        return StageState(name, state.result(), None)
    if state.is_failed() or state.is_crashed():
        error = state.result(raise_on_failure=False)
        if not isinstance(error, BaseException):
            error = RuntimeError(state.message or state.name)
        return StageState(name, None, error)
    return StageState(name, None, None)


def _describe(error: BaseException) -> str:
    return error.message if isinstance(error, SeamlineError) else f"{type(error).__name__}: {error}"


class RunReporter:
    def __init__(self, ctx: RunContext) -> None:
        self._ctx = ctx

    def _states(
        self, stages: dict[str, list[PrefectFuture[Any]]]
    ) -> dict[str, dict[str, StageState]]:
        names = [s.name for s in self._ctx.config.services]
        return {
            service: {stage: inspect(futures[i]) for stage, futures in stages.items()}
            for i, service in enumerate(names)
        }

    def outcomes(self, stages: dict[str, list[PrefectFuture[Any]]]) -> list[ServiceOutcome]:
        outcomes = []
        for service, by_stage in self._states(stages).items():
            spec = self._ctx.service(service)
            attested = by_stage.get(FINAL_STAGE)
            first_error = next((s.error for s in by_stage.values() if s.error), None)
            digest = None
            if attested is not None and attested.ok:
                digest = attested.value.ref.partition("@")[2]
            outcomes.append(
                ServiceOutcome(
                    service=service,
                    image=spec.image,
                    repository=self._ctx.config.target_repository(spec),
                    digest=digest,
                    error=_describe(first_error) if first_error else None,
                )
            )
        return outcomes

    def finish(
        self,
        stages: dict[str, list[PrefectFuture[Any]]],
        *,
        bump: PrefectFuture[Any] | None,
        publish: Callable[[dict[str, Any]], None],
    ) -> State[Any]:
        states = self._states(stages)
        errors: list[dict[str, Any]] = []
        services = [
            self._service_entry(name, by_stage, errors) for name, by_stage in states.items()
        ]
        commit = None
        if bump is not None:
            bumped = inspect(bump)
            if bumped.error is not None:
                errors.append(_error_entry(None, "bump", bumped.error))
            elif isinstance(bumped.value, BumpResult):
                commit = bumped.value.commit
        failed = bool(errors)
        report: dict[str, Any] = {
            "flow_run_id": self._ctx.flow_run_id,
            "flow_run_url": self._ctx.flow_run_url,
            "state": "Failed" if failed else "Completed",
            "event": self._ctx.event,
            "source": self._ctx.workspace.repo,
            "source_commit": self._ctx.workspace.commit,
            "commit": commit,
            "overlay": self._ctx.overlay,
            "services": services,
            "errors": errors,
        }
        publish(report)
        if failed:
            return Failed(message=f"{len(errors)} error(s): " + errors[0]["message"], data=report)
        return Completed(data=report)

    def _service_entry(
        self, name: str, by_stage: dict[str, StageState], errors: list[dict[str, Any]]
    ) -> dict[str, Any]:
        spec = self._ctx.service(name)
        for stage, state in by_stage.items():
            if state.error is not None:
                errors.append(_error_entry(name, stage, state.error))
        scan = by_stage.get("scan")
        scan_value = scan.value if scan is not None and isinstance(scan.value, ScanResult) else None
        findings: dict[str, int] | None = scan_value.counts if scan_value else None
        if scan is not None and isinstance(scan.error, GateFailure):
            counts = scan.error.details.get("counts")
            findings = dict(counts) if isinstance(counts, dict) else None
        gate = "skipped"
        if scan is not None and scan.ok:
            gate = "passed"
        elif scan is not None and isinstance(scan.error, GateFailure):
            gate = "failed"
        pushed = _value(by_stage, "push", PushedImage)
        sbom = _value(by_stage, "sbom", SbomResult)
        signed = _value(by_stage, FINAL_STAGE, SignResult) or _value(by_stage, "sign", SignResult)
        tests = _value(by_stage, "build-test", BuildTestResult)
        ran = [s for s in by_stage.values() if s.name in ("Completed", "Cached")]
        return {
            "name": name,
            "image": self._ctx.config.target_repository(spec),
            "digest": pushed.digest if pushed else None,
            "findings": {s: findings.get(s, 0) for s in SEVERITIES} if findings else None,
            "gate": gate,
            "sbom": sbom.path if sbom else None,
            "sbom_packages": sbom.package_count if sbom else None,
            "signed": signed is not None,
            "signature": signed.signature if signed else None,
            "attestations": list(signed.attestations) if signed else [],
            "tests": (
                {
                    "passed": tests.tests_passed,
                    "failed": tests.tests_failed,
                    "skipped": tests.tests_skipped,
                }
                if tests
                else None
            ),
            "cached": bool(ran) and all(s.name == "Cached" for s in ran),
            "stages": {stage: s.name for stage, s in by_stage.items()},
        }


def _value(by_stage: dict[str, StageState], stage: str, kind: type[Any]) -> Any:
    state = by_stage.get(stage)
    if state is not None and isinstance(state.value, kind):
        return state.value
    return None


def _error_entry(service: str | None, stage: str, error: BaseException) -> dict[str, Any]:
    kind = "error"  # not one of seamline's own: a bug, or something unforeseen
    if isinstance(error, GateFailure):
        kind = "gate"
    elif isinstance(error, UsageError):
        kind = "usage"
    elif isinstance(error, EnvironmentProblem):
        kind = "environment"
    return {"service": service, "stage": stage, "kind": kind, "message": _describe(error)}

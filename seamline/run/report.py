"""The run's report: per service, what each stage produced, and every error of the run.

It is built once, by a pure function over plain per-stage outcomes (what each task
returned or raised), so every decision in it (gate passed or failed, cached or not, which
error decides the exit code) is testable without Prefect. It is serialized once for
``seamline run --json`` (``RunReport.to_json``) and rendered once for the Prefect UI
(``tasks/evidence.py``). Exit codes come from the error classes, never from strings.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal, TypeVar

from seamline.errors import EnvironmentProblem, GateFailure, SeamlineError, UsageError
from seamline.run.results import (
    SEVERITIES,
    BuildTestResult,
    BuiltImage,
    BumpResult,
    PushedImage,
    SbomResult,
    ScanResult,
    SignResult,
)
from seamline.validate.image_ref import ImageRef

# The last stage of a service's line: its result carries every signature and attestation.
FINAL_STAGE = "attest-sbom"
# The state names of a stage that ran to its end (Prefect's names: a cache hit is "Cached").
RAN = ("Completed", "Cached")

Gate = Literal["passed", "failed", "skipped"]
ErrorKind = Literal["gate", "usage", "environment", "error"]
_T = TypeVar("_T")


@dataclass(frozen=True)
class StageOutcome:
    """How one stage of one service ended: the state's name (Completed, Cached, Failed,
    NotReady, ...), what the stage returned, or what it raised."""

    state: str
    value: object = None
    error: BaseException | None = None

    @property
    def ok(self) -> bool:
        return self.error is None and self.state in RAN


def describe(error: BaseException) -> str:
    """Our own errors say what failed; anything else is named by its type as well."""
    return error.message if isinstance(error, SeamlineError) else f"{type(error).__name__}: {error}"


@dataclass(frozen=True)
class ServiceStages:
    """One service's line through a run: its target repository and each stage's outcome,
    in the order the stages run."""

    name: str
    image: str  # registry/repository the service's image is pushed to
    stages: Mapping[str, StageOutcome]

    def value(self, stage: str, kind: type[_T]) -> _T | None:
        outcome = self.stages.get(stage)
        if outcome is not None and isinstance(outcome.value, kind):
            return outcome.value
        return None

    @property
    def signed_digest(self) -> str | None:
        """The digest the final stage signed and attested; None unless it ran."""
        final = self.stages.get(FINAL_STAGE)
        if final is None or not final.ok or not isinstance(final.value, SignResult):
            return None
        return ImageRef.parse(final.value.ref).digest

    @property
    def first_error(self) -> str | None:
        return next((describe(s.error) for s in self.stages.values() if s.error), None)


@dataclass(frozen=True)
class RunError:
    """One error of the run; ``service`` is None for a run-wide stage (the bump)."""

    service: str | None
    stage: str
    kind: ErrorKind
    message: str
    exit_code: int

    @classmethod
    def of(cls, service: str | None, stage: str, error: BaseException) -> RunError:
        kind: ErrorKind = "error"
        if isinstance(error, GateFailure):
            kind = "gate"
        elif isinstance(error, UsageError):
            kind = "usage"
        elif isinstance(error, EnvironmentProblem):
            kind = "environment"
        # Not one of seamline's own (a bug, or something unforeseen): exit as the
        # environment failures do, since no gate or usage rule said no.
        code = error.exit_code if isinstance(error, SeamlineError) else EnvironmentProblem.exit_code
        return cls(service, stage, kind, describe(error), code)

    def to_json(self) -> dict[str, Any]:
        return {
            "service": self.service,
            "stage": self.stage,
            "kind": self.kind,
            "message": self.message,
        }


@dataclass(frozen=True)
class SuiteCounts:
    """A service's test suite in this run: how many tests passed, failed, were skipped."""

    passed: int
    failed: int
    skipped: int


@dataclass(frozen=True)
class ServiceReport:
    name: str
    image: str  # registry/repository
    digest: str | None  # what the push stage pushed
    findings: Mapping[str, int] | None  # every severity, in SEVERITIES order
    gate: Gate
    sbom: str | None  # path of the SBOM document
    sbom_packages: int | None
    signature: str | None
    attestations: tuple[str, ...]
    tests: SuiteCounts | None
    cached: bool  # every stage that ran was a cache hit
    stages: Mapping[str, str]  # stage -> the state it ended in
    reported: tuple[str, ...] = ()  # check failures that do not block (lint or vet debt)
    # The manifest digest of an image built into an OCI layout folder and never pushed (a
    # run that releases nothing, with BuildKit); not part of the JSON document.
    unpushed_digest: str | None = None

    @property
    def signed(self) -> bool:
        return self.signature is not None

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "image": self.image,
            "digest": self.digest,
            "findings": dict(self.findings) if self.findings is not None else None,
            "gate": self.gate,
            "sbom": self.sbom,
            "signed": self.signed,
            "attestations": list(self.attestations),
            "cached": self.cached,
            "reported": list(self.reported),
        }


@dataclass(frozen=True)
class RunReport:
    flow_run_id: str
    flow_run_url: str
    event: str
    source: str  # the source repository
    source_commit: str
    commit: str | None  # the GitOps commit; None when nothing changed
    overlay: str | None
    services: tuple[ServiceReport, ...]
    errors: tuple[RunError, ...]
    overlay_diff: str = ""  # the GitOps commit's patch; not part of the JSON document

    @property
    def failed(self) -> bool:
        return bool(self.errors)

    @property
    def state(self) -> Literal["Completed", "Failed"]:
        return "Failed" if self.failed else "Completed"

    @property
    def exit_code(self) -> int:
        """The most serious error decides: environment (3), then usage (2), then gate (1)."""
        return max((e.exit_code for e in self.errors), default=0)

    def to_json(self) -> dict[str, Any]:
        """The document ``seamline run --json`` prints: a documented, stable shape."""
        return {
            "flow_run_id": self.flow_run_id,
            "state": self.state,
            "event": self.event,
            "commit": self.commit,
            "overlay": self.overlay,
            "services": [s.to_json() for s in self.services],
            "errors": [e.to_json() for e in self.errors],
        }


def _findings(line: ServiceStages) -> Mapping[str, int] | None:
    scan = line.stages.get("scan")
    counts: object = None
    if scan is not None and isinstance(scan.value, ScanResult):
        counts = scan.value.counts
    if scan is not None and isinstance(scan.error, GateFailure):
        counts = scan.error.details.get("counts")
    if not isinstance(counts, dict) or not counts:
        return None
    return {s: counts.get(s, 0) for s in SEVERITIES}


def _gate(line: ServiceStages) -> Gate:
    scan = line.stages.get("scan")
    if scan is not None and scan.ok:
        return "passed"
    if scan is not None and isinstance(scan.error, GateFailure):
        return "failed"
    return "skipped"  # no scan in this run, or it never got to decide


def service_report(line: ServiceStages) -> ServiceReport:
    pushed = line.value("push", PushedImage)
    sbom = line.value("sbom", SbomResult)
    signed = line.value(FINAL_STAGE, SignResult) or line.value("sign", SignResult)
    tests = line.value("build-test", BuildTestResult)
    built = line.value("image", BuiltImage)
    ran = [s for s in line.stages.values() if s.state in RAN]
    return ServiceReport(
        name=line.name,
        image=line.image,
        digest=pushed.digest if pushed else None,
        findings=_findings(line),
        gate=_gate(line),
        sbom=sbom.path if sbom else None,
        sbom_packages=sbom.package_count if sbom else None,
        signature=signed.signature if signed else None,
        attestations=tuple(signed.attestations) if signed else (),
        tests=(
            SuiteCounts(tests.tests_passed, tests.tests_failed, tests.tests_skipped)
            if tests
            else None
        ),
        cached=bool(ran) and all(s.state == "Cached" for s in ran),
        stages={stage: s.state for stage, s in line.stages.items()},
        reported=tests.reported if tests else (),
        unpushed_digest=built.image_id if built and built.layout else None,
    )


def build_report(
    *,
    flow_run_id: str,
    flow_run_url: str,
    event: str,
    source: str,
    source_commit: str,
    overlay: str | None,
    lines: Sequence[ServiceStages],
    bump: StageOutcome | None,
) -> RunReport:
    """The report of a run whose services ended in ``lines`` and whose bump (None: the run
    bumps nothing) ended in ``bump``. Errors come per service in stage order, then the bump's."""
    errors = [
        RunError.of(line.name, stage, s.error)
        for line in lines
        for stage, s in line.stages.items()
        if s.error is not None
    ]
    commit, overlay_diff = None, ""
    if bump is not None and bump.error is not None:
        errors.append(RunError.of(None, "bump", bump.error))
    elif bump is not None and isinstance(bump.value, BumpResult):
        commit = bump.value.commit
        overlay_diff = bump.value.diff
    return RunReport(
        flow_run_id=flow_run_id,
        flow_run_url=flow_run_url,
        event=event,
        source=source,
        source_commit=source_commit,
        commit=commit,
        overlay=overlay,
        services=tuple(service_report(line) for line in lines),
        errors=tuple(errors),
        overlay_diff=overlay_diff,
    )

"""The run's evidence: one table a reviewer reads in the Prefect UI, and a summary.

Both render from the run's ``RunReport``; the rendering is plain functions, the task only
hands their output to Prefect.
"""

from __future__ import annotations

from collections.abc import Mapping

from prefect import task
from prefect.artifacts import create_markdown_artifact, create_table_artifact

from seamline.errors import SeamlineError
from seamline.orchestration.log_delivery import deliver_logs_now
from seamline.orchestration.outcome import OUTCOME_KEY, RunOutcome
from seamline.run.report import RunError, RunReport, ServiceReport
from seamline.run.results import SEVERITIES


def _findings(counts: Mapping[str, int] | None) -> str:
    if counts is None:
        return "-"
    return " ".join(f"{s[0]}{counts.get(s, 0)}" for s in SEVERITIES)


def _row(s: ServiceReport) -> dict[str, str | int]:
    return {
        "service": s.name,
        "digest": s.digest or "-",
        "gate": s.gate,
        "findings (C H M L U)": _findings(s.findings),
        "sbom packages": s.sbom_packages if s.sbom_packages is not None else "-",
        "signature": s.signature or "-",
        "attestations": ", ".join(s.attestations) or "-",
        "tests passed/failed": f"{s.tests.passed}/{s.tests.failed}" if s.tests else "-",
        "cached": "yes" if s.cached else "no",
    }


def evidence_table(report: RunReport) -> list[dict[str, str | int]]:
    """One row per service: digest, gate, findings, SBOM, signature, attestations, tests."""
    return [_row(s) for s in report.services]


def _error_line(e: RunError) -> str:
    where = f"{e.service} {e.stage}" if e.service else e.stage
    return f"- {where} ({e.kind}): {e.message}"


def _image_line(s: ServiceReport) -> str:
    if s.digest:
        return f"- image: `{s.image}@{s.digest}`"
    if s.unpushed_digest:
        return f"- image: `{s.image}` (not pushed; built as `{s.unpushed_digest}`)"
    return f"- image: `{s.image}` (not pushed)"


def _service_block(s: ServiceReport) -> list[str]:
    return [
        f"### {s.name}: gate {s.gate}",
        "",
        _image_line(s),
        f"- findings (C H M L U): {_findings(s.findings)}",
        f"- signature: `{s.signature}`" if s.signature else "- signature: none",
        *[f"- attestation: `{a}`" for a in s.attestations],
        f"- SBOM: {s.sbom_packages} packages" if s.sbom_packages is not None else "- SBOM: none",
        "",
    ]


def summary_markdown(report: RunReport) -> str:
    """The run on one page: source, every service's digest, gate, findings, signature and
    attestations, and the GitOps commit with the overlay's diff."""
    lines = [
        f"## seamline {report.event} run: {report.state}",
        "",
        f"- source: `{report.source}` @ `{report.source_commit}`",
        f"- overlay: `{report.overlay}`",
        f"- GitOps commit: `{report.commit or 'none'}`",
        "",
    ]
    for s in report.services:
        lines += _service_block(s)
    if report.overlay_diff:
        lines += ["### Overlay diff", "", "```diff", report.overlay_diff.rstrip(), "```", ""]
    if report.errors:
        lines += ["### Errors", ""] + [_error_line(e) for e in report.errors]
    return "\n".join(lines).rstrip() + "\n"


@task(name="evidence", task_run_name="evidence")
def publish_evidence(report: RunReport) -> None:
    create_table_artifact(
        key="seamline-run",
        table=evidence_table(report),
        description="Per-service evidence of this run",
    )
    create_markdown_artifact(
        key="seamline-summary", markdown=summary_markdown(report), description="Run summary"
    )
    publish_outcome(RunOutcome.for_report(report))


def publish_outcome(outcome: RunOutcome) -> None:
    """What `seamline run` prints for this run, read back by a client on another process.
    The run's log records are delivered first: a client that finds the outcome has every
    record before it, and need not wait for the run's closing ones."""
    deliver_logs_now()
    create_markdown_artifact(
        key=OUTCOME_KEY,
        markdown=outcome.to_markdown(),
        description="The run's --json result and exit code",
    )


def publish_failure(error: SeamlineError) -> None:
    """A run that failed before any service ran still says why, with its exit code."""
    publish_outcome(RunOutcome.for_error(error))

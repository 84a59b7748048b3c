"""Stage scan: the scanner's findings, judged by the scan gate."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

from prefect import task
from prefect.artifacts import create_markdown_artifact
from prefect.logging import get_run_logger

from seamline.adapters.roles import Scanner
from seamline.config.pipeline import PipelineConfig
from seamline.config.settings import Settings
from seamline.errors import GateFailure
from seamline.policy.allowlist import AllowList, load_allowlist
from seamline.policy.gate import GatePolicy, evaluate_gate
from seamline.run.results import SEVERITIES, BuiltImage, PushedImage, ScanResult
from seamline.validate.image_ref import ImageRef
from tasks import cache_keys
from tasks.context import RunContext
from tasks.retry_policy import transient_only
from tasks.run_names import per_service


def gate_policy(ctx: RunContext) -> GatePolicy:
    return repository_gate(ctx.settings, ctx.config)


def repository_gate(settings: Settings, config: PipelineConfig) -> GatePolicy:
    """The CI scan gate: the settings' severities, the repository's allow-list."""
    listed = config.allowlist_path()
    allowlist = load_allowlist(listed) if listed else AllowList.empty()
    return GatePolicy.from_strings(
        [settings.gate_severities], ignore_unfixed=settings.ignore_unfixed, allowlist=allowlist
    )


@dataclass(frozen=True)
class ScanSource:
    """What the scanner scans and where it reads it: the registry, the local Docker
    Engine (``local``) or an OCI layout folder (``layout``, the image by digest as
    ``reference`` names it, never pushed)."""

    reference: str
    local: bool = False
    layout: Path | None = None


def scan_source(target: BuiltImage | PushedImage) -> ScanSource:
    """An image a builder pushed as it built is read from the registry, by digest; one
    built into an OCI layout folder from that folder; the Docker builder's from the engine."""
    if isinstance(target, PushedImage):
        return ScanSource(target.ref)
    if target.registry_digest:
        return ScanSource(target.registry_ref)
    if target.layout:
        named = f"{ImageRef.parse(target.local_ref).name}@{target.image_id}"
        return ScanSource(named, layout=Path(target.layout))
    return ScanSource(target.local_ref, local=True)


def scan(
    ctx: RunContext, service: str, target: BuiltImage | PushedImage, *, scanner: Scanner
) -> ScanResult:
    """Scan the pushed digest, or the image before any push (in the engine, or in the OCI
    layout folder of a run that releases nothing), and judge the findings;
    the scanner's report is kept as evidence, and the scan as a vuln predicate that signing
    attests. ``passed`` says what the gate decided."""
    source = scan_source(target)
    reference = source.reference
    policy = gate_policy(ctx)
    found = scanner.scan_image(
        reference, severities=SEVERITIES, local=source.local, layout=source.layout
    )
    evidence = ctx.evidence_dir(service)
    (evidence / "trivy.json").write_text(found.document)
    predicate = evidence / "vuln.json"
    predicate.write_text(found.predicate)
    decision = evaluate_gate(found.report, policy, today=dt.date.fromisoformat(ctx.inputs.today))
    summary = decision.summary()
    db = ctx.inputs.trivy_db
    return ScanResult(
        service, reference, decision.counts, decision.passed, summary, db, str(predicate)
    )


def require_passed(result: ScanResult) -> ScanResult:
    """The result, or the gate failure that names what to upgrade."""
    if not result.passed:
        raise GateFailure(
            f"{result.service}: {result.summary}",
            hint="upgrade the named packages to their fixed versions, or add a justified, "
            "dated allow-list entry",
            details={"counts": result.counts},
        )
    return result


@task(
    name="scan",
    task_run_name=per_service("scan"),
    cache_policy=cache_keys.policy(lambda p: cache_keys.scan(p["ctx"], p["target"])),
    persist_result=True,
    retries=2,
    retry_delay_seconds=5,
    retry_condition_fn=transient_only,
)
def scan_image(ctx: RunContext, service: str, target: BuiltImage | PushedImage) -> ScanResult:
    result = scan(ctx, service, target, scanner=ctx.tools.scanner(ctx.inputs.trivy_db))
    get_run_logger().info("%s: %s", service, result.summary)
    create_markdown_artifact(
        key=f"scan-{service}",
        markdown=f"### Scan gate: {service}\n\n`{result.scanned_ref}`\n\n"
        f"```\n{result.summary}\n```\n",
        description=f"Trivy findings and gate decision for {service}",
    )
    return require_passed(result)

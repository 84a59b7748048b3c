"""Stage scan: Trivy's JSON report, parsed into findings and judged by the scan gate."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from prefect import task
from prefect.artifacts import create_markdown_artifact
from prefect.context import TaskRunContext
from prefect.logging import get_run_logger

from seamline.adapters.registry import split_reference
from seamline.errors import GateFailure
from seamline.policy.allowlist import AllowList, load_allowlist
from seamline.policy.findings import parse_trivy_report
from seamline.policy.gate import GatePolicy, evaluate_gate
from seamline.results import SEVERITIES, BuiltImage, PushedImage, ScanResult
from tasks.cache_keys import stage_key
from tasks.context import RunContext
from tasks.retry_policy import transient_only


def gate_policy(ctx: RunContext) -> GatePolicy:
    listed = ctx.config.pipeline.allowlist
    allowlist = load_allowlist(ctx.config.root / listed) if listed else AllowList.empty()
    return GatePolicy.from_strings(
        [ctx.settings.gate_severities],
        ignore_unfixed=ctx.settings.ignore_unfixed,
        allowlist=allowlist,
    )


def trivy_db_version(ctx: RunContext) -> str:
    """The manifest digest of the Trivy DB the scan will use."""
    registry = ctx.tools.registry()
    try:
        if ctx.settings.trivy_db().startswith(ctx.settings.registry + "/"):
            name, tag = split_reference(ctx.settings.trivy_db(), ctx.settings.registry)
            return registry.manifest_digest(name, tag) or "missing"
    finally:
        registry.close()
    return ctx.settings.trivy_db()


def _reference(target: BuiltImage | PushedImage) -> tuple[str, bool]:
    """What trivy scans, and whether it reads it from the local Docker Engine."""
    if isinstance(target, PushedImage):
        return target.ref, False
    return target.local_ref, True


def _identity(target: BuiltImage | PushedImage) -> str:
    return target.ref if isinstance(target, PushedImage) else target.image_id


def _key(context: TaskRunContext, parameters: dict[str, Any]) -> str:
    ctx: RunContext = parameters["ctx"]
    listed = ctx.config.pipeline.allowlist
    allowlist_text = (ctx.config.root / listed).read_text() if listed else ""
    return stage_key(
        "scan",
        _identity(parameters["target"]),
        trivy_db_version(ctx),
        ctx.settings.gate_severities,
        ctx.settings.ignore_unfixed,
        allowlist_text,
        dt.date.today().isoformat(),  # allow-list entries expire by date
    )


@task(
    name="scan",
    cache_key_fn=_key,
    persist_result=True,
    retries=2,
    retry_delay_seconds=5,
    retry_condition_fn=transient_only,
)
def scan_image(ctx: RunContext, service: str, target: BuiltImage | PushedImage) -> ScanResult:
    """Scan the pushed digest, or the local image before any push, and gate it."""
    reference, local = _reference(target)
    policy = gate_policy(ctx)
    db_version = trivy_db_version(ctx)
    scan = ctx.tools.trivy().scan_image(reference, severities=list(SEVERITIES), local=local)
    (ctx.evidence_dir(service) / "trivy.json").write_text(json.dumps(scan.report, indent=1))
    report = parse_trivy_report(scan.report)
    decision = evaluate_gate(report, policy, today=dt.date.today())
    summary = decision.summary()
    get_run_logger().info("%s: %s", service, summary)
    create_markdown_artifact(
        key=f"scan-{service}",
        markdown=f"### Scan gate: {service}\n\n`{reference}`\n\n```\n{summary}\n```\n",
        description=f"Trivy findings and gate decision for {service}",
    )
    if not decision.passed:
        raise GateFailure(
            f"{service}: {summary}",
            hint="upgrade the named packages to their fixed versions, or add a justified, "
            "dated allow-list entry",
            details={"counts": decision.counts},
        )
    return ScanResult(service, reference, decision.counts, True, summary, db_version)

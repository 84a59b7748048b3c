"""Stage scan: Trivy's JSON report, parsed into findings and judged by the scan gate."""

from __future__ import annotations

import datetime as dt
import json

from prefect import task
from prefect.artifacts import create_markdown_artifact
from prefect.logging import get_run_logger

from seamline.errors import GateFailure
from seamline.policy.allowlist import AllowList, load_allowlist
from seamline.policy.findings import parse_trivy_report
from seamline.policy.gate import GatePolicy, evaluate_gate
from seamline.run.results import SEVERITIES, BuiltImage, PushedImage, ScanResult
from tasks import cache_keys
from tasks.context import RunContext
from tasks.retry_policy import transient_only
from tasks.run_names import per_service


def gate_policy(ctx: RunContext) -> GatePolicy:
    listed = ctx.config.allowlist_path()
    allowlist = load_allowlist(listed) if listed else AllowList.empty()
    return GatePolicy.from_strings(
        [ctx.settings.gate_severities],
        ignore_unfixed=ctx.settings.ignore_unfixed,
        allowlist=allowlist,
    )


def _reference(target: BuiltImage | PushedImage) -> tuple[str, bool]:
    """What trivy scans, and whether it reads it from the local Docker Engine."""
    if isinstance(target, PushedImage):
        return target.ref, False
    return target.local_ref, True


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
    """Scan the pushed digest, or the local image before any push, and gate it."""
    reference, local = _reference(target)
    policy = gate_policy(ctx)
    scan = ctx.tools.trivy(ctx.inputs.trivy_db).scan_image(
        reference, severities=list(SEVERITIES), local=local
    )
    (ctx.evidence_dir(service) / "trivy.json").write_text(json.dumps(scan.report, indent=1))
    report = parse_trivy_report(scan.report)
    decision = evaluate_gate(report, policy, today=dt.date.fromisoformat(ctx.inputs.today))
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
    return ScanResult(service, reference, decision.counts, True, summary, ctx.inputs.trivy_db)

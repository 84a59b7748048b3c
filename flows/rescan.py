"""The nightly re-scan: every digest the overlays pin, scanned with today's DB, the scan
attested on the digest (a signed cosign ``vuln`` attestation), and compared with its last
re-scan; a digest that no longer passes the gate is blocked (promotion refuses it) and
fails the run, a clean one lifts its block. The run's outcome (what `seamline rescan`
prints) is published on it. Wiring only; the stages live in ``tasks.rescan``."""

from __future__ import annotations

from prefect import flow, unmapped
from prefect.artifacts import create_table_artifact
from prefect.runtime import flow_run

from seamline.adapters.git_repo import check_remote
from seamline.config.settings import Settings
from seamline.errors import GateFailure, SeamlineError
from seamline.orchestration.run_end import END_HOOKS
from tasks.cd_outcome import publish_cd_outcome, rescan_outcome
from tasks.rescan import (
    RescanResult,
    artifact_key,
    overlay_tables,
    pinned_digests,
    record_blocks,
    rescan_digest,
    rescan_report,
    trivy_db,
)


@flow(name="seamline-rescan", flow_run_name="rescan-{reason}", **END_HOOKS)
def rescan(
    reason: str = "schedule", gitops: str = "", settings: Settings | None = None
) -> RescanResult:
    """Scan what the GitOps repository deploys, again.

    Args:
        reason: Why this re-scan runs (the schedule, a person, a new advisory).
        gitops: The GitOps repository whose pinned digests to scan: a path on the
            executor's machine or a git URL; empty for the executor's SEAMLINE_GITOPS_REMOTE.
        settings: Set by in-process runs only; deployment runs use the executor's settings.
    """
    settings = settings or Settings()
    run_id = str(flow_run.get_id())
    url = f"{settings.prefect_ui_url}/runs/flow-run/{run_id}"

    def publish(ended: object) -> None:
        publish_cd_outcome(rescan_outcome(flow_run_id=run_id, flow_run_url=url, ended=ended))

    try:
        result = _rescan(settings.for_gitops(check_remote(gitops) if gitops else ""))
    except SeamlineError as e:
        publish(e)
        raise
    publish(result)
    return result


def _rescan(settings: Settings) -> RescanResult:
    db_digest = trivy_db.submit(settings)  # a registry read, beside the clone
    pinned = pinned_digests(settings)
    pins = pinned.images
    db = db_digest.result()
    distinct = sorted({p.reference for p in pins})
    scans = rescan_digest.map(unmapped(settings), distinct, unmapped(db), unmapped(pinned.gate))
    verdicts = scans.result()
    update = record_blocks(settings, verdicts)
    for overlay, rows in overlay_tables(pins, verdicts).items():
        create_table_artifact(
            key=artifact_key(overlay),
            table=rows,
            description=f"Digests overlay {overlay} pins, scanned again with today's DB",
        )
    result = rescan_report(pins, verdicts, update.blocks)
    if result.blocked:
        raise GateFailure(
            f"{len(result.blocked)} pinned digest(s) no longer pass the gate and are blocked: "
            + ", ".join(d.reference for d in result.blocked),
            hint="rebuild the services with fixed packages and let CI bump the overlays",
            details={"digests": [d.as_dict() for d in result.digests]},
        )
    return result

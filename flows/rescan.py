"""The nightly re-scan: every digest the overlays pin, scanned with today's DB; the run
fails when one no longer passes the gate. Wiring only; the stages live in ``tasks.rescan``."""

from __future__ import annotations

from prefect import flow, unmapped
from prefect.artifacts import create_table_artifact

from seamline.config.settings import Settings
from seamline.errors import GateFailure
from seamline.validate.image_ref import ImageRef
from tasks.rescan import pinned_digests, rescan_digest, trivy_db


@flow(name="seamline-rescan", flow_run_name="rescan-{reason}")
def rescan(reason: str = "schedule", settings: Settings | None = None) -> int:
    """Scan what the GitOps repository deploys, again.

    Args:
        reason: Why this re-scan runs (the schedule, a person, a new advisory).
        settings: Set by in-process runs only; deployment runs use the executor's settings.
    """
    settings = settings or Settings()
    pins = pinned_digests(settings)
    db = trivy_db(settings)
    distinct = sorted({p.reference for p in pins})
    scans = rescan_digest.map(unmapped(settings), distinct, unmapped(db))
    verdicts = {v.reference: v for v in scans.result()}
    create_table_artifact(
        key="rescan",
        table=[
            {
                "overlay": p.overlay,
                "image": p.image,
                "digest": ImageRef.parse(p.reference).digest,
                "gate": "passed" if verdicts[p.reference].passed else "FAILED",
                "findings": verdicts[p.reference].summary,
            }
            for p in pins
        ],
        description="Pinned digests, scanned again with today's vulnerability DB",
    )
    failing = [v.reference for v in verdicts.values() if not v.passed]
    if failing:
        raise GateFailure(
            f"{len(failing)} pinned digest(s) no longer pass the gate: {', '.join(failing)}",
            hint="rebuild the services with fixed packages and let CI bump the overlays",
        )
    return len(distinct)

"""The overlay audit: what an admission policy that verifies images would admit today, and
what it would refuse and why, one table per overlay; a refused image fails the run (so an
automation can notify). Wiring only; the stages live in ``tasks.audit``."""

from __future__ import annotations

from prefect import flow, unmapped
from prefect.artifacts import create_table_artifact

from seamline.config.settings import Settings
from seamline.orchestration.run_end import END_HOOKS
from seamline.run.audit_report import AuditReport, artifact_key, build_audit_report
from tasks.audit import audit_image, render_overlays


def _run_name() -> str:
    from prefect.runtime import flow_run

    overlay = flow_run.parameters.get("overlay")
    return f"audit-{overlay or 'all'}"


@flow(name="seamline-audit", flow_run_name=_run_name, **END_HOOKS)
def audit(overlay: str = "", settings: Settings | None = None) -> AuditReport:
    """Check every image the GitOps repository's overlays render: pinned by digest, in
    the registry, signed by the configured identity, with SBOM and provenance attestations,
    and its latest vulnerability result passing. The run fails, after writing its tables,
    when an image would be refused.

    Args:
        overlay: The overlay to audit (e.g. prod); empty for every overlay.
        settings: Set by in-process runs only; deployment runs use the executor's settings.
    """
    settings = settings or Settings()
    rendered = render_overlays(settings, overlay)
    references = list(rendered.references())
    admissions = audit_image.map(unmapped(settings), references, unmapped(rendered.gate)).result()
    report = build_audit_report(
        rendered.gitops_commit, rendered.overlays, dict(zip(references, admissions, strict=True))
    )
    for table in report.overlays:
        create_table_artifact(
            key=artifact_key(table.overlay),
            table=table.table(),
            description=f"Images overlay {table.overlay} deploys: what an admission policy "
            "that verifies images would admit, and what it would refuse and why",
        )
    refusal = report.refusal()
    if refusal is not None:
        raise refusal
    return report

"""Stage re-scan: the image digests the GitOps repository's overlays pin, scanned again with
today's vulnerability DB and judged by the same gate as a CI run."""

from __future__ import annotations

import datetime as dt
import tempfile
from dataclasses import dataclass
from pathlib import Path

from prefect import task
from prefect.logging import get_run_logger

from seamline.adapters.toolbox import Toolbox
from seamline.config.pipeline import load_pipeline_config
from seamline.config.settings import Settings
from seamline.overlay.files import current_images
from seamline.policy.allowlist import AllowList
from seamline.policy.gate import GatePolicy, evaluate_gate
from seamline.run.results import SEVERITIES
from seamline.validate.image_ref import ImageRef
from tasks.preflight import mirrored_digest
from tasks.retry_policy import transient_only


@dataclass(frozen=True)
class PinnedImage:
    overlay: str
    image: str
    reference: str  # repository@sha256:...


@dataclass(frozen=True)
class RescanVerdict:
    reference: str
    passed: bool
    summary: str
    counts: dict[str, int]


@task(
    name="pinned-digests",
    task_run_name="pinned-digests",
    retries=2,
    retry_delay_seconds=3,
    retry_condition_fn=transient_only,
)
def pinned_digests(settings: Settings) -> list[PinnedImage]:
    """Every ``name@sha256:`` reference in every overlay of the GitOps repository."""
    with tempfile.TemporaryDirectory(prefix="seamline-rescan-") as folder:
        checkout = Toolbox(settings).gitops_remote().clone(Path(folder) / "gitops").path
        config = load_pipeline_config(checkout)
        root = config.overlay_in(checkout, config.pipeline.default_overlay).parent
        pins = []
        for overlay in sorted(p for p in root.iterdir() if p.is_dir()):
            for image, reference in sorted(current_images(overlay).items()):
                if ImageRef.parse(reference).digest:
                    pins.append(PinnedImage(overlay.name, image, reference))
    get_run_logger().info(
        "%d pinned digests in the GitOps repository (%d distinct)",
        len(pins),
        len({p.reference for p in pins}),
    )
    return pins


@task(
    name="trivy-db",
    task_run_name="trivy-db",
    retries=2,
    retry_delay_seconds=3,
    retry_condition_fn=transient_only,
)
def trivy_db(settings: Settings) -> str:
    """Today's DB: its digest in the mirror, resolved once for every scan of the run."""
    registry = Toolbox(settings).registry()
    try:
        return mirrored_digest(registry, settings, settings.trivy_db()) or settings.trivy_db()
    finally:
        registry.close()


@task(
    name="rescan",
    task_run_name="rescan[{reference}]",
    retries=2,
    retry_delay_seconds=5,
    retry_condition_fn=transient_only,
)
def rescan_digest(settings: Settings, reference: str, trivy_db: str) -> RescanVerdict:
    policy = GatePolicy.from_strings(
        [settings.gate_severities],
        ignore_unfixed=settings.ignore_unfixed,
        allowlist=AllowList.empty(),
    )
    scan = Toolbox(settings).scanner(trivy_db).scan_image(reference, severities=SEVERITIES)
    decision = evaluate_gate(scan.report, policy, today=dt.date.today())
    summary = decision.summary()
    get_run_logger().info("%s: %s", reference, summary)
    return RescanVerdict(reference, decision.passed, summary, dict(decision.counts))

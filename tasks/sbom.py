"""Stage SBOM: syft's SPDX JSON of the pushed digest, kept as evidence."""

from __future__ import annotations

import hashlib
import json

from prefect import task
from prefect.logging import get_run_logger

from seamline.errors import ToolFailed
from seamline.run.results import PushedImage, SbomResult
from tasks import cache_keys
from tasks.context import RunContext
from tasks.retry_policy import transient_only
from tasks.run_names import per_service


@task(
    name="sbom",
    task_run_name=per_service("sbom"),
    cache_policy=cache_keys.policy(lambda p: cache_keys.sbom(p["ctx"], p["image"])),
    persist_result=True,
    retries=2,
    retry_delay_seconds=5,
    retry_condition_fn=transient_only,
)
def make_sbom(ctx: RunContext, image: PushedImage) -> SbomResult:
    """Runs beside the scan: an SBOM signs nothing; the signing step waits for both."""
    document = ctx.tools.syft().spdx_json(image.ref)
    packages = document.get("packages")
    if document.get("spdxVersion", "").startswith("SPDX-") is False or not packages:
        raise ToolFailed(f"{image.service}: syft produced no SPDX packages for {image.ref}")
    folder = ctx.settings.state_dir / "evidence" / "sbom"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{image.digest.replace(':', '-')}.spdx.json"
    text = json.dumps(document, indent=1)
    path.write_text(text)
    get_run_logger().info("%s: SBOM with %d packages", image.service, len(packages))
    return SbomResult(
        image.service, str(path), len(packages), hashlib.sha256(text.encode()).hexdigest()
    )

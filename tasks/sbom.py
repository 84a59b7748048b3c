"""Stage SBOM: the SPDX JSON SBOM of the pushed digest, kept as evidence."""

from __future__ import annotations

import hashlib
from pathlib import Path

from prefect import task
from prefect.logging import get_run_logger

from seamline.adapters.roles import SbomGenerator
from seamline.run.results import PushedImage, SbomResult
from tasks import cache_keys
from tasks.context import RunContext
from tasks.retry_policy import transient_only
from tasks.run_names import per_service


def write_sbom(image: PushedImage, *, generator: SbomGenerator, folder: Path) -> SbomResult:
    """The SBOM as the generator wrote it, in ``folder`` under the digest's name."""
    sbom = generator.sbom(image.ref)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{image.digest.replace(':', '-')}.spdx.json"
    path.write_text(sbom.document)
    return SbomResult(
        image.service,
        str(path),
        sbom.package_count,
        hashlib.sha256(sbom.document.encode()).hexdigest(),
    )


@task(
    name="sbom",
    task_run_name=per_service("sbom"),
    cache_policy=cache_keys.policy(lambda p: cache_keys.sbom(p["ctx"], p["image"])),
    persist_result=True,
    retries=2,
    retry_delay_seconds=5,
    retry_condition_fn=transient_only,
)
def make_sbom(ctx: RunContext, service: str, image: PushedImage) -> SbomResult:
    """Runs beside the scan: an SBOM signs nothing; the signing step waits for both."""
    result = write_sbom(
        image,
        generator=ctx.tools.sbom_generator(),
        folder=ctx.settings.state_dir / "evidence" / "sbom",
    )
    get_run_logger().info("%s: SBOM with %d packages", image.service, result.package_count)
    return result

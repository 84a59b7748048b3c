"""Stage SBOM: syft's SPDX JSON of the pushed digest, kept as evidence."""

from __future__ import annotations

import json
from typing import Any

from prefect import task
from prefect.context import TaskRunContext
from prefect.logging import get_run_logger

from seamline.errors import ToolFailed
from seamline.results import PushedImage, SbomResult
from tasks.cache_keys import stage_key, tool_versions
from tasks.context import RunContext
from tasks.retry_policy import transient_only


def _key(context: TaskRunContext, parameters: dict[str, Any]) -> str:
    image: PushedImage = parameters["image"]
    return stage_key("sbom", image.ref, tool_versions(parameters["ctx"])["syft"])


@task(
    name="sbom",
    cache_key_fn=_key,
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
    path.write_text(json.dumps(document, indent=1))
    get_run_logger().info("%s: SBOM with %d packages", image.service, len(packages))
    return SbomResult(image.service, str(path), len(packages))

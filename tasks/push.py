"""Stage push: the image goes to the registry, and its digest comes back from the registry."""

from __future__ import annotations

from prefect import task
from prefect.logging import get_run_logger

from seamline.errors import ToolFailed
from seamline.run.results import BuildTestResult, BuiltImage, PushedImage, ScanResult
from seamline.validate.image_ref import ImageRef
from tasks import cache_keys
from tasks.context import RunContext
from tasks.retry_policy import transient_only


@task(
    name="push",
    cache_policy=cache_keys.policy(lambda p: cache_keys.push(p["image"])),
    persist_result=True,
    retries=3,
    retry_delay_seconds=[2, 5, 10],
    retry_condition_fn=transient_only,
)
def push_image(
    ctx: RunContext,
    image: BuiltImage,
    tested: BuildTestResult | None = None,
    scanned: ScanResult | None = None,
) -> PushedImage:
    """Push-then-scan pushes as soon as the image is built, so scan and SBOM can start
    while the tests still run: an image in the registry is not released until it is signed,
    and nothing is signed before tests and scan pass. Scan-then-push waits for both
    (``tested``, ``scanned``): nothing failing ever reaches the registry."""
    local = ImageRef.parse(image.local_ref)
    repository, name = local.name, local.repository_in(ctx.settings.registry)
    engine = ctx.tools.docker()
    try:
        reported = engine.push(image.local_ref)
    finally:
        engine.close()
    registry = ctx.tools.registry()
    try:
        by_tag = registry.manifest_digest(name, local.tag_or_latest)
        by_digest = registry.manifest_digest(name, reported)
    finally:
        registry.close()
    if by_tag != reported or by_digest != reported:
        raise ToolFailed(
            f"{image.service}: the registry holds {by_tag} for {image.local_ref}, "
            f"not the pushed {reported}",
            hint="another push raced this one; rerun",
            transient=True,
        )
    get_run_logger().info("%s: pushed %s@%s", image.service, repository, reported)
    return PushedImage(image.service, repository, reported)

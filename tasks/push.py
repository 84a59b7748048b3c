"""Stage push: the image goes to the registry, and its digest comes back from the registry."""

from __future__ import annotations

from prefect import task
from prefect.logging import get_run_logger

from seamline.adapters.roles import ImageBuilder, ImageRegistry
from seamline.errors import ToolFailed, UsageError
from seamline.run.results import BuildTestResult, BuiltImage, PushedImage, ScanResult
from seamline.validate.image_ref import ImageRef
from tasks import cache_keys
from tasks.context import Log, RunContext
from tasks.retry_policy import transient_only
from tasks.run_names import per_service


def push(
    ctx: RunContext,
    image: BuiltImage,
    *,
    builder: ImageBuilder,
    registry: ImageRegistry,
    log: Log,
) -> PushedImage:
    """Push, then read the digest back from the registry by tag and by digest: a push
    that another push overtook is a transient failure, never a wrong digest. A builder
    that pushed as it built only reads back what the registry holds: it must be the
    digest built. A run that releases nothing pushes nothing."""
    if not ctx.releases or image.layout:
        raise UsageError(
            f"{image.service}: a run that releases nothing pushes nothing ({ctx.event} "
            f"of {ctx.workspace.branch or ctx.workspace.commit[:12]}, no overlay)",
            hint="push to a branch that seamline.toml maps to an overlay to release",
        )
    local = ImageRef.parse(image.local_ref)
    repository, name = local.name, local.repository_in(ctx.settings.registry)
    reported = builder.push(image.local_ref)
    if image.registry_digest and reported != image.registry_digest:
        raise ToolFailed(
            f"{image.service}: the registry holds {reported} for {image.local_ref}, "
            f"not the built {image.registry_digest}",
            hint="another build of this commit pushed a different image to its tag (from "
            "another builder, or a build that is not reproducible); rerun",
        )
    by_tag = registry.manifest_digest(name, local.tag_or_latest)
    by_digest = registry.manifest_digest(name, reported)
    if by_tag != reported or by_digest != reported:
        raise ToolFailed(
            f"{image.service}: the registry holds {by_tag} for {image.local_ref}, "
            f"not the pushed {reported}",
            hint="another push raced this one; rerun",
            transient=True,
        )
    log.info("%s: pushed %s@%s", image.service, repository, reported)
    return PushedImage(image.service, repository, reported)


@task(
    name="push",
    task_run_name=per_service("push"),
    cache_policy=cache_keys.policy(lambda p: cache_keys.push(p["image"])),
    persist_result=True,
    retries=3,
    retry_delay_seconds=[2, 5, 10],
    retry_condition_fn=transient_only,
)
def push_image(
    ctx: RunContext,
    service: str,
    image: BuiltImage,
    tested: BuildTestResult | None = None,
    scanned: ScanResult | None = None,
) -> PushedImage:
    """Push-then-scan pushes as soon as the image is built, so scan and SBOM can start
    while the tests still run: an image in the registry is not released until it is signed,
    and nothing is signed before tests and scan pass. Scan-then-push waits for both
    (``tested``, ``scanned``): nothing failing ever reaches the registry."""
    builder = ctx.tools.image_builder()
    try:
        registry = ctx.tools.registry()
        try:
            return push(ctx, image, builder=builder, registry=registry, log=get_run_logger())
        finally:
            registry.close()
    finally:
        builder.close()

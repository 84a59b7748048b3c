"""Stage image: the service's multi-stage Dockerfile through the image builder."""

from __future__ import annotations

from datetime import UTC, datetime

from prefect import task
from prefect.logging import get_run_logger

from seamline.adapters.roles import ImageBuilder
from seamline.run.results import BuiltImage
from tasks import cache_keys
from tasks.context import Log, RunContext
from tasks.retry_policy import transient_only
from tasks.run_names import per_service


def build(ctx: RunContext, service: str, *, builder: ImageBuilder, log: Log) -> BuiltImage:
    """Builds alongside build-test. The Docker builder makes a local image only: nothing
    leaves the machine before the push. BuildKit pushes as it builds, reproducibly: the
    push stage then only checks the registry. The image's metadata carries the commit's
    time, never the clock's: an image is as old as the source it was built from."""
    spec = ctx.service(service)
    args = ctx.inputs.build_args
    tag = f"{ctx.config.target_repository(spec)}:{ctx.workspace.commit[:12]}"
    committed = datetime.fromtimestamp(ctx.workspace.commit_time, UTC)
    labels = {
        "org.opencontainers.image.source": ctx.workspace.repo,
        "org.opencontainers.image.revision": ctx.workspace.commit,
        "org.opencontainers.image.created": committed.isoformat(timespec="seconds"),
        "org.opencontainers.image.title": service,
    }
    started = datetime.now(UTC)
    image_id = builder.build(
        context=ctx.config.context_of(spec),
        dockerfile=str(ctx.config.dockerfile_of(spec)),
        tag=tag,
        build_args=dict(args),
        labels=labels,
        source_date_epoch=ctx.workspace.commit_time,
    )
    verb = "built and pushed" if builder.pushes else "built"
    log.info("%s: %s %s as %s", service, verb, tag, image_id[:19])
    finished = datetime.now(UTC)
    return BuiltImage(
        service,
        image_id,
        tag,
        dict(ctx.inputs.base_images),
        dict(args),
        started.isoformat(),
        finished.isoformat(),
        registry_digest=image_id if builder.pushes else "",
    )


@task(
    name="image",
    task_run_name=per_service("image"),
    cache_policy=cache_keys.policy(lambda p: cache_keys.image(p["ctx"], p["service"])),
    persist_result=True,
    retries=2,
    retry_delay_seconds=3,
    retry_condition_fn=transient_only,
)
def build_image(ctx: RunContext, service: str) -> BuiltImage:
    builder = ctx.tools.image_builder()
    try:
        return build(ctx, service, builder=builder, log=get_run_logger())
    finally:
        builder.close()

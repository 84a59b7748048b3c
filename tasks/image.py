"""Stage image: the service's multi-stage Dockerfile through the Docker SDK."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from prefect import task
from prefect.context import TaskRunContext
from prefect.logging import get_run_logger

from seamline.adapters.registry import split_reference
from seamline.errors import UsageError
from seamline.results import BuiltImage
from seamline.stack.base_images import builder_tag
from tasks.cache_keys import source_key, stage_key
from tasks.context import RunContext
from tasks.retry_policy import transient_only


def build_args(ctx: RunContext) -> dict[str, str]:
    return {
        "GO_BUILDER_IMAGE": ctx.settings.go_builder(builder_tag(ctx.settings)),
        "RUNTIME_IMAGE": ctx.settings.runtime(),
    }


def base_digests(ctx: RunContext, args: dict[str, str]) -> dict[str, str]:
    """The digest of every base image; a base the registry does not know stops the build."""
    registry = ctx.tools.registry()
    prefix = ctx.settings.registry + "/"
    digests: dict[str, str] = {}
    try:
        for reference in sorted(set(args.values())):
            if not reference.startswith(prefix):
                digests[reference] = ""  # upstream base: resolved by the daemon at build time
                continue
            digest = registry.manifest_digest(*split_reference(reference, ctx.settings.registry))
            if digest is None:
                raise UsageError(
                    f"base image {reference} is not in the registry",
                    hint="run `seamline stack up` to mirror the base images",
                )
            digests[reference] = digest
    finally:
        registry.close()
    return digests


def _key(context: TaskRunContext, parameters: dict[str, Any]) -> str:
    ctx: RunContext = parameters["ctx"]
    args = build_args(ctx)
    return stage_key(
        "image",
        source_key(ctx, parameters["service"]),
        args,
        base_digests(ctx, args),
        ctx.config.target_repository(ctx.service(parameters["service"])),
    )


@task(
    name="image",
    cache_key_fn=_key,
    persist_result=True,
    retries=2,
    retry_delay_seconds=3,
    retry_condition_fn=transient_only,
)
def build_image(ctx: RunContext, service: str) -> BuiltImage:
    """Builds a local image only, alongside build-test: nothing leaves the machine before
    the push, which waits for the tests."""
    spec = ctx.service(service)
    args = build_args(ctx)
    bases = base_digests(ctx, args)
    tag = f"{ctx.config.target_repository(spec)}:{ctx.workspace.commit[:12]}"
    labels = {
        "org.opencontainers.image.source": ctx.workspace.repo,
        "org.opencontainers.image.revision": ctx.workspace.commit,
        "org.opencontainers.image.created": datetime.now(UTC).isoformat(timespec="seconds"),
        "org.opencontainers.image.title": service,
    }
    engine = ctx.tools.docker()
    started = datetime.now(UTC)
    try:
        image_id = engine.build(
            context=ctx.config.context_of(spec),
            dockerfile=spec.dockerfile,
            tag=tag,
            build_args=args,
            labels=labels,
        )
    finally:
        engine.close()
    get_run_logger().info("%s: built %s as %s", service, tag, image_id[:19])
    finished = datetime.now(UTC)
    return BuiltImage(
        service, image_id, tag, bases, args, started.isoformat(), finished.isoformat()
    )

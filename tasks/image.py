"""Stage image: the service's multi-stage Dockerfile through the image builder."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

from prefect import task
from prefect.logging import get_run_logger

from seamline.adapters.roles import ImageBuilder
from seamline.bases.cache_mounts import PREFIX, refuse
from seamline.bases.rewrite import BuildCopy, build_copy
from seamline.policy.image_output import image_output
from seamline.run.layout_owner import claim
from seamline.run.results import BuiltImage, SubstitutedBase
from seamline.validate.image_ref import ImageRef
from tasks import cache_keys
from tasks.context import Log, RunContext
from tasks.retry_policy import transient_only
from tasks.run_names import per_service


def build(ctx: RunContext, service: str, *, builder: ImageBuilder, log: Log) -> BuiltImage:
    """Builds alongside build-test. The Docker builder makes a local image only: nothing
    leaves the machine before the push. BuildKit pushes as it builds, reproducibly: the
    push stage then only checks the registry; in a run that releases nothing it writes the
    image to an OCI layout folder of the run instead, and nothing reaches the registry.
    The image's metadata carries the commit's time, never the clock's: an image is as old
    as the source it was built from. The Dockerfile built is seamline's copy naming the
    mirrors of ``[pipeline.base_images]``, written outside the repository; the context
    stays the repository's."""
    output = image_output(builder_pushes=builder.pushes, releases=ctx.releases)
    layout = ctx.layout_dir(service) if output == "layout" else None
    if layout is not None:  # a retried build starts from an empty folder
        shutil.rmtree(layout, ignore_errors=True)
        claim(layout.parent)
    spec = ctx.service(service)
    args = ctx.inputs.build_args
    tag = f"{ctx.config.target_repository(spec)}:{ctx.workspace.commit[:12]}"
    labels = image_labels(
        repo=ctx.workspace.repo,
        commit=ctx.workspace.commit,
        commit_time=ctx.workspace.commit_time,
        service=service,
    )
    dockerfile = ctx.config.dockerfile_of(spec)
    original = dockerfile.read_text()
    copy = build_copy(
        original,
        mapping=ctx.config.pipeline.base_image_map(),
        build_args=args,
        platform_args=builder.platform(),
        resolve_platform_flags=not builder.sets_platform_args,
        builtin_frontend=builder.buildkit_frontend,
        untrusted=not ctx.releases,
        name_final_stage=builder.buildkit_frontend and ctx.releases,
    )
    refuse(dockerfile, copy.cache_refusals)  # the preflight refused them first
    # and BuildKit's own cache namespace besides, for any mount the build copy's reading missed
    cache_namespace = (
        {"BUILDKIT_CACHE_MOUNT_NS": PREFIX}
        if builder.buildkit_frontend and not ctx.releases
        else {}
    )
    if copy.cache_ids:
        log.info("%s: cache mounts namespaced for an untrusted build", service)
    for directive in copy.dropped:
        log.info(
            "%s: %r taken out of the build copy: BuildKit's built-in Dockerfile frontend "
            "builds it, offline",
            service,
            directive,
        )
    for substitution in copy.substitutions:
        log.info(
            "%s: FROM %s built from %s", service, substitution.original, substitution.substituted
        )
    started = datetime.now(UTC)
    with dockerfile_to_build(dockerfile, copy.text) as built_from:
        image_id = builder.build(
            context=ctx.config.context_of(spec),
            dockerfile=str(built_from),
            tag=tag,
            build_args=dict(args) | cache_namespace,
            labels=labels,
            source_date_epoch=ctx.workspace.commit_time,
            layout=layout,
            fresh_stage=copy.final_stage,
        )
    verb = {
        "registry": "built and pushed",
        "layout": "built into its OCI layout",
        "engine": "built",
    }
    log.info("%s: %s %s as %s", service, verb[output], tag, image_id[:19])
    finished = datetime.now(UTC)
    return BuiltImage(
        service,
        image_id,
        tag,
        {ref: digest for ref, digest in ctx.inputs.base_images.items() if ref in args.values()},
        dict(args),
        started.isoformat(),
        finished.isoformat(),
        substituted(copy, ctx.inputs.base_images),
        registry_digest=image_id if output == "registry" else "",
        layout=str(layout or ""),
        final_stage=copy.final_stage,
    )


def image_labels(*, repo: str, commit: str, commit_time: int, service: str) -> dict[str, str]:
    """The OCI labels of a service's image: all from the source, none from the clock."""
    committed = datetime.fromtimestamp(commit_time, UTC)
    return {
        "org.opencontainers.image.source": repo,
        "org.opencontainers.image.revision": commit,
        "org.opencontainers.image.created": committed.isoformat(timespec="seconds"),
        "org.opencontainers.image.title": service,
    }


@contextmanager
def dockerfile_to_build(dockerfile: Path, copy: str) -> Iterator[Path]:
    """The Dockerfile a build reads: the repository's own, or, where the build copy
    differs from it, the copy written to a temporary folder outside the repository."""
    if copy == dockerfile.read_text():
        yield dockerfile
        return
    with tempfile.TemporaryDirectory(prefix="seamline-build-") as folder:
        written = Path(folder) / "Dockerfile"
        written.write_text(copy)
        yield written


def substituted(copy: BuildCopy, digests: dict[str, str]) -> tuple[SubstitutedBase, ...]:
    """Each replaced base with the digest its reference pins and the mirror's digest in
    the registry, as the preflight resolved them ("" where unknown)."""
    return tuple(
        SubstitutedBase(
            original=s.original,
            original_digest=ImageRef.parse(s.original).digest or "",
            substituted=s.substituted,
            substituted_digest=digests.get(s.substituted, ""),
        )
        for s in copy.substitutions
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


def remove_layouts(ctx: RunContext) -> None:
    """Remove the run's OCI layout folders: what a run that releases nothing built is
    gone when the run ends, whatever its outcome."""
    shutil.rmtree(ctx.layouts_dir, ignore_errors=True)

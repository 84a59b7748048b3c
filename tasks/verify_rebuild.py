"""Rebuild a digest from its verified provenance and say whether it is the same image.

The provenance names the source commit, the service's context and Dockerfile, the build
arguments, the base-image substitutions and the commit's time; the rebuild clones that
commit afresh, makes the same build copy, builds it with BuildKit to a scratch tag, and
compares the two manifests (``seamline.policy.rebuild``).
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

from seamline.adapters.git_repo import checkout_commit
from seamline.adapters.roles import ImageBuilder, ImageRegistry
from seamline.bases.mapping import BaseImageMap
from seamline.bases.rewrite import build_copy
from seamline.errors import ToolFailed
from seamline.policy.rebuild import RebuildComparison, compare_manifests
from seamline.run.rebuild_inputs import RebuildInputs
from seamline.validate.image_ref import ImageRef
from seamline.validate.repo_paths import inside
from tasks.context import Log
from tasks.image import build_from_copy, image_labels

SOURCE = "the provenance"


def scratch_tag(reference: str) -> str:
    """Where the rebuild of ``name@sha256:…`` is pushed: beside it, never over a tag."""
    ref = ImageRef.parse(reference)
    digest = (ref.digest or "").removeprefix("sha256:")
    return f"{ref.name}:verify-rebuild-{digest[:12]}"


def rebuild(inputs: RebuildInputs, *, tag: str, builder: ImageBuilder, log: Log) -> str:
    """Build ``inputs`` from a fresh clone of their commit, push it to ``tag``; its digest."""
    with tempfile.TemporaryDirectory(prefix="seamline-rebuild-") as folder:
        source = Path(folder) / "source"
        checkout_commit(inputs.source_repo, source, inputs.source_commit, branch=None)
        log.info("rebuild: %s at %s cloned", inputs.source_repo, inputs.source_commit[:12])
        context = inside(source, inputs.context, what="context", source=SOURCE)
        relative = f"{inputs.context.rstrip('/')}/{inputs.dockerfile}"
        dockerfile = inside(source, relative, what="dockerfile", source=SOURCE)
        copy = build_copy(
            dockerfile.read_text(),
            mapping=BaseImageMap(entries=inputs.substitutions),
            build_args=inputs.build_args,
            platform_args=builder.platform(),
            resolve_platform_flags=not builder.sets_platform_args,
        )
        return build_from_copy(
            builder,
            context=context,
            dockerfile=dockerfile,
            copy=copy.text,
            tag=tag,
            build_args=dict(inputs.build_args),
            labels=image_labels(
                repo=inputs.source_repo,
                commit=inputs.source_commit,
                commit_time=inputs.source_date_epoch,
                service=inputs.service,
            ),
            source_date_epoch=inputs.source_date_epoch,
        )


def compare_in_registry(
    registry: ImageRegistry, *, repository: str, recorded: str, rebuilt: str
) -> RebuildComparison:
    """Compare the manifests of two digests of ``repository`` the registry holds."""
    if recorded == rebuilt:
        return compare_manifests(
            recorded_digest=recorded,
            recorded_manifest={},
            rebuilt_digest=rebuilt,
            rebuilt_manifest={},
        )
    manifests = []
    for digest in (recorded, rebuilt):
        manifest = registry.manifest(repository, digest)
        if manifest is None:
            raise ToolFailed(f"the registry holds no manifest {repository}@{digest}")
        manifests.append(manifest)
    config_digest = str(manifests[1].get("config", {}).get("digest", ""))
    config = json.loads(registry.blob(repository, config_digest)) if config_digest else {}
    return compare_manifests(
        recorded_digest=recorded,
        recorded_manifest=manifests[0],
        rebuilt_digest=rebuilt,
        rebuilt_manifest=manifests[1],
        rebuilt_config=config,
    )


def verify_rebuild(
    reference: str,
    inputs: RebuildInputs,
    *,
    builder: ImageBuilder,
    registry: ImageRegistry,
    log: Log,
) -> RebuildComparison:
    """Rebuild ``name@sha256:…`` from ``inputs`` (its verified provenance) and compare."""
    ref = ImageRef.parse(reference)
    tag = scratch_tag(reference)
    rebuilt = rebuild(inputs, tag=tag, builder=builder, log=log)
    log.info("rebuild: pushed %s as %s", tag, rebuilt[:19])
    return compare_in_registry(
        registry, repository=ref.repository, recorded=ref.digest or "", rebuilt=rebuilt
    )

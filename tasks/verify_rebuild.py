"""Rebuild a digest from its verified provenance and say whether it is the same image.

The provenance names the source commit, the service's context and Dockerfile, the build
arguments, the base-image substitutions and the commit's time; the rebuild clones that
commit afresh, makes the same build copy, builds it with BuildKit into an OCI layout in a
temporary folder (nothing is pushed), and compares its manifest with the registry's
(``seamline.policy.rebuild``).
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Any, Protocol

from seamline.adapters.git_repo import checkout_commit
from seamline.adapters.oci_layout import OciLayout
from seamline.adapters.roles import LayoutBuilder
from seamline.bases.mapping import BaseImageMap
from seamline.bases.rewrite import build_copy
from seamline.errors import ToolFailed
from seamline.policy.rebuild import RebuildComparison, compare_manifests
from seamline.run.rebuild_inputs import RebuildInputs
from seamline.validate.image_ref import ImageRef
from seamline.validate.repo_paths import inside
from tasks.context import Log
from tasks.image import dockerfile_to_build, image_labels

SOURCE = "the provenance"


class ManifestSource(Protocol):
    """Where manifests and blobs are read: the registry, or an OCI layout folder."""

    def manifest(self, name: str, reference: str) -> dict[str, Any] | None: ...

    def blob(self, name: str, digest: str) -> bytes: ...


def rebuild(inputs: RebuildInputs, *, layout: Path, builder: LayoutBuilder, log: Log) -> str:
    """Build ``inputs`` from a fresh clone of their commit into the OCI layout folder
    ``layout``; the manifest digest."""
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
            name_final_stage=inputs.names_final_stage,
        )
        with dockerfile_to_build(dockerfile, copy.text) as built_from:
            return builder.build_layout(
                context=context,
                dockerfile=str(built_from),
                layout=layout,
                build_args=dict(inputs.build_args),
                labels=image_labels(
                    repo=inputs.source_repo,
                    commit=inputs.source_commit,
                    commit_time=inputs.source_date_epoch,
                    service=inputs.service,
                ),
                source_date_epoch=inputs.source_date_epoch,
            )


def compare_sources(
    *,
    name: str,
    recorded: str,
    recorded_from: ManifestSource,
    rebuilt: str,
    rebuilt_from: ManifestSource,
) -> RebuildComparison:
    """Compare the manifest ``recorded`` of ``recorded_from`` with ``rebuilt`` of
    ``rebuilt_from``, naming layers from the rebuilt image's config."""
    if recorded == rebuilt:
        return compare_manifests(
            recorded_digest=recorded,
            recorded_manifest={},
            rebuilt_digest=rebuilt,
            rebuilt_manifest={},
        )
    manifests = []
    for digest, source in ((recorded, recorded_from), (rebuilt, rebuilt_from)):
        manifest = source.manifest(name, digest)
        if manifest is None:
            raise ToolFailed(f"no manifest {name}@{digest} to compare")
        manifests.append(manifest)
    config_digest = str(manifests[1].get("config", {}).get("digest", ""))
    config = json.loads(rebuilt_from.blob(name, config_digest)) if config_digest else {}
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
    builder: LayoutBuilder,
    registry: ManifestSource,
    log: Log,
) -> RebuildComparison:
    """Rebuild ``name@sha256:…`` from ``inputs`` (its verified provenance) and compare it
    with what ``registry`` holds for the digest."""
    ref = ImageRef.parse(reference)
    with tempfile.TemporaryDirectory(prefix="seamline-rebuilt-") as folder:
        layout = Path(folder) / "layout"
        rebuilt = rebuild(inputs, layout=layout, builder=builder, log=log)
        log.info("rebuild: built %s", rebuilt)
        return compare_sources(
            name=ref.repository,
            recorded=ref.digest or "",
            recorded_from=registry,
            rebuilt=rebuilt,
            rebuilt_from=OciLayout(layout),
        )

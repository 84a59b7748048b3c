"""verify-rebuild with the real buildkitd, buildctl, git and a registry of the test's own:
an image built the way seamline builds it, from a commit whose Dockerfile names an
upstream base mapped to a mirror, rebuilds from its provenance (into an OCI layout
folder, pushing nothing) to the same digest; an
image built from a tampered copy of that commit is reported with the layer that differs."""

from __future__ import annotations

import logging
import shutil
from datetime import UTC, datetime
from pathlib import Path

import httpx

from seamline.adapters.git_repo import checkout_commit, seed_bare_remote
from seamline.bases.mapping import BaseImageMap
from seamline.bases.rewrite import build_copy
from seamline.run.provenance import BuildFacts, slsa_provenance
from seamline.run.rebuild_inputs import RebuildInputs, read_rebuild_inputs
from seamline.run.results import SubstitutedBase
from tasks.image import dockerfile_to_build, image_labels
from tasks.verify_rebuild import verify_rebuild
from tests.tools.test_buildkit_reproducible import (  # noqa: F401 - fixtures
    UPSTREAM_DOCKERFILE,
    Daemon,
    Registry,
    _builder,
    base_image,
    buildkitd,
    registry,
)

LOG = logging.getLogger("test.verify_rebuild")
UPSTREAM = "example.org/busybox:1"


def _commit(tmp_path: Path) -> tuple[str, str]:
    """A bare repository with one commit: a service folder with the upstream Dockerfile."""
    work = tmp_path / "work" / "app" / "tiny"
    work.mkdir(parents=True)
    (work / "Dockerfile").write_text(UPSTREAM_DOCKERFILE)
    (work / "message.txt").write_text("hello\n")
    bare = tmp_path / "tiny.git"
    commit = seed_bare_remote(tmp_path / "work", bare, branch="main", message="tiny")
    return f"file://{bare}", commit


def _seamline_build(
    daemon: Daemon, source: Path, base: str, tag: str, *, repo: str, epoch: int, commit: str
) -> str:
    """What the image stage does: the build copy naming the mirror, the labels, the epoch."""
    builder = _builder(daemon.settings)
    try:
        dockerfile = source / "app" / "tiny" / "Dockerfile"
        copy = build_copy(
            dockerfile.read_text(),
            mapping=BaseImageMap(entries={UPSTREAM: base}),
            build_args={},
            platform_args=builder.platform(),
            resolve_platform_flags=False,
            name_final_stage=True,
        )
        with dockerfile_to_build(dockerfile, copy.text) as built_from:
            return builder.build(
                context=source / "app" / "tiny",
                dockerfile=str(built_from),
                tag=tag,
                build_args={"PROBE_URL": "http://127.0.0.1:9/"},
                labels=image_labels(repo=repo, commit=commit, commit_time=epoch, service="tiny"),
                source_date_epoch=epoch,
                fresh_stage=copy.final_stage,
            )
    finally:
        builder.close()


def _inputs(repo: str, commit: str, epoch: int, base: str) -> RebuildInputs:
    """The provenance seamline attests for that build, read back."""
    when = datetime(2026, 1, 1, tzinfo=UTC)
    facts = BuildFacts(
        builder_id="https://seamline.dev/builders/local",
        source_repo=repo,
        source_commit=commit,
        service="tiny",
        context="app/tiny",
        dockerfile="Dockerfile",
        build_args={"PROBE_URL": "http://127.0.0.1:9/"},
        base_images={},
        flow_run_id="run-1",
        flow_run_url="http://127.0.0.1:4200/runs/flow-run/run-1",
        started=when,
        finished=when,
        substituted=(SubstitutedBase(UPSTREAM, "", base, ""),),
        builder="buildkit",
        source_date_epoch=epoch,
        final_stage="seamline-final",
    )
    return read_rebuild_inputs(slsa_provenance(facts))


def test_a_build_rebuilds_identical_and_a_tampered_one_names_its_layer(
    tmp_path: Path,
    registry: Registry,  # noqa: F811
    base_image: str,  # noqa: F811
    buildkitd: Daemon,  # noqa: F811
) -> None:
    repo, commit = _commit(tmp_path)
    checkout = checkout_commit(repo, tmp_path / "ci", commit, branch=None)
    epoch = checkout.commit_time
    name = f"{registry.address}/test/tiny"
    buildkitd.fresh()
    recorded = _seamline_build(
        buildkitd, tmp_path / "ci", base_image, f"{name}:ci", repo=repo, epoch=epoch, commit=commit
    )
    inputs = _inputs(repo, commit, epoch, base_image)
    assert inputs.substitutions == {UPSTREAM: base_image}

    buildkitd.fresh()  # another machine: nothing cached
    builder = _builder(buildkitd.settings)
    try:
        same = verify_rebuild(
            f"{name}@{recorded}", inputs, builder=builder, registry=registry.client, log=LOG
        )
    finally:
        builder.close()
    assert same.identical
    assert same.rebuilt_digest == recorded
    tags = httpx.get(f"http://{registry.address}/v2/test/tiny/tags/list", timeout=10).json()
    assert sorted(tags["tags"]) == ["ci"]  # the rebuild went to a folder, not the registry

    # The recorded image was built from the commit with one context file changed.
    tampered = tmp_path / "tampered"
    shutil.copytree(tmp_path / "ci", tampered)
    (tampered / "app" / "tiny" / "message.txt").write_text("tampered\n")
    forged = _seamline_build(
        buildkitd, tampered, base_image, f"{name}:forged", repo=repo, epoch=epoch, commit=commit
    )
    assert forged != recorded
    builder = _builder(buildkitd.settings)
    try:
        different = verify_rebuild(
            f"{name}@{forged}", inputs, builder=builder, registry=registry.client, log=LOG
        )
    finally:
        builder.close()
    assert not different.identical
    assert different.rebuilt_digest == recorded
    assert different.config_differs  # the layer's diff id is in the config
    assert [layer.index for layer in different.layers] == [1]
    layer = different.layers[0]
    forged_manifest = registry.client.manifest("test/tiny", forged)
    assert forged_manifest is not None
    assert layer.recorded == forged_manifest["layers"][1]["digest"]
    assert "COPY --from=build /out /srv" in layer.instruction
